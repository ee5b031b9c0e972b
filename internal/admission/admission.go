// Package admission decides, before any work is done on a bid request,
// whether adx can still answer it within its tmax, and refuses it at once
// when it cannot.
//
// Why: an auction that is answered after its tmax is worth nothing to the
// SSP, yet it costs as much CPU as one answered in time. Past its capacity
// a server that admits everything shares its CPU among more and more
// requests until every one of them is late: at three times its capacity
// adx answered half its requests after 444 ms, and a third not within a
// second, while its static cap (http.max_inflight) was never reached. A
// refusal (204, no bid) costs a fraction of an auction, so refusing the
// excess early keeps the admitted auctions on time.
//
// The signal is CPU queueing itself: the Go scheduler's own histogram of
// how long runnable goroutines wait for a processor
// (/sched/latencies:seconds). Waiting for DSPs does not show there, so a
// slow partner never makes adx refuse traffic; running out of CPU does, at
// once, whatever causes it. A Limiter bounds the auctions in flight by an
// adaptive limit in the style of TCP congestion control (AIMD, as in
// Netflix's concurrency-limits): every interval it reads the scheduler
// latency of that interval; above the target it cuts the limit in
// proportion, and below it, while the limit is what holds auctions back,
// it raises the limit by an eighth. The limit never passes the static cap
// and never falls below a floor that keeps a few auctions per core running.
package admission

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// schedLatencies is the runtime's histogram of the time goroutines spend
// runnable before they run.
const schedLatencies = "/sched/latencies:seconds"

// DefaultInterval is how often a started Limiter reads the scheduler: long
// enough for a few hundred samples at a few thousand auctions per second,
// short enough to react within a tenth of a second.
const DefaultInterval = 50 * time.Millisecond

// DefaultQuantile is the scheduler-latency quantile compared with the
// target.
const DefaultQuantile = 0.99

// minSamples is the least number of scheduler samples an interval needs
// for its quantile to count; an idler interval neither cuts nor raises the
// limit.
const minSamples = 32

// Options configure a Limiter.
type Options struct {
	// Max is the static cap on auctions in flight (http.max_inflight);
	// the adaptive limit starts there and never passes it. Must be > 0.
	Max int
	// Target is the scheduler latency (at Quantile, per Interval) above
	// which the limit is cut. 0 turns the adaptive limit off: only Max
	// holds.
	Target time.Duration
	// Min is the floor of the adaptive limit; 0 means 4 per GOMAXPROCS.
	Min int
	// Interval between reads of the scheduler; 0 means DefaultInterval.
	Interval time.Duration
	// Quantile of the interval's scheduler latencies compared with
	// Target; 0 means DefaultQuantile.
	Quantile float64
	// Logger, if set, gets a line when the limit starts to bind and when
	// it is back at Max.
	Logger *slog.Logger
}

// Verdict is Admit's answer.
type Verdict uint8

// Admit's verdicts.
const (
	// Admitted: run the auction, then call Release.
	Admitted Verdict = iota
	// OverMax: Options.Max auctions are in flight.
	OverMax
	// Overloaded: the adaptive limit holds; the CPU cannot take more.
	Overloaded
)

// Limiter admits auctions. Admit and Release are safe for concurrent use
// and cost a few atomic operations. It is a prometheus.Collector of its
// state. Start its sampling with Start; without it the limit stays at Max.
type Limiter struct {
	max, min int64
	target   time.Duration
	quantile float64
	interval time.Duration
	log      *slog.Logger

	inflight atomic.Int64
	limit    atomic.Int64
	peak     atomic.Int64 // highest in-flight count this interval
	refused  atomic.Int64 // Overloaded verdicts this interval

	lastQuantile atomic.Int64 // nanoseconds, the last interval's
	cuts         atomic.Uint64
	congested    int // consecutive intervals above the target; only Adapt's caller touches it

	mu      sync.Mutex // guards sample, prev, binding
	sample  []metrics.Sample
	prev    []uint64
	binding bool
	stop    chan struct{}
	done    chan struct{}
}

// New returns a Limiter for opts. It panics when opts.Max is not positive
// (a BUG: config validation rejects it).
func New(opts Options) *Limiter {
	if opts.Max <= 0 {
		panic("BUG: admission.New with Max <= 0")
	}
	l := &Limiter{max: int64(opts.Max), min: int64(opts.Min), target: opts.Target,
		quantile: opts.Quantile, interval: opts.Interval, log: opts.Logger}
	if l.min <= 0 {
		l.min = int64(4 * runtime.GOMAXPROCS(0))
	}
	l.min = min(l.min, l.max)
	if l.quantile <= 0 || l.quantile >= 1 {
		l.quantile = DefaultQuantile
	}
	if l.interval <= 0 {
		l.interval = DefaultInterval
	}
	l.limit.Store(l.max)
	l.sample = []metrics.Sample{{Name: schedLatencies}}
	return l
}

// Admit reserves a place for one auction. Only an Admitted verdict takes
// the place, which Release gives back.
func (l *Limiter) Admit() Verdict {
	n := l.inflight.Add(1)
	if n > l.limit.Load() {
		l.inflight.Add(-1)
		if n > l.max {
			return OverMax
		}
		l.refused.Add(1)
		return Overloaded
	}
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return Admitted
}

