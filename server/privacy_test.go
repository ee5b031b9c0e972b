package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/internal/goldentest"
	"github.com/adx-exchange/adx/privacy"
)

// privacyDSPs are the demand partners of every privacy golden case, each
// a real DSP on loopback with its own GVL vendor id that records what it
// is sent: a plain one (52), one with a basis to be sent GDPR requests
// without consent (755), one speaking OpenRTB 2.5 and taking gzip (32);
// then the exchange's house demand.
var privacyDSPs = []string{"dsp-plain", "dsp-basis", "dsp-25"}

const privacyDemand = `
demand:
  - {name: dsp-plain, type: openrtb, endpoint: "%dsp-plain%", timeout: 2s, gvl_id: 52}
  - {name: dsp-basis, type: openrtb, endpoint: "%dsp-basis%", timeout: 2s, gvl_id: 755, privacy: {gdpr_basis_without_consent: true}}
  - {name: dsp-25, type: openrtb, endpoint: "%dsp-25%", timeout: 2s, gvl_id: 32, openrtb_version: "2.5", gzip: true}
  - {name: house, type: house, line_items: [{id: li, cpm: 0.5, adm: "<a/>"}]}
events:
  auction_sample: 1
`

// privacyCase is one server/testdata/privacy file: the request an SSP
// sends, and what each DSP is sent (null: not called), what the auction
// event says the privacy rules did, and the answer's status.
type privacyCase struct {
	Description string `json:"description"`
	// Config is YAML added to the config of every case.
	Config string `json:"config,omitempty"`
	// GVL is the path of a Global Vendor List the server is given
	// (Options.GVL); empty: none.
	GVL     string          `json:"gvl,omitempty"`
	Request json.RawMessage `json:"request"`
	Status  int             `json:"status"`
	// Sent are the requests the DSPs received, tmax left out.
	Sent map[string]json.RawMessage `json:"sent"`
	// Events is the auction event's privacy list; the decisions metric
	// counts the same.
	Events []events.Privacy `json:"events"`
	// MalformedUSPrivacy: the request's US Privacy string was counted as
	// malformed and ignored.
	MalformedUSPrivacy bool `json:"malformed_us_privacy,omitempty"`
	// MalformedConsent and MalformedGPP: the request's consent or GPP
	// string was counted as malformed.
	MalformedConsent bool `json:"malformed_consent,omitempty"`
	MalformedGPP     bool `json:"malformed_gpp,omitempty"`
}

// recordingDSPs are loopback DSPs that keep the bodies they are sent,
// inflated, and answer no-bid.
type recordingDSPs struct {
	mu  sync.Mutex
	got map[string][][]byte
}

func startRecordingDSPs(t *testing.T, names []string) (*recordingDSPs, map[string]string) {
	t.Helper()
	r := &recordingDSPs{got: map[string][][]byte{}}
	urls := map[string]string{}
	for _, name := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			var body io.Reader = req.Body
			if req.Header.Get("Content-Encoding") == "gzip" {
				z, err := gzip.NewReader(req.Body)
				if err != nil {
					t.Errorf("%s: a gzip body that does not open: %v", name, err)
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				body = z
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			r.mu.Lock()
			r.got[name] = append(r.got[name], b)
			r.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		urls[name] = srv.URL + "/bid"
	}
	return r, urls
}

func (r *recordingDSPs) bodies(name string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[name])
}

