package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Arrival processes for RunConfig.Arrival.
const (
	// ArrivalConstant sends exactly every 1/rate seconds.
	ArrivalConstant = "constant"
	// ArrivalPoisson draws exponential gaps with mean 1/rate, like
	// independent users.
	ArrivalPoisson = "poisson"
	// ArrivalCaptured keeps the captured timing of a traffic file (.gor, or
	// JSONL written by adx request capture),
	// divided by RunConfig.Speed.
	ArrivalCaptured = "captured"
)

// RunConfig configures one open-loop run. Zero values take the defaults
// named in each field's comment.
type RunConfig struct {
	// Target is the URL bid requests are POSTed to, e.g.
	// http://127.0.0.1:8080/openrtb2/auction. Its host must be a loopback
	// address unless AllowRemote is set.
	Target      string
	AllowRemote bool
	// Rate is the requested rate in requests per second (> 0, except with
	// ArrivalCaptured).
	Rate float64
	// Duration is the measured window: sends are scheduled from its start
	// to its end; replies to them are awaited afterwards (at most Timeout).
	Duration time.Duration
	// Arrival is ArrivalConstant (default), ArrivalPoisson or
	// ArrivalCaptured.
	Arrival string
	// Speed divides the captured gaps with ArrivalCaptured (default 1).
	Speed float64
	// Traffic holds the bodies to send, looped when the run needs more;
	// nil synthesizes 10,000 requests with Seed.
	Traffic *Traffic
	// Seed seeds Poisson gaps and synthesized traffic (default 1).
	Seed uint64
	// Conns caps the open connections (default 512). A send waits for a
	// free connection; that wait counts in latency, not in service time.
	Conns int
	// MaxInFlight caps the sends started but not finished, including
	// those waiting for a connection (default 10,000); a send due beyond
	// the cap is dropped and counted, never delayed.
	MaxInFlight int
	// Timeout bounds each request, from its intended send time
	// (default 1s).
	Timeout time.Duration
	// LateThreshold is how far behind its intended time a send may start
	// before it counts as late (default 2ms: Go's timers on Linux wake up
	// to about 1ms late when the process is otherwise idle, which the
	// corrected latency includes anyway).
	LateThreshold time.Duration
	// Progress, if not nil, gets a line each second with the rate,
	// percentiles and errors, and warnings at the end.
	Progress io.Writer
}

func (c *RunConfig) setDefaults() error {
	if c.Arrival == "" {
		c.Arrival = ArrivalConstant
	}
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Conns == 0 {
		c.Conns = 512
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 10000
	}
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
	if c.LateThreshold == 0 {
		c.LateThreshold = 2 * time.Millisecond
	}
	switch {
	case c.Arrival != ArrivalConstant && c.Arrival != ArrivalPoisson && c.Arrival != ArrivalCaptured:
		return fmt.Errorf("unknown arrival %q: want constant, poisson or captured", c.Arrival)
	case c.Arrival != ArrivalCaptured && !(c.Rate > 0):
		return fmt.Errorf("rate %v: want > 0", c.Rate)
	case c.Arrival == ArrivalCaptured && (c.Traffic == nil || len(c.Traffic.Offsets) != len(c.Traffic.Bodies)):
		return errors.New("captured arrival needs a traffic file with captured timing: .gor, or JSONL from adx request capture")
	case !(c.Speed > 0):
		return fmt.Errorf("speed %v: want > 0", c.Speed)
	case c.Duration <= 0:
		return fmt.Errorf("duration %v: want > 0", c.Duration)
	case c.Conns < 1 || c.MaxInFlight < 1 || c.Timeout < 0 || c.LateThreshold < 0:
		return errors.New("conns and max in flight must be >= 1, timeout and late threshold >= 0")
	}
	return nil
}

// checkTarget parses target and refuses non-loopback hosts unless allowed:
// a load test must never hit someone else's server by mistake.
func checkTarget(target string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("bad target %q: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bad target %q: want http://host:port/path", target)
	}
	if !allowRemote {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("target %q is not a loopback address; load tests only target 127.0.0.1 unless allowed", target)
		}
	}
	return u, nil
}

// Run sends requests to cfg.Target open-loop: each send is scheduled at its
// intended time whatever the earlier ones are doing, and its latency is
// measured from that intended time (corrected for coordinated omission) as
// well as from when it actually went out (service time). Run returns when
// the window has passed and every send has finished or timed out, or when
// ctx is done (the result then covers the shortened window).
func Run(ctx context.Context, cfg RunConfig) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("bad run config: %w", err)
	}
	u, err := checkTarget(cfg.Target, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	tr := cfg.Traffic
	if tr == nil {
		s, err := NewSynth(DefaultSynthConfig(cfg.Seed))
		if err != nil {
			return nil, err
		}
		bodies, err := s.Bodies(10000)
		if err != nil {
			return nil, err
		}
		tr = &Traffic{Bodies: bodies}
	}
	if len(tr.Bodies) == 0 {
		return nil, errors.New("no traffic to send")
	}
	g := newGenerator(cfg, u, tr)
	return g.run(ctx)
}

