// Package memlimit sets the Go runtime's soft memory limit (GOMEMLIMIT)
// from the memory limit of the process's cgroup, and exports both limits
// as Prometheus gauges.
//
// Why: without a soft limit the Go heap grows to twice the live heap
// (GOGC=100) without regard to the pod's limit, and the kernel OOM-kills the
// pod. With it, the collector runs more often as the heap nears the limit;
// unlike the JVM predecessor, whose GC spun against a full heap until
// nothing was served, the runtime caps GC CPU at about 50% near the limit
// (https://go.dev/doc/gc-guide#Memory_limit), so a real leak ends in an OOM
// kill and a restart rather than a live but useless server.
//
// Detection is github.com/KimMachineGun/automemlimit's memlimit.FromCgroup.
// It finds the process's own cgroup through /proc/self/cgroup and
// /proc/self/mountinfo; it never reads the mount root, which on cgroup v1
// hosts is usually "unlimited" while the container sits in a limited child
// group. It reads cgroup v1 memory.limit_in_bytes together with the
// hierarchical_memory_limit of memory.stat (a limit set on an ancestor), and
// cgroup v2 memory.max of the group and of each ancestor up to the mount
// (the smallest wins). On hybrid hosts it uses v1 when the memory
// controller is bound there. This package adds the policy: GOMEMLIMIT in
// the environment wins, the ratio, "no limit" for huge values, one log
// line, and the metrics.
package memlimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// DefaultRatio is the share of the cgroup memory limit given to the Go
// runtime when Options.Ratio is 0. The remaining 10% is headroom for memory
// the Go runtime does not account for but the cgroup charges: mmap'ed data
// files, kernel socket buffers, cgo, and heap growth between two GC cycles.
const DefaultRatio = 0.9

// DefaultRefresh is the suggested Options.Refresh: how often the cgroup
// limit is read again, so that an in-place pod resize (Kubernetes
// InPlacePodVerticalScaling) moves the Go limit with it within a minute.
const DefaultRefresh = time.Minute

// hugeLimit is the value from which a cgroup limit counts as "no limit".
// cgroup v1 reports an unlimited group as the largest page-aligned int64
// (9223372036854771712 with 4 KiB pages); automemlimit knows that exact
// value, and 1<<62 bytes (4 EiB) also catches other spellings of
// "unlimited" that no machine can back.
const hugeLimit = 1 << 62

// Source says where the Go soft memory limit in force after Apply came from.
type Source string

// Values of Result.Source.
const (
	// SourceEnv means GOMEMLIMIT was set in the environment; the runtime
	// parsed it at start and Apply changed nothing.
	SourceEnv Source = "GOMEMLIMIT env"
	// SourceCgroup means Apply set the limit to Ratio × the cgroup limit.
	SourceCgroup Source = "cgroup"
	// SourceNone means no cgroup memory limit was found (unlimited, huge,
	// not in a cgroup, or not Linux); the Go limit is math.MaxInt64, none.
	SourceNone Source = "none"
	// SourceOff means AUTOMEMLIMIT=off was set in the environment: it is
	// automemlimit's own switch, and Apply changed nothing.
	SourceOff Source = "AUTOMEMLIMIT=off"
)

// Options configures Apply. The zero value is valid: ratio 0.9, no refresh,
// slog.Default.
type Options struct {
	// Ratio is the share of the cgroup limit set as the Go soft limit, in
	// (0, 1]; 0 means DefaultRatio. automemlimit's AUTOMEMLIMIT
	// environment variable, if set, overrides it (see Apply).
	Ratio float64
	// Refresh is how often the cgroup limit is read again and the Go limit
	// updated; 0 disables refreshing. DefaultRefresh suits servers.
	Refresh time.Duration
	// Logger receives the one line Apply logs and, while refreshing, one
	// line per change of the cgroup limit or of its read error. nil means
	// slog.Default().
	Logger *slog.Logger
}

// Result describes what Apply found and what is in force afterwards.
type Result struct {
	// Source says where GoLimit came from.
	Source Source
	// CgroupLimit is the cgroup memory limit in bytes, 0 if none was found.
	// It is filled for SourceEnv too (best effort), for the log line.
	CgroupLimit uint64
	// Ratio is the ratio applied to CgroupLimit: Options.Ratio, its
	// default, or AUTOMEMLIMIT. It is 0 for SourceEnv and SourceOff.
	Ratio float64
	// GoLimit is the Go soft memory limit in force after Apply, as
	// debug.SetMemoryLimit(-1) reports it; math.MaxInt64 means none.
	GoLimit int64
}

