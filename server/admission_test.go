package server

import (
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/admission"
)

// TestShedPastAdaptiveLimit: once the adaptive limit has fallen (here to
// one auction, as two intervals of a long CPU queue leave it), a request
// past it is shed at once with shed_status and a 503 says the CPU is the
// reason; when the limit grows back, auctions run again.
func TestShedPastAdaptiveLimit(t *testing.T) {
	slow := startFakeDSP(t, dspConfig{Price: 2, Latency: 300 * time.Millisecond})
	body := []byte(`{"id":"r","tmax":1000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	lim := admission.New(admission.Options{Max: 100, Min: 1, Target: time.Millisecond})
	lim.Adapt(100*time.Millisecond, true)
	lim.Adapt(100*time.Millisecond, true)
	if lim.Limit() != 1 {
		t.Fatalf("limit after two congested intervals = %d, want the floor 1", lim.Limit())
	}
	url := startPublicWith(t, `
http: {shed_status: 503}
demand: [{name: slow, type: openrtb, endpoint: "`+slow+`/bid"}]
`, Options{Admission: lim})

	first := make(chan answer, 1)
	go func() { first <- post(t, url, body, nil) }()
	for deadline := time.Now().Add(10 * time.Second); lim.Inflight() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first auction never started")
		}
	}
	start := time.Now()
	a := post(t, url, body, nil)
	if a.status != 503 {
		t.Fatalf("past the adaptive limit: status %d, want 503", a.status)
	}
	if msg := errorOf(t, a); !strings.Contains(msg, "CPU") {
		t.Errorf("503 body %q, want it to name the CPU", msg)
	}
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("shed answer took %v: it must not wait for the running auction (300 ms)", took)
	}
	if got := <-first; got.status != 200 {
		t.Errorf("first request: status %d, want 200", got.status)
	}
	for range 20 {
		lim.Adapt(0, true) // an idle CPU; the peak of 1 reached the limit
	}
	if lim.Limit() < 2 {
		t.Fatalf("limit %d did not grow back", lim.Limit())
	}
	if a := post(t, url, body, nil); a.status != 200 {
		t.Errorf("after the limit grew: status %d, want 200", a.status)
	}
}
