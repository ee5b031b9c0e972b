package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

func init() {
	register("bench", "load-test tools: synth, run, compare, report, dsps, hello", runBench)
}

const benchAbout = `Load-test tools.

  adx bench synth   [flags]          write synthesized OpenRTB 2.6 requests as JSONL
  adx bench run     [flags]          send an open-loop load to a target, write result JSON
  adx bench compare A.json B.json    print A/B ratios of two result files
  adx bench report -o R.html A.json [B.json]
                                     write a self-contained HTML report of one or two runs
  adx bench dsps -n K -profile FILE  serve K mock DSPs on loopback, print the demand config
  adx bench hello   [flags]          serve the baseline: a fasthttp server answering 204

Run "adx bench VERB -h" for the flags of each verb.`

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintf(stdout, "Usage: adx bench VERB [flags] [args]\n\n%s\n", benchAbout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "synth":
		return runBenchSynth(args[1:], stdout, stderr)
	case "run":
		return runBenchRun(args[1:], stdout, stderr)
	case "compare":
		return runBenchCompare(args[1:], stdout, stderr)
	case "report":
		return runBenchReport(args[1:], stdout, stderr)
	case "dsps":
		return runBenchDSPs(args[1:], stdout, stderr)
	case "hello":
		return runBenchHello(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "adx bench: unknown verb %q: want synth, run, compare, report, dsps or hello\n", args[0])
	return 2
}

const benchSynthAbout = `Write N synthesized, valid and varied OpenRTB 2.6 bid requests, one JSON
object per line. The same seed gives the same file. Built in: a few hundred
real User-Agents (Intoli data set) with matching sua for Chromium browsers,
IPv4/IPv6 networks by country, Zipf-distributed sites, apps and users.

Example:
  adx bench synth -n 3000 -seed 1 -o traffic.jsonl`

func runBenchSynth(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench synth", "", benchSynthAbout, stderr)
	n := fs.Int("n", 1000, "`number` of requests to write")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed writes the same requests")
	out := fs.String("o", "-", "output `file` (JSONL); - is stdout")
	mmdb := fs.String("mmdb", "", "MaxMind DB `file` to draw IP networks from (default: the built-in table)")
	uas := fs.String("uas", "", "`file` of User-Agents, one per line, to use instead of the built-in pool")
	def := bench.DefaultSynthConfig(0)
	app := fs.Float64("app", def.AppShare, "`share` of app requests, 0..1 (the rest are site requests)")
	ipv6 := fs.Float64("ipv6", def.IPv6Share, "`share` of devices with an IPv6 address, 0..1")
	video := fs.Float64("video", def.VideoShare, "`share` of video imps, 0..1")
	native := fs.Float64("native", def.NativeShare, "`share` of native imps, 0..1")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "adx bench synth: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *n < 0 {
		fmt.Fprintf(stderr, "adx bench synth: -n %d: want >= 0\n", *n)
		return 2
	}
	cfg := bench.DefaultSynthConfig(*seed)
	cfg.AppShare, cfg.IPv6Share, cfg.VideoShare, cfg.NativeShare = *app, *ipv6, *video, *native
	if *mmdb != "" {
		nets, err := bench.LoadMMDBNetworks(*mmdb)
		if err != nil {
			fmt.Fprintf(stderr, "adx bench synth: %v\n", err)
			return 1
		}
		cfg.Networks = nets
	}
	if *uas != "" {
		list, err := readLines(*uas)
		if err != nil {
			fmt.Fprintf(stderr, "adx bench synth: %v\n", err)
			return 1
		}
		cfg.UAs = list
	}
	s, err := bench.NewSynth(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "adx bench synth: %v\n", err)
		return 2
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "adx bench synth: cannot create output: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if err := s.WriteJSONL(w, *n); err != nil {
		fmt.Fprintf(stderr, "adx bench synth: %v\n", err)
		return 1
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "adx bench synth: cannot write %q: %v\n", *out, err)
			return 1
		}
	}
	return 0
}

// readLines returns the non-empty, non-comment lines of a file.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %q: %w", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q holds no lines", path)
	}
	return out, nil
}

