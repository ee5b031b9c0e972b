package notice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/config"
)

// SenderOptions shape a Sender. A zero or negative field takes its
// default from config.Defaults().Notices.
type SenderOptions struct {
	// Partners are the demand partners' names, by index: the dsp label of
	// the metrics (bounded by the config). Partners added to the config
	// later are given their index by Sender.Partner.
	Partners []string
	// QueueSize bounds the notices held: queued, being fired, or waiting
	// to be retried.
	QueueSize int
	// Workers fire notices in parallel; each holds at most one connection
	// at a time.
	Workers int
	// Timeout bounds one firing, connection and response body included.
	Timeout time.Duration
	// BillAttempts is how many times a billing notice is fired before it
	// is given up; win and loss notices are fired once.
	BillAttempts int
	// RetryBackoff is the wait before the first retry of a billing notice;
	// it doubles with each retry, with jitter, up to a minute.
	RetryBackoff time.Duration
	// Log receives the notices given up (at most one line a second) and
	// what Close abandons; nil logs nothing.
	Log *slog.Logger
}

// Outgoing is one demand partner notice to fire.
type Outgoing struct {
	// Kind is KindWin, KindBill or KindLoss.
	Kind byte
	// Partner is the demand partner's index: in SenderOptions.Partners,
	// or as Sender.Partner returned it.
	Partner int
	// URL is the notice URL, fully expanded (Expander.Notice): http or
	// https, fired with GET.
	URL string
	// Key is the idempotency key, sent as the Idempotency-Key header (when
	// not empty): the same on every retry, so that the partner counts a
	// bill once however many times it arrives.
	Key string
}

// Sender fires the demand partners' notices (their nurl, burl, lurl)
// asynchronously, from a bounded queue, with a pool of workers. A notice
// succeeds on any 2xx or 3xx answer: a redirect is not followed, since
// the partner's server has the notice once it answers, and following
// chains to third parties from the exchange's network is a risk for no
// gain. A 4xx other than 408 and 429 is permanent. Anything else (5xx, 408,
// 429, timeout, connection error) is transient: a bill is retried up to
// BillAttempts, after a backoff it waits out in a timer, not in a worker,
// and it holds its place in the queue bound meanwhile; a win or loss
// notice is not retried. It is safe for concurrent use until Close.
//
// It uses net/http rather than fasthttp: a firing is cancelled the moment
// Close gives up (fasthttp cannot cancel a request in flight), a response
// body is discarded as it streams within a bound while the connection is
// kept (fasthttp buffers a body whole or fails past its limit), https
// partners get HTTP/2, and redirects are refused by policy. Notices come
// at the rate of won impressions, a fraction of the bid requests, so
// net/http's extra allocations do not matter here.
type Sender struct {
	o      SenderOptions
	client *http.Client
	// queue holds the notices to fire, its capacity QueueSize; pending
	// counts them and those being fired or waiting to be retried, so a
	// push into queue never blocks.
	queue   chan *firing
	pending atomic.Int64
	closed  atomic.Bool
	// drained is closed once pending reaches zero after Close began.
	drained   chan struct{}
	drainOnce sync.Once
	// ctx ends the firings in flight when Close gives up.
	ctx    context.Context
	cancel context.CancelFunc
	// quit stops the workers.
	quit    chan struct{}
	workers sync.WaitGroup
	// timers counts the retries scheduled and not yet requeued or
	// abandoned.
	timers sync.WaitGroup
	mu     sync.Mutex
	// waiting are the bills waiting to be retried, with their timers;
	// stopping refuses new ones (Close gave up).
	waiting  map[*firing]*time.Timer
	stopping bool
	// partners are the demand partners' names and counters, by index,
	// replaced whole when Partner adds one; unknown counts the notices of
	// an index out of range.
	partners  atomic.Pointer[partnerTable]
	addMu     sync.Mutex
	unknown   partnerCounts
	abandoned atomic.Int64
	lastLog   atomic.Int64
	closeErr  error
	closeOnce sync.Once
}

// firing is one notice and its attempts so far.
type firing struct {
	Outgoing
	attempt int
}

