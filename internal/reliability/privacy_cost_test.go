package reliability

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/adx-exchange/adx/internal/bench"
	"github.com/adx-exchange/adx/internal/signalcorpus"
)

// BenchmarkPrivacyServed measures what the privacy signals cost the adx
// binary as it serves: the embedded device database, the event stream,
// one remote DSP (gvl_id 32), the cost benchmark's varied synthesized
// traffic rewritten into the three corpora of the server's
// BenchmarkPrivacyCost (package signalcorpus): none, without a privacy
// signal; every, with every signal that still lets the DSP be called and
// sent the ids (GDPR, a 485-character TCF v2.2 consent string as
// user.consent and in the GPP string, usnat, gpp_sid, US Privacy, lmt,
// ATT); carried, none made as long as every by an opaque user.ext member.
//
// Three adx processes run on one CPU (GOMAXPROCS=1, pinned), the
// generator and the DSP elsewhere, and each window sends each process one
// corpus at the same rate, at the same time: whatever the machine does
// during a window (a neighbour, the CPU's clock) falls on the three
// corpora alike, and the ratios within a window are free of it. The
// corpora change processes every round, so that no process's own
// differences stay with one corpus. The rate is a third of half of what
// the CPU sustains, by a calibration on none: the CPU is half busy.
//
// b.N counts rounds (windows). Reported: each corpus's median CPU per
// request (user and system, from /proc), heap and objects per auction,
// and the medians over the rounds of the ratios within a round: cpu-ratio
// (every over none: what the signals cost), carry-ratio (carried over
// none: their bytes) and enforce-ratio (every over carried: reading and
// enforcing them), with the lowest and highest cpu-ratio of a round, and
// added-us/req, the median of what every costs more than none in a round:
// the CPU per request grows as the rate falls (each request pays more of
// the wakeups and syscalls a busier server shares), the signals' own cost
// does not, so that cpu-ratio is lower at a lower rate.
//
//	go test -run '^$' -bench PrivacyServed -benchtime 12x ./internal/reliability/
func BenchmarkPrivacyServed(b *testing.B) {
	if raceEnabled || adxBinary == "" {
		b.Skip("the served privacy benchmark runs the real binary without the race detector")
	}
	synth := synthTraffic(b, 10000, defaultTmax)
	none, every, carried, err := signalcorpus.Corpora(synth.Bodies, costGVLIDs[:1])
	if err != nil {
		b.Fatal(err)
	}
	var corpora [3]*bench.Traffic
	corpora[signalcorpus.None] = &bench.Traffic{Bodies: none}
	corpora[signalcorpus.Carried] = &bench.Traffic{Bodies: carried}
	corpora[signalcorpus.Every] = &bench.Traffic{Bodies: every}

	_, url := startDSP(b, loadDSP)
	config := writeConfig(b, "demand:\n  - {name: dsp0, type: openrtb, endpoint: \""+url+"\", gvl_id: "+strconv.Itoa(costGVLIDs[0])+"}\n")
	var procs [3]*adxProc
	for i := range procs {
		procs[i] = startPinned(b, runtime.NumCPU()-1, adxBinary, []string{"GOMAXPROCS=1"}, config)
	}
	// window measures corpus i on process (i+shift)%3, the three at once.
	window := func(rate float64, shift int) [3]costFigure {
		var (
			f    [3]costFigure
			errs [3]error
			wg   sync.WaitGroup
		)
		for i := range corpora {
			a := procs[(i+shift)%len(procs)]
			wg.Go(func() { f[i], errs[i] = tryMeasureCost(a, a.pid(), a.auctionURL(), corpora[i], rate) })
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			b.Fatal(err)
		}
		return f
	}
	rate := 500.0 / 3
	for k := range 2 {
		warm := window(rate, k)
		b.Logf("calibration at %.0f/s each: %.0f µs per auction without signals", rate, float64(warm[signalcorpus.None].cpuPerReq)/1e3)
		rate = math.Round(0.5 / 3 / warm[signalcorpus.None].cpuPerReq.Seconds())
	}
	b.ResetTimer()
	var (
		figures                  [3][]costFigure
		cpuRatio, carry, enforce []float64
		added                    []float64 // every's CPU less none's, µs
	)
	for round := range b.N {
		f := window(rate, round)
		for i := range f {
			figures[i] = append(figures[i], f[i])
		}
		n, c, e := float64(f[signalcorpus.None].cpuPerReq), float64(f[signalcorpus.Carried].cpuPerReq), float64(f[signalcorpus.Every].cpuPerReq)
		cpuRatio, carry, enforce = append(cpuRatio, e/n), append(carry, c/n), append(enforce, e/c)
		added = append(added, (e-n)/1e3)
	}
	b.StopTimer()
	for i, name := range signalcorpus.Names {
		pick := func(g func(costFigure) float64) float64 { return medianOf(figures[i], g) }
		b.ReportMetric(pick(func(c costFigure) float64 { return float64(c.cpuPerReq) / 1e3 }), name+"-cpu-us/req")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.bytes }), name+"-B/auction")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.objects }), name+"-objects/auction")
	}
	b.ReportMetric(median(cpuRatio), "cpu-ratio")
	b.ReportMetric(slices.Min(cpuRatio), "cpu-ratio-min")
	b.ReportMetric(slices.Max(cpuRatio), "cpu-ratio-max")
	b.ReportMetric(median(added), "added-us/req")
	b.ReportMetric(median(carry), "carry-ratio")
	b.ReportMetric(median(enforce), "enforce-ratio")
	b.ReportMetric(rate, "rate/s")
}