// Apply sets the Go soft memory limit from the cgroup memory limit, once
// now and then every opts.Refresh until ctx is done. It logs one line
// saying what it found and set.
//
// Precedence (an empty variable counts as unset, as for the runtime, and
// Apply removes it from the environment so that automemlimit agrees):
//   - GOMEMLIMIT in the environment always wins: Apply only reports it
//     (and the cgroup limit, for the log) and refreshes nothing.
//   - AUTOMEMLIMIT, automemlimit's own variable, is honoured as
//     automemlimit does: "off" makes Apply change nothing, a number in
//     (0, 1] replaces opts.Ratio.
//   - Otherwise the limit is Ratio × the cgroup limit, or none
//     (math.MaxInt64) when the cgroup has no limit or a huge one (≥ 4 EiB).
//
// Apply returns an error, and leaves the Go limit as it was, when opts is
// invalid or, GOMEMLIMIT unset, the cgroup files exist but cannot be read
// or parsed. Not being in a cgroup, or not on Linux, is SourceNone, not an
// error. When opts.Refresh > 0 refreshing starts even if the first read
// failed, and a later successful read sets the limit; a failed refresh
// keeps the last limit. ctx must not be nil; it only bounds the refresh
// goroutine. Call Apply once, early in main.
func Apply(ctx context.Context, opts Options) (Result, error) {
	return apply(ctx, opts, memlimit.FromCgroup)
}

// CgroupLimit returns the memory limit in bytes of the process's cgroup,
// read now, or 0 if there is none (unlimited, huge, not in a cgroup, or not
// Linux). The error says which cgroup file could not be read or parsed.
func CgroupLimit() (uint64, error) {
	return cgroupLimit(memlimit.FromCgroup)
}

// apply is Apply with the cgroup reader as a parameter, for tests.
func apply(ctx context.Context, opts Options, read memlimit.Provider) (Result, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ratio := opts.Ratio
	if ratio == 0 {
		ratio = DefaultRatio
	}
	if !validRatio(ratio) {
		return Result{}, fmt.Errorf("invalid memory limit ratio %v: want a value in (0, 1]", opts.Ratio)
	}
	if opts.Refresh < 0 {
		return Result{}, fmt.Errorf("invalid memory limit refresh interval %s: want 0 (off) or more", opts.Refresh)
	}

	if env, ok := lookupEnv("GOMEMLIMIT"); ok {
		res := Result{Source: SourceEnv, GoLimit: debug.SetMemoryLimit(-1)}
		attrs := []any{slog.String("GOMEMLIMIT", env)}
		var err error
		if res.CgroupLimit, err = cgroupLimit(read); err != nil {
			attrs = append(attrs, slog.String("cgroup_error", err.Error()))
		}
		logResult(logger, res, opts.Refresh, attrs...)
		return res, nil
	}

	var attrs []any
	if env, ok := lookupEnv("AUTOMEMLIMIT"); ok {
		attrs = append(attrs, slog.String("AUTOMEMLIMIT", env))
		if env == "off" {
			res := Result{Source: SourceOff, GoLimit: debug.SetMemoryLimit(-1)}
			logResult(logger, res, opts.Refresh, attrs...)
			return res, nil
		}
		r, err := strconv.ParseFloat(env, 64)
		if err != nil || !validRatio(r) {
			return Result{}, fmt.Errorf("invalid AUTOMEMLIMIT %q: want \"off\" or a ratio in (0, 1]", env)
		}
		ratio = r
	}

	w := &watcher{read: read, logger: logger}
	// automemlimit applies the ratio, sets debug.SetMemoryLimit (math.MaxInt64
	// on memlimit.ErrNoLimit), and runs the refresh loop. It gets no logger:
	// w logs instead, so that startup is one line and refreshes log changes
	// only, not every tick.
	_, setErr := memlimit.Set(
		memlimit.WithProvider(w.provide),
		memlimit.WithRatio(ratio),
		memlimit.WithRefreshInterval(ctx, opts.Refresh),
	)
	limit, called, readErr := w.first()
	switch {
	case readErr != nil:
		// setErr wraps the same error; return ours, wrapped once.
		return Result{}, readErr
	case setErr != nil:
		// Not reachable with a valid ratio and a nil read error; kept so a
		// future automemlimit failure mode is not silently dropped.
		return Result{}, fmt.Errorf("cannot set the Go memory limit: %w", setErr)
	case !called:
		// apply has ruled out the environment variables that make Set
		// skip the provider; a newer automemlimit may have added one.
		return Result{}, errors.New("cannot set the Go memory limit: automemlimit did not read the cgroup limit")
	}
	res := Result{Source: SourceNone, CgroupLimit: limit, Ratio: ratio, GoLimit: debug.SetMemoryLimit(-1)}
	if limit != 0 {
		res.Source = SourceCgroup
	}
	logResult(logger, res, opts.Refresh, attrs...)
	return res, nil
}

