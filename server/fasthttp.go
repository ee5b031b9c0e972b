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
