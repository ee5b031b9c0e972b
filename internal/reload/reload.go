// Package reload keeps a data file (a MaxMind database, the device
// database) in service while it is replaced underneath the process.
//
// A File loads and verifies the file once at Open, then watches its
// directory with fsnotify and polls it as a fallback. (With
// Options.StartPending a file that cannot be loaded at Open, not there yet
// or rejected, leaves the File pending, with no value, until a version
// loads; CheckLoaded reports such files, for a readiness probe.) A changed
// file is loaded and verified off the request path; if the Loader accepts
// it, the new value is swapped in with an atomic.Pointer, and the old value
// is closed only when the last reader that acquired it has released it. A
// file the Loader rejects (truncated, corrupt, of the wrong type, missing)
// leaves the old value in service: the rejection is logged with the path
// and reason, counted, and retried when the file changes again.
//
// The directory is watched rather than the file because updaters replace
// files by rename: geoipupdate writes a temporary file and renames it over
// the old one, and a Kubernetes ConfigMap or Secret volume swaps a ..data
// symlink. A watch on the file itself would follow the old inode and see
// nothing.
package reload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultInterval is the polling period used when Options.Interval is zero.
const DefaultInterval = 30 * time.Second

// DefaultDebounce is the quiet time after a burst of file events before the
// file is examined, used when Options.Debounce is zero. An updater that
// writes in place produces a burst of events; waiting for the burst to end
// avoids loading (and rejecting) each partial state.
const DefaultDebounce = 150 * time.Millisecond

// maxDebounces bounds the wait of a never-ending burst to this many
// debounce periods.
const maxDebounces = 10

// ErrClosed is returned by Reload after Close.
var ErrClosed = errors.New("reload: file is closed")

// Loader opens the file at path and fully verifies it, so that a value it
// returns is safe to serve. It runs off the request path (at Open and on
// the watcher goroutine), one call at a time per File. It must not keep
// path open in a way a later rewrite in place can corrupt: a value that
// memory-maps the file sees a truncation as SIGBUS, so loaders of files
// that may be rewritten in place read them into memory.
type Loader[T io.Closer] func(path string) (T, error)

// Options tune a File. The zero value watches the directory and polls every
// DefaultInterval.
type Options[T io.Closer] struct {
	// Interval is the polling period of the fallback that catches changes
	// fsnotify misses (network file systems, a watch lost with its
	// directory). Zero means DefaultInterval; negative disables polling.
	// A poll costs one stat; the file is hashed only when its device,
	// inode, size, mtime or ctime changed.
	Interval time.Duration
	// Debounce is the quiet time after file events before the file is
	// examined; zero means DefaultDebounce.
	Debounce time.Duration
	// NoWatch disables fsnotify, leaving only polling.
	NoWatch bool
	// Logger receives loads and rejections; nil discards them.
	Logger *slog.Logger
	// Metrics receives the file's series; nil records none.
	Metrics *Metrics
	// Version names a loaded value in Info (e.g. a database's type and
	// build date); nil uses the file's SHA-256.
	Version func(T) string
	// StartPending lets Open succeed when the first load fails (the file
	// is missing or rejected): the failure is logged and counted like a
	// rejected reload, and the File has no value (Acquire returns the zero
	// T) until the watcher loads a version the Loader accepts. Without it
	// Open returns the error.
	StartPending bool
	// HeapBacked says a value is plain memory that the GC frees once the
	// last reader lets go of it: no file mapping or descriptor that Close
	// must release first. Its readers then need no reference count:
	// Acquire is one atomic load and its release does nothing, and a
	// retired version is never closed, only dropped. (A value that must be
	// closed, such as a memory mapping, cannot be HeapBacked: closing it
	// under a reader would fault.)
	HeapBacked bool
}

// Info describes the version of a File in service and its reload history,
// for /version and for operators. It is a copy: it does not change.
type Info struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// LoadedAt is when the version in service was loaded; zero while the
	// File is pending (Options.StartPending), with no version yet.
	LoadedAt time.Time `json:"loaded_at"`
	// Reloads counts changed files put in service after the first load.
	Reloads uint64 `json:"reloads"`
	// Failures counts rejected files, each once however often it is
	// examined (the same bytes installed again count again); each left
	// the older version in service.
	Failures uint64 `json:"failures"`
	// LastReloadOK is false while the file on disk is one that was
	// rejected (or is missing), so the version in service is older.
	LastReloadOK bool `json:"last_reload_successful"`
	// LastError and LastErrorAt keep the most recent rejection, also after
	// a later file loaded, for diagnosis.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// File is a data file in service. Readers call Acquire for the current
