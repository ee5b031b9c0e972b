package memlimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/adx-exchange/adx/internal/waittest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	mib = 1 << 20
	// v1Unlimited is what cgroup v1 memory.limit_in_bytes says for "no
	// limit" with 4 KiB pages: math.MaxInt64 rounded down to a page.
	v1Unlimited = 9223372036854771712
)

// keepGoLimit restores the process's Go memory limit when t ends, and
// sets it to start, standing in for what the runtime parsed at startup.
func keepGoLimit(t *testing.T, start int64) {
	t.Helper()
	prev := debug.SetMemoryLimit(start)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

// setenv sets or, when value is "-", unsets name for the duration of t.
func setenv(t *testing.T, name, value string) {
	t.Helper()
	t.Setenv(name, value) // registers the restore
	if value == "-" {
		if err := os.Unsetenv(name); err != nil {
			t.Fatalf("cannot unset %s: %s", name, err)
		}
	}
}

// fakeReader is the fixed answer of a fake cgroup reader.
type fakeReader struct {
	limit uint64
	err   error
}

// provider returns a memlimit.Provider giving r's answer and counting its
// calls in *calls. It is not for concurrent use.
func (r fakeReader) provider(calls *int) memlimit.Provider {
	return func() (uint64, error) {
		*calls++
		return r.limit, r.err
	}
}

func TestApply(t *testing.T) {
	const startLimit = 123 * mib // the Go limit in force before Apply
	errDisk := errors.New("failed to read memory.max: input/output error")

	type want struct {
		res     Result
		err     string // substring; "" means no error
		reads   int
		logLine string // substring of the one log line; "" means no line
	}
	f := func(name, gomemlimit, automemlimit string, opts Options, reader fakeReader, w want) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			keepGoLimit(t, startLimit)
			setenv(t, "GOMEMLIMIT", gomemlimit)
			setenv(t, "AUTOMEMLIMIT", automemlimit)
			var logs bytes.Buffer
			opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))

			var reads int
			res, err := apply(t.Context(), opts, reader.provider(&reads))

			if w.err == "" && err != nil {
				t.Fatalf("apply() error = %v, want nil", err)
			}
			if w.err != "" && (err == nil || !strings.Contains(err.Error(), w.err)) {
				t.Fatalf("apply() error = %v, want one containing %q", err, w.err)
			}
			if w.err != "" {
				w.res.GoLimit = 0 // a zero Result on error
				if got := debug.SetMemoryLimit(-1); got != startLimit {
					t.Errorf("Go limit after a failed apply = %d, want it left at %d", got, startLimit)
				}
			}
			if res != w.res {
				t.Errorf("apply() = %+v, want %+v", res, w.res)
			}
			if w.err == "" && res.GoLimit != debug.SetMemoryLimit(-1) {
				t.Errorf("Result.GoLimit = %d, but %d is in force", res.GoLimit, debug.SetMemoryLimit(-1))
			}
			if reads != w.reads {
				t.Errorf("cgroup read %d times, want %d", reads, w.reads)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if w.logLine == "" {
				if logs.Len() != 0 {
					t.Errorf("logged %q, want nothing", logs.String())
				}
				return
			}
			if len(lines) != 1 || !strings.Contains(lines[0], w.logLine) {
				t.Errorf("logged %q, want one line containing %q", logs.String(), w.logLine)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Errorf("log line %q is not JSON: %s", lines[0], err)
			}
		})
	}
	limited := fakeReader{limit: 256 * mib}
	cgroup := func(ratio float64, goLimit int64) Result {
		return Result{Source: SourceCgroup, CgroupLimit: 256 * mib, Ratio: ratio, GoLimit: goLimit}
	}
	none := func(ratio float64) Result {
		return Result{Source: SourceNone, Ratio: ratio, GoLimit: math.MaxInt64}
	}

	// The ratio; 0 means 0.9, and 0.9 × 256 MiB rounds down.
	f("default ratio", "-", "-", Options{}, limited,
		want{res: cgroup(0.9, 241591910), reads: 1, logLine: `"source":"cgroup","cgroup_limit_bytes":268435456,"ratio":0.9,"go_limit_bytes":241591910`})
	f("ratio 0.5", "-", "-", Options{Ratio: 0.5}, limited,
		want{res: cgroup(0.5, 128*mib), reads: 1, logLine: `"go_limit_bytes":134217728`})
	f("ratio 1", "-", "-", Options{Ratio: 1}, limited,
		want{res: cgroup(1, 256*mib), reads: 1, logLine: `"go_limit_bytes":268435456`})
	f("ratio above 1", "-", "-", Options{Ratio: 1.5}, limited, want{err: "invalid memory limit ratio 1.5"})
	f("negative ratio", "-", "-", Options{Ratio: -0.1}, limited, want{err: "invalid memory limit ratio -0.1"})
	f("NaN ratio", "-", "-", Options{Ratio: math.NaN()}, limited, want{err: "invalid memory limit ratio NaN"})
	f("negative refresh", "-", "-", Options{Refresh: -time.Second}, limited, want{err: "invalid memory limit refresh interval -1s"})

	// Every spelling of "no limit" means none: the Go limit goes to
	// math.MaxInt64 rather than staying at whatever was there.
	f("no limit", "-", "-", Options{}, fakeReader{err: memlimit.ErrNoLimit},
		want{res: none(0.9), reads: 1, logLine: `"source":"none","cgroup_limit_bytes":0,"ratio":0.9,"go_limit_bytes":9223372036854775807,"go_limit_none":true`})
	f("v1 unlimited sentinel", "-", "-", Options{}, fakeReader{limit: v1Unlimited}, want{res: none(0.9), reads: 1, logLine: `"source":"none"`})
	f("huge 1<<62", "-", "-", Options{}, fakeReader{limit: 1 << 62}, want{res: none(0.9), reads: 1, logLine: `"source":"none"`})
	f("just below huge", "-", "-", Options{Ratio: 1}, fakeReader{limit: 1<<62 - 4096},
		want{res: Result{Source: SourceCgroup, CgroupLimit: 1<<62 - 4096, Ratio: 1, GoLimit: 1<<62 - 4096}, reads: 1, logLine: `"source":"cgroup"`})
	f("not in a cgroup", "-", "-", Options{}, fakeReader{err: memlimit.ErrNoCgroup}, want{res: none(0.9), reads: 1, logLine: `"source":"none"`})
	f("not Linux", "-", "-", Options{}, fakeReader{err: memlimit.ErrCgroupsNotSupported}, want{res: none(0.9), reads: 1, logLine: `"source":"none"`})

	// A cgroup that cannot be read is an error, and the limit stays.
	f("read error", "-", "-", Options{}, fakeReader{err: errDisk},
		want{err: "cannot read the cgroup memory limit: failed to read memory.max: input/output error", reads: 1})

	// GOMEMLIMIT wins over everything, even an unreadable cgroup; the
	// cgroup is read for the log only.
	f("GOMEMLIMIT wins", "100MiB", "-", Options{Ratio: 0.5}, limited,
		want{res: Result{Source: SourceEnv, CgroupLimit: 256 * mib, GoLimit: startLimit}, reads: 1,
			logLine: `"source":"GOMEMLIMIT env","cgroup_limit_bytes":268435456,"ratio":0,"go_limit_bytes":128974848,"go_limit_none":false,"refresh":"0s","GOMEMLIMIT":"100MiB"`})
	f("GOMEMLIMIT wins over AUTOMEMLIMIT", "100MiB", "0.5", Options{}, limited,
		want{res: Result{Source: SourceEnv, CgroupLimit: 256 * mib, GoLimit: startLimit}, reads: 1, logLine: `"source":"GOMEMLIMIT env"`})
	f("GOMEMLIMIT wins over a read error", "100MiB", "-", Options{}, fakeReader{err: errDisk},
		want{res: Result{Source: SourceEnv, GoLimit: startLimit}, reads: 1, logLine: `"cgroup_error":"cannot read the cgroup memory limit: failed to read memory.max: input/output error"`})
	// The runtime ignores an empty GOMEMLIMIT, so it must not win.
	f("empty GOMEMLIMIT is unset", "", "", Options{}, limited,
		want{res: cgroup(0.9, 241591910), reads: 1, logLine: `"source":"cgroup"`})
	// An invalid Options is reported even when GOMEMLIMIT would win, so a
	// bad flag is caught on every machine, not only in containers.
	f("invalid ratio with GOMEMLIMIT", "100MiB", "-", Options{Ratio: 2}, limited, want{err: "invalid memory limit ratio 2"})

	// AUTOMEMLIMIT, automemlimit's own variable.
	f("AUTOMEMLIMIT off", "-", "off", Options{}, limited,
		want{res: Result{Source: SourceOff, GoLimit: startLimit}, logLine: `"source":"AUTOMEMLIMIT=off"`})
	f("AUTOMEMLIMIT ratio", "-", "0.5", Options{Ratio: 0.8}, limited,
		want{res: cgroup(0.5, 128*mib), reads: 1, logLine: `"AUTOMEMLIMIT":"0.5"`})
	f("AUTOMEMLIMIT garbage", "-", "half", Options{}, limited, want{err: `invalid AUTOMEMLIMIT "half"`})
	f("AUTOMEMLIMIT out of range", "-", "1.5", Options{}, limited, want{err: `invalid AUTOMEMLIMIT "1.5"`})
}

