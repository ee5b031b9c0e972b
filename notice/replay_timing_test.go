package notice

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkReplayGuardMemory reports the heap bytes a remembered token
// holds, at several counts: a Go map's slack depends on where it stands
// in its growth.
func BenchmarkReplayGuardMemory(b *testing.B) {
	for _, n := range []int{100_000, 300_000, 1 << 20} {
		toks := make([]string, n)
		for i := range toks {
			toks[i] = testToken(i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = replayGuardBytes(toks)
			}
			b.ReportMetric(per, "bytes/token")
		})
	}
}

// BenchmarkReplayGuardClaim claims new tokens in a guard that forgets
// them as fast (a steady state), from parallel goroutines.
func BenchmarkReplayGuardClaim(b *testing.B) {
	const n = 1 << 16
	toks := make([]string, n)
	for i := range toks {
		toks[i] = testToken(i)
	}
	g := NewReplayGuard(n)
	exp := replayNow.Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tok := toks[i%n]
			i++
			if g.Claim(tok, exp, replayNow) == nil {
				g.Release(tok)
			}
		}
	})
}
