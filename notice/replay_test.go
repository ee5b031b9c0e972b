package notice

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

var replayNow = time.Unix(1_800_000_000, 0)

// testToken returns a distinct token-shaped string: key id, payload, MAC.
func testToken(i int) string { return fmt.Sprintf("k1.AQID.mac-%040d", i) }

func TestReplayGuard(t *testing.T) {
	g := NewReplayGuard(10)
	exp := replayNow.Add(time.Hour)
	f := func(name, tok string, now time.Time, want error) {
		t.Helper()
		if err := g.Claim(tok, exp, now); !errors.Is(err, want) {
			t.Errorf("%s: Claim = %v, want %v", name, err, want)
		}
	}
	a, b := testToken(1), testToken(2)
	f("first", a, replayNow, nil)
	f("replayed", a, replayNow, ErrReplayed)
	f("replayed later", a, exp.Add(-time.Second), ErrReplayed)
	f("another token", b, replayNow, nil)
	f("same MAC, other key id", "k2.AQID."+a[len("k1.AQID."):], replayNow, ErrReplayed)
	g.Release(a)
	f("released", a, replayNow, nil)
	f("released, then replayed", a, replayNow, ErrReplayed)
	g.Release(testToken(3)) // never claimed: nothing to forget
	if n := g.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	f("expired", testToken(4), exp, ErrTokenExpired)
	if n := g.Len(); n != 2 {
		t.Errorf("Len after an expired token = %d, want 2", n)
	}
}

// A full guard refuses new tokens, and still refuses replays; tokens
// that expire make room again, and are forgotten.
func TestReplayGuardFullAndExpiry(t *testing.T) {
	const max = 100
	g := NewReplayGuard(max)
	soon, later := replayNow.Add(time.Minute), replayNow.Add(time.Hour)
	for i := range max {
		exp := later
		if i%2 == 0 {
			exp = soon
		}
		if err := g.Claim(testToken(i), exp, replayNow); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if err := g.Claim(testToken(max), later, replayNow); !errors.Is(err, ErrReplayFull) {
		t.Fatalf("past max: %v, want ErrReplayFull", err)
	}
	if err := g.Claim(testToken(1), later, replayNow); !errors.Is(err, ErrReplayed) {
		t.Fatalf("a replay while full: %v, want ErrReplayed", err)
	}
	if n := g.Len(); n != max {
		t.Fatalf("Len = %d, want %d", n, max)
	}
	// Half of them expire: as many new ones fit, exactly.
	now := soon
	for i := max; i < max+max/2; i++ {
		if err := g.Claim(testToken(i), later, now); err != nil {
			t.Fatalf("token %d after expiries: %v", i, err)
		}
	}
	if err := g.Claim(testToken(2*max), later, now); !errors.Is(err, ErrReplayFull) {
		t.Fatalf("full again: %v, want ErrReplayFull", err)
	}
	if n := g.Len(); n != max {
		t.Errorf("Len = %d, want %d", n, max)
	}
	// Everything expires: exactly max new tokens fit; the rest are refused.
	now = later.Add(sweepEvery * time.Second)
	fit := 0
	for i := range 3 * max {
		switch err := g.Claim(testToken(10*max+i), later.Add(time.Hour), now); {
		case err == nil:
			fit++
		case !errors.Is(err, ErrReplayFull):
			t.Fatalf("Claim: %v", err)
		}
	}
	if fit != max || g.Len() != max {
		t.Errorf("after every token expired: %d new tokens fit and Len = %d, want %d and %d", fit, g.Len(), max, max)
	}
}

// A shard forgets its expired tokens in its own sweep, the guard far from
// full.
func TestReplayGuardShardSweep(t *testing.T) {
	g := NewReplayGuard(1 << 20)
	exp := replayNow.Add(time.Minute)
	const n = 64 * replayShards
	for i := range n {
		if err := g.Claim(testToken(i), exp, replayNow); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != n {
		t.Fatalf("Len = %d, want %d", g.Len(), n)
	}
	// One claim per shard after the expiry sweeps it.
	now := exp.Add(sweepEvery * time.Second)
	for i := n; g.Len() > n/2; i++ {
		if i > 100*n {
			t.Fatalf("Len = %d after %d claims past the expiry, want the expired tokens forgotten", g.Len(), i-n)
		}
		if err := g.Claim(testToken(i), now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
	}
}

// Concurrent claims of the same tokens, with releases: each claim that
// succeeds is the only one holding its token.
func TestReplayGuardConcurrent(t *testing.T) {
	const tokens, workers, rounds = 200, 8, 3
	g := NewReplayGuard(tokens)
	exp := replayNow.Add(time.Hour)
	var held [tokens]atomic.Int32
	var wins atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for i := range tokens {
					tok := testToken((i + w*31) % tokens)
					err := g.Claim(tok, exp, replayNow)
					if err == nil {
						k := (i + w*31) % tokens
						if held[k].Add(1) != 1 {
							t.Errorf("token %d claimed twice at once", k)
						}
						wins.Add(1)
						if r < rounds-1 {
							held[k].Add(-1)
							g.Release(tok)
						}
					} else if !errors.Is(err, ErrReplayed) {
						t.Errorf("Claim: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := g.Len(); n != tokens {
		t.Errorf("Len = %d, want %d: the last round's claims", n, tokens)
	}
	if w := wins.Load(); w < tokens {
		t.Errorf("%d claims succeeded, want at least %d", w, tokens)
	}
	for i := range tokens {
		if err := g.Claim(testToken(i), exp, replayNow); !errors.Is(err, ErrReplayed) {
			t.Fatalf("token %d after the race: %v, want ErrReplayed", i, err)
		}
	}
}

func TestReplayShardSize(t *testing.T) {
	if s := unsafe.Sizeof(replayShard{}); s != 64 {
		t.Errorf("replayShard is %d bytes, want 64: one cache line", s)
	}
}

// TestReplayGuardMemory bounds the heap a remembered token holds
// (BenchmarkReplayGuardMemory measures it at several counts).
func TestReplayGuardMemory(t *testing.T) {
	const n = 200_000
	toks := make([]string, n)
	for i := range toks {
		toks[i] = testToken(i)
	}
	if per := replayGuardBytes(toks); per > 40 {
		t.Errorf("%.1f bytes per token, want at most 40", per)
	}
}

// replayGuardBytes returns the heap bytes per token of a guard that
// remembers toks.
func replayGuardBytes(toks []string) float64 {
	exp := replayNow.Add(time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := NewReplayGuard(len(toks))
	for _, tok := range toks {
		if err := g.Claim(tok, exp, replayNow); err != nil {
			panic(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(g)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(toks))
}