// generator is the state of one Run.
type generator struct {
	cfg     RunConfig
	tr      *Traffic
	uri     string
	client  *fasthttp.HostClient
	slots   chan struct{} // connection slots
	rec     *recorder
	inFl    atomic.Int64
	wg      sync.WaitGroup
	started time.Time
}

func newGenerator(cfg RunConfig, u *url.URL, tr *Traffic) *generator {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return &generator{
		cfg: cfg, tr: tr, uri: u.String(),
		client: &fasthttp.HostClient{
			Addr:                          addr,
			IsTLS:                         u.Scheme == "https",
			Name:                          "adx-bench",
			MaxConns:                      cfg.Conns,
			MaxIdleConnDuration:           30 * time.Second,
			NoDefaultUserAgentHeader:      true,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
			ReadBufferSize:                16 << 10,
		},
		slots: make(chan struct{}, cfg.Conns),
		rec:   newRecorder(),
	}
}

// scheduler yields intended send offsets from the run's start.
type scheduler struct {
	arrival string
	rate    float64
	speed   float64
	offsets []time.Duration
	span    time.Duration // one loop of captured offsets
	r       *rand.Rand
	i       int64
	t       float64 // seconds, poisson
}

func newScheduler(cfg *RunConfig, tr *Traffic) *scheduler {
	s := &scheduler{arrival: cfg.Arrival, rate: cfg.Rate, speed: cfg.Speed, r: rand.New(rand.NewPCG(cfg.Seed, 0x617272))}
	if cfg.Arrival == ArrivalCaptured {
		s.offsets = tr.Offsets
		last := tr.Offsets[len(tr.Offsets)-1]
		gap := time.Millisecond
		if n := len(tr.Offsets); n > 1 {
			gap = max(last/time.Duration(n-1), time.Microsecond)
		}
		s.span = last + gap
	}
	return s
}

// next returns the offset of send i (i counting from 0 upwards).
func (s *scheduler) next() time.Duration {
	i := s.i
	s.i++
	switch s.arrival {
	case ArrivalPoisson:
		t := s.t
		s.t += s.r.ExpFloat64() / s.rate
		return time.Duration(t * float64(time.Second))
	case ArrivalCaptured:
		n := int64(len(s.offsets))
		d := time.Duration(i/n)*s.span + s.offsets[i%n]
		return time.Duration(float64(d) / s.speed)
	}
	return time.Duration(float64(i) / s.rate * float64(time.Second))
}

// minSleep is the shortest wait worth a timer: shorter gaps are sent at
// once, slightly early, which the intended-time measurement accounts for.
const minSleep = 20 * time.Microsecond

func (g *generator) run(ctx context.Context) (*Result, error) {
	cpu0 := cpuTime()
	sched := newScheduler(&g.cfg, g.tr)
	g.started = time.Now().Add(5 * time.Millisecond)
	end := g.started.Add(g.cfg.Duration)

	tickDone := make(chan struct{})
	tickStop := make(chan struct{})
	go g.ticker(tickStop, tickDone)

	var missed int64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	body := 0
loop:
	for {
		off := sched.next()
		intended := g.started.Add(off)
		if !intended.Before(end) {
			// Wait out the window so that achieved rate is over all of it.
			if d := time.Until(end); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			break
		}
		now := time.Now()
		if d := intended.Sub(now); d > minSleep {
			timer.Reset(d)
			select {
			case now = <-timer.C:
			case <-ctx.Done():
				break loop
			}
		}
		if !now.Before(end) {
			// The generator fell so far behind that this send would leave
			// the window: count it and every later one due in the window.
			missed++
			for {
				if !g.started.Add(sched.next()).Before(end) {
					break loop
				}
				missed++
			}
		}
		lag := now.Sub(intended)
		drop := g.inFl.Load() >= int64(g.cfg.MaxInFlight)
		g.rec.sendLag(lag, lag > g.cfg.LateThreshold, drop)
		if drop {
			continue
		}
		g.inFl.Add(1)
		g.wg.Add(1)
		go g.send(intended, g.tr.Bodies[body])
		if body++; body == len(g.tr.Bodies) {
			body = 0
		}
	}
	window := time.Since(g.started)
	if window > g.cfg.Duration {
		window = g.cfg.Duration
	}
	g.wg.Wait()
	close(tickStop)
	<-tickDone
	wall := time.Since(g.started)
	cpuUse := -1.0
	if c1 := cpuTime(); cpu0 >= 0 && c1 >= 0 && wall > 0 {
		cpuUse = float64(c1-cpu0) / (float64(wall) * float64(runtime.GOMAXPROCS(0)))
	}
	return g.result(window, missed, cpuUse)
}

