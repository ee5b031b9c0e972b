package memguard

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// holdLive keeps n bytes live on the heap (touched, so they are really
// allocated) and returns them.
func holdLive(n int) [][]byte {
	const chunk = 1 << 20
	var out [][]byte
	for n > 0 {
		c := make([]byte, min(chunk, n))
		for i := 0; i < len(c); i += 4096 {
			c[i] = 1
		}
		out = append(out, c)
		n -= len(c)
	}
	return out
}

// sampleAfterGC runs a full GC, so the live heap is current, and samples.
func sampleAfterGC(g *Guard) {
	runtime.GC()
	g.Sample()
}

// awaitPressure waits, up to 10 s, for g's background sampler to report
// pressure, running a GC cycle each millisecond if gc is set; it fails t
// with what, and the last sample, if none comes.
func awaitPressure(t *testing.T, g *Guard, gc bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !g.Pressure(); {
		if time.Now().After(deadline) {
			need, lim := g.Need()
			t.Fatalf("no pressure %s: need %d, limit %d", what, need, lim)
		}
		if gc {
			runtime.GC()
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPressureFollowsTheLiveHeap drives the real Go heap across the
// threshold under a real memory limit: pressure starts at the ratio, holds
// inside the hysteresis band, and ends below it.
func TestPressureFollowsTheLiveHeap(t *testing.T) {
	const limit = 256 << 20
	old := debug.SetMemoryLimit(limit)
	defer debug.SetMemoryLimit(old)
	g := New(Options{Ratio: 0.85, Interval: time.Hour})
	sampleAfterGC(g)
	base, _ := g.Need()
	if g.Pressure() {
		t.Fatalf("pressure with %d bytes needed of %d", base, limit)
	}
	fill := func(share float64) [][]byte { return holdLive(int(share*limit) - int(base)) }

	held := fill(0.90)
	sampleAfterGC(g)
	runtime.KeepAlive(held)
	need, lim := g.Need()
	if !g.Pressure() || lim != limit {
		t.Fatalf("no pressure at %.2f of the limit (need %d, limit %d)", float64(need)/limit, need, lim)
	}
	held = nil
	held = fill(0.83) // inside the band: 0.80 to 0.85
	sampleAfterGC(g)
	runtime.KeepAlive(held)
	if need, _ = g.Need(); !g.Pressure() {
		t.Fatalf("pressure ended at %.2f, inside the hysteresis band", float64(need)/limit)
	}
	held = nil
	held = fill(0.50)
	sampleAfterGC(g)
	if need, _ = g.Need(); g.Pressure() {
		t.Fatalf("pressure still on at %.2f", float64(need)/limit)
	}
	runtime.KeepAlive(held)
	if g.Episodes() != 1 {
		t.Errorf("episodes = %d, want 1", g.Episodes())
	}
}

// TestNoLimitNoPressure: without a memory limit nothing is near it.
func TestNoLimitNoPressure(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	g := New(Options{Ratio: 0.01, Interval: time.Hour})
	held := holdLive(32 << 20)
	sampleAfterGC(g)
	if g.Pressure() {
		t.Fatal("pressure without a memory limit")
	}
	runtime.KeepAlive(held)
}

// TestStartSamples: the background sampler sees a limit change.
func TestStartSamples(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	g := New(Options{Ratio: 0.5, Interval: 5 * time.Millisecond})
	g.Start()
	defer g.Stop()
	held := holdLive(16 << 20)
	runtime.GC()
	debug.SetMemoryLimit(8 << 20) // below what is live
	awaitPressure(t, g, false, "after the limit fell below the live heap")
	debug.SetMemoryLimit(math.MaxInt64)
	runtime.KeepAlive(held)
}

// TestStartSamplesAfterEachGC: a started Guard samples when a GC cycle
// ends, not only on its ticks (here an hour apart).
func TestStartSamplesAfterEachGC(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	g := New(Options{Ratio: 0.5, Interval: time.Hour})
	g.Start()
	defer g.Stop()
	held := holdLive(16 << 20)
	debug.SetMemoryLimit(8 << 20) // below what is live
	awaitPressure(t, g, true, "after GC cycles with the limit below the live heap")
	debug.SetMemoryLimit(math.MaxInt64)
	runtime.KeepAlive(held)
}

// TestStopEndsTheGCChain: a Guard started again after Stop follows GC
// cycles once more, and once stopped for good nothing keeps it: its chain
// of GC notifications ends, so that the Guard is collected.
func TestStopEndsTheGCChain(t *testing.T) {
	held := holdLive(16 << 20)
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	g := New(Options{Ratio: 0.5, Interval: time.Hour})
	g.Start()
	g.Stop()
	g.Start()
	debug.SetMemoryLimit(8 << 20) // below what is live
	awaitPressure(t, g, true, "in a Guard started again, after GC cycles")
	debug.SetMemoryLimit(math.MaxInt64)
	runtime.KeepAlive(held)
	g.Stop()

	collected := make(chan struct{})
	runtime.AddCleanup(g, func(c chan struct{}) { close(c) }, collected)
	g = nil
	for deadline := time.Now().Add(10 * time.Second); ; {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a stopped Guard is never collected: its GC notifications go on")
		}
	}
}
