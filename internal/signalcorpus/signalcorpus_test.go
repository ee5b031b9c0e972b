package signalcorpus

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/privacy"
)

// bodies are requests with and without the parts Rewrite changes: no
// user or device, signals of their own to remove, ext members to keep.
var bodies = [][]byte{
	[]byte(`{"id":"a","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"page":"https://news.example/"}}`),
	[]byte(`{"id":"b","imp":[{"id":"1","banner":{"w":320,"h":50}}],"app":{"bundle":"com.example"},` +
		`"device":{"ua":"Mozilla/5.0","ip":"203.0.113.7","lmt":1,"ext":{"atts":1,"ifv":"x"}},` +
		`"user":{"id":"u1","consent":"bad","ext":{"consent":"bad","data":1}},` +
		`"regs":{"coppa":1,"gdpr":1,"us_privacy":"1YYN","ext":{"gpc":"1"}}}`),
	[]byte(`{"id":"c","imp":[{"id":"1","video":{"mimes":["video/mp4"],"w":640,"h":480}}],"site":{"page":"https://tv.example/"},` +
		`"user":{"eids":[{"source":"example.com","uids":[{"id":"e1"}]}]},"device":{"ifa":"ifa-1"}}`),
}

// TestCorpora: none holds no signal and every holds every one, each
// letting the granted vendors be called with everything and keeping out
// a vendor the consent string does not name; carried is every's length,
// holds no signal, and differs from none in user.ext.carried alone; the
// requests keep what they had beyond the signals.
func TestCorpora(t *testing.T) {
	granted := []int{52, 32}
	none, every, carried, err := Corpora(bodies, granted)
	if err != nil {
		t.Fatal(err)
	}
	pol := privacy.PolicyFromConfig(&config.Defaults().Privacy)
	check := func(name string, i int, body []byte, active bool) *openrtb2.BidRequest {
		t.Helper()
		var req openrtb2.BidRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("%s, request %d: %v", name, i, err)
		}
		var s privacy.Signals
		s.Parse(&req)
		defer s.Release()
		if s.MalformedConsent() || s.MalformedGPP() || s.MalformedUSPrivacy() {
			t.Errorf("%s, request %d: a malformed signal", name, i)
		}
		if s.Active() != active {
			t.Errorf("%s, request %d: signals active %v, want %v", name, i, s.Active(), active)
		}
		for _, id := range granted {
			if d := s.Decide(&pol, &privacy.Partner{GVLID: id}); !d.IsZero() {
				t.Errorf("%s, request %d: vendor %d gets %+v, want called with everything", name, i, id, d)
			}
		}
		if other := s.Decide(&pol, &privacy.Partner{GVLID: 2}); active && other.Called() {
			t.Errorf("%s, request %d: vendor 2, without consent, is called", name, i)
		}
		if req.User == nil || len(req.User.EIDs) == 0 || req.Device == nil || req.Device.IFA == "" {
			t.Errorf("%s, request %d: the user ids are missing", name, i)
		}
		return &req
	}
	for i := range bodies {
		n := check("none", i, none[i], false)
		check("every", i, every[i], true)
		c := check("carried", i, carried[i], false)
		if len(carried[i]) != len(every[i]) {
			t.Errorf("carried, request %d: %d bytes, every %d", i, len(carried[i]), len(every[i]))
		}
		if c.User.Ext, err = SetExtKey(c.User.Ext, "carried", nil); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, n) {
			t.Errorf("carried, request %d: differs from none beyond user.ext.carried", i)
		}
	}
	var b openrtb2.BidRequest
	if err := json.Unmarshal(every[1], &b); err != nil {
		t.Fatal(err)
	}
	if b.User.ID != "u1" || string(b.User.Ext) != `{"data":1}` || string(b.Device.Ext) != `{"atts":3,"ifv":"x"}` {
		t.Errorf("every, request 1: user %q %s, device.ext %s: what is not a signal changed", b.User.ID, b.User.Ext, b.Device.Ext)
	}
}

// TestNewSignals: the consent string has the size of the one the
// BENCHMARKS.md figures were measured with.
func TestNewSignals(t *testing.T) {
	if s := NewSignals([]int{1}); len(s.Consent) != 485 {
		t.Errorf("the consent string granting vendor 1 has %d characters, want 485", len(s.Consent))
	}
}
