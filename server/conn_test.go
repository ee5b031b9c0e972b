package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/connlimit"
	"github.com/adx-exchange/adx/internal/waittest"
)

// TestBodyPastTheLimitGets413NotAReset: a request whose Content-Length
// passes http.max_body_bytes is answered 413 before its body is read, and
// the connection closed. A Go client still uploading its 10 MB then read
// "connection reset by peer" in most attempts, because closing a socket
// with unread bytes makes the kernel reset it; served through connlimit,
// whose close lingers, every attempt reads the 413.
func TestBodyPastTheLimitGets413NotAReset(t *testing.T) {
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, nil), NewMetrics(nil), slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A long Linger: a client starved of CPU (the whole suite at once) may
	// take a while to read the 413; without lingering it never reads it.
	conns := connlimit.New(ln, connlimit.Options{Max: 64, Linger: 5 * time.Second})
	go p.Serve(conns)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })

	body := bytes.Repeat([]byte(" "), 10<<20)
	for i := range 8 {
		resp, err := client.Post("http://"+ln.Addr().String()+AuctionPath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("attempt %d: %s; want a 413", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || string(got) != `{"error":"request body exceeds 65536 bytes"}` {
			t.Fatalf("attempt %d: %d %q %v; want 413 with the JSON error", i, resp.StatusCode, got, err)
		}
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes every JSON line written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %s", l, err)
		}
		if strings.Count(l, `"msg":`) != 1 {
			t.Errorf("log line %q holds the msg key more than once", l)
		}
		out = append(out, m)
	}
	return out
}

// TestFasthttpLogIsRateLimited: fasthttp's per-connection lines reach the
// log at most fasthttpLogLines a second, under "detail"; the rest are
// counted, and their number is logged when the second ends.
func TestFasthttpLogIsRateLimited(t *testing.T) {
	const lines = 3*fasthttpLogLines + 5
	var out syncBuffer
	errors := prometheus.NewCounter(prometheus.CounterOpts{Name: "errors"})
	l := newFasthttpLogger(slog.New(slog.NewJSONHandler(&out, nil)), errors)
	start := time.Now()
	for i := range lines {
		l.Printf("error when serving connection %d: %s", i, "i/o timeout")
	}
	burst := time.Since(start)

	var logged, suppressed int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		logged, suppressed = 0, 0
		for _, m := range out.lines(t) {
			switch m["msg"] {
			case "fasthttp":
				logged++
				if d, _ := m["detail"].(string); !strings.HasPrefix(d, "error when serving connection ") {
					t.Fatalf("line %v lacks fasthttp's text under detail", m)
				}
			case "fasthttp lines suppressed":
				suppressed += int(m["suppressed"].(float64))
			}
		}
		if logged+suppressed == lines || time.Now().After(deadline) {
			break
		}
	}
	if logged+suppressed != lines {
		t.Fatalf("%d lines logged and %d reported suppressed, want %d in all", logged, suppressed, lines)
	}
	// Each second passed lets another fasthttpLogLines through.
	if windows := 1 + int(burst/time.Second); logged > windows*fasthttpLogLines {
		t.Errorf("%d lines logged in %v, want at most %d a second", logged, burst, fasthttpLogLines)
	}
	var m dto.Metric
	errors.Write(&m)
	if got := m.GetCounter().GetValue(); got != lines {
		t.Errorf("adx_http_server_errors_total = %v, want %d", got, lines)
	}
}

// TestFasthttpLogWindows pins the budget: fasthttpLogLines per window,
// renewed when a window ends.
func TestFasthttpLogWindows(t *testing.T) {
	l := newFasthttpLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)), prometheus.NewCounter(prometheus.CounterOpts{Name: "errors"}))
	l.window = time.Hour // no report fires during the test
	t0 := time.Unix(1000, 0)
	f := func(at time.Duration, want bool) {
		t.Helper()
		if got := l.allow(t0.Add(at)); got != want {
			t.Errorf("allow at %v = %v, want %v", at, got, want)
		}
	}
	for range fasthttpLogLines {
		f(0, true)
	}
	f(0, false)
	f(59*time.Minute, false)
	f(time.Hour, true) // a new window
	for range fasthttpLogLines - 1 {
		f(time.Hour+time.Second, true)
	}
	f(time.Hour+time.Second, false)
	if l.suppressed != 3 {
		t.Errorf("suppressed = %d, want 3", l.suppressed)
	}
}

// TestIdleConnectionsGiveTheirBuffersBack: a keep-alive connection waiting
// for its next request holds no read or write buffer, request context or
// body (fasthttpReduceMemoryUsage): under overload a client spreads its
// load over hundreds of connections that each wait most of the time. The
// control serves the same connections with the buffers kept, and must see
// them, so that the heap measured here can tell the two apart.
func TestIdleConnectionsGiveTheirBuffersBack(t *testing.T) {
	const conns = 200
	// An 8 KiB body that gets a quick 400 on a connection kept alive.
	body := `{"id":"","ext":{"pad":"` + strings.Repeat("x", 8<<10) + `"}}`
	req := "POST " + AuctionPath + " HTTP/1.1\r\nHost: adx\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	heap := func() int64 {
		runtime.GC()
		runtime.GC() // the second empties the pools' victim caches
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	// perConn serves conns connections, one request each, from a server
	// as NewPublic builds it, or with the buffers kept, and returns the
	// heap each holds once idle, after wait (if not nil) holds for it.
	perConn := func(keep bool, wait func(held int64) bool) int64 {
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		// Past the wait's deadline: the connections stay open and idle,
		// so that closing them frees nothing here.
		cfg.HTTP.IdleTimeout = config.Duration(2 * waittest.Deadline)
		p := NewPublic(cfg, auction.FromConfig(cfg, nil, nil), NewMetrics(nil), slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{})
		if keep {
			p.srv.ReduceMemoryUsage = false
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go p.Serve(ln)
		defer p.Shutdown(5 * time.Second)
		ask := func(c net.Conn) {
			t.Helper()
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Close {
				t.Fatalf("status %d, close %v; want a 400 on a connection kept alive", resp.StatusCode, resp.Close)
			}
		}
		warm, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ask(warm) // the server's lazily built parts
		warm.Close()
		before := heap()
		var open []net.Conn
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		for range conns {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c)
			ask(c)
		}
		held := (heap() - before) / conns
		if wait != nil {
			waittest.For(t, "idle connections to give their buffers back", func() bool {
				held = (heap() - before) / conns
				return wait(held)
			})
		}
		return held
	}
	kept := perConn(true, nil)
	if kept < 12<<10 {
		t.Fatalf("with the buffers kept an idle connection holds %d bytes of heap, want at least 12 KiB: this test cannot see them", kept)
	}
	var last int64
	perConn(false, func(held int64) bool { last = held; return held <= 4<<10 })
	t.Logf("heap held by an idle connection: %d bytes, %d with the buffers kept", last, kept)
}
