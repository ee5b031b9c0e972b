//go:build !race

package privacy

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// TestRulesAllocations pins what the rules cost the heap per request:
// nothing for a request without signals; for one with every signal, a
// consent and a GPP string among them, the truncated addresses and
// user.ext without eids, computed once however many partners are sent
// it, and nothing per partner nor for decoding the strings once the
// Signals has decoded one.
func TestRulesAllocations(t *testing.T) {
	plain := decodeReq(t, scrubRequest)
	signals := decodeReq(t, scrubRequest)
	gdpr, lmt := int8(1), int8(1)
	signals.Regs = &openrtb2.Regs{COPPA: 1, GDPR: &gdpr, USPrivacy: "1YYN",
		GPP: (&GPPBuilder{US: []USSection{goldenUSNat(1)}}).String(), GPPSID: []int8{7}}
	signals.User.Consent = goldenTCF().String()
	signals.Device.Lmt = &lmt
	pol := Policy{}
	partners := []Partner{{}, {GVLID: 755}, {GVLID: 32, GDPRBasis: true}, {Exchange: true}}
	var s Signals
	n := testing.AllocsPerRun(1000, func() {
		s.Parse(plain)
		for i := range partners {
			if d := s.Decide(&pol, &partners[i]); !d.IsZero() {
				t.Fatalf("a request without signals: %+v", d)
			}
		}
	})
	if n != 0 {
		t.Errorf("a request without signals: %v allocations, want 0", n)
	}
	n = testing.AllocsPerRun(1000, func() {
		s.Parse(signals)
		for i := range partners {
			d := s.Decide(&pol, &partners[i])
			buf := AcquireBuffer()
			s.Scrubbed(signals, d.Scrub, buf)
			ReleaseBuffer(buf)
		}
	})
	// Two truncated addresses and user.ext without eids.
	if n > 3 {
		t.Errorf("a request with every signal, four partners: %v allocations, want at most 3", n)
	}
}
