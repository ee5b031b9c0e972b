package events

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// discardSink takes every batch and keeps nothing.
type discardSink struct{}

func (discardSink) Write(context.Context, []Record) error { return nil }
func (discardSink) Close() error                          { return nil }

func BenchmarkAppendJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		e    *Event
	}{{"win", winEvent()}, {"auction", auctionEvent()}} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				dst = bc.e.AppendJSON(dst[:0])
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}

func benchStream(b *testing.B) *Stream {
	s, err := Open(Options{Sink: discardSink{}, Buffer: 64 << 10, SpillDir: b.TempDir(), SpillMaxBytes: 1 << 30,
		SinkTimeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// BenchmarkEmit measures Emit with the shipper delivering to a sink that
// keeps up; dropped/op shows whether it did.
func BenchmarkEmit(b *testing.B) {
	s := benchStream(b)
	e := auctionEvent()
	b.ReportAllocs()
	for b.Loop() {
		s.Emit(e)
	}
	b.ReportMetric(float64(s.count(Auction, dropped))/float64(b.N), "dropped/op")
}

// BenchmarkEmitParallel is Emit from every P at once.
func BenchmarkEmitParallel(b *testing.B) {
	s := benchStream(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := auctionEvent()
		for pb.Next() {
			s.Emit(e)
		}
	})
	b.ReportMetric(float64(s.count(Auction, dropped))/float64(b.N), "dropped/op")
}

// BenchmarkRecord measures Record: encoding and one write(2) to the spill.
func BenchmarkRecord(b *testing.B) {
	s := benchStream(b)
	e := winEvent()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Record(e); err != nil {
			b.Fatal(err)
		}
	}
}
