package listener

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// queueOf returns a listener on loopback with nobody accepting, and a
// function that waits until its accept queue holds n connections.
func queueOf(t *testing.T) (net.Listener, func(n int)) {
	t.Helper()
	ln, _, err := Listen(Config{Addr: "127.0.0.1:0", Backlog: 64})
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	t.Cleanup(func() { ln.Close() })
	if _, err := QueueLen(ln); errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("skipping: %s", err)
	}
	return ln, func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			q, err := QueueLen(ln)
			if err != nil {
				t.Fatalf("QueueLen: %s", err)
			}
			if q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("accept queue holds %d connections, want %d", q, n)
			}
		}
	}
}

// dialAndSend connects to ln and sends msg; the kernel completes the
// handshake and queues the connection without anyone accepting.
func dialAndSend(t *testing.T, ln net.Listener, msg string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("cannot dial: %s", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("cannot write: %s", err)
	}
	return c
}

func TestQueueLen(t *testing.T) {
	ln, waitQueue := queueOf(t)
	waitQueue(0)
	for i := range 5 {
		dialAndSend(t, ln, "x")
		waitQueue(i + 1)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitQueue(4)
	ln.Close()
	if _, err := QueueLen(ln); err == nil {
		t.Error("QueueLen of a closed listener succeeded")
	}
}

// drainFirst calls Drain in its own goroutine and waits until it asked for
// the count, so that the next Accept takes it; it returns Drain's result.
func drainFirst(t *testing.T, d *Draining) <-chan [2]any {
	t.Helper()
	res := make(chan [2]any, 1)
	go func() {
		n, err := d.Drain()
		res <- [2]any{n, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		d.mu.Lock()
		draining := d.draining
		d.mu.Unlock()
		if draining {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatal("Drain never started")
		}
	}
}

// TestDrainServesTheQueue: after Drain, Accept returns exactly the
// connections that were queued, in their order, then reports a clean stop;
// a connection that arrives after the count is reset when the listener
// closes, which is what closing does to every queued connection without
// Drain.
func TestDrainServesTheQueue(t *testing.T) {
	ln, waitQueue := queueOf(t)
	d := NewDraining(ln)
	const queued = 8
	for i := range queued {
		dialAndSend(t, ln, strconv.Itoa(i))
	}
	waitQueue(queued)
	res := drainFirst(t, d)

	for i := range queued {
		c, err := d.Accept()
		if err != nil {
			t.Fatalf("Accept #%d after Drain: %s", i, err)
		}
		if i == 0 {
			if r := <-res; r[0] != queued || r[1] != nil {
				t.Fatalf("Drain() = %v, %v; want %d, nil", r[0], r[1], queued)
			}
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 8)
		k, err := c.Read(buf)
		if err != nil || string(buf[:k]) != strconv.Itoa(i) {
			t.Errorf("connection #%d sent %q, %v; want %q (FIFO)", i, buf[:k], err, strconv.Itoa(i))
		}
		c.Close()
	}
	if c, err := d.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after the queue = %v, %v; want an error wrapping net.ErrClosed", c, err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after the queue was served = %v, %v; want connection refused", c, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close after Drain: %s", err)
	}
}

// TestDrainResetsWhatArrivesAfterTheCount: a connection queued after the
// count is not accepted, and closing resets it, as closing a listener does
// to its whole queue without Drain: the positive control.
func TestDrainResetsWhatArrivesAfterTheCount(t *testing.T) {
	ln, waitQueue := queueOf(t)
	d := NewDraining(ln)
	dialAndSend(t, ln, "0")
	dialAndSend(t, ln, "1")
	waitQueue(2)
	res := drainFirst(t, d)
	c, err := d.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := <-res; r[0] != 2 {
		t.Fatalf("Drain() = %v, %v; want 2", r[0], r[1])
	}
	late := dialAndSend(t, ln, "late")
	waitQueue(2) // "1" and "late"
	c2, err := d.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	late.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := late.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the connection queued after the count read %v; want a reset", err)
	}
}

// TestDrainEmptyQueue: with nothing queued, Drain closes at once and an
// Accept blocked in another goroutine returns a clean stop.
func TestDrainEmptyQueue(t *testing.T) {
	ln, _ := queueOf(t)
	d := NewDraining(ln)
	accepted := make(chan error, 1)
	accept := func() {
		c, err := d.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}
	// Prove the Accept is live before draining.
	go accept()
	dialAndSend(t, ln, "x")
	if err := <-accepted; err != nil {
		t.Fatalf("Accept: %s", err)
	}
	go accept()
	if n, err := d.Drain(); n != 0 || err != nil {
		t.Fatalf("Drain() = %d, %v; want 0, nil", n, err)
	}
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Accept returned %v; want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked Accept did not return after Drain")
	}
	if _, err := d.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Drain returned %v; want net.ErrClosed", err)
	}
}

// TestDrainWithoutAccept: with no goroutine in Accept, Drain gives up
// after drainTimeout, closes, and says why.
func TestDrainWithoutAccept(t *testing.T) {
	ln, _ := queueOf(t)
	d := NewDraining(ln)
	if n, err := d.Drain(); n != 0 || !errors.Is(err, errNotAccepting) {
		t.Fatalf("Drain() = %d, %v; want 0 and %v", n, err, errNotAccepting)
	}
	if _, err := d.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Drain returned %v; want net.ErrClosed", err)
	}
}

// TestDrainGivesUpOnAMissingConnection: when fewer connections arrive than
// were counted, the listener closes once the queue stays empty for
// drainTimeout instead of waiting for the next client.
func TestDrainGivesUpOnAMissingConnection(t *testing.T) {
	ln, waitQueue := queueOf(t)
	d := NewDraining(ln)
	dialAndSend(t, ln, "x")
	waitQueue(1)
	// Counted 2 where 1 is queued, as if one had vanished since.
	d.mu.Lock()
	d.draining, d.left, d.queued = true, 2, 2
	close(d.counted)
	d.setDeadline()
	d.mu.Unlock()
	if _, err := d.Accept(); err != nil {
		t.Fatalf("Accept: %s", err)
	}
	start := time.Now()
	if _, err := d.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept of a connection that never came returned %v; want net.ErrClosed", err)
	}
	if took := time.Since(start); took < drainTimeout/2 || took > drainTimeout+5*time.Second {
		t.Errorf("gave up after %v; want about %v", took, drainTimeout)
	}
}
