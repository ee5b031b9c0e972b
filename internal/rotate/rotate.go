// Package rotate is an append-only file of whole records that rotates
// when it passes a size or an age: the live file keeps its path, rotated
// copies get a numeric suffix, .1 the newest, and the oldest past a bound
// are removed. A record is never split across two files.
package rotate

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeepAll, as Options.Keep, keeps every rotated copy.
const KeepAll = -1

// Options configure a File.
type Options struct {
	// Path is the live file; its parent directory is created if missing.
	Path string
	// MaxBytes rotates the live file before a record would take it past
	// this size; 0: no size bound. A record larger than MaxBytes gets a
	// file of its own.
	MaxBytes int64
	// MaxAge rotates the live file before a record is written to it once
	// it is this old; 0: no age bound. The age counts from when this
	// process created the file, or opened it; a file found at Open that
	// nothing has written to for MaxAge is rotated at once.
	MaxAge time.Duration
	// Keep is how many rotated copies are kept besides the live file: 0
	// keeps none (the live file is removed when it rotates), KeepAll keeps
	// every one.
	Keep int
	// BufferBytes holds records in memory until Flush or until this many
	// bytes are waiting; 0: every Write goes to the file at once.
	BufferBytes int
	// Log receives one line per rotation and per failure to rotate; nil:
	// slog.Default().
	Log *slog.Logger
}

// File is a rotating append-only file. Build it with Open. It is not safe
// for concurrent use: one goroutine writes.
type File struct {
	opts    Options
	f       *os.File // nil after a failed reopen: the next Write retries
	size    int64    // bytes in the live file, buffered ones included
	created time.Time
	buf     []byte
}

