package devicedb

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/latencytest"
	"github.com/adx-exchange/adx/internal/reload"
)

type handle struct{ db *DB }

func (handle) Close() error { return nil }

// BenchmarkLookupDuringReload100k times single cached lookups of real UAs
// against the 100,000-device database in service behind internal/reload,
// as adx serves it, once with the file left alone ("steady", the baseline)
// and once with a goroutine replacing it back to back by renaming a
// symlink between two builds ("reloading"). Each reload loads and checks
// a 16 MB snapshot and gives the cache a new generation, so lookups after
// it miss until the cache refills. It reports p50, p99, p99.9 and max.
func BenchmarkLookupDuringReload100k(b *testing.B) {
	dir := b.TempDir()
	paths := [2]string{filepath.Join(dir, "a.snap"), filepath.Join(dir, "b.snap")}
	for i, version := range []string{"bench-a", "bench-b"} {
		snap, err := build100k(version)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(paths[i], snap, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "devices.snap")
	point := func(target string) {
		tmp := path + ".tmp"
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			b.Error(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Error(err)
		}
	}
	point(paths[0])
	f, err := reload.Open("devicedb", path, func(p string) (handle, error) {
		db, err := OpenFile(p)
		return handle{db}, err
	}, reload.Options[handle]{Interval: -1, NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	uas := intoliUAs(b)
	cache := NewCache(64 << 10)

	for _, mode := range []string{"steady", "reloading"} {
		b.Run(mode, func(b *testing.B) {
			var stop atomic.Bool
			var reloads atomic.Int64
			var wg sync.WaitGroup
			if mode == "reloading" {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 1; !stop.Load(); i++ {
						point(paths[i%2])
						if err := f.Reload(); err != nil {
							b.Error(err)
							return
						}
						reloads.Add(1)
					}
				}()
			}
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				h, release := f.Acquire()
				cache.Lookup(h.db, Evidence{UA: uas[i%len(uas)]})
				release()
				lat = append(lat, time.Since(start))
				i++
			}
			stop.Store(true)
			wg.Wait()
			latencytest.Report(b, lat)
			if mode == "reloading" {
				if reloads.Load() == 0 {
					b.Fatal("no reload happened during the run")
				}
				b.ReportMetric(float64(reloads.Load()), "reloads")
			}
		})
	}
}
