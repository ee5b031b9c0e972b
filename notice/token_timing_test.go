package notice

import (
	"testing"
	"time"
)

// BenchmarkSign signs the three tokens of one winning bid into one
// buffer, as the response does.
func BenchmarkSign(b *testing.B) {
	s, _ := NewSigner([]Key{testKey("2026-12", 1)}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	c := claims
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, k := range [...]byte{KindWin, KindBill, KindLoss} {
			c.Kind = k
			buf = s.Sign(buf, &c, now)
		}
	}
}

// BenchmarkVerify verifies one token.
func BenchmarkVerify(b *testing.B) {
	s, _ := NewSigner([]Key{testKey("2026-12", 1)}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	tok := string(s.Sign(nil, &claims, now))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
