package currency

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSnapshotConvert is the per-request cost: the rates in service,
// then a floor converted up and a price converted down through a cross
// rate.
func BenchmarkSnapshotConvert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "eurofxref-daily.xml")
	put(b, path, readTestdata(b, "eurofxref-daily.xml"))
	s, err := OpenSource(SourceOptions{File: path, Exchange: "USD", MaxAge: 144 * time.Hour, ReloadInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		sn := s.Snapshot(now)
		floor, _ := sn.Convert(1_500_000, "GBP", "USD", Up)
		_, _ = sn.Convert(floor+1, "USD", "GBP", Down)
	}
}
