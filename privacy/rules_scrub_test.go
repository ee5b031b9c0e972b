package privacy

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// scrubRequest is a request with every field a Scrub touches.
const scrubRequest = `{"id":"r","imp":[{"id":"1","banner":{}}],
"device":{"ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4","ifa":"ifa-1","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2","ua":"UA",
 "geo":{"lat":51.507351,"lon":-0.127758,"type":1,"accuracy":20,"country":"GBR","region":"ENG","city":"London","zip":"WC2N","metro":"826044","utcoffset":60,"ext":{"x":1}}},
"user":{"id":"u","buyeruid":"b","yob":1990,"eids":[{"source":"s","uids":[{"id":"x"}]}],"geo":{"lat":51.5,"lon":-0.12,"country":"GBR"},"ext":{"eids":[{"source":"s"}],"consent":"C"}}}`

func decodeReq(t testing.TB, s string) *openrtb2.BidRequest {
	t.Helper()
	var req openrtb2.BidRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestScrubbed applies each Scrub to the same request: the copy holds
// what the Scrub leaves, and the request itself is never changed.
func TestScrubbed(t *testing.T) {
	req := decodeReq(t, scrubRequest)
	before := jsonOf(t, req)
	var s Signals
	s.Parse(req) // no signal: the truncated IP is computed when asked
	f := func(sc Scrub, device, user string) {
		t.Helper()
		buf := AcquireBuffer()
		defer ReleaseBuffer(buf)
		out := s.Scrubbed(req, sc, buf)
		if got := jsonOf(t, out.Device); got != device {
			t.Errorf("%v: device\n got %s\nwant %s", sc.names(), got, device)
		}
		if got := jsonOf(t, out.User); got != user {
			t.Errorf("%v: user\n got %s\nwant %s", sc.names(), got, user)
		}
		if out.ID != req.ID || len(out.Imp) != 1 {
			t.Errorf("%v: the rest of the request changed: %s", sc.names(), jsonOf(t, out))
		}
		if after := jsonOf(t, req); after != before {
			t.Fatalf("%v: the request itself changed:\n%s\nwas\n%s", sc.names(), after, before)
		}
	}
	const (
		fullDevice = `{"geo":{"lat":51.507351,"lon":-0.127758,"type":1,"accuracy":20,"country":"GBR","region":"ENG","metro":"826044","city":"London","zip":"WC2N","utcoffset":60,"ext":{"x":1}},"ua":"UA","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4","ifa":"ifa-1","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2"}`
		fullUser   = `{"id":"u","buyeruid":"b","yob":1990,"geo":{"lat":51.5,"lon":-0.12,"country":"GBR"},"eids":[{"source":"s","uids":[{"id":"x"}]}],"ext":{"eids":[{"source":"s"}],"consent":"C"}}`
	)
	f(0, fullDevice, fullUser)
	f(StripIFA,
		`{"geo":{"lat":51.507351,"lon":-0.127758,"type":1,"accuracy":20,"country":"GBR","region":"ENG","metro":"826044","city":"London","zip":"WC2N","utcoffset":60,"ext":{"x":1}},"ua":"UA","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2"}`,
		fullUser)
	f(StripIDs,
		`{"geo":{"lat":51.507351,"lon":-0.127758,"type":1,"accuracy":20,"country":"GBR","region":"ENG","metro":"826044","city":"London","zip":"WC2N","utcoffset":60,"ext":{"x":1}},"ua":"UA","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4"}`,
		`{"yob":1990,"geo":{"lat":51.5,"lon":-0.12,"country":"GBR"},"ext":{"consent":"C"}}`)
	f(TruncateIP,
		`{"geo":{"lat":51.507351,"lon":-0.127758,"type":1,"accuracy":20,"country":"GBR","region":"ENG","metro":"826044","city":"London","zip":"WC2N","utcoffset":60,"ext":{"x":1}},"ua":"UA","ip":"81.2.69.0","ipv6":"2001:db8:abcd::","ifa":"ifa-1","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2"}`,
		fullUser)
	f(RoundGeo,
		`{"geo":{"lat":51.51,"lon":-0.13,"type":1,"accuracy":20,"country":"GBR","region":"ENG","metro":"826044","city":"London","zip":"WC2N","utcoffset":60,"ext":{"x":1}},"ua":"UA","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4","ifa":"ifa-1","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2"}`,
		fullUser) // the user's coordinates have two decimals already
	f(ReduceGeo,
		`{"geo":{"country":"GBR","region":"ENG","utcoffset":60},"ua":"UA","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4","ifa":"ifa-1","didsha1":"d1","didmd5":"d2","dpidsha1":"d3","dpidmd5":"d4","macsha1":"m1","macmd5":"m2"}`,
		`{"id":"u","buyeruid":"b","yob":1990,"geo":{"country":"GBR"},"eids":[{"source":"s","uids":[{"id":"x"}]}],"ext":{"eids":[{"source":"s"}],"consent":"C"}}`)
	f(StripIDs|TruncateIP|ReduceGeo,
		`{"geo":{"country":"GBR","region":"ENG","utcoffset":60},"ua":"UA","ip":"81.2.69.0","ipv6":"2001:db8:abcd::"}`,
		`{"yob":1990,"geo":{"country":"GBR"},"ext":{"consent":"C"}}`)
}

// An object a Scrub does not change is shared with the request, not
// copied: a request with nothing to remove is sent as it is.
func TestScrubbedSharesWhatItLeaves(t *testing.T) {
	req := decodeReq(t, `{"id":"r","device":{"ua":"UA","geo":{"country":"USA"}},"user":{"yob":1990}}`)
	var s Signals
	s.Parse(req)
	buf := AcquireBuffer()
	defer ReleaseBuffer(buf)
	out := s.Scrubbed(req, StripIDs|TruncateIP|ReduceGeo, buf)
	if out.Device != req.Device || out.User != req.User {
		t.Errorf("device %p user %p, want the request's own %p %p", out.Device, out.User, req.Device, req.User)
	}
	if got := s.Scrubbed(req, 0, buf); got != req {
		t.Errorf("a zero Scrub returned a copy")
	}
}

func TestRoundCoordinates(t *testing.T) {
	f := func(v float64, limit float64, want *float64, same bool) {
		t.Helper()
		var into float64
		got, kept := round2(&v, limit, &into)
		if kept != same || (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("round2(%v) = %v, %v; want %v, %v", v, got, kept, want, same)
		}
	}
	p := func(f float64) *float64 { return &f }
	f(51.507351, 90, p(51.51), false)
	f(-0.127758, 180, p(-0.13), false)
	f(51.5, 90, p(51.5), true)
	f(-33.865, 90, p(-33.87), false)
	f(90, 90, p(90), true)
	f(91, 90, nil, false)
	f(-180.5, 180, nil, false)
	f(1e308, 180, nil, false)
}

// FuzzScrubbed: any request, any Scrub: no panic, the request unchanged,
// and what the Scrub removes absent from the copy.
func FuzzScrubbed(f *testing.F) {
	f.Add([]byte(scrubRequest), uint8(StripIDs|TruncateIP|ReduceGeo))
	f.Add([]byte(`{"regs":{"coppa":1,"ext":{"us_privacy":"1YYN"}},"device":{"ip":"1.2.3.4","lmt":1,"ext":{"atts":2}},"user":{"ext":{"eids":[]}}}`), uint8(0xff))
	f.Add([]byte(`{"regs":{"gdpr":1},"device":{"ip":"::ffff:1.2.3.4","geo":{"lat":1e300}},"user":{"geo":{"lon":-200}}}`), uint8(RoundGeo))
	f.Fuzz(func(t *testing.T, data []byte, bits uint8) {
		var req openrtb2.BidRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		before := jsonOf(t, &req)
		var s Signals
		s.Parse(&req)
		for _, p := range []Partner{{}, {GVLID: 1, GDPRBasis: true}, {Exchange: true}} {
			for _, pol := range []Policy{{}, {SendGDPRWithoutConsent: true}} {
				if d := s.Decide(&pol, &p); !s.Active() && !d.IsZero() {
					t.Fatalf("inactive signals decided %+v", d)
				}
			}
		}
		sc := Scrub(bits) & (StripIDs | StripIFA | TruncateIP | RoundGeo | ReduceGeo)
		buf := AcquireBuffer()
		defer ReleaseBuffer(buf)
		out := s.Scrubbed(&req, sc, buf)
		if after := jsonOf(t, &req); after != before {
			t.Fatalf("the request changed:\n%s\nwas\n%s", after, before)
		}
		if d := out.Device; d != nil {
			if sc&(StripIDs|StripIFA) != 0 && d.IFA != "" || sc&StripIDs != 0 && d.DPIDSHA1+d.DPIDMD5+d.DIDSHA1+d.DIDMD5+d.MACSHA1+d.MACMD5 != "" {
				t.Fatalf("%v left device ids: %s", sc.names(), jsonOf(t, d))
			}
			if g := d.Geo; g != nil && sc&ReduceGeo != 0 && (g.Lat != nil || g.Lon != nil || g.City != "" || g.ZIP != "" || g.Metro != "") {
				t.Fatalf("%v left geo: %s", sc.names(), jsonOf(t, g))
			}
		}
		if u := out.User; u != nil && sc&StripIDs != 0 {
			if u.ID != "" || u.BuyerUID != "" || u.EIDs != nil || extValue(u.Ext, "eids") != nil {
				t.Fatalf("%v left user ids: %s", sc.names(), jsonOf(t, u))
			}
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("the scrubbed request does not encode: %v", err)
		}
	})
}
