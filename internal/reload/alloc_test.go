//go:build !race

package reload

import (
	"path/filepath"
	"testing"
)

// TestAcquireDoesNotAllocate pins the hot path: one Acquire and release
// per request must not allocate.
func TestAcquireDoesNotAllocate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.txt")
	writeFile(t, path, data("x"))
	f, err := Open("test.allocs", path, (&loader{}).load, Options[*value]{Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	allocs := testing.AllocsPerRun(1000, func() {
		v, release := f.Acquire()
		if v == nil {
			t.Fatal("no value")
		}
		release()
	})
	if allocs != 0 {
		t.Errorf("Acquire+release allocates %v times, want 0", allocs)
	}
}
