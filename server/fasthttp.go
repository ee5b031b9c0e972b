package server

import (
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fasthttpConcurrency is fasthttp's own bound on connections served at
// once, set out of reach: connections are bounded in front of the listener
// (package connlimit: http.concurrency, http.max_conns_per_ip), which
// answers and counts each refusal, so fasthttp never writes its uncounted
// plain-text 503. It costs nothing: fasthttp sizes no memory by it.
const fasthttpConcurrency = math.MaxInt32

// fasthttpReduceMemoryUsage has a keep-alive connection give its read
// and write buffers, its request context and its body buffers back to
// fasthttp's pools while it waits for its next request, keeping only its
// goroutine. Without it every connection holds them (8 KiB of read
// buffer at http.max_header_bytes, 4 KiB of write buffer, the largest
// body it has carried; 32 KB of heap once idle, against 0.8 KB) for its
// lifetime, and the GC's heap goal doubles what they hold: under a 3x
// overload, where a client spreads its load over 500 connections that
// each wait most of the time, the heap goal at the end was 63-90 MB with
// it off and 44-47 MB with it on, and RSS peaked at 97-109 MB against
// 67-104 MB (BENCHMARKS.md). Its cost is one more read(2) per request
// (the first byte alone; 3.07 reads a request against 2.07), about 0.7 µs
// here: about 1% of an auction's CPU, and a few percent of a refusal's.
// The first request's read timeout then restarts at its first byte, as
// every later request's already did after its idle wait.
const fasthttpReduceMemoryUsage = true

// fasthttpLogLines is how many of fasthttp's own lines a second reach the
// log. fasthttp writes one line per failed connection ("error when serving
// connection ..."), so a slowloris or garbage flood wrote 12,708 of them in
// one run; past this many a second they are counted, and their number is
// logged once the second ends.
const fasthttpLogLines = 10

// fasthttpLogger routes fasthttp's own log lines to slog as warnings with
// the text under "detail", at most limit a second, and counts every line,
// suppressed or not, in adx_http_server_errors_total.
type fasthttpLogger struct {
	log    *slog.Logger
	errors prometheus.Counter
	limit  int
	window time.Duration

	mu         sync.Mutex
	start      time.Time // of the current window
	passed     int       // lines logged in the current window
	suppressed int       // lines dropped since the last report
	reporting  bool      // a report of suppressed lines is scheduled
}

func newFasthttpLogger(log *slog.Logger, errors prometheus.Counter) *fasthttpLogger {
	return &fasthttpLogger{log: log, errors: errors, limit: fasthttpLogLines, window: time.Second}
}

// Printf implements fasthttp.Logger.
func (l *fasthttpLogger) Printf(format string, args ...any) {
	l.errors.Inc()
	if l.allow(time.Now()) {
		l.log.Warn("fasthttp", "detail", sprintf(format, args...))
	}
}

// allow reports whether a line at now fits in its window's budget; when
// it does not, it counts the line and schedules the window's report.
func (l *fasthttpLogger) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.passed = now, 0
	}
	if l.passed < l.limit {
		l.passed++
		return true
	}
	l.suppressed++
	if !l.reporting {
		l.reporting = true
		time.AfterFunc(l.start.Add(l.window).Sub(now), l.report)
	}
	return false
}

// report logs how many lines were suppressed since the last report.
func (l *fasthttpLogger) report() {
	l.mu.Lock()
	n := l.suppressed
	l.suppressed, l.reporting = 0, false
	l.mu.Unlock()
	l.log.Warn("fasthttp lines suppressed", "suppressed", n, "limit_per_second", l.limit)
}
