package admission

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// hold admits n auctions and returns how many were admitted.
func hold(l *Limiter, n int) int {
	got := 0
	for range n {
		if l.Admit() == Admitted {
			got++
		}
	}
	return got
}

func TestStaticLimitWithoutTarget(t *testing.T) {
	l := New(Options{Max: 3})
	if got := hold(l, 5); got != 3 {
		t.Fatalf("admitted %d of 5 with Max 3", got)
	}
	if v := l.Admit(); v != OverMax {
		t.Fatalf("verdict past Max = %d, want OverMax", v)
	}
	l.Release()
	if v := l.Admit(); v != Admitted {
		t.Fatalf("verdict after a release = %d, want Admitted", v)
	}
	if l.Inflight() != 3 {
		t.Fatalf("inflight = %d, want 3", l.Inflight())
	}
	l.Start() // no target: nothing to adapt, and Stop must not hang
	l.Stop()
}

// TestAdaptCutsOnSustainedCongestion drives the control law with the
// scheduler latencies an overload and its end would show.
func TestAdaptCutsOnSustainedCongestion(t *testing.T) {
	const target = 5 * time.Millisecond
	l := New(Options{Max: 1000, Min: 4, Target: target})
	hold(l, 100) // the in-flight peak

	l.Adapt(20*time.Millisecond, true)
	if got := l.Limit(); got != 1000 {
		t.Fatalf("one congested interval cut the limit to %d; it takes two", got)
	}
	l.Adapt(20*time.Millisecond, true)
	if got := l.Limit(); got != 50 {
		t.Fatalf("limit after a 4x latency = %d, want 50 (half the peak of 100)", got)
	}
	if l.Admit() != Overloaded {
		t.Fatal("100 in flight over a limit of 50 still admitted")
	}
	for range 50 {
		l.Release()
	}
	l.Adapt(6*time.Millisecond, true)
	if got := l.Limit(); got != 41 {
		t.Fatalf("limit after a latency of 1.2x target = %d, want 41 (5/6 of the 50 at the peak)", got)
	}
	for range 10 {
		l.Adapt(60*time.Millisecond, true)
	}
	if got := l.Limit(); got != 4 {
		t.Fatalf("limit under a lasting overload = %d, want the floor 4", got)
	}

	// The overload ends: under the target, while the limit binds, it
	// climbs back to Max.
	for range 50 {
		l.Release()
	}
	steps := 0
	for l.Limit() < 1000 {
		if steps++; steps > 200 {
			t.Fatalf("limit %d after 200 intervals under the target", l.Limit())
		}
		hold(l, int(l.Limit())+1) // demand past the limit
		l.Adapt(time.Millisecond, true)
		for l.Inflight() > 0 {
			l.Release()
		}
	}
	if steps > 60 {
		t.Fatalf("the limit took %d intervals from 4 back to 1000; want under 60 (3 s at 50 ms)", steps)
	}
}

func TestAdaptHoldsWhenIdleOrNotBinding(t *testing.T) {
	l := New(Options{Max: 100, Min: 2, Target: time.Millisecond})
	hold(l, 10)
	l.Adapt(2*time.Millisecond, true)
	l.Adapt(0, false) // too few samples: not a congested interval
	l.Adapt(2*time.Millisecond, true)
	if got := l.Limit(); got != 100 {
		t.Fatalf("congestion broken by an idle interval cut the limit to %d", got)
	}
	l.Adapt(2*time.Millisecond, true)
	if got := l.Limit(); got != 5 {
		t.Fatalf("limit = %d, want 5 (half the peak of 10)", got)
	}
	l.Adapt(0, true)
	if got := l.Limit(); got != 6 {
		t.Fatalf("limit = %d, want 6: the peak of 10 reached the limit, so it grows by at least 1", got)
	}
	for l.Inflight() > 0 {
		l.Release()
	}
	l.Adapt(0, true) // the peak this interval was 10, over the limit 6
	l.Adapt(0, true) // nothing in flight: not binding
	if got := l.Limit(); got != 7 {
		t.Fatalf("limit = %d, want 7: it grows only while it binds", got)
	}
}

// TestSchedulerLatencyIsMeasured runs more CPU-bound goroutines than
// GOMAXPROCS for a few intervals: the scheduler latency the Limiter reads
// must show the queueing, and the limit must fall.
func TestSchedulerLatencyIsMeasured(t *testing.T) {
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	l := New(Options{Max: 1000, Min: 1, Target: 200 * time.Microsecond})
	hold(l, 1000)
	l.readQuantile() // baseline

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				spin(50 * time.Microsecond)
				runtime.Gosched()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for l.Limit() == 1000 {
		if time.Now().After(deadline) {
			t.Fatalf("32 runnable spinners on one P for 20 s never raised the scheduler latency over 200µs (last %v)", time.Duration(l.lastQuantile.Load()))
		}
		time.Sleep(20 * time.Millisecond) // an interval of queueing, not a wait for an outcome
		q, ok := l.readQuantile()
		l.Adapt(q, ok)
	}
	if q := time.Duration(l.lastQuantile.Load()); q <= 200*time.Microsecond {
		t.Fatalf("limit cut with a scheduler latency of %v", q)
	}
}

func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

func TestNewRejectsNoMax(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with Max 0 did not panic")
		}
	}()
	New(Options{})
}

// TestSchedLatency: SchedLatency is the latency of the last interval
// Adapt saw, and 0 before any.
func TestSchedLatency(t *testing.T) {
	l := New(Options{Max: 100, Target: 5 * time.Millisecond})
	if got := l.SchedLatency(); got != 0 {
		t.Fatalf("SchedLatency before any interval = %v; want 0", got)
	}
	for _, q := range []time.Duration{7 * time.Millisecond, 300 * time.Microsecond} {
		l.Adapt(q, true)
		if got := l.SchedLatency(); got != q {
			t.Errorf("SchedLatency after Adapt(%v) = %v", q, got)
		}
	}
}
