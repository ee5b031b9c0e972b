//go:build !race

package currency

import (
	"path/filepath"
	"testing"
	"time"
)

// TestSnapshotConvertAllocs pins the per-request path: taking the rates in
// service and converting a floor and a price allocates nothing, from a
// watched file and without one.
func TestSnapshotConvertAllocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eurofxref-daily.xml")
	put(t, path, readTestdata(t, "eurofxref-daily.xml"))
	file, err := OpenSource(SourceOptions{File: path, Exchange: "USD", MaxAge: 144 * time.Hour, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	none, err := OpenSource(SourceOptions{Exchange: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for name, s := range map[string]*Source{"file": file, "no file": none} {
		from := "GBP"
		if s == none {
			from = "USD"
		}
		allocs := testing.AllocsPerRun(1000, func() {
			sn := s.Snapshot(now)
			if sn.Stale() {
				t.Fatal("stale")
			}
			floor, err := sn.Convert(1_500_000, from, "USD", Up)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sn.Convert(floor+1, "USD", from, Down); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Snapshot and two Converts allocate %v times, want 0", name, allocs)
		}
	}
}

// TestStaleConvertAllocs: refusing stale rates allocates nothing either.
func TestStaleConvertAllocs(t *testing.T) {
	s := FixedSource(testRates(t), time.Hour)
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := s.Snapshot(now).Convert(1_500_000, "GBP", "USD", Up); err != ErrStaleRates {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a stale Convert allocates %v times, want 0", allocs)
	}
}
