package auction

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/privacy"
)

// seeingBidder keeps the request it is given, as JSON, and bids nothing.
type seeingBidder struct {
	name string
	mu   sync.Mutex
	saw  []string
}

func (s *seeingBidder) Name() string { return s.name }

func (s *seeingBidder) Bid(req *openrtb2.BidRequest, _ time.Time) ([]openrtb2.Bid, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.saw = append(s.saw, string(b))
	s.mu.Unlock()
	return nil, nil
}

func (s *seeingBidder) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.saw...)
}

// inProcessSeeing is a seeingBidder that runs in process, as house demand
// does.
type inProcessSeeing struct{ seeingBidder }

func (*inProcessSeeing) inProcess() {}

// privacyRequest carries ids, addresses and coordinates, under COPPA and
// GDPR without a consent string.
const privacyRequest = `{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"regs":{"coppa":1,"gdpr":1},
"device":{"ip":"81.2.69.160","ifa":"ifa-1","geo":{"lat":51.507351,"lon":-0.127758,"country":"GBR","city":"London"}},
"user":{"id":"u","buyeruid":"b","eids":[{"source":"s","uids":[{"id":"x"}]}]}}`

// The scrubbed request, as every bidder allowed sees it.
const (
	scrubbedDevice = `"device":{"geo":{"country":"GBR"},"ip":"81.2.69.0"}`
	scrubbedUser   = `"user":{}`
)

// TestPrivacyPerBidder: each bidder, over HTTP, remote without an
// encoding, or in process, is sent what the request's signals let it see,
// or, kept from it, is filtered and counted; the request itself is not
// changed.
func TestPrivacyPerBidder(t *testing.T) {
	noBasis, basis, basis25 := startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t)
	dsp := func(name string, d *recordingDSP, extra func(*config.Demand)) Bidder {
		c := config.Demand{Name: name, Type: config.DemandOpenRTB, Endpoint: d.url}
		extra(&c)
		return NewHTTPBidder(c, config.Defaults().DSPClient, "USD")
	}
	remote := &seeingBidder{name: "remote"}
	house := &inProcessSeeing{seeingBidder{name: "house"}}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	a := New([]Bidder{
		dsp("no-basis", noBasis, func(*config.Demand) {}),
		dsp("basis", basis, func(d *config.Demand) { d.GVLID, d.Privacy.GDPRBasisWithoutConsent = 755, true }),
		dsp("basis-25", basis25, func(d *config.Demand) { d.Privacy.GDPRBasisWithoutConsent, d.OpenRTBVersion = true, config.OpenRTB25 }),
		remote, house,
	}, Rules{Currency: "USD"}, m)
	req := decodeRequest(t, privacyRequest)
	before := mustJSON(t, req)
	var sig privacy.Signals
	sig.Parse(req)
	res := a.RunWith(req, time.Now().Add(5*time.Second), &RunOptions{Privacy: &sig})

	var fe *FilteredError
	if br := res.Bidders[0]; br.Outcome != OutcomeNotEligible || !errors.As(br.Err, &fe) || fe.Reason != FilterPrivacy ||
		br.Privacy.Block != privacy.ReasonGDPRNoConsent {
		t.Errorf("no-basis: %v (%v), privacy %+v; want filtered for privacy, blocked by gdpr_no_consent", br.Outcome, br.Err, br.Privacy)
	}
	if n := len(noBasis.requests()); n != 0 {
		t.Errorf("no-basis was called %d times", n)
	}
	// The remote bidder, with no vendor id and no basis, is kept away too.
	if n := len(remote.seen()); n != 0 || res.Bidders[3].Err != filteredErrors[FilterPrivacy] {
		t.Errorf("remote was called %d times (%v)", n, res.Bidders[3].Err)
	}
	for _, c := range []struct {
		name string
		d    *recordingDSP
	}{{"basis", basis}, {"basis-25", basis25}} {
		got := c.d.requests()
		if len(got) != 1 {
			t.Fatalf("%s got %d requests, want 1", c.name, len(got))
		}
		// The user is sent as an empty object, which decodes as none.
		dev, body := mustJSON(t, got[0].Device), c.d.sent()[0]
		if `"device":`+dev != scrubbedDevice || got[0].User != nil || !strings.Contains(body, scrubbedUser) {
			t.Errorf("%s was sent device %s and %s, want %s and %s", c.name, dev, body, scrubbedDevice, scrubbedUser)
		}
	}
	saw := house.seen()
	if len(saw) != 1 || !strings.Contains(saw[0], scrubbedDevice) || !strings.Contains(saw[0], scrubbedUser) {
		t.Errorf("house saw %v, want the scrubbed request", saw)
	}
	if br := res.Bidders[4]; br.Privacy.Block != 0 || br.Privacy.Reasons != privacy.ReasonCOPPA|privacy.ReasonGDPRNoConsent {
		t.Errorf("house: privacy %+v, want called, scrubbed for coppa and gdpr_no_consent", br.Privacy)
	}
	if after := mustJSON(t, req); after != before {
		t.Errorf("the auction changed the request:\n%s\nwas\n%s", after, before)
	}
	for _, c := range []struct {
		demand, action, reason string
		want                   float64
	}{
		{"no-basis", "not_called", "gdpr_no_consent", 1},
		{"no-basis", "scrubbed", "coppa", 0},
		{"remote", "not_called", "gdpr_no_consent", 1},
		{"basis", "scrubbed", "coppa", 1},
		{"basis", "scrubbed", "gdpr_no_consent", 1},
		{"basis-25", "scrubbed", "coppa", 1},
		{"house", "scrubbed", "coppa", 1},
		{"house", "not_called", "gdpr_no_consent", 0},
	} {
		if got := value(m.privacy.WithLabelValues(c.demand, c.action, c.reason)); got != c.want {
			t.Errorf("adx_privacy_decisions_total{%s,%s,%s} = %v, want %v", c.demand, c.action, c.reason, got, c.want)
		}
	}
	if got := value(m.filtered.WithLabelValues("no-basis", "privacy")); got != 1 {
		t.Errorf("adx_demand_filtered_total{no-basis,privacy} = %v, want 1", got)
	}

	// Sending GDPR requests without consent to all, the remote bidder
	// without an encoding is called, with the request scrubbed for it.
	all := New([]Bidder{remote}, Rules{Currency: "USD", Privacy: privacy.Policy{SendGDPRWithoutConsent: true}}, nil)
	if br := all.RunWith(req, time.Now().Add(5*time.Second), &RunOptions{Privacy: &sig}).Bidders[0]; br.Outcome != OutcomeNoBid {
		t.Errorf("remote under the scrub policy: %v (%v)", br.Outcome, br.Err)
	}
	if saw := remote.seen(); len(saw) != 1 || !strings.Contains(saw[0], scrubbedDevice) || !strings.Contains(saw[0], scrubbedUser) {
		t.Errorf("remote saw %v, want the scrubbed request", saw)
	}

	// Without signals (nil, or none active) every bidder is called with
	// the request as it is.
	plain := decodeRequest(t, `{"id":"p","imp":[{"id":"1","banner":{"w":300,"h":250}}],"device":{"ip":"81.2.69.160","ifa":"ifa-1"}}`)
	var none privacy.Signals
	none.Parse(plain)
	for _, o := range []*RunOptions{nil, {Privacy: &none}} {
		res := a.RunWith(plain, time.Now().Add(5*time.Second), o)
		for _, br := range res.Bidders {
			if br.Outcome == OutcomeNotEligible || !br.Privacy.IsZero() {
				t.Errorf("%s without signals: %v (%v), privacy %+v", br.Name, br.Outcome, br.Err, br.Privacy)
			}
		}
	}
	if got := noBasis.requests(); len(got) != 2 || got[1].Device.IFA != "ifa-1" || got[1].Device.IP != "81.2.69.160" {
		t.Errorf("no-basis, without signals, was sent %d requests, the last %+v", len(got), got[len(got)-1].Device)
	}
}

