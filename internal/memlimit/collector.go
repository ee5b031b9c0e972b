package memlimit

import (
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names exported by the collector returned by NewCollector.
const (
	goLimitName          = "adx_memory_limit_bytes"
	cgroupLimitName      = "adx_cgroup_memory_limit_bytes"
	cgroupReadErrorsName = "adx_cgroup_memory_limit_read_errors_total"
)

// NewCollector returns a Prometheus collector that reads both limits at
// every scrape and exports:
//
//   - adx_memory_limit_bytes: the Go soft memory limit in force
//     (debug.SetMemoryLimit(-1)), whoever set it; 9223372036854775807
//     (math.MaxInt64) means none, as the runtime reports it.
//   - adx_cgroup_memory_limit_bytes: the cgroup memory limit (CgroupLimit).
//     It is ABSENT when the cgroup has no limit, not 0, so that a ratio
//     such as process_resident_memory_bytes / adx_cgroup_memory_limit_bytes
//     yields no series instead of +Inf and a false alert.
//   - adx_cgroup_memory_limit_read_errors_total: scrapes at which the
//     cgroup files could not be read or parsed; the cgroup gauge is absent
//     then too. Call CgroupLimit to see why.
//
// A read error never fails the scrape: an invalid metric would make
// promhttp's default handler answer 500 for every metric of the process.
// The collector is safe for concurrent scrapes. Register it once per
// registry.
func NewCollector() prometheus.Collector {
	return newCollector(memlimit.FromCgroup)
}

// newCollector is NewCollector with the cgroup reader as a parameter.
func newCollector(read memlimit.Provider) *collector {
	return &collector{
		read: read,
		goLimit: prometheus.NewDesc(goLimitName,
			"Go soft memory limit in force (GOMEMLIMIT, debug.SetMemoryLimit), in bytes; 9223372036854775807 means none.",
			nil, nil),
		cgroupLimit: prometheus.NewDesc(cgroupLimitName,
			"Memory limit of the process's cgroup, in bytes; absent when the cgroup has no limit or cannot be read.",
			nil, nil),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: cgroupReadErrorsName,
			Help: "Scrapes at which the cgroup memory limit could not be read or parsed; adx_cgroup_memory_limit_bytes is absent meanwhile.",
		}),
	}
}

// collector implements prometheus.Collector for NewCollector.
type collector struct {
	read        memlimit.Provider
	goLimit     *prometheus.Desc
	cgroupLimit *prometheus.Desc
	readErrors  prometheus.Counter
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.goLimit
	ch <- c.cgroupLimit
	c.readErrors.Describe(ch)
}

// Collect implements prometheus.Collector. It reads the cgroup files on
// every call.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.goLimit, prometheus.GaugeValue, float64(debug.SetMemoryLimit(-1)))
	limit, err := cgroupLimit(c.read)
	if err != nil {
		c.readErrors.Inc()
	} else if limit != 0 {
		ch <- prometheus.MustNewConstMetric(c.cgroupLimit, prometheus.GaugeValue, float64(limit))
	}
	c.readErrors.Collect(ch)
}
