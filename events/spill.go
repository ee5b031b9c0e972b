package events

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// The spill is a directory of append-only segment files,
// 000000000001.jsonl, 000000000002.jsonl, ..., each a run of event lines
// (see line.go), and a cursor file holding "SEQ OFFSET\n": every segment
// before SEQ, and the bytes before OFFSET in segment SEQ, are delivered.
// It is both the journal of recorded events (Stream.Record returns once
// its line is written here) and where emitted events go when the sink
// fails or is slow. The shipper reads it oldest first, saves the cursor
// (write a temporary file, rename it over the old one) after each batch
// the sink took, and removes each segment it has wholly delivered.
//
// Appends are whole lines with one write(2), not fsynced: they survive the
// process being killed, not the machine losing power. A process killed
// mid-write leaves a line cut short at the end of its last segment; the
// next run never appends to a segment an earlier run left, so a cut line
// can only be the last of a segment, where it is skipped and counted.
// A lock file (flock) keeps two processes out of one spill directory.

const (
	// segmentBytes is the size past which appends start a new segment.
	segmentBytes = 4 << 20
	// readBytes is the read buffer, grown for a longer line up to
	// maxLineBytes; a longer run without a newline is skipped as torn.
	readBytes    = 1 << 20
	maxLineBytes = 64 << 20

	cursorName    = "cursor"
	lockName      = "lock"
	segmentSuffix = ".jsonl"
)

// errClosed is Record's error after Close.
var errClosed = errors.New("the event stream is closed")

// cursor is a position in the spill: everything before it is delivered.
type cursor struct {
	seq uint64
	off int64
}

// segment is one spill file and the bytes written to it: by this process,
// those whose write succeeded; for a segment found at open, its size.
type segment struct {
	seq  uint64
	size int64
}

// spill is the on-disk queue. append is safe for concurrent use; read,
// commit and close belong to the shipper goroutine.
type spill struct {
	dir    string
	log    *slog.Logger
	counts *counters
	lock   *os.File

	mu      sync.Mutex
	segs    []segment // oldest first; the live one, if any, last
	live    *os.File  // the last of segs, appended to; nil: the next append starts a segment
	nextSeq uint64
	closed  bool

	pending atomic.Int64 // bytes not delivered yet

	// The shipper's.
	cur      cursor
	firstNew uint64 // segments before it were left by an earlier run
	rf       *os.File
	rfSeq    uint64
	buf      []byte
}

func segmentName(seq uint64) string { return fmt.Sprintf("%012d%s", seq, segmentSuffix) }

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 12 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil && seq > 0
}

// openSpill locks dir (creating it if missing), finds the segments an
// earlier run left and where its cursor stood, and removes the segments
// wholly delivered.
func openSpill(dir string, log *slog.Logger, counts *counters) (*spill, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the spill directory %q: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the spill lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("cannot lock the spill directory %q (is another adx using it?): %w", dir, err)
	}
	s := &spill{dir: dir, log: log, counts: counts, lock: lock, buf: make([]byte, readBytes)}
	if err := s.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *spill) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("cannot list the spill directory %q: %w", s.dir, err)
	}
	for _, e := range entries {
		seq, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("cannot stat spill segment %q: %w", e.Name(), err)
		}
		s.segs = append(s.segs, segment{seq: seq, size: info.Size()})
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return compareSeq(a.seq, b.seq) })

	s.cur = s.loadCursor()
	// Segments before the cursor's are delivered: a crash came between
	// saving the cursor and removing them.
	for len(s.segs) > 0 && s.segs[0].seq < s.cur.seq {
		s.remove(s.segs[0].seq)
		s.segs = s.segs[1:]
	}
	if len(s.segs) > 0 && s.segs[0].seq != s.cur.seq {
		s.cur = cursor{seq: s.segs[0].seq}
	}
	if len(s.segs) > 0 && s.cur.off > s.segs[0].size {
		s.log.Warn("events: the spill cursor is past its segment's end; delivering the segment again", "dir", s.dir, "segment", s.cur.seq, "offset", s.cur.off, "size", s.segs[0].size)
		s.cur.off = 0
	}
	var pending int64
	for _, seg := range s.segs {
		pending += seg.size
	}
	if len(s.segs) > 0 {
		pending -= s.cur.off
	}
	s.pending.Store(pending)
	s.nextSeq = max(s.cur.seq, 1)
	if len(s.segs) > 0 {
		s.nextSeq = max(s.nextSeq, s.segs[len(s.segs)-1].seq+1)
	}
	s.firstNew = s.nextSeq
	os.Remove(filepath.Join(s.dir, cursorName+".tmp"))
	return nil
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadCursor reads the cursor file; a missing or unreadable one starts at
// the beginning (at least once: events may be delivered again).
func (s *spill) loadCursor() cursor {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorName))
	if errors.Is(err, os.ErrNotExist) {
		return cursor{}
	}
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			seq, err1 := strconv.ParseUint(f[0], 10, 64)
			off, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 == nil && err2 == nil && off >= 0 {
				return cursor{seq: seq, off: off}
			}
		}
		err = fmt.Errorf("malformed cursor %q", b)
	}
	s.log.Warn("events: cannot read the spill cursor; delivering the whole spill again", "dir", s.dir, "err", err)
	return cursor{}
}

