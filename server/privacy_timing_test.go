//go:build unix

package server

import (
	"syscall"
	"testing"
)

// BenchmarkPrivacyCost measures what enforcing the privacy signals costs
// a whole request (decode, enrich, each DSP's policy decision and scrubbed
// request, auction, response), as BenchmarkAuction does with dsps=1:
// signals=none sends the corpus without a privacy signal, signals=every
// the same requests with every signal that still lets the DSP be called
// (signalCorpus: TCF v2.2 consent, GDPR, GPP with its TCF EU and usnat
// sections, gpp_sid, US Privacy, lmt, ATT). Both carry the same user ids.
// cpu-ns/op is the server's CPU time (user and system) per request: the
// peers run in a child process, so the benchmark process is the server
// alone, and on a shared machine CPU time varies less than ns/op.
func BenchmarkPrivacyCost(b *testing.B) {
	var noneBids int // bids in signals=none's warm-up, just before
	for _, signals := range []string{"none", "every"} {
		b.Run("dsps=1/signals="+signals, func(b *testing.B) {
			p := startPeers(b, 1)
			p.corpus(b, signals)
			p.target(b, startPublic(b, p.demandConfigGVL()))
			r := p.run(b, 500) // connections, pools, caches
			switch {
			case r.bids == 0:
				b.Fatal("no auction had a winner: the DSP is not bidding")
			case signals == "none":
				noneBids = r.bids
			case r.bids < noneBids*95/100:
				// A few may miss their tmax on a loaded machine; the
				// signals themselves must keep no auction from the DSP.
				b.Fatalf("%d of 500 auctions had a winner with every signal, %d without", r.bids, noneBids)
			}
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.ResetTimer()
			p.run(b, b.N)
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU returns the CPU time the process has used, user and system,
// in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
