package privacy

import (
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite the golden files' expected decisions from what the code does now")

// scrubNames name the parts of a Scrub in the golden files.
var scrubNames = []struct {
	s    Scrub
	name string
}{{StripIDs, "strip_ids"}, {StripIFA, "strip_ifa"}, {TruncateIP, "truncate_ip"}, {RoundGeo, "round_geo"}, {ReduceGeo, "reduce_geo"}, {StripUserData, "strip_user_data"}}

func (s Scrub) names() []string {
	var out []string
	for _, n := range scrubNames {
		if s&n.s != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func (r Reason) names() []string {
	var out []string
	for _, x := range Reasons() {
		if r&x != 0 {
			out = append(out, x.String())
		}
	}
	return out
}

// goldenDecision is a Decision as the golden files write it.
type goldenDecision struct {
	Scrub   []string `json:"scrub,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	Block   string   `json:"block,omitempty"`
}

func golden(d Decision) goldenDecision {
	return goldenDecision{Scrub: d.Scrub.names(), Reasons: d.Reasons.names(), Block: d.Block.String()}
}

// rulesCase is one testdata/rules file: a request, the policy, and what
// each of the test partners may see.
type rulesCase struct {
	Description string `json:"description"`
	// GDPRWithoutConsent is privacy.gdpr_without_consent; empty: the
	// default.
	GDPRWithoutConsent string          `json:"gdpr_without_consent,omitempty"`
	Request            json.RawMessage `json:"request"`
	// Malformed lists the signals sent but ignored as malformed.
	Malformed []string                  `json:"malformed,omitempty"`
	Want      map[string]goldenDecision `json:"want"`
}

// testPartners are the partners of every rules case: a DSP with no
// vendor id, one with a vendor id, one with a basis to be sent GDPR
// requests without consent, and the exchange's own house demand.
var testPartners = map[string]Partner{
	"dsp-plain":  {},
	"dsp-vendor": {GVLID: 755},
	"dsp-basis":  {GVLID: 32, GDPRBasis: true},
	"house":      {Exchange: true},
}

// TestRulesGolden runs every testdata/rules/*.json case.
func TestRulesGolden(t *testing.T) {
	goldentest.Each(t, "testdata/rules/*.json", func(t *testing.T, file string, rc *rulesCase) {
		var req openrtb2.BidRequest
		if err := json.Unmarshal(rc.Request, &req); err != nil {
			t.Fatalf("request: %v", err)
		}
		settings := config.Defaults().Privacy
		if rc.GDPRWithoutConsent != "" {
			settings.GDPRWithoutConsent = rc.GDPRWithoutConsent
		}
		pol := PolicyFromConfig(&settings)
		var s Signals
		s.Parse(&req)
		got := map[string]goldenDecision{}
		for name, p := range testPartners {
			got[name] = golden(s.Decide(&pol, &p))
		}
		var malformed []string
		if s.MalformedUSPrivacy() {
			malformed = append(malformed, "us_privacy")
		}
		if s.MalformedConsent() {
			malformed = append(malformed, "tcf")
		}
		if s.MalformedGPP() {
			malformed = append(malformed, "gpp")
		}
		if *update {
			rc.Want, rc.Malformed = got, malformed
			out, _ := json.MarshalIndent(rc, "", "  ")
			if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if !reflect.DeepEqual(got, rc.Want) {
			g, _ := json.MarshalIndent(got, "", "  ")
			w, _ := json.MarshalIndent(rc.Want, "", "  ")
			t.Errorf("%s\n got %s\nwant %s", rc.Description, g, w)
		}
		if !reflect.DeepEqual(malformed, rc.Malformed) {
			t.Errorf("%s\nmalformed %v, want %v", rc.Description, malformed, rc.Malformed)
		}
		if s.Active() != (len(rc.Want) > 0 && !allZero(rc.Want)) {
			t.Errorf("Active() = %v with decisions %v", s.Active(), rc.Want)
		}
	})
}

func allZero(m map[string]goldenDecision) bool {
	for _, d := range m {
		if !reflect.DeepEqual(d, goldenDecision{}) {
			return false
		}
	}
	return true
}

// TestLabels: every rule has a distinct metric label, and the label pairs
// are the rules that scrub under scrubbed and those that keep a partner
// away under not_called.
func TestLabels(t *testing.T) {
	seen := map[string]bool{}
	var scrubbed, notCalled []string
	for _, r := range Reasons() {
		if n := r.String(); n == "" || seen[n] {
			t.Errorf("rule %d: label %q empty or repeated", r.Index(), n)
		}
		seen[r.String()] = true
		if Scrubbed.Can(r) {
			scrubbed = append(scrubbed, r.String())
		}
		if NotCalled.Can(r) {
			notCalled = append(notCalled, r.String())
		}
	}
	if want := []string{"coppa", "lmt", "att", "us_privacy", "gdpr_no_consent", "tcf_malformed", "tcf_purpose1", "tcf_special_feature1", "gpp_opt_out", "gpp_malformed", "gpc"}; !reflect.DeepEqual(scrubbed, want) {
		t.Errorf("scrubbed under %v, want %v", scrubbed, want)
	}
	if want := []string{"gdpr_no_consent", "tcf_malformed", "tcf_purpose2", "gpp_malformed"}; !reflect.DeepEqual(notCalled, want) {
		t.Errorf("not_called under %v, want %v", notCalled, want)
	}
	if Reason(0).String() != "" || Scrubbed.String() != "scrubbed" || NotCalled.String() != "not_called" {
		t.Error("names of the zero rule or the actions")
	}
	d := Decision{Scrub: StripIDs, Reasons: ReasonCOPPA | ReasonUSPrivacy, Block: ReasonGDPRNoConsent}
	if d.Called() || d.Action() != NotCalled || d.Labels() != ReasonGDPRNoConsent {
		t.Errorf("a blocked decision: called %v, action %v, labels %v", d.Called(), d.Action(), d.Labels().names())
	}
	d.Block = 0
	if !d.Called() || d.Action() != Scrubbed || d.Labels() != ReasonCOPPA|ReasonUSPrivacy {
		t.Errorf("a scrub: called %v, action %v, labels %v", d.Called(), d.Action(), d.Labels().names())
	}
}