func (s *spill) saveCursor() error {
	tmp := filepath.Join(s.dir, cursorName+".tmp")
	b := strconv.AppendUint(nil, s.cur.seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, s.cur.off, 10)
	b = append(b, '\n')
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("cannot save the spill cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, cursorName)); err != nil {
		return fmt.Errorf("cannot save the spill cursor: %w", err)
	}
	return nil
}

func (s *spill) remove(seq uint64) {
	if err := os.Remove(filepath.Join(s.dir, segmentName(seq))); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("events: cannot remove a delivered spill segment", "dir", s.dir, "segment", seq, "err", err)
	}
}

// pendingBytes returns the bytes in the spill not delivered yet.
func (s *spill) pendingBytes() int64 { return s.pending.Load() }

// append writes p, whole lines, to the live segment with one write(2),
// starting a new segment when p would take the live one past
// segmentBytes. A failed write closes the segment, cut back to its last
// whole line as far as truncating can, so that a torn line stays the
// last of its segment.
func (s *spill) append(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if s.live != nil {
		if last := s.segs[len(s.segs)-1]; last.size > 0 && last.size+int64(len(p)) > segmentBytes {
			s.seal()
		}
	}
	if s.live == nil {
		name := filepath.Join(s.dir, segmentName(s.nextSeq))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("cannot create spill segment %q: %w", name, err)
		}
		s.live = f
		s.segs = append(s.segs, segment{seq: s.nextSeq})
		s.nextSeq++
	}
	last := &s.segs[len(s.segs)-1]
	n, err := s.live.Write(p)
	if err != nil {
		if n > 0 {
			s.live.Truncate(last.size)
		}
		s.seal()
		return fmt.Errorf("cannot write to spill segment %q: %w", segmentName(last.seq), err)
	}
	last.size += int64(n)
	s.pending.Add(int64(n))
	return nil
}

// seal closes the live segment; the next append starts a new one. The
// caller holds mu.
func (s *spill) seal() {
	if err := s.live.Close(); err != nil {
		s.log.Error("events: cannot close a spill segment", "dir", s.dir, "err", err)
	}
	s.live = nil
}

// spillBatch is a run of lines read from one segment.
type spillBatch struct {
	lines [][]byte // without newlines; slices of the spill's read buffer, valid until the next read
	keys  [][]byte
	types []uint8
	bytes int
	end   cursor // the cursor once the lines are delivered
	torn  int    // lines skipped before end
	// replay: the segment was left by an earlier run.
	replay bool
	// caughtUp: end was the end of the spill when it was read.
	caughtUp bool
}

func (b *spillBatch) reset() {
	clear(b.lines)
	clear(b.keys)
	b.lines, b.keys, b.types = b.lines[:0], b.keys[:0], b.types[:0]
	b.bytes, b.torn, b.replay, b.caughtUp = 0, 0, false, false
}

