// Package connlimit bounds the connections a listener hands to the public
// server, in total and per client address; it answers each connection it
// refuses with a complete HTTP response, counts it, and closes every
// connection gracefully so that the last response is read, not reset.
//
// Why: with no bound but fasthttp's own, one client held 9,000 idle or
// slowloris connections and took the server from 23 to 202 MB; fasthttp's
// bound, past the file descriptor limit anyway, answers with its own
// uncounted plain-text 503. And a server that closes a connection with
// request bytes still unread makes the kernel send a reset, which destroys
// the response it just wrote: a 413 for a body over the limit reached most
// clients as "connection reset by peer".
//
// Wrap the listening socket with New and serve the Listener; set the
// server's own connection bound above Options.Max (fasthttp's
// Server.Concurrency), so that every refusal is this package's.
package connlimit

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the reason label of adx_http_conns_refused_total.
const (
	// ReasonPerIP: the client's address already held Options.MaxPerIP
	// connections.
	ReasonPerIP = "per_ip"
	// ReasonTotal: Options.Max connections were open.
	ReasonTotal = "total"
)

// DefaultLinger is how long a graceful close waits, at most, for the client
// to read the last response and close its side: long enough for a client
// across a region (an RTT of 100 ms) that is short of CPU to see the
// response and stop sending, short enough that a client that never closes
// holds its descriptor only briefly. A client that behaves closes within
// an RTT, ending the wait.
const DefaultLinger = 500 * time.Millisecond

// Bounds on the work of closing and refusing connections, so that a flood
// cannot turn it into unbounded goroutines, descriptors or CPU.
const (
	// MaxLingering is how many connections may linger at once (a goroutine,
	// a descriptor and a read buffer each, for up to Linger); past it a
	// connection closes at once, as it would without this package.
	MaxLingering = 1024
	// MaxRefusing is how many refused connections may be answered at once
	// (each holds a descriptor beyond Options.Max for up to twice Linger);
	// past it a refused connection is closed without an answer, still
	// counted.
	MaxRefusing = 256
	// lingerBytes bounds what a graceful close reads and discards. A client
	// uploading a body the server refused keeps sending until it has read
	// the response, so a small bound resets it all the same: a Go client
	// sending 10 MB to a 413 over loopback read the 413 in 15 of 20
	// attempts with 64 KiB, 10 of 20 with 1 MiB, 20 of 20 with 4 MiB. 32 MiB
	// is what 500 Mbit/s carries in DefaultLinger.
	lingerBytes = 32 << 20
	// bufSize is the discard buffer of a lingering or refusing read.
	bufSize = 8 << 10
)

// Options configure a Listener.
type Options struct {
	// Max bounds the connections open at once: served, idle keep-alive and
	// lingering ones. It must be positive. A connection past it is answered
	// with ShedStatus and closed.
	Max int
	// MaxPerIP bounds the connections one client address holds at once
	// (IPv6: one /64, the least a client is given); 0 means no bound. A
	// connection past it is answered 429 and closed. Behind a load balancer
	// that proxies connections every client shares the balancer's
	// addresses, so the bound must then be 0.
	MaxPerIP int
	// ShedStatus answers a connection past Max: 204 (no bid, what SSPs
	// handle best) or 503 with Retry-After: 1 and a JSON error body.
	ShedStatus int
	// Linger bounds a graceful close (see Listener); 0 means DefaultLinger.
	Linger time.Duration
}

// Listener is a net.Listener that admits at most Options.Max connections
// at once, at most Options.MaxPerIP from one client address, and refuses
// the others in one documented way: it waits up to Linger for the
// request's first bytes, writes a complete HTTP/1.1 response with
// "Connection: close" (429 Too Many Requests, Retry-After: 1 and a JSON
// {"error": ...} body per address; ShedStatus in total), and closes
// gracefully. Refused connections never reach the server; each is counted
// in adx_http_conns_refused_total{reason}.
//
// Closing a connection it admitted is graceful: unless the client already
// closed its side, Close sends FIN after the last response (shutdown
// SHUT_WR), then reads and discards what the client still sends until it
// closes, Linger passes or 32 MiB were read, and only then closes the
// socket, so that unread request bytes (the body of a refused upload)
// cannot make the kernel reset the response away. Close returns at once;
// the lingering runs in its own goroutine, at most MaxLingering at a time,
// and the connection counts against Max until its socket is closed.
//
// It is a prometheus.Collector of adx_http_conns_open, adx_http_max_conns,
// adx_http_max_conns_per_ip and adx_http_conns_refused_total{reason}. Its
// methods are safe for concurrent use.
type Listener struct {
	net.Listener
	max, maxPerIP int
	linger        time.Duration
	perIPAnswer   []byte
	totalAnswer   []byte

	mu    sync.Mutex
	open  int
	perIP map[netip.Addr]int // connections by client key; no entry at 0

	refusedPerIP atomic.Uint64
	refusedTotal atomic.Uint64
	lingering    chan struct{} // a slot per lingering close
	refusing     chan struct{} // a slot per refusal being answered
}

