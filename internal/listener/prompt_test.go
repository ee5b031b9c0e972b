package listener

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/waittest"
)

// promptOn listens on loopback and wraps the listener in a Prompt whose
// process is busy while busy holds; without wait only the poller accepts.
func promptOn(t *testing.T, busy *atomic.Bool, wait bool) *Prompt {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPrompt(ln.(*net.TCPListener), busy.Load, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func acceptAsync(p *Prompt) <-chan accepted {
	res := make(chan accepted, 1)
	go func() {
		c, err := p.Accept()
		res <- accepted{c, err}
	}()
	return res
}

// dialSend connects to p and sends msg.
func dialSend(t *testing.T, p *Prompt, msg string) net.Conn {
	t.Helper()
	d, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	return d
}

// wantConn checks that Accept's result is the connection d, which sent msg.
func wantConn(t *testing.T, res <-chan accepted, d net.Conn, msg string) {
	t.Helper()
	var a accepted
	select {
	case a = <-res:
	case <-time.After(waittest.Deadline):
		t.Fatalf("nothing accepted %v within %v", d.LocalAddr(), waittest.Deadline)
	}
	if a.err != nil {
		t.Fatalf("Accept: %v", a.err)
	}
	defer a.c.Close()
	if a.c.RemoteAddr().String() != d.LocalAddr().String() {
		t.Errorf("accepted %v; want %v", a.c.RemoteAddr(), d.LocalAddr())
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(a.c, buf); err != nil || string(buf) != msg {
		t.Fatalf("accepted connection read %q, %v; want %q", buf, err, msg)
	}
}

// TestPromptAcceptsWhileIdle: while the process is not busy, the goroutine
// waiting in the network poller accepts, and the poller only asks.
func TestPromptAcceptsWhileIdle(t *testing.T) {
	var busy atomic.Bool
	p := promptOn(t, &busy, true)
	for i := range 3 {
		res := acceptAsync(p)
		d := dialSend(t, p, "idle")
		wantConn(t, res, d, "idle")
		if n := p.polled.Load(); n != 0 {
			t.Fatalf("connection %d: the poller accepted %d while not busy; want 0", i, n)
		}
	}
}

// TestPromptPollsWhileBusy: the poller alone accepts nothing while the
// process is not busy, and accepts the waiting connection once it is.
func TestPromptPollsWhileBusy(t *testing.T) {
	var busy atomic.Bool
	p := promptOn(t, &busy, false)
	res := acceptAsync(p)
	d := dialSend(t, p, "busy")
	asked := p.asked.Load()
	waittest.For(t, "the poller to ask twice whether busy", func() bool { return p.asked.Load() >= asked+2 })
	select {
	case a := <-res:
		t.Fatalf("the poller accepted %v, %v while not busy", a.c, a.err)
	default:
	}
	busy.Store(true)
	wantConn(t, res, d, "busy")
	if n := p.polled.Load(); n != 1 {
		t.Errorf("the poller accepted %d; want 1", n)
	}
	// It goes on accepting every queued connection while busy.
	for range 3 {
		res := acceptAsync(p)
		d := dialSend(t, p, "more")
		wantConn(t, res, d, "more")
	}
	if n := p.polled.Load(); n != 4 {
		t.Errorf("the poller accepted %d; want 4", n)
	}
}

// TestPromptClose: Close ends a waiting Accept, and every later one, with
// an error wrapping net.ErrClosed, which servers take as a clean stop, and
// returns once its goroutines have ended, busy or not.
func TestPromptClose(t *testing.T) {
	for _, isBusy := range []bool{false, true} {
		var busy atomic.Bool
		busy.Store(isBusy)
		p := promptOn(t, &busy, true)
		res := acceptAsync(p)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if a := <-res; !errors.Is(a.err, net.ErrClosed) {
			t.Fatalf("busy %v: waiting Accept after Close = %v, %v; want an error wrapping net.ErrClosed", isBusy, a.c, a.err)
		}
		if c, err := p.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("busy %v: Accept after Close = %v, %v; want an error wrapping net.ErrClosed", isBusy, c, err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("busy %v: second Close: %v", isBusy, err)
		}
		if c, err := net.Dial("tcp", p.Addr().String()); err == nil {
			c.Close()
			t.Errorf("busy %v: dial after Close succeeded; want the port closed", isBusy)
		}
	}
}

// TestPromptServesHTTP: net/http serves on a Prompt, busy or not, and
// stops cleanly, as adx's admin server uses it.
func TestPromptServesHTTP(t *testing.T) {
	var busy atomic.Bool
	p := promptOn(t, &busy, true)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(p) }()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 6 {
		busy.Store(i >= 3)
		resp, err := c.Get("http://" + p.Addr().String() + "/livez")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q; want 200 ok", i, resp.StatusCode, body)
		}
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve after Shutdown = %v; want http.ErrServerClosed", err)
	}
}
