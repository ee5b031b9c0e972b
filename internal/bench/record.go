package bench

import (
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// recorder collects a run's measurements. Histograms are not safe for
// concurrent use, so one mutex guards everything; at the rates a single
// generator reaches its hold time (a few hundred ns) is not the limit.
type recorder struct {
	// Written by the scheduler goroutine only, so that it never waits for
	// the mutex: lag is read once the scheduler has stopped, the counters
	// at any time.
	lag                    *hdrhistogram.Histogram // send lag behind intended time
	sent, late, drops      atomic.Int64
	ivSent, ivLate, ivDrop int64 // totals at the last interval; under mu

	mu       sync.Mutex
	lat, svc *hdrhistogram.Histogram // whole run: corrected, service time
	ivLat    *hdrhistogram.Histogram // current interval
	ivSvc    *hdrhistogram.Histogram
	status   map[string]int64
	kinds    map[string]int64
	tot, iv  counts
	lastT    time.Duration
	ivs      []Interval
}

type counts struct {
	sent, completed, late, dropped, errors, timeouts int64
}

func newRecorder() *recorder {
	return &recorder{
		lat: newHist(), svc: newHist(), lag: newHist(), ivLat: newHist(), ivSvc: newHist(),
		status: make(map[string]int64, 8), kinds: make(map[string]int64, 8),
	}
}

// sendLag records a send attempt that started lag after its intended
// time; dropped says it was dropped at the in-flight cap rather than sent.
// Only the scheduler goroutine calls it.
func (r *recorder) sendLag(lag time.Duration, late, dropped bool) {
	recordDur(r.lag, lag)
	if late {
		r.late.Add(1)
	}
	if dropped {
		r.drops.Add(1)
	} else {
		r.sent.Add(1)
	}
}

// response records an HTTP response: latency from the intended send time
// and service time from the actual one.
func (r *recorder) response(_ time.Time, code int, latency, service time.Duration) {
	k := statusKey(code)
	r.mu.Lock()
	recordDur(r.lat, latency)
	recordDur(r.svc, service)
	recordDur(r.ivLat, latency)
	recordDur(r.ivSvc, service)
	r.status[k]++
	r.tot.completed++
	r.iv.completed++
	r.mu.Unlock()
}

// failure records a request without a response.
func (r *recorder) failure(_ time.Time, kind string, timeout bool) {
	r.mu.Lock()
	r.kinds[kind]++
	r.tot.completed++
	r.iv.completed++
	if timeout {
		r.tot.timeouts++
		r.iv.timeouts++
	} else {
		r.tot.errors++
		r.iv.errors++
	}
	r.mu.Unlock()
}

// pending reports whether anything was recorded since the last interval.
func (r *recorder) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.iv != counts{} || r.sent.Load() != r.ivSent || r.drops.Load() != r.ivDrop || r.late.Load() != r.ivLate
}

// closeInterval ends the current interval at t (since the start) and
// returns it. It swaps in fresh interval histograms under the lock and
// computes percentiles outside it, so that responses never wait for that.
func (r *recorder) closeInterval(t time.Duration) Interval {
	freshLat, freshSvc := newHist(), newHist()
	r.mu.Lock()
	sent, late, drops := r.sent.Load(), r.late.Load(), r.drops.Load()
	c := r.iv
	c.sent, c.late, c.dropped = sent-r.ivSent, late-r.ivLate, drops-r.ivDrop
	r.ivSent, r.ivLate, r.ivDrop = sent, late, drops
	lat, svc := r.ivLat, r.ivSvc
	r.ivLat, r.ivSvc = freshLat, freshSvc
	r.iv = counts{}
	span := (t - r.lastT).Seconds()
	r.lastT = t
	r.mu.Unlock()

	iv := Interval{
		T: t.Seconds(), Sent: c.sent, Completed: c.completed, Late: c.late, Dropped: c.dropped,
		Errors: c.errors, Timeouts: c.timeouts,
		LatencyMS: percentiles(lat), ServiceMS: percentiles(svc),
	}
	if span > 0 {
		iv.Rate = float64(iv.Sent) / span
	}
	r.mu.Lock()
	r.ivs = append(r.ivs, iv)
	r.mu.Unlock()
	return iv
}

// result returns the totals as a Result without the run's settings. Call
// it once the scheduler has stopped.
func (r *recorder) result() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Sent: r.sent.Load(), Completed: r.tot.completed, LateSends: r.late.Load(), Dropped: r.drops.Load(),
		Status: make(map[string]int64, len(r.status)), Errors: r.tot.errors, Timeouts: r.tot.timeouts,
		ErrorKinds: make(map[string]int64, len(r.kinds)),
		LatencyMS:  percentiles(r.lat), ServiceMS: percentiles(r.svc), SendLagMS: percentiles(r.lag),
		Histogram: Histograms{Unit: "us"}, Intervals: append([]Interval{}, r.ivs...),
	}
	for k, v := range r.status {
		res.Status[k] = v
	}
	for k, v := range r.kinds {
		res.ErrorKinds[k] = v
	}
	return res
}
