package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

// capacityP99 is the corrected p99 a sustainable capacity step keeps:
// tmax, so that capacity is the highest rate adx answers within tmax,
// the same bar goodput is held to. (A lower bar measures the machine: on
// a shared 2-core box other processes' bursts alone push p99 past 50ms.)
const capacityP99 = defaultTmax

// loadConns bounds the generator's connections: one client address, like
// one SSP egress IP, within the default http.max_conns_per_ip (1024) even
// while the recovery load overlaps the overload's last connections.
const loadConns = 500

// warmGCCycles is how many GC cycles the warm-up at capacity waits for
// after its first step before the overload starts, and maxWarmSteps bounds
// the steps it takes to see them (at 0.3-0.6 cycles per 1000 auctions, two
// cycles take a few steps at capacity).
const (
	warmGCCycles = 2
	maxWarmSteps = 8
)

// loadDSP is the mock DSP behind the load scenarios, as in the README's
// load test: a few milliseconds of latency, bids on 60% of imps.
var loadDSP = bench.MockDSPConfig{Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond, BidRate: 0.6, Price: 1.5}

// overloadDSPs is how many DSPs each auction of the overload scenario
// calls. One, the default, makes an auction as cheap as adx's can be, and
// so a refusal as dear as it can be against it; an exchange calls many,
// and the goodput a refusal's cost leaves grows with them (see
// fanoutDSPs).
var overloadDSPs = flag.Int("reliability.dsps", 1, "DSPs each auction of the overload scenario calls (each an entry for the same mock DSP)")

// fanoutDSPs is how many DSPs each auction of the overload_fanout scenario
// calls, as an exchange calls tens of partners: enough for an auction to
// cost more than the twenty-one refusals that 90% goodput at 3x capacity
// takes (see testOverload). Measured, an auction with 32 DSPs cost 1.0-1.2
// ms of CPU, about fifty refusals; with 16 it cost 0.55-0.67 ms, and
// goodput came to 84% of capacity in one run of five.
const fanoutDSPs = 32

// startLoadTarget starts the mock DSP and adx with GOMAXPROCS=1, so that
// adx, not the machine, is what saturates: on a 2-core box the test
// process (generator and mock DSP) keeps the other core. adx's demand
// list has dsps entries for that DSP, each a partner of its own; dspExtra
// is added to each entry (YAML flow-map entries after a comma, e.g.
// noBreaker), "" for none.
func startLoadTarget(t *testing.T, dsps int, dspExtra string, args ...string) *adxProc {
	t.Helper()
	_, url := startDSP(t, loadDSP)
	demand := "demand:\n"
	for i := range dsps {
		demand += "  - {name: dsp" + strconv.Itoa(i) + ", type: openrtb, endpoint: \"" + url + "\"" + dspExtra + "}\n"
	}
	return startAdx(t, []string{"GOMAXPROCS=1"}, writeConfig(t, demand), args...)
}

// noBreaker turns the DSP's circuit breaker off where capacity is
// measured. A step past capacity times out enough DSP calls to open it
// (under load, even a cold first step did), and the steps run while it is
// open hold auctions without their DSP: cheap ones, which pass for a
// capacity adx does not have when it calls its DSP. One loaded run
// measured 2,532/s that way, at half the CPU an auction costs.
const noBreaker = ", breaker: {disabled: true}"

// overloadArgs are the overload scenario's only departure from the
// defaults: its generator is one client address playing many SSPs, so the
// per-address connection bound (http.max_conns_per_ip, tested by the
// hostile scenarios) is off; a client that times out reconnects, and the
// closing connections would otherwise count against that one address.
var overloadArgs = []string{"-http.maxConnsPerIP", "0"}

// cpuQuota is the CPU the overload scenario gives adx: a Kubernetes
// "cpu: 200m" limit, 2 ms each 10 ms CFS period. The generator and the
// mock DSP in this process then drive adx to three times its capacity
// with the rest of the 2-core machine to spare, so that what saturates is
// adx, as in a pod, and not the machine. The period is the kubelet's
// --cpu-cfs-quota-period set to 10 ms: with the default 100 ms a
// saturated 200m process stalls up to 80 ms in every period, /livez with
// it, whatever it admits.
const cpuQuota, cpuPeriod = 2000, 10000

