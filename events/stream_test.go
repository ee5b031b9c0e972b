package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/internal/waittest"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// emitted is the i-th sampled auction event of a test, recorded the i-th
// win: their IDs carry the class and the number, which checkStream reads.
func emitted(i int) *Event {
	return &Event{Type: Auction, ID: "a:" + strconv.Itoa(i), AuctionID: "auction-" + strconv.Itoa(i), Time: t0.Add(time.Duration(i)), Currency: "USD",
		Imps: 1, Bids: []Bid{{DSP: "dsp", ImpID: "1", BidID: "b", Price: 1000, Status: BidLost}}}
}

func recorded(i int) *Event {
	return &Event{Type: Win, ID: "w:" + strconv.Itoa(i), AuctionID: "auction\t\"" + strconv.Itoa(i) + "\"", Time: t0.Add(time.Duration(i)), Currency: "USD",
		ImpID: "1", BidID: "b", DSP: "dsp", BidPrice: 1000, Charge: 900, Clear: 800}
}

// checkStream checks that recs hold emitted events 0..emits-1 and recorded
// ones 0..records-1, each once, in order within each class, each keyed by
// its auction id.
func checkStream(t *testing.T, recs []Record, emits, records int) {
	t.Helper()
	next := map[string]int{"a": 0, "w": 0}
	for _, r := range recs {
		var e Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("record %q: %v", r.Value, err)
		}
		if string(r.Key) != e.AuctionID {
			t.Fatalf("record %s has key %q, want its auction id", r.Value, r.Key)
		}
		class, num, _ := strings.Cut(e.ID, ":")
		n, _ := strconv.Atoi(num)
		if n != next[class] {
			t.Fatalf("event %s delivered after %s:%d; want %s:%d (lost, repeated or out of order)", e.ID, class, next[class]-1, class, next[class])
		}
		next[class]++
	}
	if next["a"] != emits || next["w"] != records {
		t.Fatalf("delivered %d emitted and %d recorded events, want %d and %d", next["a"], next["w"], emits, records)
	}
}

func openStream(t *testing.T, dir string, sink Sink, buffer int, timeout time.Duration) *Stream {
	t.Helper()
	s, err := Open(Options{Sink: sink, Buffer: buffer, SpillDir: dir, SpillMaxBytes: 1 << 30, SinkTimeout: timeout, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// testLog sends a Stream's log lines to the test's output.
func testLog(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func (s *Stream) count(typ Type, outcome int) int64 {
	return s.counts.events[typeIndex(typ)][outcome].Load()
}

func closeStream(t *testing.T, s *Stream, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSinkDownSpillsThenDeliversAll(t *testing.T) {
	sink := newTestSink(sinkDown)
	s := openStream(t, t.TempDir(), sink, 1<<12, 5*time.Second)
	const emits, records = 2100, 300
	for i := range emits {
		s.Emit(emitted(i))
		if i%7 == 0 {
			if err := s.Record(recorded(i / 7)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waittest.For(t, "every emitted event spilled", func() bool { return s.count(Auction, spilled) == emits })
	if sink.count() != 0 || s.spill.pendingBytes() == 0 || s.counts.sinkErrors[sinkError].Load() == 0 {
		t.Fatalf("sink took %d, spill holds %d bytes, %d sink errors; want nothing delivered, a spill, errors counted",
			sink.count(), s.spill.pendingBytes(), s.counts.sinkErrors[sinkError].Load())
	}
	sink.mode.Store(sinkOK)
	waittest.For(t, "every event delivered", func() bool { return sink.count() >= emits+records && s.spill.pendingBytes() == 0 })
	checkStream(t, sink.records(), emits, records)
	waittest.For(t, "an empty spill", func() bool { return s.spill.pendingBytes() == 0 })
	if d, w, dr := s.count(Auction, delivered), s.count(Win, delivered), s.count(Auction, dropped); d != emits || w != records || dr != 0 {
		t.Errorf("counted %d auctions and %d wins delivered, %d dropped; want %d, %d, 0", d, w, dr, emits, records)
	}
	// After the outage emitted events go straight to the sink again.
	spilledBefore := s.count(Auction, spilled)
	s.Emit(emitted(emits))
	waittest.For(t, "one more event delivered", func() bool { return sink.count() == emits+records+1 })
	if s.count(Auction, spilled) != spilledBefore {
		t.Errorf("an event emitted after the outage went to the spill")
	}
	closeStream(t, s, 10*time.Second)
	if !sink.closed.Load() {
		t.Error("Close did not close the sink")
	}
}

func TestSlowSinkSpillsThenRecovers(t *testing.T) {
	sink := newTestSink(sinkSlow)
	s := openStream(t, t.TempDir(), sink, 1<<12, 20*time.Millisecond)
	const emits = 500
	for i := range emits {
		s.Emit(emitted(i))
	}
	waittest.For(t, "a timed-out write and every event spilled", func() bool {
		return s.counts.sinkErrors[sinkTimeout].Load() > 0 && s.count(Auction, spilled) == emits
	})
	if sink.count() != 0 {
		t.Fatalf("a slow sink took %d events", sink.count())
	}
	sink.mode.Store(sinkOK)
	waittest.For(t, "every event delivered", func() bool { return sink.count() == emits })
	checkStream(t, sink.records(), emits, 0)
}

func TestCloseSpillsAndOpenReplays(t *testing.T) {
	dir := t.TempDir()
	dead := newTestSink(sinkDown)
	s := openStream(t, dir, dead, 1<<12, time.Second)
	const emits, records = 700, 100
	for i := range emits {
		s.Emit(emitted(i))
		if i < records {
			if err := s.Record(recorded(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Close's deadline ends the retries: whatever memory holds is spilled.
	closeStream(t, s, 300*time.Millisecond)
	if !dead.closed.Load() || dead.count() != 0 {
		t.Fatalf("dead sink: closed %v, took %d", dead.closed.Load(), dead.count())
	}
	if got := s.count(Auction, spilled); got != emits {
		t.Fatalf("%d emitted events spilled at Close, want %d", got, emits)
	}
	if err := s.Record(recorded(records)); err == nil {
		t.Fatal("Record after Close succeeded")
	}
	s.Emit(emitted(emits))
	if s.count(Auction, dropped) != 1 {
		t.Fatal("Emit after Close not counted dropped")
	}

	good := newTestSink(sinkOK)
	s2 := openStream(t, dir, good, 1<<12, time.Second)
	waittest.For(t, "the spill replayed", func() bool { return good.count() == emits+records })
	checkStream(t, good.records(), emits, records)
	if got := s2.counts.replayed.Load(); got != emits+records {
		t.Errorf("replayed %d, want %d", got, emits+records)
	}
	closeStream(t, s2, 10*time.Second)
	// A clean stop leaves no segment behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := parseSegmentName(e.Name()); ok {
			t.Errorf("segment %s left after everything was delivered", e.Name())
		}
	}
	// And the next run starts empty, with numbering that goes on.
	s3 := openStream(t, dir, newTestSink(sinkOK), 16, time.Second)
	if s3.spill.pendingBytes() != 0 || s3.spill.nextSeq <= 1 {
		t.Errorf("next run: %d bytes pending, next segment %d", s3.spill.pendingBytes(), s3.spill.nextSeq)
	}
}

// writeSegment writes a spill segment holding events first..last-1 as
// recorded, then tail.
func writeSegment(t *testing.T, dir string, seq uint64, first, last int, tail string) {
	t.Helper()
	var b []byte
	for i := first; i < last; i++ {
		b = append(recorded(i).AppendJSON(b), '\n')
	}
	b = append(b, tail...)
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, segmentName(seq)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTornLinesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	cut := recorded(5).AppendJSON(nil)
	writeSegment(t, dir, 1, 0, 3, "not an event\n")         // a corrupt whole line ends it
	writeSegment(t, dir, 2, 3, 5, string(cut[:len(cut)/2])) // a crash cut the last line
	writeSegment(t, dir, 3, 5, 7, "")
	sink := newTestSink(sinkOK)
	s := openStream(t, dir, sink, 16, time.Second)
	waittest.For(t, "the spill replayed", func() bool { return s.spill.pendingBytes() == 0 && sink.count() == 7 })
	checkStream(t, sink.records(), 0, 7)
	if got := s.counts.torn.Load(); got != 2 {
		t.Errorf("%d torn lines counted, want 2", got)
	}
}

func TestCursorResumesAndSkipsDelivered(t *testing.T) {
	dir := t.TempDir()
	writeSegment(t, dir, 4, 0, 3, "") // delivered: before the cursor's segment
	writeSegment(t, dir, 7, 0, 10, "")
	seg, _ := os.ReadFile(filepath.Join(dir, segmentName(7)))
	off := 0
	for range 4 {
		off += bytes.IndexByte(seg[off:], '\n') + 1
	}
	os.WriteFile(filepath.Join(dir, cursorName), []byte("7 "+strconv.Itoa(off)+"\n"), 0o644)
	sink := newTestSink(sinkOK)
	s := openStream(t, dir, sink, 16, time.Second)
	waittest.For(t, "the spill replayed", func() bool { return s.spill.pendingBytes() == 0 && sink.count() == 6 })
	recs := sink.records()
	for i, r := range recs {
		if want := recorded(4 + i).AppendJSON(nil); !bytes.Equal(r.Value, want) {
			t.Fatalf("record %d is %s, want %s", i, r.Value, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(4))); !os.IsNotExist(err) {
		t.Errorf("the delivered segment 4 is still there: %v", err)
	}
}

func TestFullBufferDropsEmitsNeverRecords(t *testing.T) {
	sink := newTestSink(sinkGate)
	s := openStream(t, t.TempDir(), sink, 4, time.Minute)
	s.Emit(emitted(0))
	<-sink.entered // the shipper holds event 0 in a Write that waits for the gate
	for i := 1; i <= 10; i++ {
		s.Emit(emitted(i))
	}
	if got := s.count(Auction, dropped); got != 6 {
		t.Fatalf("%d emitted events dropped, want 6 (10 past a held write into a buffer of 4)", got)
	}
	for i := range 10 {
		if err := s.Record(recorded(i)); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	close(sink.gate)
	waittest.For(t, "every kept event delivered", func() bool { return sink.count() == 5+10 })
	var auctions []Record
	for _, r := range sink.records() {
		if bytes.HasPrefix(r.Value, []byte(`{"type":"auction"`)) {
			auctions = append(auctions, r)
		}
	}
	checkStream(t, auctions, 5, 0)
	if s.count(Win, dropped) != 0 || s.count(Win, delivered) != 10 {
		t.Errorf("wins: %d dropped, %d delivered; want 0 and 10", s.count(Win, dropped), s.count(Win, delivered))
	}
}

func TestSpillMaxBytesDropsEmitsNotRecords(t *testing.T) {
	sink := newTestSink(sinkDown)
	// Room for the first 10 events; later ones are no shorter.
	room := 0
	for i := range 10 {
		room += len(emitted(i).AppendJSON(nil)) + 1
	}
	s, err := Open(Options{Sink: sink, Buffer: 1 << 12, SpillDir: t.TempDir(), SpillMaxBytes: int64(room), SinkTimeout: time.Second, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	const emits = 100
	for i := range emits {
		s.Emit(emitted(i))
	}
	waittest.For(t, "every emitted event spilled or dropped", func() bool {
		return s.count(Auction, spilled)+s.count(Auction, dropped) == emits
	})
	if got := s.count(Auction, spilled); got != 10 {
		t.Errorf("%d events spilled into a spill with room for 10, want 10", got)
	}
	for i := range 50 {
		if err := s.Record(recorded(i)); err != nil {
			t.Fatalf("Record past SpillMaxBytes: %v", err)
		}
	}
	if s.spill.pendingBytes() <= int64(room) {
		t.Errorf("spill holds %d bytes after 50 records past its bound", s.spill.pendingBytes())
	}
	sink.mode.Store(sinkOK)
	waittest.For(t, "the wins delivered", func() bool { return s.count(Win, delivered) == 50 })
}

func TestOpenRefusesBadOptionsAndASharedSpill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spill")
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	sink := newTestSink(sinkOK)
	good := Options{Sink: sink, Buffer: 1, SpillDir: dir, SinkTimeout: time.Second, Log: testLog(t)}
	for _, f := range []func(o *Options){
		func(o *Options) { o.Sink = nil },
		func(o *Options) { o.SpillDir = "" },
		func(o *Options) { o.Buffer = 0 },
		func(o *Options) { o.SpillMaxBytes = -1 },
		func(o *Options) { o.SinkTimeout = 0 },
		func(o *Options) { o.SpillDir = filepath.Join(blocker, "spill") },
	} {
		o := good
		f(&o)
		if s, err := Open(o); err == nil {
			s.Close(context.Background())
			t.Errorf("Open(%+v) accepted", o)
		}
	}
	s := openStream(t, dir, sink, 1, time.Second)
	good.Sink = newTestSink(sinkOK)
	if s2, err := Open(good); err == nil || !strings.Contains(err.Error(), dir) {
		if s2 != nil {
			s2.Close(context.Background())
		}
		t.Errorf("a second Stream on one spill: %v, want an error naming the directory", err)
	}
	closeStream(t, s, time.Second)
	good.Sink = newTestSink(sinkOK)
	s3, err := Open(good)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	closeStream(t, s3, time.Second)
}

func TestCollector(t *testing.T) {
	sink := newTestSink(sinkOK)
	s := openStream(t, t.TempDir(), sink, 16, time.Second)
	s.Emit(emitted(0))
	s.Record(recorded(0))
	waittest.For(t, "two events delivered", func() bool { return sink.count() == 2 && s.spill.pendingBytes() == 0 })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"adx_events_total,outcome=delivered,type=auction": 1,
		"adx_events_total,outcome=delivered,type=win":     1,
		"adx_events_total,outcome=dropped,type=loss":      0,
		"adx_events_total,outcome=spilled,type=other":     0,
		"adx_events_spill_bytes":                          0,
		"adx_events_buffered":                             0,
		"adx_events_sink_errors_total,kind=timeout":       0,
		"adx_events_spill_errors_total":                   0,
		"adx_events_replayed_total":                       0,
		"adx_events_torn_total":                           0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v", name, v, ok, want)
		}
	}
}