// New wraps ln, which the Listener then owns, with the bounds in opts.
func New(ln net.Listener, opts Options) *Listener {
	l := &Listener{
		Listener:    ln,
		max:         opts.Max,
		maxPerIP:    opts.MaxPerIP,
		linger:      opts.Linger,
		perIP:       make(map[netip.Addr]int),
		lingering:   make(chan struct{}, MaxLingering),
		refusing:    make(chan struct{}, MaxRefusing),
		perIPAnswer: answer(429, "Too Many Requests", "too many connections from this address: at most "+strconv.Itoa(opts.MaxPerIP)+" at once"),
	}
	if l.linger <= 0 {
		l.linger = DefaultLinger
	}
	if opts.ShedStatus == 503 {
		l.totalAnswer = answer(503, "Service Unavailable", "overloaded: "+strconv.Itoa(opts.Max)+" connections already open")
	} else {
		l.totalAnswer = []byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	}
	return l
}

// answer renders a complete HTTP/1.1 refusal with a JSON error body.
func answer(status int, reason, msg string) []byte {
	body := `{"error":` + strconv.Quote(msg) + `}`
	return []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + reason + "\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// Accept returns the next connection within the bounds; the ones past them
// are refused here and never returned. Errors are the wrapped listener's.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		switch l.admit(key) {
		case "":
			return &conn{Conn: c, l: l, key: key}, nil
		case ReasonPerIP:
			l.refusedPerIP.Add(1)
			l.refuse(c, l.perIPAnswer)
		default:
			l.refusedTotal.Add(1)
			l.refuse(c, l.totalAnswer)
		}
	}
}

// admit counts a new connection from key in, or returns why it is refused.
func (l *Listener) admit(key netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	if l.maxPerIP > 0 && key.IsValid() {
		if n = l.perIP[key]; n >= l.maxPerIP {
			return ReasonPerIP
		}
	}
	if l.open >= l.max {
		return ReasonTotal
	}
	l.open++
	if l.maxPerIP > 0 && key.IsValid() {
		l.perIP[key] = n + 1
	}
	return ""
}

// release counts a closed connection from key out.
func (l *Listener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.maxPerIP > 0 && key.IsValid() {
		if n := l.perIP[key] - 1; n > 0 {
			l.perIP[key] = n
		} else {
			delete(l.perIP, key)
		}
	}
}

// Open returns the connections open now, lingering ones included.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// addresses returns how many client keys hold connections now.
func (l *Listener) addresses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.perIP)
}

// Refused returns the connections refused so far for reason (ReasonPerIP
// or ReasonTotal).
func (l *Listener) Refused(reason string) uint64 {
	if reason == ReasonPerIP {
		return l.refusedPerIP.Load()
	}
	return l.refusedTotal.Load()
}

// clientKey is what MaxPerIP counts for a remote address: the IPv4
// address, or the /64 of an IPv6 one (an IPv6 client has at least a /64 to
// pick addresses from). It is the zero Addr, never bounded, for a remote
// address that is not TCP.
func clientKey(addr net.Addr) netip.Addr {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	a := ta.AddrPort().Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

var (
	openDesc     = prometheus.NewDesc("adx_http_conns_open", "Connections open on the public port now: being served, idle keep-alive, or closing gracefully.", nil, nil)
	maxDesc      = prometheus.NewDesc("adx_http_max_conns", "Most connections the public port holds at once (http.concurrency, or derived from RLIMIT_NOFILE when 0); past it a connection is answered with http.shed_status and closed.", nil, nil)
	maxPerIPDesc = prometheus.NewDesc("adx_http_max_conns_per_ip", "Most connections one client address (IPv6: /64) holds at once on the public port (http.max_conns_per_ip); 0: no bound.", nil, nil)
	refusedDesc  = prometheus.NewDesc("adx_http_conns_refused_total", "Connections refused on the public port: per_ip (the address held http.max_conns_per_ip, answered 429) or total (adx_http_max_conns were open, answered with http.shed_status).", []string{"reason"}, nil)
)

// Describe implements prometheus.Collector.
func (l *Listener) Describe(ch chan<- *prometheus.Desc) {
	ch <- openDesc
	ch <- maxDesc
	ch <- maxPerIPDesc
	ch <- refusedDesc
}

// Collect implements prometheus.Collector.
func (l *Listener) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(l.Open()))
	ch <- prometheus.MustNewConstMetric(maxDesc, prometheus.GaugeValue, float64(l.max))
	ch <- prometheus.MustNewConstMetric(maxPerIPDesc, prometheus.GaugeValue, float64(l.maxPerIP))
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(l.refusedPerIP.Load()), ReasonPerIP)
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(l.refusedTotal.Load()), ReasonTotal)
}

// Wait waits until every connection the Listener admitted is closed,
// lingering ones included, or timeout passes; it reports whether all were.
// Call it after the server stopped, so that exiting does not cut short a
// graceful close.
func (l *Listener) Wait(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); l.Open() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