// value and release it when done; the watcher goroutine swaps in new
// versions. All methods are safe for concurrent use.
type File[T io.Closer] struct {
	name, path, dir, base string
	load                  Loader[T]
	version               func(T) string
	log                   *slog.Logger
	metrics               *Metrics
	series                *series
	interval, debounce    time.Duration
	heapBacked            bool // Options.HeapBacked

	cur atomic.Pointer[generation[T]]

	mu      sync.Mutex // serializes examinations; guards the fields below
	closed  bool
	seen    stamp    // the file as last examined
	missing bool     // the last examination found no file
	sum     [32]byte // SHA-256 of the version in service
	// badSum and badStamp are the SHA-256 and the stamp of the last file
	// the Loader rejected, and badErr its error: further examinations of
	// that same file (each event naming it forces one) report it again
	// without loading, logging or counting it. The same bytes installed
	// anew (a new inode or mtime) are a new file, and counted. nil
	// badErr: none.
	badSum   [32]byte
	badStamp stamp
	badErr   error
	info     Info

	watcher   *fsnotify.Watcher // nil: polling only
	stop      chan struct{}
	done      chan struct{} // closed when the goroutine has returned; nil: none started
	closeOnce sync.Once
	closeErr  error
}

// stamp is what a stat tells about a file's content; see stampOf.
type stamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// generation is one loaded value and the count of its users: the File
// holds one reference while the value is current, each Acquire one more.
type generation[T io.Closer] struct {
	val     T
	refs    atomic.Int64
	release func() // built once so Acquire does not allocate
	file    *File[T]
}

var noop = func() {}

// Open loads and verifies the file at path with load and keeps it in
// service until Close. The first load must succeed, unless
// opts.StartPending: its error names the file and the reason. name is the
// logical name (e.g. "geo.city") used in logs, metrics and Info. Open
// starts one goroutine, stopped by Close.
func Open[T io.Closer](name, path string, load Loader[T], opts Options[T]) (*File[T], error) {
	if name == "" || path == "" || load == nil {
		return nil, fmt.Errorf("reload: Open(%q, %q) needs a name, a path and a loader", name, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load %s from %q: %w", name, path, err)
	}
	f := &File[T]{
		name:    name,
		path:    path,
		dir:     filepath.Dir(abs),
		base:    filepath.Base(abs),
		load:    load,
		version: opts.Version,
		// See Options.HeapBacked.
		heapBacked: opts.HeapBacked,
		log:        opts.Logger,
		metrics:    opts.Metrics,
		series:     opts.Metrics.series(name),
		interval:   opts.Interval,
		debounce:   opts.Debounce,
		stop:       make(chan struct{}),
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.interval == 0 {
		f.interval = DefaultInterval
	}
	if f.debounce <= 0 {
		f.debounce = DefaultDebounce
	}
	f.info = Info{Name: name, Path: path}

	if err := f.loadFirst(); err != nil {
		if !opts.StartPending {
			return nil, fmt.Errorf("cannot load %s from %q: %w", name, path, err)
		}
		_ = f.reject(err)
	}

	if !opts.NoWatch {
		f.watcher = f.watch()
	}
	if f.watcher == nil && f.interval < 0 {
		f.log.Warn("data file is neither watched nor polled; it will not be reloaded", "file", name, "path", path)
		return f, nil
	}
	f.done = make(chan struct{})
	go f.run()
	return f, nil
}

// loadFirst loads the file at Open. f is not yet shared.
func (f *File[T]) loadFirst() error {
	start := time.Now()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.missing = true
		return err
	}
	f.seen = stampOf(fi)
	sum, err := hashFile(f.path)
	if err != nil {
		return err
	}
	val, err := f.load(f.path)
	if err != nil {
		f.badSum, f.badStamp, f.badErr = sum, f.seen, fmt.Errorf("cannot load %s from %q: %w", f.name, f.path, err)
		return err
	}
	f.install(val, sum, start, true)
	return nil
}

// watch starts an fsnotify watch on the file's directory, or returns nil
// (polling only) when the platform refuses one, e.g. at the inotify limit.
func (f *File[T]) watch() *fsnotify.Watcher {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		f.log.Warn("cannot watch data file, polling only", "file", f.name, "path", f.path, "interval", f.interval, "err", err)
		return nil
	}
	if err := w.Add(f.dir); err != nil {
		_ = w.Close()
		f.log.Warn("cannot watch data file directory, polling only", "file", f.name, "dir", f.dir, "interval", f.interval, "err", err)
		return nil
	}
	return w
}

