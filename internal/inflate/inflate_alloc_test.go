//go:build !race

package inflate

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// TestContentEncodingCaseAllocations: matching the coding in any case
// allocates nothing; a gzip body costs the same in any case, and nothing
// once the pool holds a buffer.
func TestContentEncodingCaseAllocations(t *testing.T) {
	body := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	allocs := func(enc string, payload []byte) float64 {
		t.Helper()
		return testing.AllocsPerRun(100, func() {
			got, z, err := Body([]byte(enc), payload, 1<<16)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: %q, %v", enc, got, err)
			}
			z.Release()
		})
	}
	for _, enc := range []string{"", "identity", "IDENTITY", "Identity"} {
		if n := allocs(enc, body); n != 0 {
			t.Errorf("Content-Encoding %q: %v allocations, want 0", enc, n)
		}
	}
	lower := allocs("gzip", gz.Bytes())
	for _, enc := range []string{"GZIP", "Gzip", "X-GZIP", "x-gzip"} {
		if n := allocs(enc, gz.Bytes()); n != lower {
			t.Errorf("Content-Encoding %q: %v allocations, want %v as for gzip", enc, n, lower)
		}
	}
	if lower != 0 {
		t.Errorf("gzip: %v allocations with a pooled buffer, want 0", lower)
	}
	if n := testing.AllocsPerRun(100, func() { Body([]byte("BR"), body, 1<<16) }); n != 0 {
		t.Errorf("a refused coding: %v allocations, want 0", n)
	}
}