const benchRunAbout = `Send bid requests to a target open-loop: each send goes out at its
scheduled time whatever earlier ones are doing, and latency is measured from
that intended time (corrected for coordinated omission) as well as from the
actual send (service time), with HdrHistogram. A progress line goes to
stderr each second, a summary to stdout, the full result to -o.

Without -traffic it synthesizes 10,000 requests (seed -seed). A traffic file
is JSONL or GoReplay .gor (either may be .gz) and loops when shorter than the
run. Targets must be loopback addresses unless -allowRemote.

Stepped rates: -steps 1000,2000,4000 runs one step per rate, each for
-stepDuration. Ramp: -ramp -p99 50ms starts at -rate and multiplies it by
-factor after each step until the corrected p99 passes -p99 or errors,
timeouts, drops or 5xx appear, then prints the max sustainable rate. Both
write -o as a steps file and each step's full result next to it, e.g.
run.json and run.step1.json, run.step2.json (see internal/bench/RESULT-FORMAT.md).

Example:
  adx bench run -target http://127.0.0.1:8080/openrtb2/auction -rate 2000 -duration 30s -o result.json
  adx bench run -target http://127.0.0.1:8080/openrtb2/auction -ramp -rate 1000 -p99 50ms -o ramp.json`

func runBenchRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench run", "", benchRunAbout, stderr)
	target := fs.String("target", "", "`URL` to POST bid requests to, e.g. http://127.0.0.1:8080/openrtb2/auction (required)")
	rate := fs.Float64("rate", 1000, "requested `rate` in requests per second")
	duration := fs.Duration("duration", 10*time.Second, "measured `window`, e.g. 30s")
	traffic := fs.String("traffic", "", "traffic `file`: .jsonl or .gor, optionally .gz (default: synthesized)")
	arrival := fs.String("arrival", bench.ArrivalConstant, "arrival `process`: constant, poisson, or captured (the timing of a .gor file or of a JSONL capture)")
	speed := fs.Float64("speed", 1, "with -arrival captured, `factor` dividing the captured gaps")
	seed := fs.Uint64("seed", 1, "random `seed` for poisson gaps and synthesized traffic")
	conns := fs.Int("conns", 512, "maximum open `connections`")
	maxInFlight := fs.Int("maxInFlight", 10000, "maximum sends in flight; sends due beyond it are dropped and counted (`count`)")
	timeout := fs.Duration("timeout", time.Second, "per-request `timeout` from the intended send time")
	late := fs.Duration("late", 2*time.Millisecond, "a send starting more than this `duration` after its intended time counts as late")
	out := fs.String("o", "", "result JSON `file` (default: none)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	allowRemote := fs.Bool("allowRemote", false, "allow a target that is not a loopback address")
	stepsFlag := fs.String("steps", "", "comma-separated `rates` in requests per second, one step each, e.g. 1000,2000,4000 (default: one run at -rate)")
	stepDuration := fs.Duration("stepDuration", 10*time.Second, "measured window of each step with -steps or -ramp (`duration`)")
	ramp := fs.Bool("ramp", false, "ramp the rate up from -rate by -factor per step until -p99 is passed or failures appear")
	p99 := fs.Duration("p99", 50*time.Millisecond, "with -ramp (or -steps), the corrected p99 `latency` a sustainable step stays under")
	factor := fs.Float64("factor", 1.5, "with -ramp, rate `multiplier` per step (> 1)")
	maxSteps := fs.Int("maxSteps", 20, "with -ramp, maximum number of `steps`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "adx bench run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *target == "" {
		fmt.Fprintln(stderr, "adx bench run: -target is required")
		return 2
	}
	cfg := bench.RunConfig{
		Target: *target, AllowRemote: *allowRemote, Rate: *rate, Duration: *duration, Arrival: *arrival,
		Speed: *speed, Seed: *seed, Conns: *conns, MaxInFlight: *maxInFlight, Timeout: *timeout,
		LateThreshold: *late,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if *traffic != "" {
		tr, err := bench.LoadTraffic(*traffic)
		if err != nil {
			fmt.Fprintf(stderr, "adx bench run: %v\n", err)
			return 1
		}
		cfg.Traffic = tr
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *stepsFlag != "" || *ramp {
		return runBenchSteps(ctx, cfg, *stepsFlag, *ramp, *stepDuration, *p99, *factor, *maxSteps, *out, stdout, stderr)
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "adx bench run: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "target %s  %.1fs  requested %.0f/s  achieved %.1f/s  sent %d  late %d  dropped %d  missed %d\n",
		res.Target, res.DurationS, res.RequestedRate, res.AchievedRate, res.Sent, res.LateSends, res.Dropped, res.Missed)
	fmt.Fprintf(stdout, "status %v  errors %d  timeouts %d  kinds %v\n", res.Status, res.Errors, res.Timeouts, res.ErrorKinds)
	l, s := res.LatencyMS, res.ServiceMS
	fmt.Fprintf(stdout, "latency ms (corrected)  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(stdout, "service ms (on wire)    p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", s.P50, s.P90, s.P99, s.P999, s.Max)
	if *out != "" {
		if err := bench.WriteResult(*out, res); err != nil {
			fmt.Fprintf(stderr, "adx bench run: %v\n", err)
			return 1
		}
	}
	return 0
}

// runBenchSteps runs -steps or -ramp and writes the steps file.
func runBenchSteps(ctx context.Context, cfg bench.RunConfig, stepsFlag string, ramp bool, stepDuration, p99 time.Duration,
	factor float64, maxSteps int, out string, stdout, stderr io.Writer) int {
	var (
		s   *bench.Steps
		err error
	)
	switch {
	case stepsFlag != "" && ramp:
		fmt.Fprintln(stderr, "adx bench run: -steps and -ramp exclude each other")
		return 2
	case ramp:
		s, err = bench.Ramp(ctx, bench.RampConfig{Base: cfg, StepDuration: stepDuration, Factor: factor, P99: p99, MaxSteps: maxSteps})
	default:
		var rates []float64
		for _, f := range strings.Split(stepsFlag, ",") {
			r, perr := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if perr != nil || !(r > 0) {
				fmt.Fprintf(stderr, "adx bench run: -steps %q: want comma-separated rates > 0\n", stepsFlag)
				return 2
			}
			rates = append(rates, r)
		}
		s, err = bench.RunSteps(ctx, cfg, rates, stepDuration, p99)
	}
	if err != nil {
		fmt.Fprintf(stderr, "adx bench run: %v\n", err)
		return 2
	}
	for _, st := range s.Steps {
		ok := "sustainable"
		if !st.Sustainable {
			ok = "NOT sustainable: " + st.Why
		}
		fmt.Fprintf(stdout, "step %d  requested %.0f/s  achieved %.1f/s  p50 %.3fms  p99 %.3fms  failures %d  %s\n",
			st.Step, st.RequestedRate, st.AchievedRate, st.LatencyMS.P50, st.LatencyMS.P99, st.Failures, ok)
	}
	fmt.Fprintf(stdout, "max sustainable rate %.0f/s (corrected p99 <= %s, no failures)\n", s.MaxSustainableRate, p99)
	if s.StopReason != "" {
		fmt.Fprintf(stdout, "stopped: %s\n", s.StopReason)
	}
	if out != "" {
		if err := bench.WriteSteps(out, s); err != nil {
			fmt.Fprintf(stderr, "adx bench run: %v\n", err)
			return 1
		}
	}
	return 0
}

const benchCompareAbout = `Print the rate, counts and latency percentiles of two result files side by
side with the ratio A/B, e.g. adx against a baseline server in the same run.

Example:
  adx bench compare adx.json baseline.json`

func runBenchCompare(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench compare", "A.json B.json", benchCompareAbout, stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "adx bench compare: want two result files, A.json B.json")
		return 2
	}
	a, err := bench.ReadResult(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "adx bench compare: %v\n", err)
		return 1
	}
	b, err := bench.ReadResult(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "adx bench compare: %v\n", err)
		return 1
	}
	if err := bench.Compare(stdout, a, b); err != nil {
		fmt.Fprintf(stderr, "adx bench compare: %v\n", err)
		return 1
	}
	return 0
}

const benchReportAbout = `Write one self-contained HTML file (inline SVG and CSS, nothing fetched
from the network) from one or two result files: a summary, the latency
percentile spectrum (corrected and service time), p50/p99 and the achieved
rate per second, and the status mix. With two files, A and B side by side.

Example:
  adx bench report -o report.html adx.json baseline.json`

func runBenchReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench report", "A.json [B.json]", benchReportAbout, stderr)
	out := fs.String("o", "report.html", "output HTML `file`; - is stdout")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(stderr, "adx bench report: want one or two result files, A.json [B.json]")
		return 2
	}
	var runs [2]*bench.Result
	for i, path := range fs.Args() {
		r, err := bench.ReadResult(path)
		if err != nil {
			fmt.Fprintf(stderr, "adx bench report: %v\n", err)
			return 1
		}
		runs[i] = r
	}
	var buf strings.Builder
	if err := bench.WriteReport(&buf, runs[0], runs[1]); err != nil {
		fmt.Fprintf(stderr, "adx bench report: %v\n", err)
		return 1
	}
	if *out == "-" {
		io.WriteString(stdout, buf.String())
		return 0
	}
	if err := os.WriteFile(*out, []byte(buf.String()), 0o644); err != nil {
		fmt.Fprintf(stderr, "adx bench report: cannot write report: %v\n", err)
		return 1
	}
	return 0
}

