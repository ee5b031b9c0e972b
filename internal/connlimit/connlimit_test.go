package connlimit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/internal/waittest"
)

// serve runs a real fasthttp server (keep-alive, 64 KiB body limit, a 413
// JSON error for larger bodies) on a Listener over a loopback socket and
// returns it with the address to dial.
func serve(t *testing.T, opts Options) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, opts)
	srv := &fasthttp.Server{
		Handler:            func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") },
		MaxRequestBodySize: 64 << 10,
		ReadTimeout:        10 * time.Second,
		IdleTimeout:        10 * time.Second,
		Concurrency:        1 << 20, // above Max: the Listener is the only bound
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"request body exceeds 65536 bytes"}`)
		},
		Logger: discard{},
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown() })
	return l, ln.Addr().String()
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// client is a keep-alive connection from source (an address on 127/8) to
// addr, that has had one request answered: the server surely holds it.
type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, source, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial from %s: %s", source, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{Conn: c, r: bufio.NewReader(c)}
}

// get sends one GET and returns the response with its body read.
func (c *client) get(t *testing.T) (*http.Response, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: adx\r\n\r\n")); err != nil {
		t.Fatalf("cannot send a request: %s", err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no response: %s", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("cannot read the body: %s", err)
	}
	return resp, string(body)
}

// TestPerIPLimit: one address holds at most MaxPerIP connections; the next
// is answered 429 in JSON and closed, while another address is served;
// closing one frees its place, and an address with none has no entry.
func TestPerIPLimit(t *testing.T) {
	l, addr := serve(t, Options{Max: 100, MaxPerIP: 3})
	var held []*client
	for range 3 {
		c := dial(t, "127.0.0.2", addr)
		if resp, _ := c.get(t); resp.StatusCode != 200 {
			t.Fatalf("connection within the limit: status %d", resp.StatusCode)
		}
		held = append(held, c)
	}
	resp, body := dial(t, "127.0.0.2", addr).get(t)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || !resp.Close ||
		resp.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(body, `{"error":"too many connections from this address`) {
		t.Fatalf("connection past the limit: %d %v %q; want 429, Retry-After: 1, Connection: close and a JSON error", resp.StatusCode, resp.Header, body)
	}
	other := dial(t, "127.0.0.3", addr)
	if resp, _ := other.get(t); resp.StatusCode != 200 {
		t.Fatalf("another address: status %d, want 200", resp.StatusCode)
	}
	if n := l.Refused(ReasonPerIP); n != 1 {
		t.Fatalf("refused per_ip = %d, want 1", n)
	}

	held[0].Close()
	waittest.For(t, "the closed connection to be counted out", func() bool { return l.Open() == 3 })
	again := dial(t, "127.0.0.2", addr)
	if resp, _ := again.get(t); resp.StatusCode != 200 {
		t.Fatalf("after one closed: status %d, want 200", resp.StatusCode)
	}
	for _, c := range append(held[1:], other, again) {
		c.Close()
	}
	waittest.For(t, "every connection to be counted out", func() bool { return l.Open() == 0 })
	if n := l.addresses(); n != 0 {
		t.Fatalf("%d addresses still counted with no connection; the map must shrink", n)
	}
	for name, want := range map[string]float64{"adx_http_conns_open": 0, "adx_http_max_conns": 100, "adx_http_max_conns_per_ip": 3,
		"adx_http_conns_refused_total/per_ip": 1, "adx_http_conns_refused_total/total": 0} {
		if got := metric(t, l, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestTotalLimit: past Max open connections the next is answered with the
// shed status, 204 or 503, and closed.
func TestTotalLimit(t *testing.T) {
	f := func(shed int, wantBody string) {
		t.Helper()
		l, addr := serve(t, Options{Max: 2, MaxPerIP: 10, ShedStatus: shed})
		for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
			if resp, _ := dial(t, src, addr).get(t); resp.StatusCode != 200 {
				t.Fatalf("shed %d: connection within the limit: status %d", shed, resp.StatusCode)
			}
		}
		resp, body := dial(t, "127.0.0.4", addr).get(t)
		if resp.StatusCode != shed || !resp.Close || body != wantBody {
			t.Fatalf("shed %d: connection past the limit: %d %v %q; want %d, Connection: close, %q", shed, resp.StatusCode, resp.Header, body, shed, wantBody)
		}
		if shed == 503 && (resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/json") {
			t.Fatalf("503 without Retry-After or JSON: %v", resp.Header)
		}
		if n := l.Refused(ReasonTotal); n != 1 {
			t.Fatalf("shed %d: refused total = %d, want 1", shed, n)
		}
	}
	f(204, "")
	f(503, `{"error":"overloaded: 2 connections already open"}`)
}

// TestGracefulCloseDeliversThe413: a body past the server's limit gets its
// 413 before the server reads it and closes; a Go client still uploading
// then saw "connection reset by peer" in most attempts, since the kernel
// resets a socket closed with unread bytes. The Listener's close lingers,
// so every attempt reads the 413.
func TestGracefulCloseDeliversThe413(t *testing.T) {
	// A long Linger: a client starved of CPU (the whole suite at once) may
	// take a while to read the 413; without lingering it never reads it.
	l, addr := serve(t, Options{Max: 100, Linger: 5 * time.Second})
	body := bytes.Repeat([]byte("x"), 10<<20)
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 10 {
		resp, err := c.Post("http://"+addr+"/openrtb2/auction", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("attempt %d: %s; want the 413", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 413 || !bytes.Contains(got, []byte(`"error"`)) {
			t.Fatalf("attempt %d: %d %q %v; want 413 with the JSON error", i, resp.StatusCode, got, err)
		}
	}
	waittest.For(t, "every connection to close", func() bool { return l.Open() == 0 })
}

// TestLingerIsBounded: a client that neither reads nor closes holds its
// connection at most Linger after the server closes it.
func TestLingerIsBounded(t *testing.T) {
	const linger = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Options{Max: 10, Linger: linger})
	defer l.Close()
	c := dial(t, "127.0.0.1", ln.Addr().String())
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("unread request bytes")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sc.Close()
	if l.Open() != 1 {
		t.Fatalf("open = %d while lingering, want 1", l.Open())
	}
	// The client sees FIN at once, and nothing else: no reset.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("client read %d, %v; want EOF", n, err)
	}
	waittest.For(t, "the lingering close to end", func() bool { return l.Open() == 0 })
	if took := time.Since(start); took < linger/2 {
		t.Errorf("the socket closed after %v, before the client closed or Linger (%v) passed", took, linger)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("second Close: %s", err)
	}
}

// TestClientClosedFirst: when the client closed first, Close closes at
// once (nothing to linger for).
func TestClientClosedFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Options{Max: 10, Linger: time.Hour})
	defer l.Close()
	c := dial(t, "127.0.0.1", ln.Addr().String())
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	sc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := sc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("server read %v, want EOF", err)
	}
	sc.Close()
	if l.Open() != 0 {
		t.Fatalf("open = %d after closing a connection the client closed, want 0 at once", l.Open())
	}
}

