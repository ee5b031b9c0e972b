package reload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/internal/waittest"
)

// value is the test's loaded value. It fails loudly when used after Close:
// Get reports it, and Close clears content without synchronization so the
// race detector flags a reader that still holds it.
type value struct {
	content string
	closed  atomic.Bool
	closes  atomic.Int32
}

var errUseAfterClose = errors.New("value used after Close")

func (v *value) Get() (string, error) {
	if v.closed.Load() {
		return "", errUseAfterClose
	}
	return v.content, nil
}

func (v *value) Close() error {
	v.closes.Add(1)
	v.closed.Store(true)
	v.content = ""
	return nil
}

// loader accepts files "DATA <content>\nEND\n" and remembers every value it
// made, so a test can check each was closed exactly once.
type loader struct {
	mu   sync.Mutex
	vals []*value
}

func (l *loader) load(path string) (*value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(b)
	if !strings.HasPrefix(s, "DATA ") || !strings.HasSuffix(s, "\nEND\n") {
		return nil, fmt.Errorf("not a complete test data file (%d bytes)", len(b))
	}
	v := &value{content: strings.TrimSuffix(strings.TrimPrefix(s, "DATA "), "\nEND\n")}
	l.mu.Lock()
	l.vals = append(l.vals, v)
	l.mu.Unlock()
	return v, nil
}

// checkAllClosed asserts that every value the loader made was closed once.
func (l *loader) checkAllClosed(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, v := range l.vals {
		if n := v.closes.Load(); n != 1 {
			t.Errorf("value %d was closed %d times, want 1", i, n)
		}
	}
}

func data(content string) string { return "DATA " + content + "\nEND\n" }

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes content next to path and renames it over path, as
// geoipupdate does.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func current(t *testing.T, f *File[*value]) string {
	t.Helper()
	v, release := f.Acquire()
	defer release()
	s, err := v.Get()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hammer runs readers that Acquire and use the value until the returned
// stop is called; stop returns how many reads they made.
func hammer(t *testing.T, f *File[*value], valid func(string) bool) (stop func() int64) {
	t.Helper()
	var (
		done  atomic.Bool
		reads atomic.Int64
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				v, release := f.Acquire()
				s, err := v.Get()
				if err != nil {
					t.Error(err)
				} else if !valid(s) {
					t.Errorf("reader saw %q", s)
				}
				runtime.Gosched() // hold the value across a swap now and then
				if s2, err := v.Get(); err != nil || s2 != s {
					t.Errorf("value changed or closed while held: %q -> %q, %v", s, s2, err)
				}
				release()
				reads.Add(1)
			}
		})
	}
	return func() int64 {
		done.Store(true)
		wg.Wait()
		return reads.Load()
	}
}

