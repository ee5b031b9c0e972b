package enrich

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/devicedb"
	"github.com/adx-exchange/adx/internal/latencytest"
)

// BenchmarkEnrichDuringReload measures what a request's enrichment costs
// while the data files are being replaced: geo (all four generated MaxMind
// databases, the City one a few hundred thousand networks) and device (the
// embedded database plus the Google Play models, about 40,000 devices),
// once with the files left alone ("steady") and once with a goroutine
// reloading the City database and the device database back to back
// ("reloading"). It reports the p50, p99 and max of single enrichments as
// custom metrics: the figures behind "p99 auction latency during a reload"
// in BENCHMARKS.md. Each reload swaps a new version in and closes the old
// one only after its last reader.
func BenchmarkEnrichDuringReload(b *testing.B) {
	d := benchData(b)
	dir := b.TempDir()
	geoOpts := writeBenchDBs(b, dir)

	// Two versions of each file, flipped by renaming a symlink, as
	// geoipupdate and Kubernetes volume updates replace files.
	cityA, cityB := filepath.Join(dir, "city-a.mmdb"), filepath.Join(dir, "city-b.mmdb")
	writeFile(b, cityA, d.city)
	writeFile(b, cityB, d.cityNext)
	point(b, geoOpts.City, cityA)
	devA, devB := filepath.Join(dir, "devices-a.snap"), filepath.Join(dir, "devices-b.snap")
	writeFile(b, devA, playSnapshot(b, "bench-a"))
	writeFile(b, devB, playSnapshot(b, "bench-b"))
	devPath := filepath.Join(dir, "devices.snap")
	point(b, devPath, devA)

	g := openGeo(b, geoOpts)
	devices, err := OpenDevices(DeviceOptions{File: devPath, ReloadInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer devices.Close()
	uas := benchUAs(b)

	for _, mode := range []string{"steady", "reloading"} {
		b.Run(mode, func(b *testing.B) {
			var stop atomic.Bool
			var reloads atomic.Int64
			var wg sync.WaitGroup
			if mode == "reloading" {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						city, dev := cityA, devA
						if i%2 == 0 {
							city, dev = cityB, devB
						}
						point(b, geoOpts.City, city)
						point(b, devPath, dev)
						if err := g.dbs[slotCity].Reload(); err != nil {
							b.Error(err)
							return
						}
						if err := devices.file.Reload(); err != nil {
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
				req := &openrtb2.BidRequest{Device: &openrtb2.Device{IP: d.addrs[i%len(d.addrs)], UA: uas[i%len(uas)]}}
				start := time.Now()
				g.Enrich(req)
				devices.Enrich(req)
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

func writeFile(b *testing.B, path string, data []byte) {
	b.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// point makes path a symlink to target, atomically.
func point(b *testing.B, path, target string) {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		b.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Error(err)
	}
}

// playSnapshot compiles the embedded source plus the Google Play models
// (devicedb's test data, never shipped) into a snapshot named version.
func playSnapshot(b *testing.B, version string) []byte {
	b.Helper()
	src, err := devicedb.ReadSourceFile("../devicedb/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := devicedb.ImportPlayFile(src, "../devicedb/testdata/play/android-supported-devices.json.gz"); err != nil {
		b.Fatal(err)
	}
	src.Version = version
	db, err := devicedb.Compile(src)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := db.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return snap
}

// benchUAs are real User-Agents from the device database's test data.
func benchUAs(b *testing.B) []string {
	b.Helper()
	return []string{
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Roku/DVP-12.0 (12.0.0.4182-88)",
		"Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) 7.0 TV Safari/537.36",
	}
}
