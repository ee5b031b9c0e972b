// Package gostats exports the Go runtime's health as an exchange's on-call
// person reads it: how much CPU the garbage collector takes, and how close
// the memory the runtime holds is to its soft limit. A server whose GC
// fraction climbs while memory sits at the limit is the failure this
// service's predecessor died of; these series show it before users do.
package gostats

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	gcCPU        = "/cpu/classes/gc/total:cpu-seconds"
	totalCPU     = "/cpu/classes/total:cpu-seconds"
	memTotal     = "/memory/classes/total:bytes"
	memReleased  = "/memory/classes/heap/released:bytes"
	heapLive     = "/gc/heap/live:bytes"
	gcCycles     = "/gc/cycles/total:gc-cycles"
	minFracSpan  = time.Second // scrapes closer than this reuse the last fraction
	noGoMemLimit = math.MaxInt64
)

// Collector reads runtime/metrics at scrape time. Build it with
// NewCollector; it is safe for concurrent scrapes.
type Collector struct {
	gcFraction, gcCPUSeconds, cpuSeconds, used, live, limitFraction, cycles *prometheus.Desc

	mu       sync.Mutex
	samples  []metrics.Sample
	prevAt   time.Time
	prevGC   float64
	prevCPU  float64
	fraction float64
	now      func() time.Time
}

// NewCollector returns the runtime health collector.
func NewCollector() *Collector {
	c := &Collector{
		gcFraction:    prometheus.NewDesc("adx_go_gc_cpu_fraction", "Share of the process's CPU time spent in garbage collection since the previous scrape (0..1); the Go runtime's own estimate, from runtime/metrics.", nil, nil),
		gcCPUSeconds:  prometheus.NewDesc("adx_go_gc_cpu_seconds_total", "CPU time spent in garbage collection, estimated by the runtime; rate() over adx_go_cpu_seconds_total gives the GC share over any window.", nil, nil),
		cpuSeconds:    prometheus.NewDesc("adx_go_cpu_seconds_total", "CPU time available to the Go runtime (GOMAXPROCS x wall time), estimated by the runtime.", nil, nil),
		used:          prometheus.NewDesc("adx_go_memory_used_bytes", "Memory the Go runtime holds and counts against its soft limit (all mapped memory less released heap).", nil, nil),
		live:          prometheus.NewDesc("adx_go_heap_live_bytes", "Heap bytes live after the last garbage collection.", nil, nil),
		limitFraction: prometheus.NewDesc("adx_go_memory_limit_fraction", "adx_go_memory_used_bytes over the soft memory limit (adx_memory_limit_bytes); near 1 the GC runs ever more often. Absent without a limit.", nil, nil),
		cycles:        prometheus.NewDesc("adx_go_gc_cycles_total", "Completed garbage collection cycles.", nil, nil),
		samples: []metrics.Sample{
			{Name: gcCPU}, {Name: totalCPU}, {Name: memTotal}, {Name: memReleased}, {Name: heapLive}, {Name: gcCycles},
		},
		now: time.Now,
	}
	return c
}

// Describe sends the descriptors of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.gcFraction, c.gcCPUSeconds, c.cpuSeconds, c.used, c.live, c.limitFraction, c.cycles} {
		ch <- d
	}
}

// Collect reads the runtime metrics and sends the series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	metrics.Read(c.samples)
	gc, cpu := value(c.samples[0]), value(c.samples[1])
	used := value(c.samples[2]) - value(c.samples[3])
	live, cycles := value(c.samples[4]), value(c.samples[5])
	now := c.now()
	if c.prevAt.IsZero() || now.Sub(c.prevAt) >= minFracSpan {
		if c.prevAt.IsZero() {
			c.fraction = ratio(gc, cpu) // since the process started
		} else {
			c.fraction = ratio(gc-c.prevGC, cpu-c.prevCPU)
		}
		c.prevAt, c.prevGC, c.prevCPU = now, gc, cpu
	}
	fraction := c.fraction
	c.mu.Unlock()

	ch <- prometheus.MustNewConstMetric(c.gcFraction, prometheus.GaugeValue, fraction)
	ch <- prometheus.MustNewConstMetric(c.gcCPUSeconds, prometheus.CounterValue, gc)
	ch <- prometheus.MustNewConstMetric(c.cpuSeconds, prometheus.CounterValue, cpu)
	ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, used)
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, live)
	ch <- prometheus.MustNewConstMetric(c.cycles, prometheus.CounterValue, cycles)
	if lim := debug.SetMemoryLimit(-1); lim != noGoMemLimit {
		ch <- prometheus.MustNewConstMetric(c.limitFraction, prometheus.GaugeValue, used/float64(lim))
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 || a < 0 {
		return 0
	}
	return min(a/b, 1)
}

func value(s metrics.Sample) float64 {
	switch s.Value.Kind() {
	case metrics.KindUint64:
		return float64(s.Value.Uint64())
	case metrics.KindFloat64:
		return s.Value.Float64()
	}
	return 0
}