func decodeRequest(t *testing.T, s string) *openrtb2.BidRequest {
	t.Helper()
	var req openrtb2.BidRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

// TestBodySetSharesByScrub: bidders of one kind and one scrub share one
// encoding; another scrub or kind is another; the set holds a reference
// to each until it is released, past the few it keeps in place too.
func TestBodySetSharesByScrub(t *testing.T) {
	req := decodeRequest(t, privacyRequest)
	var sig privacy.Signals
	sig.Parse(req)
	var bs bodySet
	get := func(kind bodyKind, sc privacy.Scrub) *sharedBody {
		t.Helper()
		b, err := bs.get(req, bodyKey{kind, sc}, &sig)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plain := get(bodyKind(mediaAll), 0)
	if again := get(bodyKind(mediaAll), 0); again != plain {
		t.Error("the unscrubbed body was encoded twice")
	}
	scrubs := []privacy.Scrub{privacy.StripIDs, privacy.StripIFA, privacy.TruncateIP, privacy.RoundGeo, privacy.ReduceGeo, privacy.StripIDs | privacy.TruncateIP}
	seen := map[*sharedBody]bool{plain: true}
	for _, sc := range scrubs {
		b := get(bodyKind(mediaAll), sc)
		if seen[b] {
			t.Errorf("scrub %v shares a body with another", sc)
		}
		seen[b] = true
		if get(bodyKind(mediaAll), sc) != b {
			t.Errorf("scrub %v was encoded twice", sc)
		}
		if b25 := get(bodyKind(mediaAll)|kind25, sc); b25 == b {
			t.Errorf("scrub %v: the 2.5 body is the 2.6 one", sc)
		}
	}
	if bs.n != len(bs.scrubbed) || len(bs.more) != 2*len(scrubs)-len(bs.scrubbed) {
		t.Errorf("%d bodies kept in place, %d more; want %d in place", bs.n, len(bs.more), len(bs.scrubbed))
	}
	var ids map[string]any
	if err := json.Unmarshal(get(bodyKind(mediaAll), privacy.StripIDs).b, &ids); err != nil {
		t.Fatal(err)
	}
	if u := ids["user"].(map[string]any); len(u) != 0 {
		t.Errorf("the StripIDs body's user is %v, want {}", u)
	}
	plain.refs.Add(1) // a bidder's
	bs.release()
	if n := plain.refs.Load(); n != 1 {
		t.Errorf("after the set's release the body has %d references, want the bidder's 1", n)
	}
	plain.release()
}
