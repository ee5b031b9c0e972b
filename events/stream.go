package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Options configure a Stream. config.Events holds the values adx runs
// with and their defaults.
type Options struct {
	// Sink receives the events; the Stream closes it.
	Sink Sink
	// Buffer bounds the emitted events held in memory; at least 1.
	Buffer int
	// SpillDir holds the spill: recorded events, and emitted ones the sink
	// could not take in time. It is created if missing; one Stream at a
	// time uses it.
	SpillDir string
	// SpillMaxBytes bounds the undelivered bytes in the spill for emitted
	// events: past it they are dropped and counted. Recorded events are
	// written whatever the spill holds. 0: emitted events never spill.
	SpillMaxBytes int64
	// SinkTimeout bounds one Sink.Write; a slower one is a failure and its
	// batch spills.
	SinkTimeout time.Duration
	// Log receives failures, recoveries and replays; nil: slog.Default().
	Log *slog.Logger
}

const (
	// maxBatch and maxBatchBytes bound one Sink.Write.
	maxBatch      = 1024
	maxBatchBytes = 1 << 20
	// minBackoff and maxBackoff bound the wait before delivering again
	// after a failed Write; it doubles with each failure in a row.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxPooledBytes: larger encoding buffers are not pooled.
	maxPooledBytes = 64 << 10
)

// Stream carries events to a Sink through a bounded memory buffer and an
// on-disk spill, with one shipper goroutine. Build it with Open; Emit and
// Record are safe for concurrent use; Close stops it.
//
// Emitted events go through memory; the shipper writes them to the sink
// in batches. Recorded events are written to the spill first and
// delivered from there. The shipper delivers what the spill holds, oldest
// first, then takes from memory, in turns. When a Write fails or runs past
// SinkTimeout, its batch and every emitted event after it go to the spill
// behind what is there, and the shipper retries from the spill with a
// backoff (100ms doubling to 5s) until it has delivered it all. Order is
// kept within emitted events and within recorded events; between the two,
// events go in the order they reach the spill or the sink. Delivery is at
// least once: after a crash, the batch delivered after the last cursor
// save is delivered again, which Event.ID lets a consumer see.
type Stream struct {
	opts   Options
	log    *slog.Logger
	spill  *spill
	counts counters
	items  sync.Pool // *item

	mu     sync.Mutex
	ring   []*item // emitted events, ring[head] the oldest of n
	head   int
	n      int
	closed bool

	wake      chan struct{} // the shipper has work; capacity 1
	stop      chan struct{} // closed by Close
	closeCtx  context.Context
	done      chan struct{} // closed when the shipper has stopped
	closeOnce sync.Once
	closeErr  error
}

// item is one encoded emitted event.
type item struct {
	b []byte
	t uint8 // typeIndex
}

// Open opens (or creates) the spill in opts.SpillDir and starts the
// shipper, which first delivers what an earlier run left there, in order.
func Open(opts Options) (*Stream, error) {
	switch {
	case opts.Sink == nil:
		return nil, errors.New("events: no sink given")
	case opts.SpillDir == "":
		return nil, errors.New("events: no spill directory given")
	case opts.Buffer < 1:
		return nil, fmt.Errorf("events: buffer %d is below 1", opts.Buffer)
	case opts.SpillMaxBytes < 0:
		return nil, fmt.Errorf("events: spill max bytes %d is negative", opts.SpillMaxBytes)
	case opts.SinkTimeout <= 0:
		return nil, fmt.Errorf("events: sink timeout %s is not positive", opts.SinkTimeout)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Stream{
		opts: opts,
		log:  opts.Log,
		ring: make([]*item, opts.Buffer),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.items.New = func() any { return &item{b: make([]byte, 0, 1024)} }
	sp, err := openSpill(opts.SpillDir, opts.Log, &s.counts)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	s.spill = sp
	if n := sp.pendingBytes(); n > 0 {
		s.log.Info("events: replaying the spill", "dir", opts.SpillDir, "bytes", n)
	}
	go s.run()
	return s, nil
}

// Emit queues a droppable event (a sampled auction). It encodes e at
// once, so the caller may reuse e when Emit returns, and never blocks:
// when the memory buffer is full, or after Close, the event is dropped and
// counted.
func (s *Stream) Emit(e *Event) {
	it := s.items.Get().(*item)
	it.b = e.AppendJSON(it.b[:0])
	it.t = uint8(typeIndex(e.Type))
	s.mu.Lock()
	if s.closed || s.n == len(s.ring) {
		s.mu.Unlock()
		s.counts.events[it.t][dropped].Add(1)
		s.putItem(it)
		return
	}
	i := s.head + s.n
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	s.ring[i] = it
	s.n++
	first := s.n == 1
	s.mu.Unlock()
	if first {
		// The shipper takes everything queued whenever it looks, so it
		// needs waking only when the buffer stops being empty.
		s.signal()
	}
}

// Record keeps an event that must never be lost (a win, bill or loss):
// it returns nil only once the event is written to the journal in the
// spill directory (one write(2), not fsynced: it survives the process
// being killed, not the machine losing power), whence the shipper
// delivers it. On error (disk full, I/O error, Close) the event is not
// kept; the caller refuses the notice so that the SSP sends it again.
func (s *Stream) Record(e *Event) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("events: cannot record %s event %q: %w", e.Type, e.ID, errClosed)
	}
	it := s.items.Get().(*item)
	it.b = append(e.AppendJSON(it.b[:0]), '\n')
	err := s.spill.append(it.b)
	s.putItem(it)
	if err != nil {
		if !errors.Is(err, errClosed) {
			s.counts.spillErrors.Add(1)
		}
		return fmt.Errorf("events: cannot record %s event %q: %w", e.Type, e.ID, err)
	}
	s.signal()
	return nil
}