// Acquire returns the value in service and the function that releases it.
// The value stays open until release is called, even if a newer version is
// swapped in meanwhile; call release exactly once, when done with the value
// (typically deferred, or at the end of one request), and do not keep the
// value after. Acquire does not allocate. After Close it returns the zero T
// and a release that does nothing.
func (f *File[T]) Acquire() (T, func()) {
	if f.heapBacked {
		if g := f.cur.Load(); g != nil {
			return g.val, noop
		}
		var zero T
		return zero, noop
	}
	for {
		g := f.cur.Load()
		if g == nil {
			var zero T
			return zero, noop
		}
		// A count of zero means g was retired (and is being closed) after
		// the Load above; cur has already moved on, so load it again. A
		// failed CompareAndSwap is a concurrent reader: retry.
		if n := g.refs.Load(); n > 0 && g.refs.CompareAndSwap(n, n+1) {
			return g.val, g.release
		}
	}
}

// Reload examines the file now, as a file event would, and loads it if its
// content changed. It returns the Loader's error for a rejected file (the
// old version stays in service), ErrClosed after Close, and nil when the
// content is unchanged or was loaded. The watcher goroutine does the same on
// its own; Reload is for tests and tools that must not wait for it.
func (f *File[T]) Reload() error {
	return f.check(true)
}

// Info returns the state of the file in service.
func (f *File[T]) Info() Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info
}

// CheckLoaded returns an error naming each of files (Info of Files) that
// has no version in service yet, a pending File (Options.StartPending)
// whose file is still missing or rejected, with its path and last error;
// nil when every one has loaded. A later rejected file does not count: the
// version in service goes on serving. For a readiness check: the error is
// one line, the files separated by "; ".
func CheckLoaded(files []Info) error {
	var msg []string
	for _, fi := range files {
		switch {
		case !fi.LoadedAt.IsZero():
		case fi.LastError != "":
			msg = append(msg, fi.Name+" has not loaded: "+fi.LastError)
		default:
			msg = append(msg, fmt.Sprintf("%s has not loaded from %q", fi.Name, fi.Path))
		}
	}
	if len(msg) == 0 {
		return nil
	}
	return errors.New(strings.Join(msg, "; "))
}

// Close stops the watcher goroutine and retires the value in service: it
// is closed now if no reader holds it, else by the last reader's release.
// Close returns the value's Close error when it closed it. Calling Close
// again does nothing.
func (f *File[T]) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true // no examination swaps in a value after this
		f.mu.Unlock()
		close(f.stop)
		if f.watcher != nil {
			_ = f.watcher.Close()
		}
		if f.done != nil {
			<-f.done
		}
		if g := f.cur.Swap(nil); g != nil && !f.heapBacked {
			f.closeErr = g.unref()
		}
		f.metrics.forget(f.name)
	})
	return f.closeErr
}

// install puts val in service and retires the previous value. f.mu is held
// (or f is not yet shared).
func (f *File[T]) install(val T, sum [32]byte, start time.Time, first bool) {
	g := &generation[T]{val: val, file: f}
	g.refs.Store(1)
	g.release = func() { _ = g.unref() }

	now := time.Now()
	f.sum = sum
	f.badErr = nil
	f.info.SHA256 = hex.EncodeToString(sum[:])
	f.info.Version = f.info.SHA256
	if f.version != nil {
		f.info.Version = f.version(val)
	}
	f.info.LoadedAt = now
	f.info.LastReloadOK = true
	if !first {
		f.info.Reloads++
	}
	if s := f.series; s != nil {
		if !first {
			s.reloads.Inc()
		}
		s.loadedAt.Set(float64(now.UnixNano()) / 1e9)
		s.lastOK.Set(1)
	}
	msg := "data file reloaded"
	if first {
		msg = "data file loaded"
	}
	f.log.Info(msg, "file", f.name, "path", f.path, "version", f.info.Version, "sha256", f.info.SHA256, "took", now.Sub(start).Round(time.Millisecond).String())

	if old := f.cur.Swap(g); old != nil && !f.heapBacked {
		_ = old.unref()
	}
}

// reject records a file that was not put in service. f.mu is held.
func (f *File[T]) reject(err error) error {
	err = fmt.Errorf("cannot load %s from %q: %w", f.name, f.path, err)
	f.info.Failures++
	f.info.LastReloadOK = false
	f.info.LastError = err.Error()
	f.info.LastErrorAt = time.Now()
	if s := f.series; s != nil {
		s.failures.Inc()
		s.lastOK.Set(0)
	}
	if f.info.LoadedAt.IsZero() {
		f.log.Error("data file rejected; none is in service until one loads", "file", f.name, "path", f.path, "err", err)
	} else {
		f.log.Error("data file rejected; the previous version stays in service", "file", f.name, "path", f.path, "in_service", f.info.Version, "err", err)
	}
	return err
}

