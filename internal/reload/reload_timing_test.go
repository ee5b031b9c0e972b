package reload

import (
	"path/filepath"
	"testing"
)

// BenchmarkAcquire measures one Acquire and release, the per-request cost
// of a watched file, from all Ps at once (they share one reference count).
func BenchmarkAcquire(b *testing.B) {
	path := filepath.Join(b.TempDir(), "data.txt")
	writeFile(b, path, data("x"))
	f, err := Open("bench.acquire", path, (&loader{}).load, Options[*value]{Interval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, release := f.Acquire()
			release()
		}
	})
}