// syncBuffer is a bytes.Buffer safe for the refresh goroutine's logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestApplyRefresh resizes a fake cgroup under a running refresh loop, as
// an in-place pod resize does, and checks the Go limit follows, that a
// failed read keeps the last limit, and that each change logs one line.
func TestApplyRefresh(t *testing.T) {
	keepGoLimit(t, math.MaxInt64)
	setenv(t, "GOMEMLIMIT", "-")
	setenv(t, "AUTOMEMLIMIT", "-")

	var (
		limit  atomic.Uint64
		broken atomic.Bool
		calls  atomic.Int32
	)
	read := func() (uint64, error) {
		calls.Add(1)
		if broken.Load() {
			return 0, errors.New("failed to read memory.max: input/output error")
		}
		return limit.Load(), nil
	}
	limit.Store(256 * mib)
	logs := &syncBuffer{}
	// Not t.Context(): it is done before cleanups run, and the cleanup
	// below needs the loop still running.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		// Make sure no read that returned a limit is still on its way to
		// debug.SetMemoryLimit once keepGoLimit restores the limit: reads
		// are sequential, so one failed read after breaking is enough.
		broken.Store(true)
		n := calls.Load()
		waittest.For(t, "one more read", func() bool { return calls.Load() > n })
		cancel()
	})

	res, err := apply(ctx, Options{Ratio: 0.5, Refresh: 5 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(logs, nil))}, read)
	if err != nil {
		t.Fatalf("apply() error = %v", err)
	}
	if res.GoLimit != 128*mib {
		t.Fatalf("apply() GoLimit = %d, want %d", res.GoLimit, 128*mib)
	}

	limit.Store(512 * mib)
	waittest.For(t, "Go limit 256 MiB after the resize", func() bool { return debug.SetMemoryLimit(-1) == 256*mib })

	broken.Store(true)
	n := calls.Load()
	waittest.For(t, "two failed reads", func() bool { return calls.Load() > n+1 })
	if got := debug.SetMemoryLimit(-1); got != 256*mib {
		t.Fatalf("Go limit after failed refreshes = %d, want the last one, %d", got, 256*mib)
	}

	limit.Store(0) // the limit is lifted
	broken.Store(false)
	waittest.For(t, "no Go limit after the cgroup limit is lifted", func() bool { return debug.SetMemoryLimit(-1) == math.MaxInt64 })

	got := logs.String()
	for _, want := range []string{
		`"msg":"memory limit","source":"cgroup","cgroup_limit_bytes":268435456,"ratio":0.5,"go_limit_bytes":134217728`,
		`"msg":"cgroup memory limit changed","cgroup_limit_bytes":536870912,"previous_bytes":268435456`,
		`"level":"ERROR","msg":"memory limit refresh failed, keeping the Go limit","error":"cannot read the cgroup memory limit: failed to read memory.max: input/output error","go_limit_bytes":268435456`,
		`"msg":"cgroup memory limit changed","cgroup_limit_bytes":0,"previous_bytes":536870912`,
	} {
		if strings.Count(got, want) != 1 {
			t.Errorf("logs do not hold exactly one line with %s:\n%s", want, got)
		}
	}
	if lines := strings.Count(got, "\n"); lines != 4 {
		t.Errorf("logged %d lines, want 4 (start, resize, failure, lift):\n%s", lines, got)
	}
}

