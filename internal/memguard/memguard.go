// Package memguard tells the request path when the process is close to its
// Go memory limit, so that adx refuses new work before the garbage
// collector spins and the kernel kills the pod.
//
// Why: near GOMEMLIMIT the GC runs ever more often to stay under it; when
// the live heap itself reaches the limit, no amount of collecting helps,
// the GC takes half the CPU, latency collapses, and the kernel's OOM killer
// ends it. That is how adx's JVM predecessor died under real traffic. A
// Guard samples what the GC cannot free (the live heap after the last
// cycle, plus stacks and runtime overhead) and reports pressure when it
// passes a share of the limit; the server then sheds new auctions until
// in-flight ones finish and memory drops.
package memguard

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

// The runtime/metrics read by a Guard.
const (
	heapLive     = "/gc/heap/live:bytes"
	memTotal     = "/memory/classes/total:bytes"
	heapObjects  = "/memory/classes/heap/objects:bytes"
	heapUnused   = "/memory/classes/heap/unused:bytes"
	heapFree     = "/memory/classes/heap/free:bytes"
	heapReleased = "/memory/classes/heap/released:bytes"
	goMemLimit   = "/gc/gomemlimit:bytes"
)

// hysteresis is how far below the threshold the need must fall, as a share
// of the limit, before pressure ends, so that the guard does not flap.
const hysteresis = 0.05

// DefaultInterval is how often a started Guard samples between GC cycles.
// It samples after each cycle as well, which is when the live heap
// changes, so that near the limit, where the GC runs every few
// milliseconds, it follows every cycle; the ticks are for what changes
// between cycles (goroutine stacks, a new memory limit). An idle process
// runs no cycles, and wakes four times a second for its Guard.
const DefaultInterval = 250 * time.Millisecond

// Options configure a Guard.
type Options struct {
	// Ratio (0 < Ratio < 1) is the share of the Go memory limit at which
	// pressure begins; it ends 5 points below. 0: the Guard only samples
	// (Need, Limit) and never reports pressure.
	Ratio float64
	// Interval between samples once started, besides the one after each
	// GC cycle; 0 means DefaultInterval.
	Interval time.Duration
	// Logger, if set, gets a warning when pressure begins and a line when
	// it ends.
	Logger *slog.Logger
}

// Guard samples the runtime after each GC cycle and every Interval, and
// reports memory pressure.
// Its methods are safe for concurrent use; Pressure costs one atomic load.
// It is a prometheus.Collector of its state.
type Guard struct {
	ratio    float64
	interval time.Duration
	log      *slog.Logger

	pressure atomic.Bool
	need     atomic.Uint64
	limit    atomic.Uint64
	episodes atomic.Uint64

	mu      sync.Mutex // guards samples
	samples []metrics.Sample
	stop    chan struct{}
	done    chan struct{}
	gcEnded chan struct{} // a GC cycle ended: sample now
	chain   atomic.Uint64 // the GC notifications of which Start re-arm (see watchGC)
}

// New returns a Guard that reports pressure when the memory the GC cannot
// free reaches opts.Ratio of the Go memory limit, sampling every
// opts.Interval once Start is called. Without a limit (GOMEMLIMIT unset and
// no cgroup limit applied) it never reports pressure.
func New(opts Options) *Guard {
	g := &Guard{ratio: opts.Ratio, interval: opts.Interval, log: opts.Logger}
	if g.interval <= 0 {
		g.interval = DefaultInterval
	}
	for _, name := range []string{heapLive, memTotal, heapObjects, heapUnused, heapFree, heapReleased, goMemLimit} {
		g.samples = append(g.samples, metrics.Sample{Name: name})
	}
	g.Sample()
	return g
}

// Start samples in the background, after each GC cycle and every
// Interval, until Stop.
func (g *Guard) Start() {
	g.stop, g.done, g.gcEnded = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	g.watchGC(g.chain.Add(1))
	go func() {
		defer close(g.done)
		t := time.NewTicker(g.interval)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
				g.Sample()
			case <-g.gcEnded:
				g.Sample()
			}
		}
	}()
}

// gcSentinel is what watchGC lets the GC collect. It holds a pointer, so
// that the runtime does not batch it with other small objects into one
// allocation (a cleanup on such an object may never run).
type gcSentinel struct{ _ *byte }