func TestFileReplacedUnderReaders(t *testing.T) {
	modes := []struct {
		name string
		opts Options[*value]
	}{
		{"watch only", Options[*value]{Debounce: 10 * time.Millisecond, Interval: -1}},
		{"poll only", Options[*value]{NoWatch: true, Interval: 10 * time.Millisecond}},
		{"watch and poll", Options[*value]{Debounce: 10 * time.Millisecond, Interval: 25 * time.Millisecond}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "data.txt")
			writeFile(t, path, data("v1"))
			l := &loader{}
			f, err := Open("test.data", path, l.load, mode.opts)
			if err != nil {
				t.Fatal(err)
			}
			stop := hammer(t, f, func(s string) bool { return strings.HasPrefix(s, "v") })

			is := func(want string) func() bool { return func() bool { return current(t, f) == want } }
			failures := func() uint64 { return f.Info().Failures }
			failedMore := func(than uint64) func() bool { return func() bool { return failures() > than } }
			// stays examines the rejected file once more, as the next
			// poll or event would (examinations are serialized, so this
			// one follows those already made), and checks that want is
			// still in service. A missing file is not counted again.
			stays := func(want string, missing bool) {
				t.Helper()
				if err := f.Reload(); (err == nil) != missing {
					t.Fatalf("Reload of the rejected file = %v", err)
				}
				if got := current(t, f); got != want {
					t.Fatalf("in service: %q, want %q", got, want)
				}
				if f.Info().LastReloadOK {
					t.Fatal("LastReloadOK after a rejected file")
				}
			}

			// Replaced by rename.
			replace(t, path, data("v2"))
			waittest.For(t, "v2 after rename", is("v2"))

			// Rewritten in place (os.WriteFile truncates first: a poll may
			// see the empty file and reject it).
			writeFile(t, path, data("v3 rewritten in place"))
			waittest.For(t, "v3 after rewrite in place", is("v3 rewritten in place"))

			// Truncated in place: rejected, v3 stays.
			n := failures()
			if err := os.Truncate(path, 7); err != nil {
				t.Fatal(err)
			}
			waittest.For(t, "failure after truncation", failedMore(n))
			stays("v3 rewritten in place", false)

			// A partial write, then the rest: the complete file is
			// picked up.
			fd, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			full := data("v4 written in two parts")
			n = failures()
			if _, err := fd.WriteString(full[:10]); err != nil {
				t.Fatal(err)
			}
			waittest.For(t, "failure after a partial write", failedMore(n))
			if _, err := fd.WriteString(full[10:]); err != nil {
				t.Fatal(err)
			}
			if err := fd.Close(); err != nil {
				t.Fatal(err)
			}
			waittest.For(t, "v4 after a partial write", is("v4 written in two parts"))

			// Replaced by garbage: rejected.
			n = failures()
			replace(t, path, "\x00\x01 garbage")
			waittest.For(t, "failure after garbage", failedMore(n))
			stays("v4 written in two parts", false)

			// Deleted: rejected once, v4 stays.
			n = failures()
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			waittest.For(t, "failure after delete", failedMore(n))
			stays("v4 written in two parts", true)
			if got := failures(); got != n+1 {
				t.Errorf("a deleted file counted %d failures, want 1", got-n)
			}

			// Re-created.
			writeFile(t, path, data("v5"))
			waittest.For(t, "v5 after re-creation", is("v5"))

			// The same bytes again: no reload, whether an event, a poll
			// or Reload examines them.
			reloads := f.Info().Reloads
			replace(t, path, data("v5"))
			if err := f.Reload(); err != nil {
				t.Fatal(err)
			}
			if got := f.Info().Reloads; got != reloads {
				t.Errorf("identical content reloaded: reloads %d -> %d", reloads, got)
			}
			if !f.Info().LastReloadOK {
				t.Error("LastReloadOK false with the good file on disk")
			}

			if reads := stop(); reads == 0 {
				t.Error("readers made no reads")
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			l.checkAllClosed(t)
			info := f.Info()
			if info.Reloads < 4 || info.Failures < 3 {
				t.Errorf("Info = %+v, want at least 4 reloads and 3 failures", info)
			}
		})
	}
}

// TestKubernetesSymlinkSwap replaces the file as a ConfigMap volume does:
// path -> ..data/file, and ..data is a symlink renamed over atomically.
func TestKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	mkVersion := func(name, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name, "data.txt"), content)
	}
	symlink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	mkVersion("..2026_01", data("first"))
	symlink("..2026_01", "..data")
	symlink("..data/data.txt", "data.txt")

	l := &loader{}
	f, err := Open("test.k8s", filepath.Join(dir, "data.txt"), l.load, Options[*value]{Debounce: 10 * time.Millisecond, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	stop := hammer(t, f, func(s string) bool { return s == "first" || s == "second" })

	mkVersion("..2026_02", data("second"))
	symlink("..2026_02", "..data_tmp")
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_01")); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "the swapped version", func() bool { return current(t, f) == "second" })
	stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	l.checkAllClosed(t)
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	l := &loader{}
	f := func(name, content, wantErr string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if content != "" {
			writeFile(t, path, content)
		}
		file, err := Open("test."+name, path, l.load, Options[*value]{})
		if err == nil {
			file.Close()
			t.Fatalf("Open(%s) succeeded", name)
		}
		for _, want := range []string{"test." + name, path, wantErr} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open(%s) error %q does not name %q", name, err, want)
			}
		}
	}
	f("missing", "", "no such file")
	f("truncated", "DATA x\nEN", "not a complete test data file (9 bytes)")
	f("garbage", "\x7fELF", "not a complete test data file")
	if _, err := Open[*value]("", "x", l.load, Options[*value]{}); err == nil {
		t.Error("Open without a name succeeded")
	}
}

