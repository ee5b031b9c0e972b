package inflate

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestBody(t *testing.T) {
	small := []byte(`{"id":"r"}`)
	bomb := gzipped(t, make([]byte, 16<<20)) // 16 MiB of zeros, about 16 KB compressed
	f := func(name, enc string, raw []byte, limit int, want []byte, wantErr error) {
		t.Helper()
		got, z, err := Body([]byte(enc), raw, limit)
		defer z.Release()
		if !errors.Is(err, wantErr) || (err == nil && !bytes.Equal(got, want)) {
			t.Errorf("%s: %q, %v; want %q, %v", name, got, err, want, wantErr)
		}
		if (z != nil) != (err == nil && enc != "" && enc != "identity") {
			t.Errorf("%s: buffer %v, want one exactly for an inflated body", name, z)
		}
	}
	f("identity", "", small, 64, small, nil)
	f("identity past the limit is the caller's", "identity", small, 4, small, nil)
	f("gzip", "gzip", gzipped(t, small), 64, small, nil)
	f("gzip at the limit", "x-gzip", gzipped(t, small), len(small), small, nil)
	f("gzip one byte past", "GZIP", gzipped(t, small), len(small)-1, nil, ErrTooLarge)
	f("bomb", "gzip", bomb, 1<<16, nil, ErrTooLarge)
	f("not gzip", "gzip", small, 64, nil, ErrBadGzip)
	f("truncated", "gzip", gzipped(t, small)[:12], 64, nil, ErrBadGzip)
	f("brotli", "br", small, 64, nil, ErrUnsupported)
}

// A bomb costs about its limit, never what it would inflate to.
func TestBombCostsTheLimit(t *testing.T) {
	bomb := gzipped(t, make([]byte, 16<<20))
	const limit = 1 << 20
	allocs := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, _, err := Body([]byte("gzip"), bomb, limit); !errors.Is(err, ErrTooLarge) {
				b.Fatal(err)
			}
		}
	})
	if per := allocs.AllocedBytesPerOp(); per > 3*limit {
		t.Errorf("a 16 MiB bomb allocated %d bytes per refusal, want at most about the %d-byte limit", per, limit)
	}
}

func FuzzBody(f *testing.F) {
	f.Add([]byte("gzip"), []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte(""), []byte("{}"))
	f.Fuzz(func(t *testing.T, enc, raw []byte) {
		got, z, err := Body(enc, raw, 4<<10)
		defer z.Release()
		if err == nil && len(got) > 4<<10 && z != nil {
			t.Fatalf("inflated %d bytes past the limit", len(got))
		}
	})
}