// Close stops taking events, delivers what it can to the sink until ctx
// ends, writes the rest to the spill (delivered at the next Open), and
// closes the sink. Later calls return the first's result.
func (s *Stream) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.closeCtx = ctx
		close(s.stop)
		<-s.done
	})
	return s.closeErr
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Stream) putItem(it *item) {
	if cap(it.b) <= maxPooledBytes {
		s.items.Put(it)
	}
}

// buffered returns the number of emitted events held in memory.
func (s *Stream) buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// takeMemory moves up to maxBatch of the oldest emitted events, at most
// maxBatchBytes (but at least one), from the ring to items.
func (s *Stream) takeMemory(items []*item) []*item {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := 0
	for s.n > 0 && len(items) < maxBatch {
		it := s.ring[s.head]
		if len(items) > 0 && size+len(it.b) > maxBatchBytes {
			break
		}
		size += len(it.b)
		items = append(items, it)
		s.ring[s.head] = nil
		s.head++
		if s.head == len(s.ring) {
			s.head = 0
		}
		s.n--
	}
	return items
}

// shipper is the shipper goroutine's state.
type shipper struct {
	s        *Stream
	ctx      context.Context // Background, then Close's
	spilling bool            // emitted events go to the spill, behind what it holds
	backoff  time.Duration   // 0: the last Write succeeded
	retryAt  time.Time
	timer    *time.Timer

	jb    spillBatch
	items []*item
	recs  []Record
	lines []byte // scratch for spilling
}

// run is the shipper goroutine.
func (s *Stream) run() {
	defer close(s.done)
	sh := &shipper{s: s, ctx: context.Background(), spilling: s.spill.pendingBytes() > 0, timer: time.NewTimer(time.Hour)}
	sh.timer.Stop()
	sh.loop()
	// Close's deadline passed or everything is delivered: what remains in
	// memory goes to the spill for the next run.
	for {
		sh.items = s.takeMemory(sh.items[:0])
		if len(sh.items) == 0 {
			break
		}
		sh.spillItems()
	}
	if n := s.spill.pendingBytes(); n > 0 {
		s.log.Info("events: left in the spill for the next start", "dir", s.opts.SpillDir, "bytes", n)
	}
	err := s.spill.close()
	if cerr := s.opts.Sink.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cannot close the event sink: %w", cerr))
	}
	if err != nil {
		s.closeErr = fmt.Errorf("events: %w", err)
	}
}

