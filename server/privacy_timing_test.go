//go:build unix

package server

import (
	"runtime"
	"slices"
	"syscall"
	"testing"
)

// privacyCostBlock is how many requests BenchmarkPrivacyCost sends of one
// corpus before it switches to the other: short enough that the machine's
// drift (other processes, CPU frequency) hits both alike, long enough that
// the requests in flight at a switch are few against the block.
const privacyCostBlock = 2000

// BenchmarkPrivacyCost measures what enforcing the privacy signals costs
// a whole request (decode, enrich, each DSP's policy decision and scrubbed
// request, auction, response), as BenchmarkAuction does with dsps=1. One
// server is sent two corpora in alternating blocks: signals=none, the
// corpus without a privacy signal, and signals=every, the same requests
// with every signal that still lets the DSP be called (signalCorpus: TCF
// v2.2 consent, GDPR, GPP with its TCF EU and usnat sections, gpp_sid, US
// Privacy, lmt, ATT). Both carry the same user ids.
//
// b.N requests of each corpus are sent. The CPU is the server's, user and
// system time (the peers run in a child process, so the benchmark process
// is the server alone); on a shared machine CPU time varies less than
// wall time, and alternating blocks cancels most of the drift that
// separate runs suffer. Reported: each corpus's cpu-ns/op, B/op and
// allocs/op, and cpu-ratio, every over none (the goal: at most 1.10),
// from the sums over all blocks; block-ratio-p50 is the median of the
// ratios of neighbouring block pairs, a check on the sum.
func BenchmarkPrivacyCost(b *testing.B) {
	corpusNames := [2]string{"none", "every"}
	p := startPeers(b, 1)
	p.target(b, startPublic(b, p.demandConfigGVL()))
	var bids [2]int
	for i, signals := range corpusNames {
		p.corpus(b, signals)
		bids[i] = p.run(b, 500).bids // connections, pools, caches
	}
	switch {
	case bids[0] == 0:
		b.Fatal("no auction had a winner: the DSP is not bidding")
	case bids[1] < bids[0]*95/100:
		// A few may miss their tmax on a loaded machine; the signals
		// themselves must keep no auction from the DSP.
		b.Fatalf("%d of 500 auctions had a winner with every signal, %d without", bids[1], bids[0])
	}
	var (
		cpu, bytes, allocs [2]int64
		pairs              []float64
		last               [2]int64
		ms                 runtime.MemStats
	)
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += privacyCostBlock {
		n := min(privacyCostBlock, b.N-sent)
		// ABBA: each corpus goes first in every other pair, so that
		// what one block leaves the next (GC debt, cold caches) falls on
		// both alike.
		order := [2]int{0, 1}
		if sent/privacyCostBlock%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, i := range order {
			signals := corpusNames[i]
			p.corpus(b, signals)
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
		if n == privacyCostBlock && last[0] > 0 {
			pairs = append(pairs, float64(last[1])/float64(last[0]))
		}
	}
	b.StopTimer()
	for i, signals := range corpusNames {
		b.ReportMetric(float64(cpu[i])/float64(b.N), signals+"-cpu-ns/op")
		b.ReportMetric(float64(bytes[i])/float64(b.N), signals+"-B/op")
		b.ReportMetric(float64(allocs[i])/float64(b.N), signals+"-allocs/op")
	}
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-ratio")
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
