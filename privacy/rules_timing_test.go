package privacy

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// BenchmarkRules is what the rules cost one request: its signals read,
// four partners' decisions, and each scrubbed request built, for a request
// without signals and one with COPPA, GDPR without consent, the US
// Privacy opt-out and limit ad tracking.
func BenchmarkRules(b *testing.B) {
	plain := decodeReq(b, scrubRequest)
	signals := decodeReq(b, scrubRequest)
	gdpr, lmt := int8(1), int8(1)
	signals.Regs = &openrtb2.Regs{COPPA: 1, GDPR: &gdpr, USPrivacy: "1YYN"}
	signals.Device.Lmt = &lmt
	partners := []Partner{{}, {GVLID: 755}, {GVLID: 32, GDPRBasis: true}, {Exchange: true}}
	for _, c := range []struct {
		name string
		req  *openrtb2.BidRequest
	}{{"none", plain}, {"all", signals}} {
		b.Run(c.name, func(b *testing.B) {
			var (
				s   Signals
				pol Policy
			)
			b.ReportAllocs()
			for b.Loop() {
				s.Parse(c.req)
				for i := range partners {
					d := s.Decide(&pol, &partners[i])
					if d.Scrub != 0 {
						buf := AcquireBuffer()
						s.Scrubbed(c.req, d.Scrub, buf)
						ReleaseBuffer(buf)
					}
				}
			}
		})
	}
}
