package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/adx-exchange/adx/internal/bench"
)

var costProfile = flag.String("cost.profile", "", "write a CPU profile of adx with one DSP, taken over one measured window of BenchmarkCost, to this `file` (make pgo)")

var costEarlier = flag.String("cost.earlier", "", "an earlier adx `binary` that BenchmarkCost also measures, in the same run, for a before-and-after figure")

// costConns is the generator's connection bound in the cost benchmark: an
// SSP's pool of keep-alive connections.
const costConns = 64

// costGVLIDs are the cost benchmark's DSPs' vendor ids, among
// bench.ConsentVendors.
var costGVLIDs = [4]int{32, 52, 76, 755}

// costWindow is each measured window of the cost benchmark.
var costWindow = flag.Duration("cost.window", 5*time.Second, "each measured `window` of BenchmarkCost")

// BenchmarkCost measures what an auction costs adx, next to what a
// fasthttp hello-world (adx bench hello: read the request, answer 204)
// costs per request, at the same rate, with the same varied traffic and
// generator, in the same run. adx and the baseline run alone on one CPU
// (GOMAXPROCS=1, pinned), the generator and the mock DSPs (5-10 ms, bids
// on 60% of imps) elsewhere. One round (b.N counts rounds; run it with
// -benchtime 3x) measures the baseline, then adx with one remote DSP and
// adx with four (and an earlier build with one, -cost.earlier), in turn,
// in reverse every other round; each figure is the median over the
// rounds (compare builds with an even number of rounds):
//
//   - cpu-us/req: CPU time (user + system, from /proc) per request;
//   - x-hello: that against the baseline's in the same round (P1);
//   - B/auction, objects/auction: heap allocated per auction, from adx's
//     own go_memstats counters (the two scrapes of a window are included,
//     a few bytes per auction) (P2);
//   - gc/1000: GC cycles per 1000 auctions;
//   - own-p99-us: the p99 of adx_auction_own_seconds, the time adx adds to
//     an auction beyond the longest DSP wait (P3), at the upper bound of
//     its histogram bucket.
//
// The rate is half what one core sustains at the CPU per auction a
// calibration window measures for adx with one DSP, so the one-DSP figures
// are at 50% of capacity.
//
//	go test -run '^$' -bench Cost -benchtime 3x ./internal/reliability/
func BenchmarkCost(b *testing.B) {
	if raceEnabled || adxBinary == "" {
		b.Skip("the cost benchmark runs the real binary without the race detector")
	}
	cpu := runtime.NumCPU() - 1
	tr := synthTraffic(b, 10000, defaultTmax)
	var urls []string
	for range 4 {
		_, url := startDSP(b, loadDSP)
		urls = append(urls, url)
	}
	demand := func(n int) string {
		var s strings.Builder
		s.WriteString("demand:\n")
		for i, u := range urls[:n] {
			// Vendor ids that the synthesized consent strings know
			// (bench.ConsentVendors), so that EU users reach the DSPs as
			// far as their answers allow.
			s.WriteString("  - {name: dsp" + strconv.Itoa(i) + ", type: openrtb, endpoint: \"" + u + "\", gvl_id: " + strconv.Itoa(costGVLIDs[i]) + "}\n")
		}
		return s.String()
	}
	env := []string{"GOMAXPROCS=1"}
	one, four := writeConfig(b, demand(1)), writeConfig(b, demand(4))
	hello := startHello(b, cpu)
	targets := []*costTarget{
		{name: "adx-1dsp", proc: startPinned(b, cpu, adxBinary, env, one)},
		{name: "adx-4dsp", proc: startPinned(b, cpu, adxBinary, env, four)},
	}
	if *costEarlier != "" {
		targets = append(targets, &costTarget{name: "earlier-1dsp", proc: startPinned(b, cpu, *costEarlier, env, one)})
	}

	// Calibrate: windows that warm adx and give its CPU per auction, each
	// at half of one core's worth by the one before (the CPU per auction
	// falls as the rate grows: more work per wakeup).
	rate := 500.0
	for range 2 {
		warm := measureCost(b, targets[0].proc, targets[0].proc.pid(), targets[0].proc.auctionURL(), tr, rate)
		b.Logf("calibration at %.0f/s: %.0f µs per auction", rate, float64(warm.cpuPerReq)/1e3)
		rate = math.Round(0.5 / warm.cpuPerReq.Seconds())
	}
	b.ResetTimer()
	var helloCPU []float64
	for round := range b.N {
		h := measureCost(b, nil, hello.pid, hello.url, tr, rate)
		helloCPU = append(helloCPU, float64(h.cpuPerReq)/1e3)
		line := fmt.Sprintf("round %d: hello %.1f µs", round+1, float64(h.cpuPerReq)/1e3)
		for k := range targets {
			// Every other round in reverse, so that no build always
			// follows the baseline or always comes last: an order effect,
			// if the machine has one, falls on each build alike.
			t := targets[k]
			if round%2 == 1 {
				t = targets[len(targets)-1-k]
			}
			var prof chan error
			if t == targets[0] && *costProfile != "" {
				prof = make(chan error, 1)
				go func() { prof <- t.proc.saveCPUProfile(*costProfile, *costWindow-time.Second) }()
			}
			c := measureCost(b, t.proc, t.proc.pid(), t.proc.auctionURL(), tr, rate)
			if prof != nil {
				if err := <-prof; err != nil {
					b.Fatal(err)
				}
				*costProfile = "" // one window is enough
			}
			t.rounds = append(t.rounds, c)
			t.ratio = append(t.ratio, float64(c.cpuPerReq)/float64(h.cpuPerReq))
			line += fmt.Sprintf(", %s %.1f µs", t.name, float64(c.cpuPerReq)/1e3)
		}
		b.Log(line)
	}
	b.StopTimer()
	b.ReportMetric(median(helloCPU), "hello-cpu-us/req")
	for _, t := range targets {
		pick := func(f func(costFigure) float64) float64 { return medianOf(t.rounds, f) }
		b.ReportMetric(pick(func(c costFigure) float64 { return float64(c.cpuPerReq) / 1e3 }), t.name+"-cpu-us/req")
		b.ReportMetric(median(t.ratio), t.name+"-x-hello")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.bytes }), t.name+"-B/auction")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.objects }), t.name+"-objects/auction")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.gcPer1000 }), t.name+"-gc/1000")
		b.ReportMetric(pick(func(c costFigure) float64 { return c.ownP99us }), t.name+"-own-p99-us")
	}
	b.ReportMetric(rate, "rate/s")
}