// Open creates (or appends to) opts.Path.
func Open(opts Options) (*File, error) {
	if opts.Path == "" {
		return nil, errors.New("rotate: no file given")
	}
	if opts.Keep < KeepAll {
		return nil, fmt.Errorf("rotate: keep %d is below %d", opts.Keep, KeepAll)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	r := &File{opts: opts}
	if opts.BufferBytes > 0 {
		r.buf = make([]byte, 0, opts.BufferBytes)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the directory of %q: %w", opts.Path, err)
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	if opts.MaxAge > 0 && r.size > 0 {
		if st, err := r.f.Stat(); err == nil && time.Since(st.ModTime()) >= opts.MaxAge {
			if err := r.rotate(); err != nil {
				r.Close()
				return nil, err
			}
		}
	}
	return r, nil
}

// Write appends p, one whole record, rotating the live file first when p
// would take it past MaxBytes or when it is older than MaxAge. Without a
// buffer, p is written with one write(2); a failed write leaves the file
// as it was before p, as far as truncating it back can.
func (r *File) Write(p []byte) error {
	if r.f == nil {
		if err := r.open(); err != nil {
			return err
		}
	}
	if r.due(int64(len(p))) {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	if r.buf == nil {
		return r.write(p)
	}
	if len(r.buf)+len(p) > cap(r.buf) && len(r.buf) > 0 {
		if err := r.Flush(); err != nil {
			return err
		}
	}
	if len(p) >= cap(r.buf) {
		return r.write(p)
	}
	r.buf = append(r.buf, p...)
	r.size += int64(len(p))
	return nil
}

// Flush writes the buffered records with one write(2). On failure the
// buffered records are dropped, and the file is cut back to where they
// began so that it ends on a whole record.
func (r *File) Flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	r.size -= int64(len(r.buf))
	err := r.write(r.buf)
	r.buf = r.buf[:0]
	return err
}

// write writes p to the live file, which must be open, and on a short
// write truncates it back.
func (r *File) write(p []byte) error {
	if r.f == nil {
		return fmt.Errorf("cannot write to %q: it is not open", r.opts.Path)
	}
	n, err := r.f.Write(p)
	if err == nil {
		r.size += int64(n)
		return nil
	}
	if n > 0 {
		if terr := r.f.Truncate(r.size); terr != nil {
			// The file now ends mid-record; a new file keeps the next
			// records whole.
			r.size += int64(n)
			r.opts.Log.Error("cannot cut a failed write back", "path", r.opts.Path, "err", terr)
			if rerr := r.rotate(); rerr != nil {
				r.opts.Log.Error("cannot rotate", "path", r.opts.Path, "err", rerr)
			}
		}
	}
	return fmt.Errorf("cannot write to %q: %w", r.opts.Path, err)
}

// Size returns the bytes in the live file, buffered ones included.
func (r *File) Size() int64 { return r.size }

// Close flushes and closes the live file.
func (r *File) Close() error {
	err := r.Flush()
	if r.f != nil {
		if cerr := r.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close %q: %w", r.opts.Path, cerr)
		}
		r.f = nil
	}
	return err
}

func (r *File) due(n int64) bool {
	if r.size == 0 {
		return false
	}
	if r.opts.MaxBytes > 0 && r.size+n > r.opts.MaxBytes {
		return true
	}
	return r.opts.MaxAge > 0 && time.Since(r.created) >= r.opts.MaxAge
}

func (r *File) open() error {
	f, err := os.OpenFile(r.opts.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cannot open %q: %w", r.opts.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("cannot stat %q: %w", r.opts.Path, err)
	}
	r.f, r.size, r.created = f, st.Size(), time.Now()
	return nil
}

// rotate flushes and closes the live file, shifts path.N to path.N+1
// (removing those past Keep), renames path to path.1 and opens a new path.
// When a rename fails the live file is reopened as it is, so that records
// keep going somewhere.
func (r *File) rotate() error {
	if err := r.Flush(); err != nil {
		return err
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	err := r.shift()
	if oerr := r.open(); oerr != nil {
		return errors.Join(err, oerr)
	}
	if err != nil {
		r.opts.Log.Error("cannot rotate", "path", r.opts.Path, "err", err)
		return nil
	}
	r.opts.Log.Info("rotated", "path", r.opts.Path, "keep", r.opts.Keep)
	return nil
}

func (r *File) shift() error {
	p := r.opts.Path
	if r.opts.Keep == 0 {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("cannot remove %q: %w", p, err)
		}
		return nil
	}
	rotated := rotatedFiles(p) // the oldest last
	for i := len(rotated) - 1; i >= 0; i-- {
		n := Suffix(rotated[i])
		if r.opts.Keep != KeepAll && n >= r.opts.Keep {
			os.Remove(rotated[i])
			continue
		}
		if err := os.Rename(rotated[i], p+"."+strconv.Itoa(n+1)); err != nil {
			return fmt.Errorf("cannot rename %q: %w", rotated[i], err)
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("cannot rename %q: %w", p, err)
	}
	return nil
}

// Files lists the live file at path (when it exists) and its rotated
// copies, newest first.
func Files(path string) []string {
	rotated := rotatedFiles(path)
	if _, err := os.Stat(path); err == nil {
		return append([]string{path}, rotated...)
	}
	return rotated
}

// rotatedFiles lists path's rotated copies, newest first.
func rotatedFiles(path string) []string {
	matches, _ := filepath.Glob(globEscape(path) + ".*")
	matches = slices.DeleteFunc(matches, func(m string) bool { return Suffix(m) < 1 })
	slices.SortFunc(matches, func(a, b string) int { return Suffix(a) - Suffix(b) })
	return matches
}

// Suffix returns the number after the last dot of a rotated copy's name,
// or -1 when there is none.
func Suffix(p string) int {
	digits := p[strings.LastIndexByte(p, '.')+1:]
	if digits == "" || len(digits) > 9 || strings.Trim(digits, "0123456789") != "" {
		return -1
	}
	n, _ := strconv.Atoi(digits)
	return n
}

// globEscape escapes the glob metacharacters of a path.
func globEscape(p string) string {
	var b strings.Builder
	for _, c := range p {
		switch c {
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