// overloadGroup makes the cgroup v1 CPU group limited to cpuQuota that the
// overload scenario runs adx in, removed when t ends. Where cgroups are
// not writable it says so and returns ""; adx then runs on GOMAXPROCS=1
// alone, which on a shared machine measures the machine as much as adx.
func overloadGroup(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup/cpu", "adx-reliability-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Logf("no CPU cgroup (%v): adx runs on GOMAXPROCS=1 without a quota", err)
		return ""
	}
	t.Cleanup(func() { // after the cleanups of the adx processes in it
		if err := os.Remove(dir); err != nil {
			t.Errorf("cannot remove the test CPU cgroup: %v", err)
		}
	})
	for _, f := range []struct {
		file string
		v    int
	}{{"cpu.cfs_period_us", cpuPeriod}, {"cpu.cfs_quota_us", cpuQuota}} {
		if err := os.WriteFile(filepath.Join(dir, f.file), []byte(strconv.Itoa(f.v)), 0o644); err != nil {
			t.Fatalf("cannot set %s: %v", f.file, err)
		}
	}
	return dir
}

// startOverloadTarget is startLoadTarget with dsps DSPs, overloadArgs and
// args, and adx moved into the CPU group dir (none if dir is "").
func startOverloadTarget(t *testing.T, dir string, dsps int, dspExtra string, args ...string) *adxProc {
	t.Helper()
	a := startLoadTarget(t, dsps, dspExtra, append(overloadArgs[:len(overloadArgs):len(overloadArgs)], args...)...)
	if dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(a.pid())), 0o644); err != nil {
			t.Fatalf("cannot move adx into the CPU cgroup: %v", err)
		}
	}
	return a
}

// stop ends an adx process and waits for it.
func (a *adxProc) stop() {
	a.cmd.Process.Kill()
	<-a.exited
}