// send does one request. intended is its scheduled time.
func (g *generator) send(intended time.Time, body []byte) {
	defer g.wg.Done()
	defer g.inFl.Add(-1)
	deadline := intended.Add(g.cfg.Timeout)
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(time.Until(deadline))
		select {
		case g.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			g.rec.failure(time.Now(), "queue_timeout", true)
			return
		}
	}
	defer func() { <-g.slots }()

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(g.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Openrtb-Version", "2.6")
	req.SetBodyRaw(body)

	start := time.Now()
	err := g.client.DoDeadline(req, resp, deadline)
	done := time.Now()
	if err != nil {
		kind, timeout := errorKind(err)
		g.rec.failure(done, kind, timeout)
		return
	}
	g.rec.response(done, resp.StatusCode(), done.Sub(intended), done.Sub(start))
}

// errorKind names a client error for error_kinds and says whether it is a
// timeout.
func errorKind(err error) (kind string, timeout bool) {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout", true
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "dial_timeout", true
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout", true
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns", false
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused", false
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset", false
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "conn_closed", false
	}
	return "other", false
}

// ticker closes an interval every second of the run and prints progress.
func (g *generator) ticker(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	next := g.started.Add(time.Second)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			g.closeInterval(next)
			next = next.Add(time.Second)
			t.Reset(time.Until(next))
		case <-stop:
			if g.rec.pending() {
				g.closeInterval(time.Now())
			}
			return
		}
	}
}

func (g *generator) closeInterval(at time.Time) {
	iv := g.rec.closeInterval(at.Sub(g.started))
	if g.cfg.Progress != nil {
		fmt.Fprintf(g.cfg.Progress, "bench %5.1fs  rate %7.0f/s  p50 %7.2fms  p99 %7.2fms  max %7.2fms  errors %d  timeouts %d  late %d  dropped %d  in-flight %d\n",
			iv.T, iv.Rate, iv.LatencyMS.P50, iv.LatencyMS.P99, iv.LatencyMS.Max, iv.Errors, iv.Timeouts, iv.Late, iv.Dropped, g.inFl.Load())
	}
}

func (g *generator) result(window time.Duration, missed int64, cpuUse float64) (*Result, error) {
	r := g.rec.result()
	r.Version = ResultVersion
	r.Target = g.cfg.Target
	r.Started = g.started.UTC()
	r.DurationS = window.Seconds()
	r.Arrival = g.cfg.Arrival
	r.RequestedRate = g.cfg.Rate
	if g.cfg.Arrival == ArrivalCaptured {
		r.RequestedRate = 0
	}
	r.Missed = missed
	if r.DurationS > 0 {
		r.AchievedRate = float64(r.Sent) / r.DurationS
	}
	r.Generator = Generator{
		GOMAXPROCS: runtime.GOMAXPROCS(0), Conns: g.cfg.Conns, MaxInFlight: g.cfg.MaxInFlight,
		TimeoutMS: float64(g.cfg.Timeout) / 1e6, LateMS: float64(g.cfg.LateThreshold) / 1e6,
		CPUUtilization: cpuUse, TrafficBodies: len(g.tr.Bodies),
	}
	r.Warnings = warnings(r)
	if g.cfg.Progress != nil {
		for _, w := range r.Warnings {
			fmt.Fprintln(g.cfg.Progress, "bench WARNING: "+w)
		}
	}
	var err error
	if r.Histogram.Latency, err = encodeHist(g.rec.lat); err != nil {
		return nil, err
	}
	if r.Histogram.Service, err = encodeHist(g.rec.svc); err != nil {
		return nil, err
	}
	return r, nil
}

// warnings flags results that say more about the generator than about the
// target: late or missed sends, a lagging scheduler, a busy CPU, drops.
func warnings(r *Result) []string {
	w := []string{}
	attempts := r.Sent + r.Dropped
	if attempts > 0 && float64(r.LateSends) > 0.01*float64(attempts) {
		w = append(w, fmt.Sprintf("%d of %d sends (%.1f%%) started more than %.3gms late: the generator is saturated (CPU or scheduling); its percentiles still count from the intended times, but the offered load was burstier than requested",
			r.LateSends, attempts, 100*float64(r.LateSends)/float64(attempts), r.Generator.LateMS))
	}
	if r.Missed > 0 && float64(r.Missed) > 0.001*float64(r.Sent+r.Missed) {
		w = append(w, fmt.Sprintf("%d sends due in the window were never sent: the generator fell behind; achieved rate is below the requested one", r.Missed))
	}
	if r.SendLagMS.P99 > 5 {
		w = append(w, fmt.Sprintf("scheduling lag p99 %.2fms: the generator is CPU-saturated or descheduled", r.SendLagMS.P99))
	}
	if r.Generator.CPUUtilization > 0.9 {
		w = append(w, fmt.Sprintf("generator CPU utilization %.0f%% of GOMAXPROCS=%d: results may reflect the generator, not the target",
			100*r.Generator.CPUUtilization, r.Generator.GOMAXPROCS))
	}
	if r.Dropped > 0 {
		w = append(w, fmt.Sprintf("%d sends dropped at the in-flight cap of %d: the target is not keeping up", r.Dropped, r.Generator.MaxInFlight))
	}
	return w
}

// statusKey returns the status code as a map key without allocating for
// the common ones.
func statusKey(code int) string {
	switch code {
	case 200:
		return "200"
	case 204:
		return "204"
	}
	return strconv.Itoa(code)
}