const benchDSPsAbout = `Serve K mock DSPs on 127.0.0.1, each on its own port, in one process. A
YAML profile sets each DSP's latency (lognormal median and sigma, plus
spikes and timeouts), bid rate, price distribution, 5xx and connection-reset
shares, gzip and response padding; DSP i plays the profile's dsps[i % len].
See internal/bench/testdata/fleet/profile.yaml for an example and bench.FleetProfile
for every key. Each DSP decodes and validates the requests it gets like adx
does and counts malformed ones.

Once listening it prints to stdout a demand config for adx pointing at the
fleet; on SIGINT or SIGTERM (or after -duration) it prints each DSP's
counters and exits, with status 1 if any request was malformed.

Example:
  adx bench dsps -n 8 -profile internal/bench/testdata/fleet/profile.yaml > demand.yaml`

func runBenchDSPs(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench dsps", "", benchDSPsAbout, stderr)
	n := fs.Int("n", 4, "`number` of DSPs to start")
	profile := fs.String("profile", "", "YAML fleet profile `file` (required)")
	duration := fs.Duration("duration", 0, "stop after this `duration` (default 0: run until SIGINT or SIGTERM)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "adx bench dsps: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *profile == "" {
		fmt.Fprintln(stderr, "adx bench dsps: -profile is required")
		return 2
	}
	prof, err := bench.LoadFleetProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "adx bench dsps: %v\n", err)
		return 2
	}
	fl, err := bench.StartFleet(*prof, *n)
	if err != nil {
		fmt.Fprintf(stderr, "adx bench dsps: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "# adx bench dsps: %d mock DSPs from %s\n%s", *n, *profile, fl.DemandConfig())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	<-ctx.Done()
	if err := fl.Close(); err != nil {
		fmt.Fprintf(stderr, "adx bench dsps: %v\n", err)
	}
	var malformed int64
	fmt.Fprintln(stderr, "dsp\trequests\tmalformed\tbids\tnobids\t5xx\tresets\tspikes\ttimeouts")
	for _, s := range fl.Stats() {
		malformed += s.Malformed
		fmt.Fprintf(stderr, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", s.Name, s.Requests, s.Malformed, s.Bids, s.NoBids, s.Errors5xx, s.Resets, s.Spikes, s.Timeouts)
	}
	if malformed > 0 {
		fmt.Fprintf(stderr, "adx bench dsps: %d malformed requests\n", malformed)
		return 1
	}
	return 0
}

func runBenchHello(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench hello", "", "Serve the load-test baseline: a fasthttp server that reads each request and\nanswers 204, nothing else. Measure adx and it in the same run and compare.", stderr)
	listen := fs.String("http.listen", "127.0.0.1:9100", "listen `address`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "adx: cannot listen on %q: %v\n", *listen, err)
		return 1
	}
	h := bench.NewHello()
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	log.Info("hello baseline listening", "addr", ln.Addr().String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; h.Close() }()
	if err := h.Serve(ln); err != nil {
		fmt.Fprintf(stderr, "adx: %v\n", err)
		return 1
	}
	log.Info("hello baseline stopped", "requests", h.Requests())
	return 0
}