// synthTraffic synthesizes n varied requests (bench synth) and sets each
// one's tmax, so that "answered within tmax" is one threshold for all.
func synthTraffic(t testing.TB, n int, tmax time.Duration) *bench.Traffic {
	t.Helper()
	s, err := bench.NewSynth(bench.DefaultSynthConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := s.Bodies(n)
	if err != nil {
		t.Fatal(err)
	}
	tm := json.RawMessage(strconv.Itoa(int(tmax.Milliseconds())))
	for i, b := range bodies {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("synthesized request %d: %v", i, err)
		}
		m["tmax"] = tm
		if bodies[i], err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	return &bench.Traffic{Bodies: bodies}
}

// capStep is one capacity step and the CPU it took.
type capStep struct {
	rate, p99ms               float64
	ok                        bool
	why                       string
	adxCPU, selfCPU, otherCPU float64 // cores
	genCPU                    float64 // the generator's own estimate, share of the test process's CPUs
}

// measureCapacity finds the highest rate adx sustains with a corrected
// p99 within capacityP99 and no failure: steps up by 1.5x from a low rate
// until one fails twice in a row (on a shared machine a burst elsewhere
// can fail one step), then bisects that last interval twice (to within
// 11%).
func measureCapacity(t *testing.T, a *adxProc, dsps int, tr *bench.Traffic, step time.Duration) (capacity float64, at capStep, steps []capStep) {
	t.Helper()
	base := bench.RunConfig{Target: a.auctionURL(), Traffic: tr, Conns: loadConns, Timeout: time.Second}
	run := func(rate float64) capStep {
		cpu := startCPU(a.pid())
		m := a.scrape(t)
		shedBefore := m.sum("adx_http_shed_total")
		breakerBefore := m.sum("adx_demand_filtered_total", "reason", "breaker_open")
		failedBefore := m.sum("adx_demand_requests_total", "outcome", "timeout") + m.sum("adx_demand_requests_total", "outcome", "error")
		callsBefore := dspCallsMade(m)
		s, err := bench.RunSteps(context.Background(), base, []float64{rate}, step, capacityP99)
		if err != nil {
			t.Fatalf("capacity step at %v/s: %v", rate, err)
		}
		st := capStep{rate: rate, p99ms: s.Steps[0].LatencyMS.P99, ok: s.Steps[0].Sustainable, why: s.Steps[0].Why,
			genCPU: s.Results[0].Generator.CPUUtilization}
		// A shed answer is as fast as it is worthless: a step that needed
		// admission control to hold its p99 is past capacity.
		m = a.scrape(t)
		if shed := m.sum("adx_http_shed_total") - shedBefore; shed > 0.01*float64(s.Results[0].Sent) {
			st.ok, st.why = false, "shed "+strconv.FormatFloat(shed, 'f', 0, 64)
		}
		// So is an auction without its DSPs (see noBreaker, which keeps
		// the breaker closed here).
		calls := dspCallsMade(m) - callsBefore
		skipped := m.sum("adx_demand_filtered_total", "reason", "breaker_open") - breakerBefore
		if skipped > 0.01*(calls+skipped) {
			st.ok, st.why = false, "breaker_open "+strconv.FormatFloat(skipped, 'f', 0, 64)
		}
		// And so is one whose DSP calls time out or fail: they have no
		// answer to decode and no bid to clear. A step whose DSP calls
		// time out answers within tmax all the same (the auction ends at
		// its deadline), so p99 alone would pass it, at a rate adx does
		// not sustain with its DSPs. More than 1% of the calls made fails
		// the step: with one DSP, 1% of the auctions.
		failed := m.sum("adx_demand_requests_total", "outcome", "timeout") + m.sum("adx_demand_requests_total", "outcome", "error") - failedBefore
		if failed > 0.01*calls {
			st.ok, st.why = false, "dsp_timeout_or_error "+strconv.FormatFloat(failed, 'f', 0, 64)
		}
		st.adxCPU, st.selfCPU, st.otherCPU = cpu.cores()
		steps = append(steps, st)
		return st
	}
	good, bad := 0.0, 0.0
	// The first step is below capacity on any machine that can run the
	// scenario: 500/s with one DSP, less with more (each further DSP added
	// about a quarter of a one-DSP auction's CPU, measured).
	for rate := math.Round(2000 / float64(dsps+3)); rate < 1e5; rate = math.Round(rate * 1.5) {
		s := run(rate)
		if !s.ok {
			s = run(rate)
		}
		if !s.ok {
			bad = rate
			break
		}
		good, at = rate, s
	}
	if good == 0 {
		t.Fatalf("adx sustained not even the first step: %+v", steps)
	}
	for range 2 {
		if bad == 0 {
			break
		}
		mid := math.Round(math.Sqrt(good * bad))
		if s := run(mid); s.ok {
			good, at = mid, s
		} else {
			bad = mid
		}
	}
	return good, at, steps
}

// dspCallsMade is how many calls adx has made to its DSPs, whatever came
// of them (those its demand controls kept from a DSP are not calls).
func dspCallsMade(m metricSet) float64 {
	n := 0.0
	for _, outcome := range []string{"bid", "nobid", "timeout", "error"} {
		n += m.sum("adx_demand_requests_total", "outcome", outcome)
	}
	return n
}

// livezProbe polls the admin /livez like the kubelet: from a process of
// its own (the kubelet does not share the generator's scheduler, whose
// run queue at 3x capacity would add its own wait to every poll), on a
// fresh connection each time, every period until stopped. The process is
// this test binary, run with probeEnv set (see TestMain).
type livezProbe struct {
	cmd   *exec.Cmd
	stdin io.Closer
	out   bytes.Buffer
}

// probeEnv names the environment variable that makes the test binary a
// /livez prober: "address period".
const probeEnv = "ADX_RELIABILITY_LIVEZ_PROBE"

func probeLivez(t *testing.T, admin string, period time.Duration) *livezProbe {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &livezProbe{cmd: exec.Command(exe)}
	p.cmd.Env = append(os.Environ(), probeEnv+"="+admin+" "+period.String())
	p.cmd.Stdout, p.cmd.Stderr = &p.out, os.Stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start the /livez prober: %v", err)
	}
	t.Cleanup(func() { p.stdin.Close(); p.cmd.Wait() })
	return p
}

// end stops the prober and returns each poll's latency and how many
// failed (an error or a status other than 200).
func (p *livezProbe) end(t *testing.T) (lat []time.Duration, fails int) {
	t.Helper()
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("the /livez prober: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(p.out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("the /livez prober wrote %q", line)
		}
		lat = append(lat, time.Duration(ns))
		if f[0] != "ok" {
			fails++
		}
	}
	return lat, fails
}

// runLivezProbe is the prober process: spec is "address period". It polls
// until its stdin ends, and writes one line a poll: "ok" or "fail", the
// latency in nanoseconds, and for a failure why.
func runLivezProbe(spec string) {
	addr, per, _ := strings.Cut(spec, " ")
	period, err := time.ParseDuration(per)
	if err != nil {
		fmt.Fprintln(os.Stderr, "livez prober:", err)
		os.Exit(2)
	}
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	w := bufio.NewWriter(os.Stdout)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			w.Flush()
			os.Exit(0)
		case <-tick.C:
		}
		start := time.Now()
		resp, err := c.Get("http://" + addr + "/livez")
		took := time.Since(start)
		switch {
		case err != nil:
			fmt.Fprintf(w, "fail %d %q\n", took, err.Error())
		case resp.StatusCode != http.StatusOK:
			resp.Body.Close()
			fmt.Fprintf(w, "fail %d status=%d\n", took, resp.StatusCode)
		default:
			resp.Body.Close()
			fmt.Fprintf(w, "ok %d\n", took)
		}
	}
}

// testOverload offers 3x adx's measured capacity with default settings and
// reports what admission control makes of it: goodput (answers within
// tmax that ran an auction) against capacity, the p99 of admitted
// requests, /livez latency, RSS growth, and how soon p99 is back under
// tmax at half the capacity once the overload stops. Each auction calls
// dsps DSPs: the more, the dearer an auction against a refusal, and the
// more of the CPU that refusing the excess leaves for auctions.
func testOverload(t *testing.T, dsps int) {
	sz := sizes()
	const tmax = defaultTmax
	group := overloadGroup(t)
	quota := group != ""
	tr := synthTraffic(t, 10000, tmax)

	// Capacity is what adx sustains within tmax with nothing shed, so it is
	// measured with adaptive admission off: with it on, a step past
	// capacity is held within tmax by shedding. And it is what adx
	// sustains calling its DSP, so the DSP's breaker is off (noBreaker).
	c := startOverloadTarget(t, group, dsps, noBreaker, "-http.schedLatencyTarget", "0")
	capacity, at, steps := measureCapacity(t, c, dsps, tr, sz.rampStep)
	c.stop()
	var ramp []string
	for _, s := range steps {
		step := strconv.FormatFloat(s.rate, 'f', 0, 64) + ":" + strconv.FormatBool(s.ok) + ":p99=" + strconv.FormatFloat(s.p99ms, 'f', 1, 64) + "ms:adx_cpu=" + strconv.FormatFloat(s.adxCPU, 'f', 2, 64)
		if !s.ok && s.why != "" {
			step += ":" + strings.ReplaceAll(s.why, " ", "_")
		}
		ramp = append(ramp, step)
	}
	figure(t, "capacity", "rate", capacity, "steps", ramp,
		"adx_cpu", strconv.FormatFloat(at.adxCPU, 'f', 2, 64), "test_cpu", strconv.FormatFloat(at.selfCPU, 'f', 2, 64),
		"others_cpu", strconv.FormatFloat(at.otherCPU, 'f', 2, 64), "generator_cpu_share", strconv.FormatFloat(at.genCPU, 'f', 2, 64))
	cores := 1.0
	if quota {
		cores = float64(cpuQuota) / cpuPeriod
	}
	if at.adxCPU < 0.8*cores {
		t.Logf("at its measured capacity adx used %.2f of its %.2f cores: the capacity is bounded by the generator, the mock DSP or the rest of the machine (%.2f cores), not by adx alone", at.adxCPU, cores, at.otherCPU+at.selfCPU)
	}

	// The overload meets adx with its defaults, warmed at capacity: one
	// capacity step's worth of traffic, then more steps until its GC has
	// completed warmGCCycles cycles, so that the heap has grown to its goal
	// and been collected as it will in steady state. RSS growth is judged
	// against the highest RSS of those later steps: a garbage-collected
	// heap swings between its live size and its goal, so an instant's RSS
	// says where in that swing the sample fell, not what the overload
	// added. The instant's RSS and the idle RSS are reported too.
	a := startOverloadTarget(t, group, dsps, "")
	rssIdle := rss(t, a.pid())
	warm := func(seed uint64) {
		if _, err := bench.Run(context.Background(), bench.RunConfig{Target: a.auctionURL(), Traffic: tr, Rate: capacity,
			Duration: sz.rampStep, Conns: loadConns, Timeout: time.Second, Seed: seed}); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	warm(3)
	warmPeak := watchRSS(t, a.pid())
	gcFrom := a.scrape(t).sum("go_gc_duration_seconds_count")
	warmSteps, gcCycles := 1, 0.0
	for ; warmSteps < maxWarmSteps && gcCycles < warmGCCycles; warmSteps++ {
		warm(uint64(3 + warmSteps))
		gcCycles = a.scrape(t).sum("go_gc_duration_seconds_count") - gcFrom
	}
	rssWarm := warmPeak.end()
	before := a.scrape(t)
	rssBefore := rss(t, a.pid())
	peak := watchRSS(t, a.pid())
	probe := probeLivez(t, a.admin, 50*time.Millisecond)
	cpu := startCPU(a.pid())

	// The recovery load starts when the overload window ends; the CPU and
	// the shed count are read at that moment.
	var (
		recovery                  *bench.Result
		recErr, scrapeErr         error
		atEnd, recEnd             metricSet
		adxCPU, selfCPU, otherCPU float64
		rc                        recoveryCPU
		wg                        sync.WaitGroup
	)
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Until(start.Add(5*time.Millisecond + sz.overload))) // the generator starts 5ms after Run is called
		adxCPU, selfCPU, otherCPU = cpu.cores()
		recCPU := startCPU(a.pid())
		recDone := make(chan struct{})
		go func() {
			defer close(recDone)
			recovery, recErr = bench.Run(context.Background(), bench.RunConfig{Target: a.auctionURL(), Traffic: tr, Rate: capacity / 2,
				Duration: sz.recovery, Conns: loadConns, Timeout: time.Second, Seed: 2})
			rc.adx, rc.self, rc.others = recCPU.cores()
		}()
		atEnd, scrapeErr = a.tryScrape()
		<-recDone
		if scrapeErr == nil {
			recEnd, scrapeErr = a.tryScrape()
		}
	}()
	over, err := bench.Run(context.Background(), bench.RunConfig{Target: a.auctionURL(), Traffic: tr, Rate: 3 * capacity,
		Duration: sz.overload, Conns: loadConns, Timeout: time.Second})
	wg.Wait()
	if err != nil || recErr != nil || scrapeErr != nil {
		t.Fatalf("load: %v %v %v", err, recErr, scrapeErr)
	}
	livez, livezFails := probe.end(t)
	rssPeak := peak.end()

	g := goodputOf(t, over, atEnd.sum("adx_http_shed_total")-before.sum("adx_http_shed_total"), tmax)
	rec, recovered := recoveryTime(recovery, tmax)
	livezP99, livezMax := percentile(livez, 0.99), percentile(livez, 1)
	growth := float64(rssPeak-rssWarm) / float64(rssWarm)
	dspCalls := func(m metricSet, outcome string) float64 {
		return m.sum("adx_demand_requests_total", "outcome", outcome)
	}
	figure(t, "overload_dsp", "dsps", dsps,
		"bids", dspCalls(atEnd, "bid")-dspCalls(before, "bid"), "nobids", dspCalls(atEnd, "nobid")-dspCalls(before, "nobid"),
		"timeouts", dspCalls(atEnd, "timeout")-dspCalls(before, "timeout"), "errors", dspCalls(atEnd, "error")-dspCalls(before, "error"),
		"not_eligible", dspCalls(atEnd, "not_eligible")-dspCalls(before, "not_eligible"),
		"of_which_breaker_open", atEnd.sum("adx_demand_filtered_total", "reason", "breaker_open")-before.sum("adx_demand_filtered_total", "reason", "breaker_open"))
	figure(t, "overload",
		"capacity", capacity, "offered", strconv.FormatFloat(over.AchievedRate, 'f', 0, 64)+"/"+strconv.FormatFloat(3*capacity, 'f', 0, 64),
		"window", sz.overload, "statuses", over.Status, "errors", over.Errors, "timeouts", over.Timeouts, "dropped", over.Dropped,
		"shed", g.shed, "goodput", strconv.FormatFloat(g.rate, 'f', 0, 64)+"/s",
		"goodput_pct", strconv.FormatFloat(100*g.rate/capacity, 'f', 1, 64),
		"admitted_p99", fmtP99(g.p99), "tmax", tmax, "all_p99", strconv.FormatFloat(over.LatencyMS.P99, 'f', 1, 64)+"ms",
		"livez_p99", ms(livezP99), "livez_max", ms(livezMax), "livez_fails", livezFails, "livez_polls", len(livez),
		"rss_idle", mb(rssIdle), "rss_warm_peak", mb(rssWarm), "rss_before", mb(rssBefore), "rss_peak", mb(rssPeak),
		"rss_growth_pct", strconv.FormatFloat(100*growth, 'f', 1, 64),
		"rss_growth_over_before_pct", strconv.FormatFloat(100*float64(rssPeak-rssBefore)/float64(rssBefore), 'f', 1, 64),
		"warm_steps", warmSteps, "warm_gc_cycles", gcCycles,
		"recovery", rec, "recovered", recovered,
		"adx_cpu", strconv.FormatFloat(adxCPU, 'f', 2, 64), "test_cpu", strconv.FormatFloat(selfCPU, 'f', 2, 64),
		"others_cpu", strconv.FormatFloat(otherCPU, 'f', 2, 64),
		"generator_cpu_share", strconv.FormatFloat(over.Generator.CPUUtilization, 'f', 2, 64),
		"late_sends", over.LateSends, "send_lag_p99", strconv.FormatFloat(over.SendLagMS.P99, 'f', 1, 64)+"ms")
	// Where the RSS growth goes: goroutine stacks (one per connection,
	// grown by the auctions it ran), the heap, and the heap goal the GC
	// lets the heap reach before it collects (twice the live heap and
	// stacks at GOGC=100), read once warmed and at the window's end.
	memFigure := func(m metricSet) string {
		return mb(int64(m.sum("go_memstats_stack_inuse_bytes"))) + "/" + mb(int64(m.sum("go_memstats_heap_inuse_bytes"))) + "/" +
			mb(int64(m.sum("go_memstats_next_gc_bytes"))) + "/" + strconv.FormatFloat(m.sum("go_goroutines"), 'f', 0, 64)
	}
	figure(t, "overload_memory", "stack/heap/heap_goal/goroutines_before", memFigure(before), "at_end", memFigure(atEnd))
	for _, w := range over.Warnings {
		t.Logf("generator: %s", w)
	}

	// What refusing costs decides what goodput can be. A shed request is
	// still read, parsed and answered: s CPU-seconds against an auction's
	// c. At k times capacity the CPU pays (k-1)C*s at least for refusing
	// the excess, which leaves at most C*(1-k*r)/(1-r) auctions a second,
	// r = s/c; past r = 1/k refusing alone takes the whole CPU. c comes from
	// the capacity step, s from the overload window's CPU less its
	// auctions.
	k := over.AchievedRate / capacity
	perAuction := at.adxCPU / capacity
	answered := float64(over.Status["200"]+over.Status["204"]) / over.DurationS
	admittedRate := max(answered-float64(g.shed)/over.DurationS, 0)
	perShed := (adxCPU - admittedRate*perAuction) / max(float64(g.shed)/over.DurationS, 1)
	r := perShed / perAuction
	bound := 0.0
	if k*r < 1 {
		bound = (1 - k*r) / (1 - r)
	}
	figure(t, "overload_cost", "auction_cpu_us", strconv.FormatFloat(perAuction*1e6, 'f', 1, 64),
		"shed_cpu_us", strconv.FormatFloat(perShed*1e6, 'f', 1, 64), "r", strconv.FormatFloat(r, 'f', 2, 64),
		"overload_factor", strconv.FormatFloat(k, 'f', 2, 64), "goodput_bound_pct", strconv.FormatFloat(100*bound, 'f', 0, 64))

	// What admission control must do on any machine: refuse the excess at
	// once and count it, answer nothing with a 5xx, keep memory bounded,
	// and serve normally within seconds of the overload's end.
	if over.AchievedRate < 2*capacity {
		t.Errorf("the generator offered only %.0f/s of %.0f/s (3x capacity): the machine cannot drive this scenario, so its figures do not show an overload", over.AchievedRate, 3*capacity)
	}
	if overload := atEnd.sum("adx_http_shed_total", "reason", "overload") - before.sum("adx_http_shed_total", "reason", "overload"); overload == 0 {
		t.Errorf("nothing was shed for CPU overload at %.1fx capacity (adx_http_shed_total{reason=\"overload\"}): admission control did not act", k)
	}
	for code, n := range over.Status {
		if code[0] == '5' && n > 0 {
			t.Errorf("%d answers with status %s under overload", n, code)
		}
	}
	dspFailed := recEnd.sum("adx_demand_requests_total", "outcome", "timeout") + recEnd.sum("adx_demand_requests_total", "outcome", "error") -
		atEnd.sum("adx_demand_requests_total", "outcome", "timeout") - atEnd.sum("adx_demand_requests_total", "outcome", "error")
	figure(t, "overload_recovery", "recovery", rec, "recovered", recovered, "intervals_p99_ms", recoveryIntervals(recovery),
		"sent", recovery.Sent, "late_sends", recovery.LateSends, "dsp_timeout_or_error", dspFailed,
		"shed", recEnd.sum("adx_http_shed_total")-atEnd.sum("adx_http_shed_total"),
		"adx_cpu", strconv.FormatFloat(rc.adx, 'f', 2, 64), "test_cpu", strconv.FormatFloat(rc.self, 'f', 2, 64),
		"others_cpu", strconv.FormatFloat(rc.others, 'f', 2, 64))
	if !recovered || rec > 5*time.Second {
		if why := rc.excuse(cores, recovery, dspFailed); why != "" && !*long {
			t.Logf("p99 back under tmax at half load after %v (recovered: %v), but %s: reported, not judged (want within 5s)", rec, recovered, why)
		} else {
			t.Errorf("p99 back under tmax at half load after %v (recovered: %v); want within 5s", rec, recovered)
		}
	}
	// The latency and goodput goals hold only where refusing the excess
	// leaves the CPU room for auctions: the long variant holds adx to them
	// whatever the cost, and reports what fails.
	if !*long && r <= 0 && dsps == 1 {
		// Refusing cannot be free: a negative cost means adx had CPU to
		// spare at 3x the measured capacity, so the capacity steps
		// under-measured it (a burst elsewhere on the machine) and this
		// run was no overload. Its figures are reported, not judged.
		// With many DSPs a cost at or under 0 is the usual reading, and
		// the goals are judged: an auction's CPU falls more under
		// overload, where each wake-up finds more DSP answers to read,
		// than in the capacity step it is measured in (6 of 9 runs with
		// 16 or 32 DSPs read r <= 0, each with goodput of 104-160%).
		t.Logf("refusing cost %.2f of an auction here: at 3x the measured capacity adx still had CPU to spare, so the capacity was under-measured and this was no overload; the goals are reported, not asserted (-reliability.long asserts them)", r)
		return
	}
	if !*long && bound < 0.9 {
		t.Logf("refusing costs %.2f of an auction here, so at %.1fx capacity at most %.0f%% of capacity can be goodput: the goals of 90%% goodput, admitted p99 within tmax, /livez within 50ms and RSS growth within 20%% are reported, not asserted (-reliability.long asserts them)", r, k, 100*bound)
		return
	}
	// RSS growth and /livez latency do not follow from the refusal cost:
	// a run whose cost measured low on a busy machine says nothing new of
	// them, so the short run reports them and the long one asserts them.
	judge := t.Errorf
	if !*long {
		judge = t.Logf
	}
	if growth > 0.2 {
		judge("RSS grew %.0f%% (%s, the warmed server's highest, to %s); want at most 20%%", 100*growth, mb(rssWarm), mb(rssPeak))
	}
	if g.rate < 0.9*capacity {
		t.Errorf("goodput %.0f/s is %.0f%% of the capacity %.0f/s; want at least 90%%", g.rate, 100*g.rate/capacity, capacity)
	}
	if g.p99 > tmax {
		t.Errorf("admitted p99 %s, want at most tmax %v", fmtP99(g.p99), tmax)
	}
	if livezP99 > 50*time.Millisecond || livezFails > 0 {
		judge("/livez p99 %v (max %v, %d failed of %d); want p99 within 50ms and no failure", livezP99, livezMax, livezFails, len(livez))
	}
}

// fmtP99 formats an admitted p99, which may be past the client timeout.
func fmtP99(d time.Duration) string {
	if d == math.MaxInt64 {
		return "over_timeout"
	}
	return ms(d)
}

// goodput is what an overload run delivered.
type goodput struct {
	shed int64         // requests admission control refused
	rate float64       // answers per second within tmax that ran an auction
	p99  time.Duration // p99 of admitted requests; math.MaxInt64 if past the timeout
}

// goodputOf works out goodput from a run and the shed count adx reported
// for it. A shed answer is a 204 like a no-bid, so the client cannot tell
// them apart: the shed answers are taken to be the fastest ones (adx
// answers them at once, before any work), which can only overstate
// admitted latency and understate goodput, never the reverse.
func goodputOf(t *testing.T, r *bench.Result, shed float64, tmax time.Duration) goodput {
	t.Helper()
	h, err := bench.DecodeHistogram(r.Histogram.Latency)
	if err != nil {
		t.Fatal(err)
	}
	responses := h.TotalCount()
	g := goodput{shed: int64(shed)}
	within := int64(0)
	for _, bar := range h.Distribution() {
		if bar.To <= tmax.Microseconds() {
			within += bar.Count
		}
	}
	notOK := int64(0)
	for code, n := range r.Status {
		if code != "200" && code != "204" {
			notOK += n
		}
	}
	g.rate = float64(max(within-g.shed-notOK, 0)) / r.DurationS
	// Admitted: answered but not shed, plus those never answered.
	admitted := responses - g.shed + r.Errors + r.Timeouts
	rank := int64(math.Ceil(0.99 * float64(admitted)))
	if admitted <= 0 || g.shed+rank > responses {
		g.p99 = math.MaxInt64
	} else {
		g.p99 = time.Duration(h.ValueAtQuantile(100*float64(g.shed+rank)/float64(responses))) * time.Microsecond
	}
	return g
}

