package connlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// conn is a connection the Listener admitted: it counts against the bounds
// until its socket is closed, and its Close is graceful.
type conn struct {
	net.Conn
	l   *Listener
	key netip.Addr

	eof    atomic.Bool // a Read returned io.EOF: the client closed its side
	closed atomic.Bool
}

// Read reads from the connection, noting when the client closed its side.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err == io.EOF {
		c.eof.Store(true)
	}
	return n, err
}

// Close closes the connection gracefully (see Listener) and returns at
// once; closing twice does nothing. It may be called while another
// goroutine reads, as a server's shutdown does with idle connections.
func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.eof.Load() {
		// The client closed first: nothing is left to read, so no reset.
		err := c.Conn.Close()
		c.l.release(c.key)
		return err
	}
	select {
	case c.l.lingering <- struct{}{}:
		go func() {
			lingerClose(c.Conn, c.l.linger)
			<-c.l.lingering
			c.l.release(c.key)
		}()
		return nil
	default:
		err := c.Conn.Close()
		c.l.release(c.key)
		return err
	}
}

// refuse answers a refused connection and closes it gracefully, in its own
// goroutine, at most MaxRefusing at a time; past that it closes it at once.
func (l *Listener) refuse(c net.Conn, answer []byte) {
	select {
	case l.refusing <- struct{}{}:
		go func() {
			defer func() { <-l.refusing }()
			// Wait for the request before answering: an HTTP client may take
			// an answer that comes before it sent its request for a stray one
			// and drop it (Go's Transport does).
			c.SetDeadline(time.Now().Add(l.linger))
			buf := getBuf()
			_, err := c.Read(*buf)
			putBuf(buf)
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				c.SetWriteDeadline(time.Now().Add(l.linger))
				c.Write(answer)
			}
			lingerClose(c, l.linger)
		}()
	default:
		c.Close()
	}
}

// lingerClose sends FIN after what was written, reads and discards what the
// client still sends until it closes, d passes or lingerBytes were read,
// then closes c. Closing a socket with unread bytes makes the kernel send a
// reset, which discards the response in flight on the client's side.
func lingerClose(c net.Conn, d time.Duration) {
	defer c.Close()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil || c.SetReadDeadline(time.Now().Add(d)) != nil {
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	for n := 0; n < lingerBytes; {
		k, err := c.Read(*buf)
		n += k
		if err != nil {
			return
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }
