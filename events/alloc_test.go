//go:build !race

package events

import (
	"testing"
	"time"
)

// TestAppendJSONAllocations pins AppendJSON at no allocation when dst has
// room.
func TestAppendJSONAllocations(t *testing.T) {
	dst := make([]byte, 0, 4096)
	for _, e := range []*Event{winEvent(), auctionEvent()} {
		if allocs := testing.AllocsPerRun(1000, func() { dst = e.AppendJSON(dst[:0]) }); allocs != 0 {
			t.Errorf("AppendJSON(%s) allocates %v times, want 0", e.Type, allocs)
		}
	}
}

// TestEmitAllocations pins Emit at no allocation once its encoding buffers
// are pooled: the shipper is held in a Write so that only Emit runs.
func TestEmitAllocations(t *testing.T) {
	const n = 1000
	sink := newTestSink(sinkGate)
	s := openStream(t, t.TempDir(), sink, n+1, time.Minute)
	e := auctionEvent()
	s.Emit(e)
	<-sink.entered
	for range n {
		s.putItem(&item{b: make([]byte, 0, 1024)})
	}
	if allocs := testing.AllocsPerRun(n-1, func() { s.Emit(e) }); allocs != 0 {
		t.Errorf("Emit allocates %v times, want 0", allocs)
	}
	if s.count(Auction, dropped) != 0 {
		t.Errorf("%d events dropped: the test measured the wrong path", s.count(Auction, dropped))
	}
	close(sink.gate)
}