// recoveryCPU is the CPU taken while the recovery load ran: by adx, by the
// test process (the generator and the mock DSP) and by the rest of the
// machine.
type recoveryCPU struct{ adx, self, others float64 }

// excuse says why a slow recovery was not adx's doing, or "" if it may
// have been. A generator that sent more than 1% of its requests late
// (the threshold of its own warning) measured itself: the latency counts
// from when each request was due, and a late send is the generator's own
// scheduling lag, not a wait for a connection. Otherwise, at half its
// capacity adx took 60-100% of its cores, measured (an auction costs more
// where each wake-up finds less to do); if it used less than 90% of them
// yet answered late, the wait was outside it: in other processes taking
// more than half a CPU, or in the mock DSP, which shares the test process
// with the generator, timing out or failing in more than 1% of the
// auctions. Where adx used its cores to the full, it was slow of its own
// accord, and nothing else excuses it.
func (c recoveryCPU) excuse(cores float64, r *bench.Result, dspFailed float64) string {
	switch {
	case r.Sent > 0 && float64(r.LateSends) > 0.01*float64(r.Sent):
		return fmt.Sprintf("the generator sent %d of %d requests late while adx took %.2f of its %.2f CPUs", r.LateSends, r.Sent, c.adx, cores)
	case c.adx >= 0.9*cores:
		return ""
	case c.others > 0.5:
		return fmt.Sprintf("other processes took %.2f CPUs while adx took %.2f of its %.2f", c.others, c.adx, cores)
	case r.Sent > 0 && dspFailed > 0.01*float64(r.Sent):
		return fmt.Sprintf("the mock DSP in the test process timed out or failed %.0f times in %d auctions while adx took %.2f of its %.2f CPUs", dspFailed, r.Sent, c.adx, cores)
	}
	return ""
}