func (sh *shipper) loop() {
	s := sh.s
	stop := s.stop
	for {
		if stop != nil {
			select {
			case <-stop:
				stop, sh.ctx = nil, s.closeCtx
			default:
			}
		}
		if sh.ctx.Err() != nil {
			return
		}
		if sh.spilling {
			sh.spillMemory()
		}
		if sh.backoff > 0 && time.Now().Before(sh.retryAt) {
			if !sh.wait(stop, sh.retryAt) {
				return
			}
			continue
		}
		worked := false

		// The spill first: what is there is older than what is in memory.
		if err := s.spill.read(&sh.jb, maxBatch, maxBatchBytes); err != nil {
			s.log.Error("events: cannot read the spill", "dir", s.opts.SpillDir, "err", err)
			sh.fail()
			continue
		}
		if len(sh.jb.lines) > 0 {
			worked = true
			sh.recs = sh.recs[:0]
			for i, line := range sh.jb.lines {
				sh.recs = append(sh.recs, Record{Key: sh.jb.keys[i], Value: line})
			}
			if !sh.write(sh.recs) {
				sh.fail()
				continue
			}
			for _, t := range sh.jb.types {
				s.counts.events[t][delivered].Add(1)
			}
			if sh.jb.replay {
				s.counts.replayed.Add(int64(len(sh.jb.lines)))
			}
			if err := s.spill.commit(&sh.jb); err != nil {
				s.log.Error("events: cannot save the spill cursor; the batch may be delivered again", "dir", s.opts.SpillDir, "err", err)
			}
		}
		if sh.jb.caughtUp && sh.spilling {
			// Everything emitted before this read was in the spill and is
			// delivered: emitted events go to the sink again.
			sh.spilling = false
			s.log.Info("events: the spill is delivered", "dir", s.opts.SpillDir)
		}

		// Then memory.
		if !sh.spilling {
			sh.items = s.takeMemory(sh.items[:0])
			if len(sh.items) > 0 {
				worked = true
				sh.recs = sh.recs[:0]
				for _, it := range sh.items {
					key, _ := auctionKey(it.b)
					sh.recs = append(sh.recs, Record{Key: key, Value: it.b})
				}
				if sh.write(sh.recs) {
					for _, it := range sh.items {
						s.counts.events[it.t][delivered].Add(1)
					}
					sh.putItems()
				} else {
					sh.spillItems()
					sh.fail()
				}
			}
		}
		if worked {
			continue
		}
		if stop == nil {
			return // closing, and everything is delivered
		}
		if !sh.wait(stop, time.Time{}) {
			return
		}
	}
}

// write writes recs to the sink within SinkTimeout and reports whether
// the sink took them. A panicking sink counts as a failed Write.
func (sh *shipper) write(recs []Record) (ok bool) {
	s := sh.s
	ctx, cancel := context.WithTimeout(sh.ctx, s.opts.SinkTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.counts.sinkErrors[sinkError].Add(1)
			s.log.Error("events: the sink panicked", "panic", fmt.Sprint(p))
			ok = false
		}
	}()
	start := time.Now()
	err := s.opts.Sink.Write(ctx, recs)
	if err == nil {
		if sh.backoff > 0 {
			s.log.Info("events: the sink is back")
		}
		sh.backoff = 0
		return true
	}
	kind := sinkError
	if ctx.Err() != nil {
		kind = sinkTimeout
	}
	s.counts.sinkErrors[kind].Add(1)
	if sh.backoff == 0 {
		// Logged once per outage, not once per retry.
		s.log.Warn("events: the sink failed; events go to the spill", "kind", sinkErrorNames[kind], "events", len(recs), "took", time.Since(start), "err", err)
	}
	return false
}

// fail enters spilling mode and sets the next retry.
func (sh *shipper) fail() {
	sh.spilling = true
	sh.backoff = min(max(2*sh.backoff, minBackoff), maxBackoff)
	sh.retryAt = time.Now().Add(sh.backoff)
}

// wait blocks until the shipper is woken, until at (when not zero), until
// stop is closed or the context ends; it reports false when the context
// ended.
func (sh *shipper) wait(stop chan struct{}, at time.Time) bool {
	var tc <-chan time.Time
	if !at.IsZero() {
		sh.timer.Reset(time.Until(at))
		defer sh.timer.Stop()
		tc = sh.timer.C
	}
	select {
	case <-sh.s.wake:
	case <-tc:
	case <-stop:
	case <-sh.ctx.Done():
		return false
	}
	return true
}

// spillMemory moves every emitted event in memory to the spill.
func (sh *shipper) spillMemory() {
	for {
		sh.items = sh.s.takeMemory(sh.items[:0])
		if len(sh.items) == 0 {
			return
		}
		sh.spillItems()
	}
}

// spillItems appends sh.items to the spill with one write, dropping (and
// counting) those past SpillMaxBytes, and returns them to the pool.
func (sh *shipper) spillItems() {
	s := sh.s
	sh.lines = sh.lines[:0]
	room := s.opts.SpillMaxBytes - s.spill.pendingBytes()
	var kept [numTypes]int64
	for _, it := range sh.items {
		if int64(len(sh.lines)+len(it.b)+1) > room {
			s.counts.events[it.t][dropped].Add(1)
			continue
		}
		sh.lines = append(append(sh.lines, it.b...), '\n')
		kept[it.t]++
	}
	sh.putItems()
	if len(sh.lines) == 0 {
		return
	}
	outcome := spilled
	if err := s.spill.append(sh.lines); err != nil {
		s.counts.spillErrors.Add(1)
		s.log.Error("events: cannot spill; events dropped", "dir", s.opts.SpillDir, "err", err)
		outcome = dropped
	}
	for t, n := range kept {
		s.counts.events[t][outcome].Add(n)
	}
}

// putItems returns sh.items to the pool.
func (sh *shipper) putItems() {
	for i, it := range sh.items {
		sh.s.putItem(it)
		sh.items[i] = nil
	}
	sh.items = sh.items[:0]
}
