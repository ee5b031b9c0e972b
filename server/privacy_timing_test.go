//go:build unix

package server

import (
	"runtime"
	"slices"
	"syscall"
	"testing"

	"github.com/adx-exchange/adx/internal/signalcorpus"
)

// privacyCostBlock is how many requests BenchmarkPrivacyCost sends of one
// corpus before it switches to the next: short enough that the machine's
// drift (other processes, CPU frequency) hits every corpus alike, long
// enough that the requests in flight at a switch are few against the
// block.
const privacyCostBlock = 2000

// BenchmarkPrivacyCost measures what the privacy signals cost a whole
// request (decode, enrich, each DSP's policy decision and scrubbed request,
// auction, response), as BenchmarkAuction does with dsps=1. One server is
// sent three corpora in rounds of one block each: signals=none, the corpus
// without a privacy signal; signals=every, the same requests with every
// signal that still lets the DSP be called (signalcorpus.Rewrite: TCF v2.2
// consent, GDPR, GPP with its TCF EU and usnat sections, gpp_sid, US
// Privacy, lmt, ATT); and signals=carried, the requests of none made as
// long as those of every by an opaque user.ext member
// (signalcorpus.Padded).
// All carry the same user ids.
//
// b.N requests of each corpus are sent. The CPU is the server's, user and
// system time (the peers run in a child process, so the benchmark process
// is the server alone). Where the process may run on two CPUs or more, the
// server is bound to one with GOMAXPROCS 1 and the peers to the others
// (splitCPUs), as a pod's adx runs beside other work; otherwise they
// share. Reported: each corpus's cpu-ns/op, B/op and allocs/op, from the
// sums over all blocks, and
//
//   - cpu-ratio, every over none: what the signals cost (the goal: at
//     most 1.10);
//   - carry-ratio, carried over none: what their bytes cost, read,
//     decoded, encoded and sent on;
//   - enforce-ratio, every over carried: what reading and enforcing them
//     costs;
//   - block-ratio-p50, the median over rounds of every's block over
//     none's, a check on cpu-ratio.
func BenchmarkPrivacyCost(b *testing.B) {
	corpusNames := signalcorpus.Names
	const none, carried, every = signalcorpus.None, signalcorpus.Carried, signalcorpus.Every
	p := startPeersWith(b, 1, splitCPUs(b))
	p.target(b, startPublic(b, p.demandConfigGVL()))
	var bids [3]int
	for i, signals := range corpusNames {
		p.corpus(b, signals)
		bids[i] = p.run(b, 500).bids // connections, pools, caches
	}
	switch {
	case bids[none] == 0:
		b.Fatal("no auction had a winner: the DSP is not bidding")
	case bids[every] < bids[none]*95/100:
		// A few may miss their tmax on a loaded machine; the signals
		// themselves must keep no auction from the DSP.
		b.Fatalf("%d of 500 auctions had a winner with every signal, %d without", bids[every], bids[none])
	}
	var (
		cpu, bytes, allocs [3]int64
		pairs              []float64
		last               [3]int64
		ms                 runtime.MemStats
	)
	b.ResetTimer()
	for sent, round := 0, 0; sent < b.N; sent, round = sent+privacyCostBlock, round+1 {
		n := min(privacyCostBlock, b.N-sent)
		for _, i := range signalcorpus.Orders[round%len(signalcorpus.Orders)] {
			p.corpus(b, corpusNames[i])
			runtime.ReadMemStats(&ms)
			b0, a0, c0 := int64(ms.TotalAlloc), int64(ms.Mallocs), processCPU(b)
			p.run(b, n)
			c1 := processCPU(b)
			runtime.ReadMemStats(&ms)
			cpu[i] += c1 - c0
			bytes[i] += int64(ms.TotalAlloc) - b0
			allocs[i] += int64(ms.Mallocs) - a0
			last[i] = c1 - c0
		}
		if n == privacyCostBlock && last[none] > 0 {
			pairs = append(pairs, float64(last[every])/float64(last[none]))
		}
	}
	b.StopTimer()
	for i, signals := range corpusNames {
		b.ReportMetric(float64(cpu[i])/float64(b.N), signals+"-cpu-ns/op")
		b.ReportMetric(float64(bytes[i])/float64(b.N), signals+"-B/op")
		b.ReportMetric(float64(allocs[i])/float64(b.N), signals+"-allocs/op")
	}
	b.ReportMetric(float64(cpu[every])/float64(cpu[none]), "cpu-ratio")
	b.ReportMetric(float64(cpu[carried])/float64(cpu[none]), "carry-ratio")
	b.ReportMetric(float64(cpu[every])/float64(cpu[carried]), "enforce-ratio")
	if len(pairs) > 0 {
		slices.Sort(pairs)
		b.ReportMetric(pairs[len(pairs)/2], "block-ratio-p50")
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