// TestStartPending: a file missing or rejected at Open leaves a pending
// File with no value, reported by CheckLoaded, until the watcher loads a
// good one; a later bad file keeps that version in service and the File
// loaded.
func TestStartPending(t *testing.T) {
	f := func(name, initial string) {
		t.Helper()
		reg := prometheus.NewRegistry()
		path := filepath.Join(t.TempDir(), "data.txt")
		if initial != "" {
			writeFile(t, path, initial)
		}
		l := &loader{}
		file, err := Open("test.pending", path, l.load, Options[*value]{
			StartPending: true, Debounce: time.Millisecond, Interval: 20 * time.Millisecond, Metrics: NewMetrics(reg),
		})
		if err != nil {
			t.Fatalf("%s: Open with StartPending = %v", name, err)
		}
		defer file.Close()

		if v, release := file.Acquire(); v != nil {
			t.Errorf("%s: pending Acquire = %v, want nil", name, v)
		} else {
			release()
		}
		err = CheckLoaded([]Info{file.Info()})
		if err == nil {
			t.Fatalf("%s: CheckLoaded of a pending file = nil", name)
		}
		for _, want := range []string{"test.pending", path} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: CheckLoaded = %q, want it to name %q", name, err, want)
			}
		}
		if got := gather(t, reg, "test.pending"); got["adx_data_reload_failures_total"] != 1 || got["adx_data_last_reload_successful"] != 0 || got["adx_data_loaded_timestamp_seconds"] != 0 {
			t.Errorf("%s: pending series %v", name, got)
		}

		replace(t, path, data("good"))
		waittest.For(t, name+": the good file to load", func() bool { return CheckLoaded([]Info{file.Info()}) == nil })
		if s := current(t, file); s != "good" {
			t.Errorf("%s: value %q after the good file, want good", name, s)
		}
		if info := file.Info(); info.Reloads != 0 || !info.LastReloadOK || info.Version == "" {
			t.Errorf("%s: Info after the first load = %+v", name, info)
		}

		replace(t, path, "DATA bad\nE")
		// Every event for the bad bytes after the first only reports them
		// (File.check), so the count stays at 2.
		waittest.For(t, name+": the bad file to be rejected", func() bool { return file.Info().Failures >= 2 })
		if n := file.Info().Failures; n != 2 {
			t.Errorf("%s: %d failures after one bad file, want 2", name, n)
		}
		if err := CheckLoaded([]Info{file.Info()}); err != nil {
			t.Errorf("%s: CheckLoaded after a rejected reload = %v, want nil", name, err)
		}
		if s := current(t, file); s != "good" {
			t.Errorf("%s: value %q after a bad file, want good kept", name, s)
		}
	}
	f("missing", "")
	f("rejected", "DATA truncated\nEN")

	if err := CheckLoaded(nil); err != nil {
		t.Errorf("CheckLoaded(nil) = %v", err)
	}
}

func TestCloseWaitsForReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.txt")
	writeFile(t, path, data("held"))
	l := &loader{}
	f, err := Open("test.held", path, l.load, Options[*value]{Debounce: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	v, release := f.Acquire()

	// A reload retires v, and Close retires its successor: v stays open
	// while held, its successor closes at once.
	replace(t, path, data("next"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := v.Get(); err != nil || s != "held" {
		t.Fatalf("held value after Close: %q, %v", s, err)
	}
	release()
	if !v.closed.Load() {
		t.Fatal("value not closed after its last release")
	}
	l.checkAllClosed(t)

	// After Close: the zero value, a harmless release, ErrClosed.
	if v, release := f.Acquire(); v != nil {
		t.Errorf("Acquire after Close = %v", v)
	} else {
		release()
	}
	if err := f.Reload(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after Close = %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	f := func(name string, opts Options[*value]) {
		t.Helper()
		before := runtime.NumGoroutine()
		path := filepath.Join(t.TempDir(), "data.txt")
		writeFile(t, path, data("x"))
		file, err := Open("test.goroutines", path, (&loader{}).load, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		if file.done != nil {
			select {
			case <-file.done:
			default:
				t.Errorf("%s: goroutine still running after Close", name)
			}
		}
		waittest.For(t, name+": goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	}
	f("watch and poll", Options[*value]{Interval: time.Millisecond})
	f("poll only", Options[*value]{NoWatch: true, Interval: time.Millisecond})
	f("watch only", Options[*value]{Interval: -1})
	f("neither", Options[*value]{NoWatch: true, Interval: -1})
}

func TestInfoAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if again := NewMetrics(reg); again.reloads != m.reloads {
		t.Error("a second NewMetrics on one registry made new series")
	}
	path := filepath.Join(t.TempDir(), "data.txt")
	writeFile(t, path, data("one"))
	f, err := Open("test.metrics", path, (&loader{}).load, Options[*value]{
		Metrics: m, NoWatch: true, Interval: -1,
		Version: func(v *value) string { return "content " + v.content },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	check := func(step string, reloads, failures, ok float64, version string) {
		t.Helper()
		got := gather(t, reg, "test.metrics")
		want := map[string]float64{
			"adx_data_reloads_total":          reloads,
			"adx_data_reload_failures_total":  failures,
			"adx_data_last_reload_successful": ok,
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s: %s = %v, want %v", step, name, got[name], w)
			}
		}
		if ts := got["adx_data_loaded_timestamp_seconds"]; ts < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("%s: adx_data_loaded_timestamp_seconds = %v", step, ts)
		}
		info := f.Info()
		if info.Version != version || info.Reloads != uint64(reloads) || info.Failures != uint64(failures) || info.LastReloadOK != (ok == 1) {
			t.Errorf("%s: Info = %+v", step, info)
		}
		if info.Name != "test.metrics" || info.Path != path || len(info.SHA256) != 64 || info.LoadedAt.IsZero() {
			t.Errorf("%s: Info = %+v", step, info)
		}
	}
	check("first load", 0, 0, 1, "content one")

	writeFile(t, path, data("two"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	check("reload", 1, 0, 1, "content two")

	writeFile(t, path, "DATA three\nE")
	if err := f.Reload(); err == nil || !strings.Contains(err.Error(), "not a complete test data file") {
		t.Fatalf("Reload of a truncated file = %v", err)
	}
	check("rejected", 1, 1, 0, "content two")
	info := f.Info()
	if !strings.Contains(info.LastError, path) || info.LastErrorAt.IsZero() {
		t.Errorf("Info after rejection = %+v", info)
	}
	// Another event for the same bad bytes (a touch, the rename after a
	// write) reports the rejection again but counts and logs nothing new.
	if err := f.Reload(); err == nil || err.Error() != info.LastError {
		t.Errorf("Reload of the same rejected bytes = %v, want %q again", err, info.LastError)
	}
	check("same bad bytes again", 1, 1, 0, "content two")
	if again := f.Info(); !again.LastErrorAt.Equal(info.LastErrorAt) {
		t.Errorf("LastErrorAt moved from %v to %v for the same bad bytes", info.LastErrorAt, again.LastErrorAt)
	}

	writeFile(t, path, data("two"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	check("good file back", 1, 1, 1, "content two")

	// The same bad bytes sent again after the good file are a new
	// rejection.
	writeFile(t, path, "DATA three\nE")
	if err := f.Reload(); err == nil {
		t.Fatal("Reload of the bad file sent again succeeded")
	}
	check("bad file sent again", 1, 2, 0, "content two")
	writeFile(t, path, data("two"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}

	f.Close()
	if got := gather(t, reg, "test.metrics"); len(got) != 0 {
		t.Errorf("series of a closed file still exported: %v", got)
	}
}

// gather returns the value of each series of reg with label file=name.
func gather(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "file" && l.GetValue() == name {
					if c := m.GetCounter(); c != nil {
						out[mf.GetName()] = c.GetValue()
					} else {
						out[mf.GetName()] = m.GetGauge().GetValue()
					}
				}
			}
		}
	}
	return out
}

// A heap-backed file's readers hold no count: a held value stays usable
// across reloads and Close, no value is ever closed, and the readers
// running while versions are swapped see only whole values.
func TestHeapBacked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.txt")
	writeFile(t, path, data("v0"))
	l := &loader{}
	f, err := Open("test.heap", path, l.load, Options[*value]{Debounce: time.Millisecond, HeapBacked: true})
	if err != nil {
		t.Fatal(err)
	}
	held, release := f.Acquire()
	stop := hammer(t, f, func(s string) bool { return strings.HasPrefix(s, "v") })
	for i := 1; i <= 20; i++ {
		replace(t, path, data("v"+strconv.Itoa(i)))
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	if reads := stop(); reads == 0 {
		t.Fatal("the readers made no read")
	}
	if got := current(t, f); got != "v20" {
		t.Errorf("current value %q, want v20", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := held.Get(); err != nil || s != "v0" {
		t.Errorf("the value held since the start: %q, %v", s, err)
	}
	release()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.vals) != 21 {
		t.Fatalf("%d values loaded, want 21", len(l.vals))
	}
	for i, v := range l.vals {
		if v.closes.Load() != 0 {
			t.Errorf("heap-backed value %d was closed", i)
		}
	}
}
