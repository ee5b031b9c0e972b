//go:build !race

package server

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestContentEncodingCaseCostsNoAllocations: matching the coding in any
// case allocates nothing; a gzip body costs the same in any case.
func TestContentEncodingCaseCostsNoAllocations(t *testing.T) {
	body := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	allocs := func(enc string, payload []byte) float64 {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.Set("Content-Encoding", enc)
		ctx.Request.SetBody(payload)
		return testing.AllocsPerRun(100, func() {
			got, release, err := requestBody(&ctx, 1<<16)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: %q, %v", enc, got, err)
			}
			release()
		})
	}
	for _, enc := range []string{"identity", "IDENTITY", "Identity"} {
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
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.Set("Content-Encoding", "BR")
	if n := testing.AllocsPerRun(100, func() { requestBody(&ctx, 1<<16) }); n != 0 {
		t.Errorf("a refused coding: %v allocations, want 0", n)
	}
}