// The outcomes of a notice, the outcome label.
const (
	outSent      = iota // answered 2xx or 3xx
	outFailed           // given up: a permanent error, its attempts spent, or a win or loss notice's transient error
	outRetried          // a transient error, retried (counted at each retry)
	outDropped          // refused by Send: queue full or closed
	outAbandoned        // still queued or waiting to retry when Close gave up
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"sent", "failed", "retried", "dropped", "abandoned"}

// The kinds, the kind label; an unknown kind is counted as "other".
var kindNames = [...]string{"win", "bill", "loss", "other"}

func kindIndex(k byte) int {
	switch k {
	case KindWin:
		return 0
	case KindBill:
		return 1
	case KindLoss:
		return 2
	}
	return 3
}

// maxRetryWait caps the backoff between two attempts at a bill.
const maxRetryWait = time.Minute

// maxNoticeBody bounds the response body read (and discarded) to keep a
// connection: past it the connection is closed instead.
const maxNoticeBody = 64 << 10

// NewSender returns a Sender with its workers running; Close stops them.
func NewSender(o SenderOptions) *Sender {
	d := config.Defaults().Notices
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout.D()
	}
	if o.BillAttempts <= 0 {
		o.BillAttempts = d.BillAttempts
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = d.RetryBackoff.D()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{
		o:       o,
		queue:   make(chan *firing, o.QueueSize),
		drained: make(chan struct{}),
		quit:    make(chan struct{}),
		waiting: make(map[*firing]*time.Timer),
	}
	t := &partnerTable{names: slices.Clone(o.Partners), counts: make([]*partnerCounts, len(o.Partners))}
	for i := range t.counts {
		t.counts[i] = new(partnerCounts)
	}
	s.partners.Store(t)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.client = &http.Client{
		// No proxy from the environment, as for the bid requests.
		Transport: &http.Transport{
			DialContext:       (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: refuseLinkLocal}).DialContext,
			ForceAttemptHTTP2: true,
			// A worker holds one connection at a time: Workers bounds the
			// connections to a host, and keeping as many idle spares the
			// handshakes of a busy partner.
			MaxConnsPerHost:        o.Workers,
			MaxIdleConnsPerHost:    o.Workers,
			MaxIdleConns:           4 * o.Workers,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    o.Timeout,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 64 << 10,
			DisableCompression:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for range o.Workers {
		s.workers.Go(s.work)
	}
	return s
}

// Send queues n to be fired and returns true; it returns false, counting
// n as dropped, when the queue is full or the Sender is closed. It never
// blocks.
func (s *Sender) Send(n Outgoing) bool {
	// Counted before the closed check, which Close makes in the other
	// order: either Close sees this notice pending, or this sees Close.
	if s.pending.Add(1) > int64(s.o.QueueSize) || s.closed.Load() {
		s.done()
		s.count(&n, outDropped)
		return false
	}
	s.queue <- &firing{Outgoing: n}
	return true
}

// Close stops taking notices and fires those queued, retrying bills,
// until all are done or ctx ends. Then it abandons the rest, counted,
// cancelling the firings in flight, and returns an error naming how many
// were abandoned. Every goroutine of the Sender has ended when it returns.
// Later calls return the first one's result.
func (s *Sender) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Sender) close(ctx context.Context) error {
	s.closed.Store(true)
	if s.pending.Load() <= 0 {
		s.signalDrained()
	}
	gaveUp := false
	select {
	case <-s.drained:
	case <-ctx.Done():
		gaveUp = true
		s.mu.Lock()
		s.stopping = true
		for f, t := range s.waiting {
			if t.Stop() { // else its callback is on its way and sees stopping
				s.abandon(f)
				s.timers.Done()
			}
			delete(s.waiting, f)
		}
		s.mu.Unlock()
		s.cancel()
	}
	close(s.quit)
	s.workers.Wait()
	s.timers.Wait()
	for empty := false; !empty; {
		select {
		case f := <-s.queue: // not taken by a worker before quit
			s.abandon(f)
		default:
			empty = true
		}
	}
	s.cancel()
	s.client.CloseIdleConnections()
	if n := s.abandoned.Load(); gaveUp && n > 0 {
		s.o.Log.Warn("demand partner notices abandoned at shutdown", "abandoned", n)
		return fmt.Errorf("cannot fire %d demand partner notices before the shutdown deadline: %w", n, context.Cause(ctx))
	}
	return nil
}