// check examines the file and loads it if it changed. force hashes the file
// even if its stamp is unchanged: an event named it, and a rewrite within
// one mtime tick keeps size and mtime.
func (f *File[T]) check(force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	start := time.Now()
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.missing {
			return nil // counted when it went missing
		}
		f.missing = true
		f.seen = stamp{}
		f.badErr = nil
		return f.reject(err)
	}
	st := stampOf(fi)
	if !force && !f.missing && st == f.seen {
		return nil
	}
	f.missing = false
	f.seen = st
	sum, err := hashFile(f.path)
	if err != nil {
		f.badErr = nil
		return f.reject(err)
	}
	if sum == f.sum {
		// The bytes in service: touched, copied over with the same
		// content, or a rejected file replaced by the good one again.
		f.badErr = nil
		if !f.info.LastReloadOK {
			f.info.LastReloadOK = true
			if s := f.series; s != nil {
				s.lastOK.Set(1)
			}
			f.log.Info("data file is back to the version in service", "file", f.name, "path", f.path, "version", f.info.Version)
		}
		return nil
	}
	if f.badErr != nil && sum == f.badSum && st == f.badStamp {
		// This file was rejected already, and counted: another event
		// for it (the writes and the rename of one install).
		return f.badErr
	}
	val, err := f.load(f.path)
	if err != nil {
		err = f.reject(err)
		f.badSum, f.badStamp, f.badErr = sum, st, err
		return err
	}
	f.install(val, sum, start, f.info.LoadedAt.IsZero())
	return nil
}

// run is the watcher goroutine: it debounces file events, polls, and
// examines the file, until Close.
func (f *File[T]) run() {
	defer close(f.done)
	var tick <-chan time.Time
	if f.interval > 0 {
		t := time.NewTicker(f.interval)
		defer t.Stop()
		tick = t.C
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if f.watcher != nil {
		events, errs = f.watcher.Events, f.watcher.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		pending, force bool
		since          time.Time
	)
	arm := func(ours bool) {
		force = force || ours
		now := time.Now()
		if !pending {
			pending, since = true, now
		}
		wait := f.debounce
		if rest := since.Add(maxDebounces * f.debounce).Sub(now); rest < wait {
			wait = max(rest, 0)
		}
		timer.Reset(wait)
	}
	for {
		select {
		case <-f.stop:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if relevant, ours := f.classify(ev); relevant {
				arm(ours)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow lost events, possibly ours.
			f.log.Warn("data file watch error", "file", f.name, "dir", f.dir, "err", err)
			arm(true)
		case <-timer.C:
			pending = false
			forced := force
			force = false
			_ = f.check(forced)
		case <-tick:
			f.rewatch()
			_ = f.check(false)
		}
	}
}

// classify tells whether an event in the watched directory may have changed
// the file, and whether it names the file itself. Any name may matter: the
// path can be a symlink through another entry (Kubernetes' ..data), and the
// stat in check tells cheaply whether the file changed.
func (f *File[T]) classify(ev fsnotify.Event) (relevant, ours bool) {
	if ev.Op == fsnotify.Chmod {
		return false, false
	}
	return true, filepath.Base(ev.Name) == f.base
}

// rewatch restores the directory watch after the directory was removed
// and re-created (the watch dies with the directory).
func (f *File[T]) rewatch() {
	if f.watcher == nil || len(f.watcher.WatchList()) > 0 {
		return
	}
	if err := f.watcher.Add(f.dir); err == nil {
		f.log.Info("data file directory watched again", "file", f.name, "dir", f.dir)
	}
}

// unref drops one reference and closes the value when it was the last. It
// returns the value's Close error.
func (g *generation[T]) unref() error {
	n := g.refs.Add(-1)
	if n > 0 {
		return nil
	}
	if n < 0 {
		panic("BUG: reload: a value of " + g.file.name + " was released more often than acquired")
	}
	err := g.val.Close()
	if err != nil {
		g.file.log.Error("cannot close a retired data file version", "file", g.file.name, "err", err)
	}
	return err
}

// hashFile returns the SHA-256 of the file at path.
func hashFile(path string) ([32]byte, error) {
	var sum [32]byte
	fd, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer fd.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fd); err != nil {
		return sum, fmt.Errorf("cannot read %q: %w", path, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}
