package server

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// Every ending that ends a request maps to its status; a shed takes the
// configured one.
func TestEndingStatus(t *testing.T) {
	want := map[ending]int{
		methodNotAllowed:    405,
		unauthorized:        401,
		forbidden:           403,
		rateLimited:         204,
		shed:                503,
		tooLarge:            413,
		unsupportedEncoding: 415,
		invalidRequest:      400,
		invalidTraffic:      204,
		noBid:               204,
		bid:                 200,
	}
	for e := proceed + 1; e <= bid; e++ {
		w, ok := want[e]
		if !ok {
			t.Errorf("ending %d has no expected status", e)
			continue
		}
		if got := e.status(fasthttp.StatusServiceUnavailable); got != w {
			t.Errorf("ending %d: status %d, want %d", e, got, w)
		}
	}
	if got := shed.status(fasthttp.StatusNoContent); got != fasthttp.StatusNoContent {
		t.Errorf("shed with http.shed_status 204: status %d", got)
	}
}
