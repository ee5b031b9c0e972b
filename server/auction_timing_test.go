package server

import (
	"fmt"
	"testing"
)

// BenchmarkAuction measures the whole server: a client posts the valid
// bid requests of the OpenRTB corpus in turn (banner, video, native, app,
// DOOH, deals, several imps; all but the two in GBP get a bid) over
// peerConns keep-alive connections to the public server on loopback, which
// holds each auction among 1 or 4 remote fake DSPs (zero latency, a bid on
// every imp) and answers. ns/op is wall time per auction with peerConns in
// flight, the client and the DSPs sharing the CPUs with the server. They
// run in a child process (see peersEnv), so B/op and allocs/op are the
// server's alone; peer-B/op and peer-allocs/op are the child's, for
// comparison. trail=on adds the money trail as adx serves by default:
// the exchange's signed notice URLs on every winning bid and 1% of the
// auctions recorded as events, into a file; trail=off is without, for
// the ratio in the same run.
func BenchmarkAuction(b *testing.B) {
	for _, dsps := range []int{1, 4} {
		for _, trail := range []bool{false, true} {
			b.Run(fmt.Sprintf("dsps=%d/trail=%s", dsps, map[bool]string{false: "off", true: "on"}[trail]), func(b *testing.B) {
				benchmarkAuction(b, dsps, trail)
			})
		}
	}
}

// benchmarkAuction is one BenchmarkAuction case.
func benchmarkAuction(b *testing.B, dsps int, trail bool) {
	p := startPeers(b, dsps)
	var opts Options
	if trail {
		opts.Notices, opts.Events, _ = testTrail(b, p.dspNames()...)
	}
	p.target(b, startPublicWith(b, p.demandConfig(), opts))
	if r := p.run(b, 500); r.bids == 0 { // connections, pools, caches
		b.Fatal("no auction had a winner: the DSPs are not bidding")
	}
	b.ReportAllocs()
	b.ResetTimer()
	r := p.run(b, b.N)
	b.StopTimer()
	b.ReportMetric(float64(r.peerBytes)/float64(b.N), "peer-B/op")
	b.ReportMetric(float64(r.peerAllocs)/float64(b.N), "peer-allocs/op")
}
