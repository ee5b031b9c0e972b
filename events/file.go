package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/adx-exchange/adx/internal/rotate"
)

// FileOptions configure a FileSink (config.EventFile).
type FileOptions struct {
	// Path is the live file; rotated copies get .1 (the newest), .2, ...
	// Its directory is created if missing.
	Path string
	// MaxBytes rotates the file before a batch's event would take it past
	// this size; 0: no size bound.
	MaxBytes int64
	// MaxAge rotates the file before an event is written to it once it is
	// this old; 0: no age bound.
	MaxAge time.Duration
	// Keep is how many rotated copies are kept; 0 keeps them all.
	Keep int
	// Log receives rotations and failures; nil: slog.Default().
	Log *slog.Logger
}

// FileSink is a Sink writing one event a line to a rotating local file.
type FileSink struct {
	file *rotate.File
	line []byte
}

// fileBufferBytes is the most a Write holds before a write(2).
const fileBufferBytes = 256 << 10

// OpenFile creates (or appends to) opts.Path.
func OpenFile(opts FileOptions) (*FileSink, error) {
	if opts.Keep < 0 {
		return nil, fmt.Errorf("events: file keep %d is negative", opts.Keep)
	}
	keep := opts.Keep
	if keep == 0 {
		keep = rotate.KeepAll
	}
	f, err := rotate.Open(rotate.Options{Path: opts.Path, MaxBytes: opts.MaxBytes, MaxAge: opts.MaxAge, Keep: keep, BufferBytes: fileBufferBytes, Log: opts.Log})
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return &FileSink{file: f}, nil
}

// Write appends each record's value and a newline, and returns once the
// whole batch is written to the file (write(2), not fsynced: the page
// cache survives adx being killed; an fsync per batch would cost a disk
// flush to guard against power loss only). On error some lines may have
// been written; the caller writes the batch again. An event is never split
// across two files.
func (f *FileSink) Write(ctx context.Context, batch []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range batch {
		f.line = append(append(f.line[:0], r.Value...), '\n')
		if err := f.file.Write(f.line); err != nil {
			return fmt.Errorf("events: %w", err)
		}
	}
	if err := f.file.Flush(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// Close closes the file.
func (f *FileSink) Close() error {
	if err := f.file.Close(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}