// work fires notices until quit.
func (s *Sender) work() {
	for {
		select {
		case f := <-s.queue:
			s.fire(f)
		case <-s.quit:
			return
		}
	}
}

// fire makes one attempt at f and settles it: done, given up, or
// scheduled for a retry.
func (s *Sender) fire(f *firing) {
	f.attempt++
	status, permanent, err := s.do(f)
	switch {
	case err == nil:
		s.count(&f.Outgoing, outSent)
		s.done()
	case s.ctx.Err() != nil:
		s.abandon(f)
	case permanent || f.Kind != KindBill || f.attempt >= s.o.BillAttempts:
		s.count(&f.Outgoing, outFailed)
		s.done()
		s.logFailure(f, status, err)
	default:
		s.count(&f.Outgoing, outRetried)
		s.retry(f)
	}
}

// errStatus is a notice answered with a status that is no success.
var errStatus = errors.New("notice answered with a failure status")

// do fires f once. It returns the status answered (0: none), whether a
// failure is permanent (a URL that cannot be fired, a 4xx other than 408
// and 429), and nil on a 2xx or 3xx.
func (s *Sender) do(f *firing) (status int, permanent bool, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return 0, true, fmt.Errorf("cannot parse the notice URL: %w", err)
	}
	if u := req.URL; (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, true, fmt.Errorf("cannot fire a notice URL of scheme %q and host %q: want http or https and a host", u.Scheme, u.Host)
	}
	req.Header.Set("User-Agent", "adx")
	if f.Key != "" {
		req.Header.Set("Idempotency-Key", f.Key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, errors.Is(err, errLinkLocal), err
	}
	io.CopyN(io.Discard, resp.Body, maxNoticeBody)
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 400:
		return c, false, nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return c, true, fmt.Errorf("%w: %d", errStatus, c)
	default:
		return c, false, fmt.Errorf("%w: %d", errStatus, c)
	}
}

// retry schedules f's next attempt after its backoff.
func (s *Sender) retry(f *firing) {
	wait := backoff(s.o.RetryBackoff, f.attempt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		s.abandon(f)
		return
	}
	s.timers.Add(1)
	s.waiting[f] = time.AfterFunc(wait, func() { s.requeue(f) })
}

// requeue puts f, its backoff waited, back into the queue.
func (s *Sender) requeue(f *firing) {
	defer s.timers.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		s.abandon(f)
		return
	}
	delete(s.waiting, f)
	s.queue <- f // never blocks: f is pending, and pending bounds the queue
}

// backoff returns the wait before the attempt after attempt (1, 2, ...):
// base doubled attempt-1 times, capped at maxRetryWait, then jittered
// into its upper half so that retries spread.
func backoff(base time.Duration, attempt int) time.Duration {
	w := maxRetryWait
	if attempt-1 < 32 && base < maxRetryWait>>(attempt-1) {
		w = base << (attempt - 1)
	}
	return w/2 + rand.N(w/2+1)
}

// abandon settles f as abandoned.
func (s *Sender) abandon(f *firing) {
	s.count(&f.Outgoing, outAbandoned)
	s.abandoned.Add(1)
	s.done()
}

// done settles one pending notice.
func (s *Sender) done() {
	if s.pending.Add(-1) <= 0 && s.closed.Load() {
		s.signalDrained()
	}
}

func (s *Sender) signalDrained() { s.drainOnce.Do(func() { close(s.drained) }) }

// logFailure logs a notice given up, at most once a second: a partner
// down fails every notice, and the counters say how many.
func (s *Sender) logFailure(f *firing, status int, err error) {
	now := time.Now().Unix()
	last := s.lastLog.Load()
	if now <= last || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	host := ""
	if u, perr := url.Parse(f.URL); perr == nil {
		host = u.Host // not the query: ids and prices
	}
	s.o.Log.Warn("cannot fire a demand partner notice, given up", "dsp", s.partnerName(f.Partner),
		"kind", kindNames[kindIndex(f.Kind)], "host", host, "attempts", f.attempt, "status", status, "error", err)
}

// partnerCounts are one partner's notices by kind and outcome.
type partnerCounts [len(kindNames) * numOutcomes]atomic.Uint64

