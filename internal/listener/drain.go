package listener

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// drainTimeout bounds two waits of a drain: for the accepting goroutine to
// count the queue, and for each queued connection once the queue is
// empty. Accepting a queued connection takes microseconds; the bound
// matters only when nobody accepts, or when a queued connection vanished.
const drainTimeout = time.Second

// errNotAccepting says that Drain found no goroutine in Accept.
var errNotAccepting = errors.New("nobody accepts from the listener")

// Draining wraps a listener so that it can stop without resetting the
// connections waiting in its accept queue.
//
// Why: closing a listening socket makes Linux reset every connection in its
// accept queue, connections whose handshake the kernel completed and whose
// clients may already have sent a request. Under load on SIGTERM that was
// hundreds of requests sent before the drain delay ended, answered by a
// reset. Drain instead counts the queue, accepts exactly that many more
// (the queue is FIFO: they are the ones that were waiting) and only then
// closes the socket; connections that arrive after Drain may be reset.
//
// The count is taken by the goroutine that calls Accept, between two
// accept(2) calls: counted anywhere else, a connection accept(2) took just
// before the count but Accept had not yet returned would be counted as
// one of the queued ones, and the last queued connection reset.
//
// Use it with one goroutine calling Accept (as servers do) while another
// calls Drain or Close.
type Draining struct {
	net.Listener

	mu       sync.Mutex
	draining bool          // Drain was called
	left     int           // connections Accept still returns; -1 until counted
	counted  chan struct{} // closed once the queue is counted or the listener closed
	queued   int           // the count
	countErr error         // why the queue could not be counted
	closed   bool          // the wrapped listener is closed
}

// NewDraining wraps ln, which the Draining then owns.
func NewDraining(ln net.Listener) *Draining {
	return &Draining{Listener: ln, left: -1, counted: make(chan struct{})}
}

// errClosed is what Accept returns once the listener is closed: its text,
// "use of closed network connection", is what servers such as fasthttp
// and net/http take as a clean stop.
func (d *Draining) errClosed() error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: d.Addr(), Err: net.ErrClosed}
}

// Accept returns the next connection, like the wrapped listener's Accept.
// After Drain it returns the connections that were queued when the count
// was taken, then fails with an error wrapping net.ErrClosed.
func (d *Draining) Accept() (net.Conn, error) {
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, d.errClosed()
		}
		if d.draining && d.left < 0 && !d.count() {
			d.mu.Unlock()
			return nil, d.errClosed()
		}
		d.mu.Unlock()

		c, err := d.Listener.Accept()

		d.mu.Lock()
		switch {
		case err == nil:
			if d.left > 0 {
				d.left--
				if d.left == 0 {
					d.closeLocked()
				} else {
					d.setDeadline()
				}
			}
			d.mu.Unlock()
			return c, nil
		case !d.draining || !errors.Is(err, os.ErrDeadlineExceeded):
			d.mu.Unlock()
			return nil, err
		case d.left < 0:
			// Drain interrupted a waiting Accept so that the count is
			// taken here: loop to take it.
		default:
			// No queued connection came in time: the goroutine was starved,
			// or a counted connection vanished. Go on while the queue holds
			// any; close when it is empty.
			if n, err := QueueLen(d.Listener); err != nil || n == 0 {
				d.closeLocked()
				d.mu.Unlock()
				return nil, d.errClosed()
			}
			d.setDeadline()
		}
		d.mu.Unlock()
	}
}

// count takes the queue's length for Drain and reports whether Accept
// should go on; called with d.mu held, by the accepting goroutine.
func (d *Draining) count() bool {
	n, err := QueueLen(d.Listener)
	d.queued, d.countErr = n, err
	close(d.counted)
	if err != nil || n == 0 {
		d.closeLocked()
		return false
	}
	d.left = n
	d.setDeadline()
	return true
}

// setDeadline bounds the wait for the next queued connection.
func (d *Draining) setDeadline() {
	if dl, ok := d.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		dl.SetDeadline(time.Now().Add(drainTimeout))
	}
}

// Drain stops the listener without resetting what waits in its accept
// queue: the goroutine in Accept counts the queue (n), returns n more
// connections, then closes the wrapped listener; with an empty queue it
// closes at once. Drain returns n once it is counted. It closes the
// listener at once, and returns an error, when the queue's length cannot
// be read (an error wrapping errors.ErrUnsupported outside Linux), or when
// no goroutine calls Accept within a second.
//
// Connections that arrive after the count may be reset when the listener
// closes. Should a counted connection vanish from the queue, the listener
// closes once the queue is empty for a second.
func (d *Draining) Drain() (int, error) {
	d.mu.Lock()
	if d.closed || d.draining {
		d.mu.Unlock()
		return 0, nil
	}
	d.draining = true
	// Interrupt an Accept waiting for a connection, so that it loops and
	// takes the count.
	if dl, ok := d.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		dl.SetDeadline(time.Unix(1, 0))
	}
	d.mu.Unlock()

	select {
	case <-d.counted:
	case <-time.After(drainTimeout):
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.counted:
		return d.queued, d.countErr
	default:
		d.closeLocked()
		close(d.counted)
		return 0, fmt.Errorf("cannot drain %s: %w", d.Addr(), errNotAccepting)
	}
}

// Close closes the wrapped listener at once, resetting any connection in
// its accept queue. Closing twice is not an error, so that a server's own
// Shutdown may close a listener Drain already closed.
func (d *Draining) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	return d.closeLocked()
}

func (d *Draining) closeLocked() error {
	d.closed = true
	return d.Listener.Close()
}