// lookupEnv is os.LookupEnv, except that an empty value counts as unset
// and is removed from the environment. The runtime ignores an empty
// GOMEMLIMIT (it is what a chart renders for an unset value), so there is
// no limit in force; automemlimit would see the variable as set and skip
// the cgroup, leaving the pod with no limit at all.
func lookupEnv(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	if ok && v == "" {
		// Unsetenv fails only for names with '=' or NUL; ours have none.
		_ = os.Unsetenv(name)
		return "", false
	}
	return v, ok
}

// validRatio reports whether r is in (0, 1]; NaN is not.
func validRatio(r float64) bool {
	return r > 0 && r <= 1
}

// logResult logs the one line of Apply.
func logResult(logger *slog.Logger, res Result, refresh time.Duration, extra ...any) {
	attrs := append([]any{
		slog.String("source", string(res.Source)),
		slog.Uint64("cgroup_limit_bytes", res.CgroupLimit),
		slog.Float64("ratio", res.Ratio),
		slog.Int64("go_limit_bytes", res.GoLimit),
		slog.Bool("go_limit_none", res.GoLimit == math.MaxInt64),
		slog.String("refresh", refresh.String()),
	}, extra...)
	logger.Info("memory limit", attrs...)
}

// cgroupLimit calls read and maps every form of "no limit" to 0, nil.
func cgroupLimit(read memlimit.Provider) (uint64, error) {
	limit, err := read()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit),
		errors.Is(err, memlimit.ErrNoCgroup),
		errors.Is(err, memlimit.ErrCgroupsNotSupported):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("cannot read the cgroup memory limit: %w", err)
	case limit >= hugeLimit:
		return 0, nil
	}
	return limit, nil
}

// watcher is the memlimit.Provider given to automemlimit. It remembers the
// first read for Result and logs when a refresh sees a different limit or
// error than the previous read. The refresh goroutine calls provide
// concurrently with Apply's call to first, hence the mutex.
type watcher struct {
	read   memlimit.Provider
	logger *slog.Logger

	mu       sync.Mutex
	calls    int
	firstLim uint64
	firstErr error
	lastLim  uint64 // last limit read without error
	lastErr  string // error of the last read, "" if none
}

// provide reads the cgroup limit for automemlimit, which applies the ratio.
func (w *watcher) provide() (uint64, error) {
	limit, err := cgroupLimit(w.read)
	errText := ""
	if err != nil {
		errText = err.Error()
	}

	w.mu.Lock()
	w.calls++
	refreshed := w.calls > 1
	if !refreshed {
		w.firstLim, w.firstErr = limit, err
	}
	changed := errText != w.lastErr || (err == nil && limit != w.lastLim)
	prevLim := w.lastLim
	if err == nil {
		w.lastLim = limit // keep the last good limit across failures
	}
	w.lastErr = errText
	w.mu.Unlock()

	switch {
	case refreshed && changed && err != nil:
		w.logger.Error("memory limit refresh failed, keeping the Go limit",
			slog.String("error", errText), slog.Int64("go_limit_bytes", debug.SetMemoryLimit(-1)))
	case refreshed && changed:
		// Logged before automemlimit sets the new Go limit, so the new
		// value is not known here; adx_memory_limit_bytes shows it.
		w.logger.Info("cgroup memory limit changed",
			slog.Uint64("cgroup_limit_bytes", limit), slog.Uint64("previous_bytes", prevLim))
	}
	if err != nil {
		return 0, err
	}
	if limit == 0 {
		return 0, memlimit.ErrNoLimit
	}
	return limit, nil
}

// first returns the result of the first provide call, and whether there
// was one. automemlimit calls the provider once inside Set, before
// returning, unless its environment variables make it skip.
func (w *watcher) first() (limit uint64, called bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstLim, w.calls > 0, w.firstErr
}