// partnerTable is the partners known to a Sender: names[i] is partner i,
// counted in counts[i]. Never changed once published.
type partnerTable struct {
	names  []string
	counts []*partnerCounts
}

// maxPartners bounds the partners a Sender counts apart (the dsp label):
// past it, Partner answers -1 and the notices are counted as unknown.
const maxPartners = 4096

// Partner returns the index of the demand partner called name, adding it
// when the Sender does not know it yet: a partner added by a config reload
// gets its own counters from its first notice. Safe for concurrent use;
// call it when a config is put in service, not per notice.
func (s *Sender) Partner(name string) int {
	if i := slices.Index(s.partners.Load().names, name); i >= 0 {
		return i
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	t := s.partners.Load()
	if i := slices.Index(t.names, name); i >= 0 {
		return i
	}
	if len(t.names) >= maxPartners {
		return -1
	}
	n := &partnerTable{names: append(slices.Clip(t.names), name), counts: append(slices.Clip(t.counts), new(partnerCounts))}
	s.partners.Store(n)
	return len(n.names) - 1
}

func (s *Sender) partnerName(p int) string {
	t := s.partners.Load()
	if p < 0 || p >= len(t.names) {
		return "unknown"
	}
	return t.names[p]
}

// counter returns the counter of partner p, kind k and outcome o.
func (s *Sender) counter(p, k, o int) *atomic.Uint64 {
	c := &s.unknown
	if t := s.partners.Load(); p >= 0 && p < len(t.counts) {
		c = t.counts[p]
	}
	return &c[k*numOutcomes+o]
}

func (s *Sender) count(n *Outgoing, o int) { s.counter(n.Partner, kindIndex(n.Kind), o).Add(1) }

var (
	noticesDesc = prometheus.NewDesc("adx_dsp_notices_total",
		"Demand partner notices by partner, kind (win, bill, loss) and outcome: sent (2xx or 3xx), failed (given up), retried (each retry of a bill), dropped (queue full or closed), abandoned (at shutdown).",
		[]string{"dsp", "kind", "outcome"}, nil)
	noticesQueuedDesc = prometheus.NewDesc("adx_dsp_notices_queued",
		"Demand partner notices held: queued, being fired, or waiting to retry (bounded by notices.queue_size).", nil, nil)
)

// Collector returns the Sender's metrics: adx_dsp_notices_total{dsp,kind,
// outcome} and the gauge adx_dsp_notices_queued.
func (s *Sender) Collector() prometheus.Collector { return senderCollector{s} }

type senderCollector struct{ s *Sender }

// Describe implements prometheus.Collector.
func (c senderCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- noticesDesc
	ch <- noticesQueuedDesc
}

// Collect implements prometheus.Collector. Every configured partner's
// win, bill and loss series are exported from zero; an unknown partner's
// or kind's only once counted.
func (c senderCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	t := s.partners.Load()
	for p := range len(t.names) + 1 {
		counts, name := &s.unknown, "unknown"
		if p < len(t.names) {
			counts, name = t.counts[p], t.names[p]
		}
		for k := range kindNames {
			for o := range numOutcomes {
				v := counts[k*numOutcomes+o].Load()
				if v == 0 && (p == len(t.names) || k == len(kindNames)-1) {
					continue
				}
				ch <- prometheus.MustNewConstMetric(noticesDesc, prometheus.CounterValue, float64(v),
					name, kindNames[k], outcomeNames[o])
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(noticesQueuedDesc, prometheus.GaugeValue, float64(max(0, s.pending.Load())))
}

// awsMetadataV6 is EC2's instance metadata address over IPv6.
var awsMetadataV6 = netip.MustParseAddr("fd00:ec2::254")

// errLinkLocal refuses a notice URL that resolves to a link-local address.
var errLinkLocal = errors.New("refusing a link-local address (cloud instance metadata lives there)")

// refuseLinkLocal keeps the notice URLs, which the demand partners
// write, away from link-local addresses: on a cloud instance those serve
// its metadata and credentials (169.254.169.254, fd00:ec2::254 aside, the
// fe80::/10 range). Loopback and private addresses stay allowed: a partner
// may run inside the same network.
func refuseLinkLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip == awsMetadataV6 {
		return errLinkLocal
	}
	return nil
}