// Release gives back the place of an admitted auction.
func (l *Limiter) Release() { l.inflight.Add(-1) }

// Inflight returns the number of admitted auctions not yet released.
func (l *Limiter) Inflight() int64 { return l.inflight.Load() }

// SchedLatency returns the scheduler latency at the quantile over the last
// interval: how long runnable goroutines waited to run. It is 0 until
// the Limiter is started with a target.
func (l *Limiter) SchedLatency() time.Duration { return time.Duration(l.lastQuantile.Load()) }

// Limit returns the adaptive limit in force.
func (l *Limiter) Limit() int64 { return l.limit.Load() }

// Start reads the scheduler every interval and adapts the limit, until
// Stop. Without a target it does nothing.
func (l *Limiter) Start() {
	if l.target <= 0 {
		return
	}
	l.readQuantile() // the baseline histogram
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				q, ok := l.readQuantile()
				l.Adapt(q, ok)
			}
		}
	}()
}

// Stop ends the sampling started by Start.
func (l *Limiter) Stop() {
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
}

// readQuantile returns the scheduler latency at the quantile over the
// runnable waits since the previous call, and whether there were enough of
// them to tell.
func (l *Limiter) readQuantile() (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	metrics.Read(l.sample)
	if l.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0, false
	}
	h := l.sample[0].Value.Float64Histogram()
	if len(l.prev) != len(h.Counts) {
		l.prev = make([]uint64, len(h.Counts))
		copy(l.prev, h.Counts)
		return 0, false
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - l.prev[i]
	}
	if total < minSamples {
		copy(l.prev, h.Counts)
		return 0, false
	}
	// The quantile's bucket; its lower bound is what every sample in it
	// waited at least, so an interval is called congested only on
	// evidence.
	want := uint64(math.Ceil(l.quantile * float64(total)))
	var seen uint64
	q := 0.0
	for i, c := range h.Counts {
		seen += c - l.prev[i]
		if seen >= want {
			q = h.Buckets[i]
			break
		}
	}
	copy(l.prev, h.Counts)
	if math.IsInf(q, -1) || q < 0 {
		q = 0
	}
	return time.Duration(q * 1e9), true
}

// Adapt moves the limit after one interval whose scheduler latency at the
// quantile was q (ok false: too few samples to tell). Start calls it every
// interval; tests drive it directly.
//
// After two intervals in a row above the target (one alone is as likely a
// garbage collection or the kernel preempting the process as an
// overload), the limit is cut to target/q of the auctions that were in
// flight at the interval's peak, by at most half and at least a tenth, and
// never below the floor. At or under the
// target, if the limit held auctions back in the interval (it refused one,
// or the in-flight peak reached it), it grows by an eighth, at least 1,
// up to Max: doubling takes about 6 intervals, so the limit climbs from
// its floor back to thousands within a few seconds once the overload ends.
func (l *Limiter) Adapt(q time.Duration, ok bool) {
	l.lastQuantile.Store(int64(q))
	peak := l.peak.Swap(l.inflight.Load())
	refused := l.refused.Swap(0)
	limit := l.limit.Load()
	next := limit
	if ok && q > l.target {
		l.congested++
	} else {
		l.congested = 0
	}
	switch {
	case l.congested >= 2:
		f := max(0.5, min(0.9, float64(l.target)/float64(q)))
		next = max(l.min, min(int64(float64(min(limit, max(peak, l.min)))*f), limit-1))
		l.cuts.Add(1)
	case l.congested == 0 && (refused > 0 || peak >= limit):
		next = min(l.max, limit+max(1, limit/8))
	}
	if next == limit {
		return
	}
	l.limit.Store(next)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.binding && next < l.max:
		l.binding = true
		if l.log != nil {
			l.log.Warn("CPU overloaded: adaptive admission limits auctions in flight", "limit", next, "sched_latency", q, "target", l.target)
		}
	case l.binding && next == l.max:
		l.binding = false
		if l.log != nil {
			l.log.Info("CPU overload over: admission limit back at its cap", "limit", next)
		}
	}
}

var (
	limitDesc   = prometheus.NewDesc("adx_admission_limit", "Auctions allowed in flight now: the adaptive limit, at most http.max_inflight; it falls while the Go scheduler latency is above http.sched_latency_target.", nil, nil)
	latencyDesc = prometheus.NewDesc("adx_sched_latency_seconds", "Scheduler latency (time runnable goroutines waited for a CPU) at the admission quantile over the last interval.", nil, nil)
	cutsDesc    = prometheus.NewDesc("adx_admission_limit_cuts_total", "Intervals in which the scheduler latency passed its target and the admission limit was cut.", nil, nil)
)

// Describe implements prometheus.Collector.
func (l *Limiter) Describe(ch chan<- *prometheus.Desc) {
	ch <- limitDesc
	ch <- latencyDesc
	ch <- cutsDesc
}

// Collect implements prometheus.Collector.
func (l *Limiter) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(limitDesc, prometheus.GaugeValue, float64(l.limit.Load()))
	ch <- prometheus.MustNewConstMetric(latencyDesc, prometheus.GaugeValue, time.Duration(l.lastQuantile.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(cutsDesc, prometheus.CounterValue, float64(l.cuts.Load()))
}
