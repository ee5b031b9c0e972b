//go:build !race

package notice

import (
	"testing"
	"time"
)

// TestSignAllocations pins Sign at no allocation into a buffer with room:
// three tokens are signed per winning bid.
func TestSignAllocations(t *testing.T) {
	s, _ := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() { buf = s.Sign(buf[:0], &claims, now) }); n != 0 {
		t.Errorf("Sign: %v allocations, want 0", n)
	}
}