// canonical returns the JSON of body with keys sorted and indented, and
// tmax, which is the time left, left out.
func canonical(t *testing.T, body []byte) json.RawMessage {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	delete(v, "tmax")
	out, err := json.MarshalIndent(v, "    ", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPrivacyGolden runs every server/testdata/privacy case: one request,
// through the whole server, to three DSPs configured apart, each sent
// what the request's privacy signals let it see.
func TestPrivacyGolden(t *testing.T) {
	goldentest.Each(t, "testdata/privacy/*.json", func(t *testing.T, file string, pc *privacyCase) {
		dsps, urls := startRecordingDSPs(t, privacyDSPs)
		yaml := privacyDemand + pc.Config
		for name, u := range urls {
			yaml = strings.ReplaceAll(yaml, "%"+name+"%", u)
		}
		reg := prometheus.NewRegistry()
		_, stream, path := testTrail(t)
		var gvl func() *privacy.GVL
		if pc.GVL != "" {
			g, err := privacy.LoadGVL(pc.GVL)
			if err != nil {
				t.Fatal(err)
			}
			gvl = func() *privacy.GVL { return g }
		}
		url := startPrivacyPublic(t, yaml, reg, stream, gvl)
		a := post(t, url, pc.Request, nil)
		got := privacyCase{Description: pc.Description, Config: pc.Config, GVL: pc.GVL, Request: pc.Request, Status: a.status,
			Sent: map[string]json.RawMessage{}}
		for _, name := range privacyDSPs {
			switch b := dsps.bodies(name); len(b) {
			case 0:
				got.Sent[name] = json.RawMessage("null")
			case 1:
				got.Sent[name] = canonical(t, b[0])
			default:
				t.Fatalf("%s was called %d times", name, len(b))
			}
		}
		got.MalformedUSPrivacy = seriesValue(t, reg, "adx_privacy_malformed_signals_total", map[string]string{"signal": "us_privacy"}) == 1
		got.MalformedConsent = seriesValue(t, reg, "adx_privacy_malformed_signals_total", map[string]string{"signal": "tcf"}) == 1
		got.MalformedGPP = seriesValue(t, reg, "adx_privacy_malformed_signals_total", map[string]string{"signal": "gpp"}) == 1
		evs := readEvents(t, stream, path)
		if len(evs) != 1 || evs[0].Type != events.Auction {
			t.Fatalf("events %+v, want the one auction", evs)
		}
		got.Events = evs[0].Privacy
		// The metric counts what the event lists: each entry once.
		for _, e := range got.Events {
			labels := map[string]string{"demand": e.DSP, "action": e.Action, "reason": e.Reason}
			if n := seriesValue(t, reg, "adx_privacy_decisions_total", labels); n != 1 {
				t.Errorf("adx_privacy_decisions_total%v = %v, want 1 as the event lists it", labels, n)
			}
		}
		if n := sumSeries(t, reg, "adx_privacy_decisions_total"); n != float64(len(got.Events)) {
			t.Errorf("adx_privacy_decisions_total sums to %v, the event lists %d", n, len(got.Events))
		}
		if *updateGolden {
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if got.Status != pc.Status {
			t.Errorf("%s\nstatus %d (%s), want %d", pc.Description, got.Status, a.body, pc.Status)
		}
		for _, name := range privacyDSPs {
			want := pc.Sent[name]
			if len(want) > 0 && string(want) != "null" {
				want = canonical(t, want)
			}
			if g := got.Sent[name]; !bytes.Equal(g, want) {
				t.Errorf("%s\n%s was sent\n    %s\nwant\n    %s", pc.Description, name, g, want)
			}
		}
		if !slices.Equal(got.Events, pc.Events) {
			t.Errorf("%s\nevent privacy %+v\nwant %+v", pc.Description, got.Events, pc.Events)
		}
		if got.MalformedUSPrivacy != pc.MalformedUSPrivacy || got.MalformedConsent != pc.MalformedConsent || got.MalformedGPP != pc.MalformedGPP {
			t.Errorf("%s\nmalformed us_privacy, tcf, gpp counted: %v %v %v, want %v %v %v", pc.Description,
				got.MalformedUSPrivacy, got.MalformedConsent, got.MalformedGPP, pc.MalformedUSPrivacy, pc.MalformedConsent, pc.MalformedGPP)
		}
	})
}

// startPrivacyPublic runs the public server for yaml with its metrics on
// reg, its events to stream and the vendor list gvl (nil: none), and
// returns its auction URL.
func startPrivacyPublic(t *testing.T, yaml string, reg *prometheus.Registry, stream *events.Stream, gvl func() *privacy.GVL) string {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, auction.NewMetrics(reg)), NewMetrics(reg), slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Options{Events: stream, GVL: gvl})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })
	return "http://" + ln.Addr().String() + AuctionPath
}

// sumSeries returns the sum of the counter name's series on reg.
func sumSeries(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
