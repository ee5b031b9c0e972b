// Package maxprocs sets GOMAXPROCS from the cgroup CPU quota with
// go.uber.org/automaxprocs, rounding down, and exports it as a gauge.
//
// Why round down: since Go 1.25 the runtime's own default already follows
// the quota, but it rounds a fractional quota UP, with a minimum of 2. With
// a 1.5-CPU quota that is 2 threads running Go code, which can spend the
// 150ms of CPU allowed per 100ms CFS period in 75ms; the kernel then
// throttles the whole container for the rest of the period, and every
// auction in flight stalls for up to 25ms, at every period. For a server
// answering within tmax, that throttling is tail latency. automaxprocs
// floors the quota (1 here, never below 1): the fraction left over is
// headroom for the GC's background work, syscalls and non-Go threads.
//
// Cost: setting GOMAXPROCS explicitly turns off the runtime's periodic
// update when the quota changes (an in-place pod resize), and automaxprocs
// reads the quota once. A CPU resize therefore needs a restart to take
// effect.
package maxprocs

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/automaxprocs/maxprocs"
)

// Apply sets GOMAXPROCS to the process's cgroup CPU quota (cgroup v1
// cpu.cfs_quota_us / cpu.cfs_period_us, or v2 cpu.max) rounded down, at
// least 1 and at most runtime.NumCPU(), and logs one line saying what it
// did and why. It returns the
// GOMAXPROCS in force afterwards, also on error.
//
// GOMAXPROCS in the environment wins: Apply changes nothing. Without a
// quota (or off Linux) Apply leaves the runtime's default, the number of
// usable CPUs. It returns an error, and changes nothing, when the cgroup
// files cannot be read or parsed. Call it once, early in main. A nil
// logger means slog.Default().
func Apply(logger *slog.Logger) (procs int, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	prev := runtime.GOMAXPROCS(0)
	// automaxprocs logs printf-style, one message per Set call; it becomes
	// an attribute of our single structured line.
	var msg string
	_, err = maxprocs.Set(maxprocs.Logger(func(format string, args ...any) {
		msg = fmt.Sprintf(format, args...)
	}))
	procs = runtime.GOMAXPROCS(0)
	if err != nil {
		return procs, fmt.Errorf("cannot set GOMAXPROCS from the cgroup CPU quota: %w", err)
	}
	// automaxprocs ignores the CPUs the process may run on (its affinity:
	// a cpuset, Kubernetes' static CPU manager, a limit above the node's
	// size); more Ps than usable CPUs only adds scheduling overhead.
	if _, env := os.LookupEnv("GOMAXPROCS"); !env && procs > runtime.NumCPU() {
		msg += fmt.Sprintf("; capped at %d usable CPUs", runtime.NumCPU())
		procs = runtime.NumCPU()
		runtime.GOMAXPROCS(procs)
	}
	logger.Info("GOMAXPROCS", slog.Int("gomaxprocs", procs), slog.Int("previous", prev), slog.String("automaxprocs", msg))
	return procs, nil
}

// gomaxprocsName is the metric exported by the collector of NewCollector.
const gomaxprocsName = "adx_gomaxprocs"

// NewCollector returns a Prometheus collector exporting adx_gomaxprocs,
// the GOMAXPROCS in force at scrape time (runtime.GOMAXPROCS(0)). It is
// safe for concurrent scrapes. Register it once per registry.
func NewCollector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: gomaxprocsName,
		Help: "GOMAXPROCS in force: the cgroup CPU quota rounded down (at least 1), the GOMAXPROCS environment variable, or the number of usable CPUs.",
	}, func() float64 { return float64(runtime.GOMAXPROCS(0)) })
}
