package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Modes of testSink.
const (
	sinkOK   = iota // takes every batch
	sinkDown        // fails every Write at once
	sinkSlow        // blocks each Write until its deadline
	sinkGate        // blocks each Write until the gate opens, then takes it
)

// testSink is a Sink that takes, fails, stalls or holds writes on command
// and keeps what it took.
type testSink struct {
	mode    atomic.Int32
	gate    chan struct{} // closed: sinkGate writes go through
	entered chan struct{} // a send per Write that starts (non-blocking)
	writes  atomic.Int64
	closed  atomic.Bool

	mu  sync.Mutex
	got []Record // copies
}

func newTestSink(mode int32) *testSink {
	s := &testSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s.mode.Store(mode)
	return s
}

func (s *testSink) Write(ctx context.Context, batch []Record) error {
	s.writes.Add(1)
	select {
	case s.entered <- struct{}{}:
	default:
	}
	switch s.mode.Load() {
	case sinkDown:
		return errors.New("sink down")
	case sinkSlow:
		<-ctx.Done()
		return ctx.Err()
	case sinkGate:
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		s.got = append(s.got, Record{Key: append([]byte(nil), r.Key...), Value: append([]byte(nil), r.Value...)})
	}
	return nil
}

func (s *testSink) Close() error {
	if s.closed.Swap(true) {
		return errors.New("closed twice")
	}
	return nil
}

// records returns a copy of what the sink took.
func (s *testSink) records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.got...)
}

func (s *testSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}