// costTarget is one adx measured by BenchmarkCost, and its rounds.
type costTarget struct {
	name   string
	proc   *adxProc
	rounds []costFigure
	ratio  []float64 // CPU per auction against the baseline's per request
}

// costFigure is one measured window of one server.
type costFigure struct {
	cpuPerReq time.Duration
	// The rest are adx's own figures, zero for the baseline.
	bytes, objects, gcPer1000, ownP99us float64
}

// measureCost offers rate/s of tr to url for costWindow and measures the
// server process pid; a is that server when it is adx (nil for the
// baseline).
func measureCost(b *testing.B, a *adxProc, pid int, url string, tr *bench.Traffic, rate float64) costFigure {
	b.Helper()
	f, err := tryMeasureCost(a, pid, url, tr, rate)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// tryMeasureCost is measureCost for goroutines other than the benchmark's.
func tryMeasureCost(a *adxProc, pid int, url string, tr *bench.Traffic, rate float64) (costFigure, error) {
	var before metricSet
	if a != nil {
		var err error
		if before, err = a.tryScrape(); err != nil {
			return costFigure{}, err
		}
	}
	cpu0 := cpuTime(pid)
	res, err := bench.Run(context.Background(), bench.RunConfig{Target: url, Traffic: tr, Rate: rate, Duration: *costWindow, Conns: costConns, Timeout: time.Second})
	if err != nil {
		return costFigure{}, err
	}
	cpu := cpuTime(pid) - cpu0
	answered := res.Status["200"] + res.Status["204"]
	if answered == 0 || res.Errors+res.Timeouts > answered/100 {
		return costFigure{}, fmt.Errorf("%s at %.0f/s: %d answered, %d errors, %d timeouts, statuses %v", url, rate, answered, res.Errors, res.Timeouts, res.Status)
	}
	f := costFigure{cpuPerReq: cpu / time.Duration(answered)}
	if a == nil {
		return f, nil
	}
	after, err := a.tryScrape()
	if err != nil {
		return costFigure{}, err
	}
	delta := func(name string, match ...string) float64 {
		return after.sum(name, match...) - before.sum(name, match...)
	}
	auctions := delta("adx_http_requests_total", "endpoint", "auction")
	// Each DSP is asked in most auctions (not the invalid traffic, nor a
	// request with no imp of its media, nor a user whose privacy signals
	// keep it out: an EU user who gave no consent string, or refused the
	// DSP both consent and legitimate interest): else this measures
	// another path.
	if asked := delta("adx_demand_requests_total") - delta("adx_demand_requests_total", "outcome", "not_eligible") +
		delta("adx_demand_filtered_total", "reason", "privacy"); asked < 0.9*auctions {
		return costFigure{}, fmt.Errorf("%s: the DSPs were asked %.0f times in %.0f auctions; outcomes %s; filtered %s", url, asked, auctions,
			deltaBy(before, after, "adx_demand_requests_total", "outcome"), deltaBy(before, after, "adx_demand_filtered_total", "reason"))
	}
	f.bytes = delta("go_memstats_alloc_bytes_total") / auctions
	f.objects = delta("go_memstats_mallocs_total") / auctions
	f.gcPer1000 = 1000 * delta("go_gc_duration_seconds_count") / auctions
	f.ownP99us = 1e6 * bucketQuantile(before, after, "adx_auction_own_seconds", 0.99)
	return f, nil
}

// bucketQuantile returns the upper bound of the histogram bucket that
// holds quantile q of the observations between two scrapes (+Inf: past
// the last bound).
func bucketQuantile(before, after metricSet, name string, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for _, s := range after {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, s.value - before.sum(name+"_bucket", "le", s.labels["le"])})
	}
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].n
	for _, x := range bs {
		if x.n >= q*total {
			return x.le
		}
	}
	return math.Inf(1)
}

