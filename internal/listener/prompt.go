package listener

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// PromptEvery is how often a Prompt listener looks at its accept queue
// while its process is busy. On a CPU-limited pod the look comes in the
// first slice of CPU the pod gets after it is due.
const PromptEvery = 5 * time.Millisecond

// promptIdleEvery is how often a Prompt asks whether its process is busy
// while it is not.
const promptIdleEvery = 100 * time.Millisecond

// promptLinger is how long a Prompt goes on looking every PromptEvery
// after busy last said so: under overload, adaptive admission holds the
// scheduler's latency near its target, so it dips under any threshold
// for an interval now and then, while the wait in the network poller's
// line does not.
const promptLinger = time.Second

// Prompt wraps a TCP listener so that a connection waiting in its accept
// queue is accepted promptly even while the process is saturated: for
// the admin port, whose /livez a liveness probe must reach while the
// public port is overloaded.
//
// Why: a goroutine that Go's network poller wakes on a saturated process
// waits behind every goroutine the poller woke with it, in the global run
// queue when the runtime's background monitor did the polling, and a busy
// processor takes one goroutine from that queue in 61. On a pod limited to
// 200m of CPU at three times its capacity, an execution trace showed the
// admin server waiting there up to 150 ms to accept a probe's connection.
// A goroutine that a timer wakes runs next on its processor instead. So
// while busy reports true (and for promptLinger after), a poller calls
// accept(2) without blocking every PromptEvery, woken by a timer, never by
// the network poller. (Waiting in the poller with a deadline does not do:
// the connection's arrival wakes the goroutine before the deadline does,
// through the poller, to the back of the line.) A probe's request has
// arrived by the time its connection is accepted, so the server reads it
// without waiting. Traced in the same setup, the probe's wait for accept
// fell from 39 to 10 ms at the 99th percentile, and from 72 to 20 ms at
// most.
//
// Otherwise only a goroutine waiting in Accept as usual accepts, so that
// an idle Prompt costs a look at busy ten times a second: polling every 5
// ms cost an idle adx 1.5% of a core, measured.
//
// The poller needs a non-blocking accept on the raw descriptor: it has
// one on Unix systems; elsewhere only the network poller accepts.
type Prompt struct {
	ln    *net.TCPListener
	raw   syscall.RawConn
	busy  func() bool
	conns chan accepted
	done  chan struct{} // closed by Close
	close sync.Once
	wg    sync.WaitGroup // the accepting goroutines

	polled atomic.Int64 // connections the poller accepted
	asked  atomic.Int64 // calls of busy
}

type accepted struct {
	c   net.Conn
	err error
}

// NewPrompt wraps ln, which the Prompt then owns. busy says whether the
// process is busy enough for the poller to pay: for adx, whether
// runnable goroutines wait more than a millisecond to run. It must be
// cheap and safe for concurrent use.
func NewPrompt(ln *net.TCPListener, busy func() bool) (*Prompt, error) {
	return newPrompt(ln, busy, true)
}

// newPrompt is NewPrompt; without wait only the poller accepts (tests).
func newPrompt(ln *net.TCPListener, busy func() bool, wait bool) (*Prompt, error) {
	raw, err := ln.SyscallConn()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: ln.Addr(), Err: err}
	}
	p := &Prompt{ln: ln, raw: raw, busy: busy, conns: make(chan accepted), done: make(chan struct{})}
	if wait {
		p.wg.Add(1)
		go p.wait()
	}
	p.wg.Add(1)
	go p.poll()
	return p, nil
}

// Accept returns the next connection, or the wrapped listener's error.
// Once the Prompt is closed it fails with an error wrapping net.ErrClosed,
// which servers take as a clean stop.
func (p *Prompt) Accept() (net.Conn, error) {
	select {
	case a := <-p.conns:
		return a.c, a.err
	case <-p.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: p.ln.Addr(), Err: net.ErrClosed}
	}
}

// deliver hands a connection or an error to Accept, and reports whether
// the Prompt is still open.
func (p *Prompt) deliver(a accepted) bool {
	select {
	case p.conns <- a:
		return true
	case <-p.done:
		if a.c != nil {
			a.c.Close()
		}
		return false
	}
}

// wait accepts through the network poller, as any listener does.
func (p *Prompt) wait() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) || !p.deliver(accepted{c, err}) {
			return
		}
	}
}

// poll accepts, while busy, every PromptEvery from a timer.
func (p *Prompt) poll() {
	defer p.wg.Done()
	t := time.NewTimer(promptIdleEvery)
	defer t.Stop()
	var busyAt time.Time
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		p.asked.Add(1)
		if now := time.Now(); p.busy() {
			busyAt = now
		} else if now.Sub(busyAt) > promptLinger {
			t.Reset(promptIdleEvery)
			continue
		}
		for {
			c, ok := p.acceptNow()
			if !ok {
				break
			}
			p.polled.Add(1)
			if !p.deliver(accepted{c: c}) {
				return
			}
		}
		t.Reset(PromptEvery)
	}
}

// acceptNow accepts a queued connection if there is one, without waiting.
// Errors are left to the goroutine in wait, which meets them too.
func (p *Prompt) acceptNow() (net.Conn, bool) {
	fd := -1
	// Control runs the call on the listener's descriptor outside the
	// network poller.
	if err := p.raw.Control(func(lfd uintptr) {
		var err error
		if fd, err = acceptNonblock(int(lfd)); err != nil {
			fd = -1
		}
	}); err != nil || fd < 0 {
		return nil, false
	}
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f) // a duplicate of fd, in the network poller
	f.Close()
	if err != nil {
		return nil, false
	}
	return c, true
}

// Close closes the wrapped listener and waits for the accepting goroutines
// to end. Closing twice is not an error.
func (p *Prompt) Close() error {
	var err error
	p.close.Do(func() {
		close(p.done)
		err = p.ln.Close()
		p.wg.Wait()
	})
	return err
}

// Addr is the wrapped listener's address.
func (p *Prompt) Addr() net.Addr { return p.ln.Addr() }