// recoveryIntervals formats each one-second interval of the recovery run
// as p99 in ms, then errors+timeouts and late sends where there were any,
// so that a slow recovery shows where its latency came from.
func recoveryIntervals(r *bench.Result) []string {
	out := make([]string, 0, len(r.Intervals))
	for _, iv := range r.Intervals {
		s := strconv.FormatFloat(iv.LatencyMS.P99, 'f', 0, 64)
		if iv.Errors+iv.Timeouts > 0 {
			s += "/fail=" + strconv.FormatInt(iv.Errors+iv.Timeouts, 10)
		}
		if iv.Late > 0 {
			s += "/late=" + strconv.FormatInt(iv.Late, 10)
		}
		out = append(out, s)
	}
	return out
}

// recoveryTime returns the end of the first one-second interval of a run
// from which on every interval had its p99 within tmax and no failure (so
// 1s when the run was good from the start); recovered is false if none
// did.
func recoveryTime(r *bench.Result, tmax time.Duration) (at time.Duration, recovered bool) {
	tmaxMS := float64(tmax) / 1e6
	at = time.Duration(r.DurationS * float64(time.Second))
	for i := len(r.Intervals) - 1; i >= 0; i-- {
		iv := r.Intervals[i]
		if iv.LatencyMS.P99 > tmaxMS || iv.Errors > 0 || iv.Timeouts > 0 {
			break
		}
		recovered = true
		at = time.Duration(iv.T * float64(time.Second))
	}
	return at, recovered
}