// read fills b with the oldest undelivered lines of one segment, at most
// maxLines and maxBytes (but at least one line). Lines cut short or
// unreadable are skipped and counted. An empty b with caughtUp means the
// spill holds nothing to deliver.
func (s *spill) read(b *spillBatch, maxLines, maxBytes int) error {
	for {
		b.reset()
		s.mu.Lock()
		i := 0
		for i < len(s.segs) && s.segs[i].seq < s.cur.seq {
			i++
		}
		if i == len(s.segs) {
			s.mu.Unlock()
			b.end, b.caughtUp = s.cur, true
			return nil
		}
		seg, last, live := s.segs[i], i == len(s.segs)-1, s.live != nil && i == len(s.segs)-1
		s.mu.Unlock()
		if seg.seq > s.cur.seq {
			s.cur = cursor{seq: seg.seq}
		}
		if s.cur.off >= seg.size {
			if live {
				b.end, b.caughtUp = s.cur, true
				return nil
			}
			if err := s.finish(seg.seq); err != nil {
				return err
			}
			continue
		}
		if err := s.openReader(seg.seq); errors.Is(err, os.ErrNotExist) {
			// Removed behind our back: nothing there to deliver.
			s.log.Error("events: a spill segment is gone; its events are lost", "dir", s.dir, "segment", seg.seq)
			s.pending.Add(-(seg.size - s.cur.off))
			s.cur.off = seg.size
			if live {
				s.mu.Lock()
				if s.live != nil && s.segs[len(s.segs)-1].seq == seg.seq {
					s.seal()
				}
				s.mu.Unlock()
			}
			continue
		} else if err != nil {
			return err
		}
		n := int(min(seg.size-s.cur.off, int64(len(s.buf))))
		if _, err := s.rf.ReadAt(s.buf[:n], s.cur.off); err != nil {
			return fmt.Errorf("cannot read spill segment %q: %w", segmentName(seg.seq), err)
		}
		atEnd := s.cur.off+int64(n) == seg.size
		data, pos := s.buf[:n], 0
		for len(b.lines) < maxLines {
			nl := bytes.IndexByte(data[pos:], '\n')
			if nl < 0 {
				switch {
				case atEnd && pos < n:
					// The last line of a segment, cut short by a crash.
					b.torn++
					pos = n
				case pos == 0 && len(s.buf) < maxLineBytes:
					// A line longer than the buffer.
					s.buf = make([]byte, 2*len(s.buf))
				case pos == 0:
					b.torn++
					pos = n
				}
				break
			}
			line := data[pos : pos+nl]
			if len(b.lines) > 0 && b.bytes+len(line) > maxBytes {
				break
			}
			pos += nl + 1
			key, ok := lineKey(line)
			if !ok {
				b.torn++
				continue
			}
			b.lines = append(b.lines, line)
			b.keys = append(b.keys, key)
			b.types = append(b.types, uint8(typeOf(line)))
			b.bytes += len(line)
		}
		if pos == 0 {
			continue // the buffer grew
		}
		b.end = cursor{seq: seg.seq, off: s.cur.off + int64(pos)}
		b.replay = seg.seq < s.firstNew
		b.caughtUp = last && b.end.off == seg.size
		if len(b.lines) == 0 {
			// Only torn lines: skip them.
			if err := s.commit(b); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

// commit moves the cursor past b, delivered, and saves it.
func (s *spill) commit(b *spillBatch) error {
	s.pending.Add(-(b.end.off - s.cur.off))
	s.cur = b.end
	s.counts.torn.Add(int64(b.torn))
	return s.saveCursor()
}

// finish moves the cursor past segment seq, wholly delivered and no longer
// appended to, saves it and removes the segment.
func (s *spill) finish(seq uint64) error {
	s.cur = cursor{seq: seq + 1}
	if err := s.saveCursor(); err != nil {
		return err
	}
	if s.rf != nil && s.rfSeq == seq {
		s.rf.Close()
		s.rf = nil
	}
	s.mu.Lock()
	s.segs = slices.DeleteFunc(s.segs, func(g segment) bool { return g.seq == seq })
	s.mu.Unlock()
	s.remove(seq)
	return nil
}

func (s *spill) openReader(seq uint64) error {
	if s.rf != nil && s.rfSeq == seq {
		return nil
	}
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	f, err := os.Open(filepath.Join(s.dir, segmentName(seq)))
	if err != nil {
		return fmt.Errorf("cannot open spill segment: %w", err)
	}
	s.rf, s.rfSeq = f, seq
	return nil
}

// close stops appends and saves the cursor; when everything is
// delivered it removes the segments too, so that a clean stop leaves an
// empty spill.
func (s *spill) close() error {
	s.mu.Lock()
	s.closed = true
	if s.live != nil {
		s.seal()
	}
	segs := s.segs
	s.mu.Unlock()
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	if s.pending.Load() == 0 {
		s.cur = cursor{seq: s.nextSeq}
	}
	err := s.saveCursor()
	if err == nil && s.pending.Load() == 0 {
		for _, seg := range segs {
			s.remove(seg.seq)
		}
	}
	if cerr := s.lock.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("cannot unlock the spill directory: %w", cerr)
	}
	return err
}
