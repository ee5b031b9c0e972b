package reliability

import (
	"math"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/adx-exchange/adx/internal/bench"
	"github.com/adx-exchange/adx/internal/signalcorpus"
)

// BenchmarkPrivacyServed measures what the privacy signals cost the adx
// binary as it serves: the embedded device database, the event stream,
// one remote DSP (gvl_id 32), at half of what one core sustains, with the
// cost benchmark's varied synthesized traffic rewritten into the three
// corpora of the server's BenchmarkPrivacyCost (package signalcorpus):
// none, without a privacy signal; every, with every signal that still
// lets the DSP be called and sent the ids (GDPR, a 485-character TCF v2.2
// consent string as user.consent and in the GPP string, usnat, gpp_sid,
// US Privacy, lmt, ATT); carried, none made as long as every by an opaque
// user.ext member. adx runs alone on one CPU (GOMAXPROCS=1, pinned), the
// generator and the DSP elsewhere, as in BenchmarkCost.
//
// A calibration window on none sets the rate. One round (b.N counts
// rounds) measures one window of each corpus, the order changing every
// round through all six (signalcorpus.Orders). Reported: each corpus's
// median CPU per request (user and system, from /proc), heap and objects
// per auction, and the medians over the rounds of the ratios within a
// round: cpu-ratio (every over none: what the signals cost), carry-ratio
// (carried over none: their bytes) and enforce-ratio (every over carried:
// reading and enforcing them), and the lowest and highest cpu-ratio of a
// round.
//
//	go test -run '^$' -bench PrivacyServed -benchtime 6x ./internal/reliability/
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
	adx := startPinned(b, runtime.NumCPU()-1, adxBinary, []string{"GOMAXPROCS=1"}, config)
	measure := func(i int, rate float64) costFigure {
		return measureCost(b, adx, adx.pid(), adx.auctionURL(), corpora[i], rate)
	}
	rate := 500.0
	for range 2 {
		warm := measure(signalcorpus.None, rate)
		b.Logf("calibration at %.0f/s: %.0f µs per auction", rate, float64(warm.cpuPerReq)/1e3)
		rate = math.Round(0.5 / warm.cpuPerReq.Seconds())
	}
	b.ResetTimer()
	var (
		figures                  [3][]costFigure
		cpuRatio, carry, enforce []float64
	)
	for round := range b.N {
		var f [3]costFigure
		for _, i := range signalcorpus.Orders[round%len(signalcorpus.Orders)] {
			f[i] = measure(i, rate)
			figures[i] = append(figures[i], f[i])
		}
		n, c, e := float64(f[signalcorpus.None].cpuPerReq), float64(f[signalcorpus.Carried].cpuPerReq), float64(f[signalcorpus.Every].cpuPerReq)
		cpuRatio, carry, enforce = append(cpuRatio, e/n), append(carry, c/n), append(enforce, e/c)
	}
	b.StopTimer()
	for i, name := range signalcorpus.Names {
		pick := func(g func(costFigure) float64) float64 {
			v := make([]float64, len(figures[i]))
			for k, f := range figures[i] {
				v[k] = g(f)
			}
			return median(v)
		}
		b.ReportMetric(pick(func(c costFigure) float64 { return float64(c.cpuPerReq) / 1e3 }), name+"-cpu-us/req")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.bytes }), name+"-B/auction")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.objects }), name+"-objects/auction")
	}
	b.ReportMetric(median(cpuRatio), "cpu-ratio")
	b.ReportMetric(slices.Min(cpuRatio), "cpu-ratio-min")
	b.ReportMetric(slices.Max(cpuRatio), "cpu-ratio-max")
	b.ReportMetric(median(carry), "carry-ratio")
	b.ReportMetric(median(enforce), "enforce-ratio")
	b.ReportMetric(rate, "rate/s")
}