// watchGC tells the sampler of Start's chain when a GC cycle has ended:
// it allocates an object nothing refers to, whose cleanup the runtime runs
// once a cycle has collected it; the cleanup signals the sampler (never
// blocking: one pending signal is enough) and arms the next object, until
// Stop or another Start moves the chain on.
func (g *Guard) watchGC(chain uint64) {
	runtime.AddCleanup(new(gcSentinel), func(ended chan struct{}) {
		if g.chain.Load() != chain {
			return
		}
		select {
		case ended <- struct{}{}:
		default:
		}
		g.watchGC(chain)
	}, g.gcEnded)
}

// Stop ends the background sampling started by Start.
func (g *Guard) Stop() {
	if g.stop != nil {
		g.chain.Add(1)
		close(g.stop)
		<-g.done
		g.stop = nil
	}
}

// Sample reads the runtime once and updates the pressure state. Start
// calls it on every tick; tests and callers that want a fresh answer may
// call it directly.
func (g *Guard) Sample() {
	g.mu.Lock()
	metrics.Read(g.samples)
	v := func(i int) uint64 {
		if g.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return g.samples[i].Value.Uint64()
	}
	live, total, objects, unused, free, released, limit := v(0), v(1), v(2), v(3), v(4), v(5), v(6)
	g.mu.Unlock()
	// Everything mapped but heap objects and free heap is stacks, GC and
	// runtime metadata; with the live heap that is what a GC cannot free.
	other := uint64(0)
	if heap := objects + unused + free + released; total > heap {
		other = total - heap
	}
	need := live + other
	g.need.Store(need)
	g.limit.Store(limit)
	if limit == 0 || limit >= math.MaxInt64 || g.ratio <= 0 {
		g.pressure.Store(false)
		return
	}
	share := float64(need) / float64(limit)
	switch was := g.pressure.Load(); {
	case !was && share >= g.ratio:
		g.pressure.Store(true)
		g.episodes.Add(1)
		if g.log != nil {
			g.log.Warn("memory pressure: shedding new auctions", "need_bytes", need, "limit_bytes", limit, "share", share, "ratio", g.ratio)
		}
	case was && share < g.ratio-hysteresis:
		g.pressure.Store(false)
		if g.log != nil {
			g.log.Info("memory pressure over: accepting auctions", "need_bytes", need, "limit_bytes", limit, "share", share)
		}
	}
}

// Pressure reports whether the last sample found the process near its
// memory limit.
func (g *Guard) Pressure() bool { return g.pressure.Load() }

// Need returns the memory the last sample found the GC cannot free, in
// bytes, and the Go memory limit it is compared with (math.MaxInt64: none).
func (g *Guard) Need() (need, limit uint64) { return g.need.Load(), g.limit.Load() }

// Limit returns the Go memory limit as last sampled, or 0 when there is
// none (GOMEMLIMIT unset and no cgroup limit applied).
func (g *Guard) Limit() uint64 {
	if l := g.limit.Load(); l < math.MaxInt64 {
		return l
	}
	return 0
}

// Episodes counts the times pressure began.
func (g *Guard) Episodes() uint64 { return g.episodes.Load() }

// Ratio is the share of the limit at which pressure begins.
func (g *Guard) Ratio() float64 { return g.ratio }

var (
	pressureDesc = prometheus.NewDesc("adx_memory_pressure", "1 while new auctions are shed because the memory the GC cannot free is near the Go memory limit (http.shed_memory_ratio), else 0.", nil, nil)
	needDesc     = prometheus.NewDesc("adx_memory_unfreeable_bytes", "Memory the GC cannot free, as the shedding guard last sampled it: live heap after the last cycle plus stacks and runtime overhead.", nil, nil)
	episodesDesc = prometheus.NewDesc("adx_memory_pressure_episodes_total", "Times memory pressure began.", nil, nil)
)

// Describe implements prometheus.Collector.
func (g *Guard) Describe(ch chan<- *prometheus.Desc) {
	ch <- pressureDesc
	ch <- needDesc
	ch <- episodesDesc
}

// Collect implements prometheus.Collector.
func (g *Guard) Collect(ch chan<- prometheus.Metric) {
	p := 0.0
	if g.Pressure() {
		p = 1
	}
	need, _ := g.Need()
	ch <- prometheus.MustNewConstMetric(pressureDesc, prometheus.GaugeValue, p)
	ch <- prometheus.MustNewConstMetric(needDesc, prometheus.GaugeValue, float64(need))
	ch <- prometheus.MustNewConstMetric(episodesDesc, prometheus.CounterValue, float64(g.Episodes()))
}