// TestRefusalsAreBounded: at most MaxRefusing refused connections are
// answered at once; past that they are closed without an answer, and all
// are counted. Silent clients hold their refusal for Linger.
func TestRefusalsAreBounded(t *testing.T) {
	const extra = 40
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Options{Max: 1, Linger: 3 * time.Second})
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial(t, "127.0.0.1", ln.Addr().String())
	<-accepted // Max reached: the rest are refused
	var answered, closed, other int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range MaxRefusing + extra {
		c := dial(t, "127.0.0.1", ln.Addr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(c.r, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && resp.StatusCode == 204:
				answered++
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
				closed++
			default:
				other++
			}
		}()
	}
	dialing := time.Since(start)
	wg.Wait()
	if dialing > 3*time.Second {
		t.Skipf("skipping: dialing took %v, longer than a refusal lingers", dialing)
	}
	if answered > MaxRefusing || closed < extra || other != 0 {
		t.Errorf("answered %d, closed without an answer %d, other %d; want at most %d answered and at least %d closed", answered, closed, other, MaxRefusing, extra)
	}
	if n := l.Refused(ReasonTotal); n != MaxRefusing+extra {
		t.Errorf("refused total = %d, want %d", n, MaxRefusing+extra)
	}
}

func TestClientKey(t *testing.T) {
	f := func(addr net.Addr, want string) {
		t.Helper()
		got := clientKey(addr)
		if (want == "" && got.IsValid()) || (want != "" && got != netip.MustParseAddr(want)) {
			t.Errorf("clientKey(%v) = %v, want %q", addr, got, want)
		}
	}
	f(&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7")
	f(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7")
	f(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::")
	f(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 1}, "2001:db8:1:2::")
	f(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, "")
}

func TestAutoMax(t *testing.T) {
	f := func(nofile uint64, outbound, wantMax, wantReserve int) {
		t.Helper()
		gotMax, gotReserve := AutoMax(nofile, outbound)
		if gotMax != wantMax || gotReserve != wantReserve {
			t.Errorf("AutoMax(%d, %d) = %d, %d; want %d, %d", nofile, outbound, gotMax, gotReserve, wantMax, wantReserve)
		}
	}
	r := MaxRefusing + baseReserve
	f(1<<20, 1024, 1<<20-1024-r, 1024+r)
	f(65536, 4096, 65536-4096-r, 4096+r)
	f(1024, 1024, 256, 1024+r) // too low for the demand partners: a quarter
	f(^uint64(0), 0, 1<<31-1-r, r)
	f(0, 0, 1, r)
}

// metric gathers l's series named name, or name/reason for a refusal
// count, from a pedantic registry, which also checks l's descriptions.
func metric(t *testing.T, l *Listener, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	name, reason, _ := strings.Cut(name, "/")
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if reason != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != reason) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s %s", name, reason)
	return 0
}