// medianOf returns the median of f over the rounds' figures.
func medianOf(rounds []costFigure, f func(costFigure) float64) float64 {
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	return median(v)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// startPinned is startAdx for binary, started on CPU cpu alone.
func startPinned(b *testing.B, cpu int, binary string, env []string, config string) *adxProc {
	b.Helper()
	var a *adxProc
	onCPU(b, cpu, func() { a = startAdxBinary(b, binary, env, config) })
	return a
}

// helloProc is a running baseline server (adx bench hello).
type helloProc struct {
	pid int
	url string
}

// startHello runs the baseline server on CPU cpu alone, with GOMAXPROCS=1
// like adx, until the benchmark ends.
func startHello(b *testing.B, cpu int) helloProc {
	b.Helper()
	cmd := exec.Command(adxBinary, "bench", "hello", "-http.listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	onCPU(b, cpu, func() {
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
	})
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "hello baseline listening" {
			go func() { // keep the pipe drained
				for lines.Scan() {
				}
			}()
			return helloProc{pid: cmd.Process.Pid, url: "http://" + l.Addr + "/openrtb2/auction"}
		}
	}
	b.Fatal("the baseline never said where it listens")
	return helloProc{}
}

// onCPU runs start, which starts a process, on an OS thread bound to CPU
// cpu: the process inherits the binding, every thread of it included. The
// thread gets its old binding back afterwards.
func onCPU(b *testing.B, cpu int, start func()) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		b.Fatalf("cannot read the CPU binding: %v", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		b.Fatalf("cannot bind to CPU %d: %v", cpu, err)
	}
	defer unix.SchedSetaffinity(0, &old)
	start()
}

// saveCPUProfile writes a CPU profile of adx over d to path.
func (a *adxProc) saveCPUProfile(path string, d time.Duration) error {
	c := &http.Client{Timeout: d + 30*time.Second}
	resp, err := c.Get("http://" + a.admin + "/debug/pprof/profile?seconds=" + strconv.Itoa(int(d.Seconds())))
	if err != nil {
		return fmt.Errorf("cannot profile adx: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot profile adx: status %d, %v", resp.StatusCode, err)
	}
	return os.WriteFile(path, body, 0o644)
}