func TestCollector(t *testing.T) {
	f := func(golden string, goLimit int64, reader fakeReader, scrapes int) {
		t.Helper()
		keepGoLimit(t, goLimit)
		reg := prometheus.NewPedanticRegistry()
		var reads int
		reg.MustRegister(newCollector(reader.provider(&reads)))
		var got bytes.Buffer
		for i := range scrapes {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("%s: scrape %d: %s", golden, i, err)
			}
			if reads != i+1 {
				t.Fatalf("%s: scrape %d read the cgroup %d times in all, want %d", golden, i, reads, i+1)
			}
			if i < scrapes-1 {
				continue
			}
			for _, mf := range mfs {
				if _, err := expfmt.MetricFamilyToText(&got, mf); err != nil {
					t.Fatalf("%s: cannot format %s: %s", golden, mf.GetName(), err)
				}
			}
		}
		path := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatalf("cannot update %q: %s", path, err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("cannot read %q (run go test -update to create it): %s", path, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("scrape differs from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got.Bytes(), want)
		}
	}
	f("collector-limit.golden", 241591910, fakeReader{limit: 256 * mib}, 1)
	// No cgroup limit: the cgroup gauge is absent, not 0.
	f("collector-no-limit.golden", math.MaxInt64, fakeReader{err: memlimit.ErrNoLimit}, 1)
	f("collector-huge.golden", math.MaxInt64, fakeReader{limit: v1Unlimited}, 1)
	// Three failed scrapes: the counter says so and nothing fails.
	f("collector-read-error.golden", 100*mib, fakeReader{err: fmt.Errorf("failed to read memory.max: %w", os.ErrPermission)}, 3)
}
