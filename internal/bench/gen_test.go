package bench

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startServer serves h on a fresh 127.0.0.1 port and returns the target URL.
func startServer(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, Concurrency: 100000}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/openrtb2/auction"
}

var (
	testTrafficOnce sync.Once
	testTrafficVal  *Traffic
)

// testTraffic returns 500 synthesized requests, made once: synthesizing
// Run's default 10,000 takes seconds under the race detector.
func testTraffic(t *testing.T) *Traffic {
	t.Helper()
	testTrafficOnce.Do(func() {
		s, err := NewSynth(DefaultSynthConfig(11))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Bodies(500)
		if err != nil {
			t.Fatal(err)
		}
		testTrafficVal = &Traffic{Bodies: b}
	})
	return testTrafficVal
}

// TestRunHitsRequestedRate: 2,000 req/s for 3 s
// against a fast loopback server arrive within 2%, counted by the server
// (400 req/s under the race detector, which makes each request far dearer).
func TestRunHitsRequestedRate(t *testing.T) {
	var got atomic.Int64
	var first, last atomic.Int64
	target := startServer(t, func(ctx *fasthttp.RequestCtx) {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		last.Store(now)
		got.Add(1)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
	rate, dur := 2000.0, 3*time.Second
	if raceEnabled {
		rate = 400
	}
	res, err := Run(context.Background(), RunConfig{Target: target, Rate: rate, Duration: dur, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("achieved %.1f/s, sent %d, late %d, lag p99 %.3fms, latency p50 %.3fms p99 %.3fms, cpu %.2f, warnings %v",
		res.AchievedRate, res.Sent, res.LateSends, res.SendLagMS.P99, res.LatencyMS.P50, res.LatencyMS.P99, res.Generator.CPUUtilization, res.Warnings)
	within := func(name string, v, want float64) {
		t.Helper()
		if v < want*0.98 || v > want*1.02 {
			t.Errorf("%s = %.1f, want %.1f within 2%%", name, v, want)
		}
	}
	within("achieved_rate", res.AchievedRate, rate)
	within("requests received by the server", float64(got.Load()), rate*dur.Seconds())
	serverSpan := time.Duration(last.Load() - first.Load()).Seconds()
	within("rate seen by the server", float64(got.Load()-1)/serverSpan, rate)
	if res.Status["204"] != res.Sent || res.Errors != 0 || res.Timeouts != 0 || res.Dropped != 0 {
		t.Errorf("status %v, errors %d, timeouts %d, dropped %d; want all %d 204", res.Status, res.Errors, res.Timeouts, res.Dropped, res.Sent)
	}
	if len(res.Intervals) < 3 {
		t.Errorf("%d intervals, want >= 3", len(res.Intervals))
	}
	var ivSent int64
	for _, iv := range res.Intervals {
		ivSent += iv.Sent
	}
	if ivSent != res.Sent {
		t.Errorf("intervals sum to %d sends, want %d", ivSent, res.Sent)
	}

	// The result file round-trips and its histograms decode and merge.
	path := filepath.Join(t.TempDir(), "result.json")
	if err := WriteResult(path, res); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Status, res.Status) || back.LatencyMS != res.LatencyMS || back.Sent != res.Sent {
		t.Errorf("result did not round-trip")
	}
	h, err := DecodeHistogram(back.Histogram.Latency)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != res.Completed {
		t.Errorf("latency histogram holds %d values, want %d", h.TotalCount(), res.Completed)
	}
	h2, _ := DecodeHistogram(back.Histogram.Latency)
	h.Merge(h2)
	if h.TotalCount() != 2*res.Completed {
		t.Errorf("merged histogram holds %d values, want %d", h.TotalCount(), 2*res.Completed)
	}
}

// TestCoordinatedOmission: the server stalls once for 200 ms (every
// request waits on one lock, like a GC pause). Sends keep their schedule,
// queue for the 4 connections, and the corrected latency shows the stall
// while service time (from when a request got a connection) shows it only
// for the few requests that were on the wire during it.
//
// The bounds come from the schedule, not from the machine's speed: every
// send scheduled in the first half of the stall cannot be answered before
// the stall ends, so at least rate*stall/2 sends have a corrected latency of
// stall/2 or more, whatever the load (load only adds latency). Those sends
// wait for a connection, not for the server, so their service time stays
// short: at least half of them (the other half is slack for a starved
// machine) must be slow in corrected latency only. Measuring both from the
// intended time, or both from the actual send, makes the two counts equal.
func TestCoordinatedOmission(t *testing.T) {
	const rate = 1000.0
	var (
		mu    sync.Mutex
		n     atomic.Int64
		stall = 200 * time.Millisecond
	)
	target := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == 500 {
			mu.Lock()
			time.Sleep(stall)
			mu.Unlock()
		} else {
			mu.Lock()
			mu.Unlock() //nolint:staticcheck // waiting for the stall is the point
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString(`{"id":"x","seatbid":[]}`)
	})
	res, err := Run(context.Background(), RunConfig{Target: target, Rate: rate, Duration: 2 * time.Second, Conns: 4, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("corrected %+v", res.LatencyMS)
	t.Logf("service   %+v", res.ServiceMS)
	if res.Status["200"] != res.Sent {
		t.Fatalf("status %v, want %d 200s (errors %v)", res.Status, res.Sent, res.ErrorKinds)
	}
	// The stalled request itself took the whole stall, on the wire.
	stallMS := float64(stall) / 1e6
	if res.LatencyMS.Max < 0.95*stallMS || res.ServiceMS.Max < 0.95*stallMS {
		t.Errorf("corrected max %.1fms, service max %.1fms: want both >= the %.0fms stall", res.LatencyMS.Max, res.ServiceMS.Max, stallMS)
	}
	half := stall / 2
	queued := int64(rate * (stall - half).Seconds()) // sends due in the first half of the stall
	slowLat := countAtLeast(t, res.Histogram.Latency, half)
	slowSvc := countAtLeast(t, res.Histogram.Service, half)
	t.Logf("of %d responses, %d took >= %v corrected, %d in service time; %d sends were due in the first half of the stall",
		res.Completed, slowLat, half, slowSvc, queued)
	if slowLat < queued-2 { // -2: the stall need not start on a send
		t.Errorf("%d responses took >= %v corrected, want >= %d: the sends due during the stall waited that long", slowLat, half, queued-2)
	}
	if slowLat-slowSvc < queued/2 {
		t.Errorf("%d responses took >= %v corrected and %d in service time: want at least %d more corrected (the sends queued behind the stall)",
			slowLat, half, slowSvc, queued/2)
	}
	// ~100 of ~2,000 responses: the corrected p99 shows the stall.
	if res.LatencyMS.P99 < float64(half)/1e6 {
		t.Errorf("corrected p99 %.1fms, want >= %v: the sends due in the first half of the stall are %d of %d", res.LatencyMS.P99, half, queued, res.Sent)
	}
}

// countAtLeast returns how many values of an encoded result histogram (in
// microseconds) are at least d, to the histogram's precision.
func countAtLeast(t *testing.T, enc string, d time.Duration) int64 {
	t.Helper()
	h, err := DecodeHistogram(enc)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range h.Distribution() {
		if b.To >= d.Microseconds() {
			n += b.Count
		}
	}
	return n
}

// TestRunCountsFailures covers statuses, timeouts, refused connections and
// drops at the in-flight cap.
func TestRunCountsFailures(t *testing.T) {
	// Every fourth request is held until the test ends, so that it times
	// out whatever the machine's load; the others are answered at once,
	// within a timeout long enough that no stall of a loaded machine
	// turns them into timeouts. The generator must count exactly what the
	// server did.
	var n atomic.Int64
	var served [4]atomic.Int64 // 400, 503, 204, held
	hold := make(chan struct{})
	mixed := startServer(t, func(ctx *fasthttp.RequestCtx) {
		i := n.Add(1) % 4
		served[i].Add(1)
		switch i {
		case 0:
			ctx.SetStatusCode(400)
		case 1:
			ctx.SetStatusCode(503)
		case 2:
			ctx.SetStatusCode(204)
		default:
			<-hold
			ctx.SetStatusCode(200)
		}
	})
	t.Cleanup(func() { close(hold) }) // before the server's shutdown, registered earlier, which waits for its handlers
	res, err := Run(context.Background(), RunConfig{Target: mixed, Rate: 400, Duration: 500 * time.Millisecond, Timeout: time.Second, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status %v kinds %v timeouts %d errors %d sent %d", res.Status, res.ErrorKinds, res.Timeouts, res.Errors, res.Sent)
	for i, k := range []string{"400", "503", "204"} {
		if got, want := res.Status[k], served[i].Load(); got != want || want == 0 {
			t.Errorf("status %s counted %d times; the server answered it %d times", k, got, want)
		}
	}
	if got, want := res.Timeouts, served[3].Load(); got != want || want == 0 || res.Status["200"] > 0 {
		t.Errorf("timeouts %d, 200s %d; the server held %d requests past the timeout", got, res.Status["200"], want)
	}
	if res.Completed != res.Sent || res.Sent != n.Load() {
		t.Errorf("completed %d, sent %d, the server saw %d; want all equal", res.Completed, res.Sent, n.Load())
	}

	// A closed port: every send fails with conn_refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	res, err = Run(context.Background(), RunConfig{Target: closed, Rate: 200, Duration: 200 * time.Millisecond, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorKinds["conn_refused"] != res.Sent || res.Errors != res.Sent || res.Sent == 0 {
		t.Errorf("closed port: errors %d kinds %v, want all %d conn_refused", res.Errors, res.ErrorKinds, res.Sent)
	}

	// A server that answers nothing before the run is over, with an
	// in-flight cap of 10: the first 10 sends hold the cap until their
	// 1 s timeout, well past the 300 ms window, and the other ~140 sends
	// due are dropped, or missed if the generator falls behind on a busy
	// machine.
	release := make(chan struct{})
	slow := startServer(t, func(ctx *fasthttp.RequestCtx) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's shutdown, which waits for its handlers
	res, err = Run(context.Background(), RunConfig{Target: slow, Rate: 500, Duration: 300 * time.Millisecond, MaxInFlight: 10, Timeout: time.Second, Traffic: testTraffic(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Dropped == 0 || res.Dropped+res.Missed < 100 || len(res.Warnings) == 0 {
		t.Errorf("in-flight cap 10: sent %d dropped %d missed %d warnings %v; want 10 sent, ~140 dropped or missed, a warning", res.Sent, res.Dropped, res.Missed, res.Warnings)
	}
}

// TestRunReplaysAndLoops checks that traffic bodies are all sent and loop
// when the file is shorter than the run.
func TestRunReplaysAndLoops(t *testing.T) {
	var mu sync.Mutex
	var seen [][]byte
	target := startServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		seen = append(seen, bytes.Clone(ctx.PostBody()))
		mu.Unlock()
	})
	tr := &Traffic{Bodies: [][]byte{[]byte(`{"id":"a"}`), []byte(`{"id":"b"}`), []byte(`{"id":"c"}`)}}
	res, err := Run(context.Background(), RunConfig{Target: target, Rate: 100, Duration: 100 * time.Millisecond, Traffic: tr, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || len(seen) != 10 {
		t.Fatalf("sent %d, server saw %d; want 10", res.Sent, len(seen))
	}
	// Bodies are assigned in file order, looping; concurrent sends may
	// reach the server in another order, so count them.
	count := map[string]int{}
	for _, b := range seen {
		count[string(b)]++
	}
	want := map[string]int{`{"id":"a"}`: 4, `{"id":"b"}`: 3, `{"id":"c"}`: 3}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("server saw bodies %v, want %v", count, want)
	}
}

func TestScheduler(t *testing.T) {
	f := func(cfg RunConfig, tr *Traffic, want []time.Duration) {
		t.Helper()
		s := newScheduler(&cfg, tr)
		for i, w := range want {
			if got := s.next(); got != w {
				t.Errorf("%s send %d at %v, want %v", cfg.Arrival, i, got, w)
			}
		}
	}
	ms := time.Millisecond
	f(RunConfig{Arrival: ArrivalConstant, Rate: 1000}, nil, []time.Duration{0, ms, 2 * ms, 3 * ms})
	tr := &Traffic{Bodies: make([][]byte, 3), Offsets: []time.Duration{0, 10 * ms, 40 * ms}}
	// span = 40ms + mean gap 20ms; speed 2 halves everything.
	f(RunConfig{Arrival: ArrivalCaptured, Speed: 2, Seed: 1}, tr, []time.Duration{0, 5 * ms, 20 * ms, 30 * ms, 35 * ms, 50 * ms})

	// Poisson: mean gap close to 1/rate.
	s := newScheduler(&RunConfig{Arrival: ArrivalPoisson, Rate: 1000, Seed: 3}, nil)
	var last time.Duration
	for i := 0; i < 20000; i++ {
		last = s.next()
	}
	if mean := last.Seconds() / 19999; mean < 0.00097 || mean > 0.00103 {
		t.Errorf("poisson mean gap %.6fs, want ~0.001", mean)
	}
}

func TestCheckTarget(t *testing.T) {
	f := func(target string, allow, ok bool) {
		t.Helper()
		if _, err := checkTarget(target, allow); (err == nil) != ok {
			t.Errorf("checkTarget(%q, %v) err = %v, want ok=%v", target, allow, err, ok)
		}
	}
	f("http://127.0.0.1:8080/openrtb2/auction", false, true)
	f("http://[::1]:8080/", false, true)
	f("http://localhost:8080/", false, true)
	f("http://10.0.0.1:8080/", false, false)
	f("http://example.com/", false, false)
	f("http://example.com/", true, true)
	f("ftp://127.0.0.1/", false, false)
	f("127.0.0.1:8080", false, false)
}
