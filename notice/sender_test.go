package notice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/adx-exchange/adx/internal/waittest"
)

// noticeServer is a partner's notice endpoint on loopback: it records
// each request and answers with answer, given the request's attempt
// number (1, 2, ...) for its path.
type noticeServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string][]*http.Request // by path
}

func startNoticeServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, attempt int)) *noticeServer {
	t.Helper()
	s := &noticeServer{hits: map[string][]*http.Request{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path] = append(s.hits[r.URL.Path], r.Clone(context.Background()))
		n := len(s.hits[r.URL.Path])
		s.mu.Unlock()
		answer(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

// requests returns the requests made for path so far.
func (s *noticeServer) requests(path string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.hits[path]...)
}

func (s *noticeServer) count(path string) int { return len(s.requests(path)) }

// testSender returns a Sender for two partners, closed when the test
// ends, with o's non-zero fields.
func testSender(t *testing.T, o SenderOptions) *Sender {
	t.Helper()
	o.Partners = []string{"dsp-a", "dsp-b"}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.QueueSize == 0 {
		o.QueueSize = 64
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	s := NewSender(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// counted returns the count of partner p's notices of kind k with outcome o.
func (s *Sender) counted(p int, k byte, o int) uint64 { return s.counter(p, kindIndex(k), o).Load() }

// waitCount waits until the count of p, k, o reaches want, and fails if
// it passes it.
func waitCount(t *testing.T, s *Sender, p int, k byte, o int, want uint64) {
	t.Helper()
	waittest.For(t, fmt.Sprintf("%d %s notices of dsp %d %s", want, outcomeNames[o], p, kindNames[kindIndex(k)]),
		func() bool { return s.counted(p, k, o) >= want })
	if got := s.counted(p, k, o); got != want {
		t.Fatalf("%d %s notices of dsp %d %s, want %d", got, outcomeNames[o], p, kindNames[kindIndex(k)], want)
	}
}

func TestSenderSuccess(t *testing.T) {
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/big":
			w.Write(make([]byte, 4*maxNoticeBody)) // read in part, then the connection closed
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	s := testSender(t, SenderOptions{})
	f := func(kind byte, partner int, path, key string) {
		t.Helper()
		if !s.Send(Outgoing{Kind: kind, Partner: partner, URL: srv.URL + path + "?p=1.25&a=x%26y", Key: key}) {
			t.Fatalf("Send %s refused", path)
		}
	}
	f(KindWin, 0, "/win", "")
	f(KindBill, 0, "/bill", "bill-key")
	f(KindLoss, 1, "/loss", "")
	f(KindWin, 1, "/redirect", "")
	f(KindWin, 1, "/big", "")
	waitCount(t, s, 0, KindWin, outSent, 1)
	waitCount(t, s, 0, KindBill, outSent, 1)
	waitCount(t, s, 1, KindLoss, outSent, 1)
	waitCount(t, s, 1, KindWin, outSent, 2) // the redirect and the big body
	for _, path := range []string{"/win", "/bill", "/loss", "/redirect", "/big"} {
		reqs := srv.requests(path)
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests, want 1", path, len(reqs))
		}
		r := reqs[0]
		if r.Method != http.MethodGet || r.URL.RawQuery != "p=1.25&a=x%26y" || r.UserAgent() != "adx" {
			t.Errorf("%s: %s %s, User-Agent %q; want GET with the query as sent, User-Agent adx", path, r.Method, r.URL, r.UserAgent())
		}
		want := ""
		if path == "/bill" {
			want = "bill-key"
		}
		if got := r.Header.Get("Idempotency-Key"); got != want {
			t.Errorf("%s: Idempotency-Key %q, want %q", path, got, want)
		}
	}
	// The redirect counted as sent, not followed; the target is reachable.
	if n := srv.count("/target"); n != 0 {
		t.Errorf("the redirect was followed: %d requests to its target", n)
	}
	if !s.Send(Outgoing{Kind: KindWin, Partner: 0, URL: srv.URL + "/target"}) {
		t.Fatal("Send refused")
	}
	waitCount(t, s, 0, KindWin, outSent, 2)
	if n := srv.count("/target"); n != 1 {
		t.Errorf("the target directly: %d requests, want 1", n)
	}
	for p := range 2 {
		for _, k := range []byte{KindWin, KindBill, KindLoss} {
			for _, o := range []int{outFailed, outRetried, outDropped, outAbandoned} {
				if n := s.counted(p, k, o); n != 0 {
					t.Errorf("dsp %d %s: %d %s, want 0", p, kindNames[kindIndex(k)], n, outcomeNames[o])
				}
			}
		}
	}
}

// A bill is retried until the flaky partner takes it, with one
// idempotency key; a win is fired once.
func TestSenderRetriesBills(t *testing.T) {
	const failures = 3
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt <= failures {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	s := testSender(t, SenderOptions{BillAttempts: failures + 1})
	s.Send(Outgoing{Kind: KindBill, Partner: 1, URL: srv.URL + "/bill", Key: "k-123"})
	waitCount(t, s, 1, KindBill, outSent, 1)
	if n := s.counted(1, KindBill, outRetried); n != failures {
		t.Errorf("%d retries, want %d", n, failures)
	}
	reqs := srv.requests("/bill")
	if len(reqs) != failures+1 {
		t.Fatalf("%d attempts, want %d", len(reqs), failures+1)
	}
	for i, r := range reqs {
		if k := r.Header.Get("Idempotency-Key"); k != "k-123" {
			t.Errorf("attempt %d: Idempotency-Key %q, want k-123", i+1, k)
		}
	}
	s.Send(Outgoing{Kind: KindWin, Partner: 1, URL: srv.URL + "/win"})
	waitCount(t, s, 1, KindWin, outFailed, 1)
	if n := srv.count("/win"); n != 1 {
		t.Errorf("a win answered 500: %d attempts, want 1", n)
	}
}

// A bill the partner never takes is given up after its attempts.
func TestSenderGivesUp(t *testing.T) {
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	s := testSender(t, SenderOptions{BillAttempts: 3})
	s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + "/bill"})
	waitCount(t, s, 0, KindBill, outFailed, 1)
	if n, r := srv.count("/bill"), s.counted(0, KindBill, outRetried); n != 3 || r != 2 {
		t.Errorf("%d attempts and %d retries, want 3 and 2", n, r)
	}
}

// A 4xx is permanent, except 408 and 429, which are retried.
func TestSenderStatuses(t *testing.T) {
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		var code int
		fmt.Sscanf(r.URL.Path, "/%d", &code)
		if attempt == 1 {
			w.WriteHeader(code)
		}
	})
	s := testSender(t, SenderOptions{BillAttempts: 5})
	f := func(code int, retried bool) {
		t.Helper()
		path := fmt.Sprintf("/%d", code)
		before := s.counted(0, KindBill, outRetried)
		s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + path})
		if retried {
			waittest.For(t, path+" sent after a retry", func() bool { return srv.count(path) == 2 })
			waitCount(t, s, 0, KindBill, outRetried, before+1)
			return
		}
		waittest.For(t, path+" given up", func() bool { return s.counted(0, KindBill, outFailed) > 0 && srv.count(path) > 0 })
		if n := srv.count(path); n != 1 {
			t.Errorf("%s: %d attempts, want 1", path, n)
		}
		if n := s.counted(0, KindBill, outRetried); n != before {
			t.Errorf("%s: retried", path)
		}
		s.counter(0, kindIndex(KindBill), outFailed).Store(0)
	}
	f(http.StatusNotFound, false)
	f(http.StatusBadRequest, false)
	f(http.StatusGone, false)
	f(http.StatusRequestTimeout, true)
	f(http.StatusTooManyRequests, true)
	f(http.StatusBadGateway, true)
}

// URLs that cannot be fired fail at once, without a retry.
func TestSenderBadURLs(t *testing.T) {
	s := testSender(t, SenderOptions{BillAttempts: 5})
	urls := []string{"", "ftp://dsp.example/n", "http://[::1", "http:///path", "dsp.example/n", "http://dsp.example/\x7f\n",
		// Link-local: where a cloud instance's metadata and credentials are.
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/n", "http://[fd00:ec2::254]/n"}
	for _, u := range urls {
		if !s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: u}) {
			t.Fatalf("Send(%q) refused", u)
		}
	}
	waitCount(t, s, 0, KindBill, outFailed, uint64(len(urls)))
	if n := s.counted(0, KindBill, outRetried); n != 0 {
		t.Errorf("%d retries, want 0", n)
	}
}

// A partner that does not answer within the timeout is retried.
func TestSenderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt == 1 {
			select {
			case <-r.Context().Done(): // the sender gave up on it
			case <-release:
			}
		}
	})
	t.Cleanup(func() { close(release) })
	s := testSender(t, SenderOptions{Timeout: 300 * time.Millisecond, BillAttempts: 10})
	s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + "/bill", Key: "k"})
	waitCount(t, s, 0, KindBill, outSent, 1)
	// Two attempts, unless a loaded machine made a later one time out too.
	if n, r := srv.count("/bill"), s.counted(0, KindBill, outRetried); n < 2 || uint64(n) != r+1 {
		t.Errorf("%d attempts and %d retries, want at least 2, one retry fewer", n, r)
	}
}

// The queue bound counts the notices queued, in flight and waiting to
// retry; past it Send refuses at once, counted.
func TestSenderQueueFull(t *testing.T) {
	release := make(chan struct{})
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	s := testSender(t, SenderOptions{Workers: 1, QueueSize: 3, BillAttempts: 100, RetryBackoff: time.Hour})
	// A bill waiting to retry holds its place.
	s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + "/fail"})
	waitCount(t, s, 0, KindBill, outRetried, 1)
	// One in flight (blocked), one queued.
	for i := range 2 {
		if !s.Send(Outgoing{Kind: KindWin, Partner: 1, URL: srv.URL + "/block"}) {
			t.Fatalf("Send %d refused", i)
		}
	}
	start := time.Now()
	if s.Send(Outgoing{Kind: KindLoss, Partner: 1, URL: srv.URL + "/block"}) {
		t.Fatal("Send past the queue size accepted")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a refused Send took %v", d)
	}
	if n := s.counted(1, KindLoss, outDropped); n != 1 {
		t.Errorf("%d dropped, want 1", n)
	}
	if v := gatherValue(t, s, "adx_dsp_notices_queued", nil); v != 3 {
		t.Errorf("adx_dsp_notices_queued = %v, want 3", v)
	}
	close(release)
	waitCount(t, s, 1, KindWin, outSent, 2)
	if !s.Send(Outgoing{Kind: KindLoss, Partner: 1, URL: srv.URL + "/block"}) {
		t.Error("Send refused after the queue emptied")
	}
	waitCount(t, s, 1, KindLoss, outSent, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) || s.counted(0, KindBill, outAbandoned) != 1 {
		t.Errorf("Close = %v and %d bills abandoned, want the deadline and the bill waiting for its retry", err, s.counted(0, KindBill, outAbandoned))
	}
}

// Close fires what is queued, retrying bills, and refuses new notices.
func TestSenderCloseDrains(t *testing.T) {
	const n = 40
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		if r.URL.Path == "/flaky" && attempt <= 2 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	s := NewSender(SenderOptions{Partners: []string{"dsp-a"}, Workers: 2, QueueSize: n + 1, RetryBackoff: time.Millisecond, BillAttempts: 5})
	for i := range n {
		if !s.Send(Outgoing{Kind: KindWin, Partner: 0, URL: fmt.Sprintf("%s/win?i=%d", srv.URL, i)}) {
			t.Fatalf("Send %d refused", i)
		}
	}
	s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + "/flaky"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, b := srv.count("/win"), srv.count("/flaky"); got != n || b != 3 {
		t.Errorf("after Close: %d wins and %d bill attempts reached the partner, want %d and 3", got, b, n)
	}
	if w, b := s.counted(0, KindWin, outSent), s.counted(0, KindBill, outSent); w != n || b != 1 {
		t.Errorf("after Close: %d wins and %d bills counted sent, want %d and 1", w, b, n)
	}
	if s.Send(Outgoing{Kind: KindWin, Partner: 0, URL: srv.URL + "/win"}) {
		t.Error("Send after Close accepted")
	}
	if n := s.counted(0, KindWin, outDropped); n != 1 {
		t.Errorf("Send after Close: %d dropped, want 1", n)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// Close gives up when its context ends: the bills waiting to retry, those
// queued and the firing in flight are abandoned, counted, and Close
// returns soon after, every goroutine ended.
func TestSenderCloseAbandons(t *testing.T) {
	inFlight := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	srv := startNoticeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		inFlight <- struct{}{}
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	s := NewSender(SenderOptions{Partners: []string{"dsp-a"}, Workers: 1, QueueSize: 10, BillAttempts: 100, RetryBackoff: time.Hour})
	for range 2 {
		s.Send(Outgoing{Kind: KindBill, Partner: 0, URL: srv.URL + "/fail"})
	}
	waitCount(t, s, 0, KindBill, outRetried, 2)
	s.Send(Outgoing{Kind: KindWin, Partner: 0, URL: srv.URL + "/block"})
	<-inFlight
	s.Send(Outgoing{Kind: KindLoss, Partner: 0, URL: srv.URL + "/block"}) // queued behind it
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cannot fire 4 ") {
		t.Errorf("Close = %v, want 4 abandoned and the deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v with a 100ms deadline", d)
	}
	select {
	case <-cancelled: // the partner saw its connection end
	case <-time.After(30 * time.Second):
		t.Error("the firing in flight was not cancelled")
	}
	for _, c := range []struct {
		kind byte
		want uint64
	}{{KindBill, 2}, {KindWin, 1}, {KindLoss, 1}} {
		if n := s.counted(0, c.kind, outAbandoned); n != c.want {
			t.Errorf("%s: %d abandoned, want %d", kindNames[kindIndex(c.kind)], n, c.want)
		}
	}
	if v := gatherValue(t, s, "adx_dsp_notices_queued", nil); v != 0 {
		t.Errorf("adx_dsp_notices_queued = %v after Close, want 0", v)
	}
}

// Sends from many goroutines while Close runs: every notice is either
// refused, fired or abandoned, never lost.
func TestSenderConcurrentClose(t *testing.T) {
	srv := startNoticeServer(t, func(http.ResponseWriter, *http.Request, int) {})
	s := NewSender(SenderOptions{Partners: []string{"dsp-a"}, Workers: 2, QueueSize: 8})
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if s.Send(Outgoing{Kind: KindWin, Partner: 0, URL: srv.URL + "/win"}) {
					accepted.Add(1)
				}
			}
		})
	}
	waittest.For(t, "some notices sent", func() bool { return s.counted(0, KindWin, outSent) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	sent, dropped := s.counted(0, KindWin, outSent), s.counted(0, KindWin, outDropped)
	if int64(sent) != accepted.Load() || sent+dropped != 800 {
		t.Errorf("%d accepted, %d sent, %d dropped of 800", accepted.Load(), sent, dropped)
	}
}

func TestSenderCollector(t *testing.T) {
	srv := startNoticeServer(t, func(http.ResponseWriter, *http.Request, int) {})
	s := testSender(t, SenderOptions{})
	s.Send(Outgoing{Kind: KindBill, Partner: 1, URL: srv.URL + "/bill"})
	s.Send(Outgoing{Kind: KindWin, Partner: 7, URL: srv.URL + "/win"}) // no such partner
	waitCount(t, s, 1, KindBill, outSent, 1)
	waitCount(t, s, 7, KindWin, outSent, 1)
	f := func(labels map[string]string, want float64) {
		t.Helper()
		if v := gatherValue(t, s, "adx_dsp_notices_total", labels); v != want {
			t.Errorf("adx_dsp_notices_total%v = %v, want %v", labels, v, want)
		}
	}
	f(map[string]string{"dsp": "dsp-b", "kind": "bill", "outcome": "sent"}, 1)
	f(map[string]string{"dsp": "dsp-a", "kind": "loss", "outcome": "failed"}, 0)
	f(map[string]string{"dsp": "unknown", "kind": "win", "outcome": "sent"}, 1)
	if err := testRegistry(s).Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "adx_dsp_notices_queued"})); err == nil {
		t.Error("the queue gauge is not described")
	}
}

// A partner added after the Sender started (a config reload) gets an
// index of its own and its own series; a known name keeps its index.
func TestSenderPartnerAdded(t *testing.T) {
	srv := startNoticeServer(t, func(http.ResponseWriter, *http.Request, int) {})
	s := testSender(t, SenderOptions{})
	if i := s.Partner("dsp-b"); i != 1 {
		t.Fatalf("Partner(dsp-b) = %d, want 1", i)
	}
	c := s.Partner("dsp-c")
	if c != 2 || s.Partner("dsp-c") != c {
		t.Fatalf("Partner(dsp-c) = %d, then %d, want 2 both times", c, s.Partner("dsp-c"))
	}
	s.Send(Outgoing{Kind: KindWin, Partner: c, URL: srv.URL + "/win"})
	waitCount(t, s, c, KindWin, outSent, 1)
	if v := gatherValue(t, s, "adx_dsp_notices_total", map[string]string{"dsp": "dsp-c", "kind": "win", "outcome": "sent"}); v != 1 {
		t.Errorf("dsp-c wins sent = %v, want 1", v)
	}
	if v := gatherValue(t, s, "adx_dsp_notices_total", map[string]string{"dsp": "dsp-c", "kind": "bill", "outcome": "failed"}); v != 0 {
		t.Errorf("dsp-c bills failed = %v, want 0", v)
	}
}

func testRegistry(s *Sender) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	return reg
}

// gatherValue returns the value of the one series of name with labels
// (nil: the only one), failing when there is none.
func gatherValue(t *testing.T, s *Sender, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := testRegistry(s).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

func TestBackoff(t *testing.T) {
	f := func(base time.Duration, attempt int, lo, hi time.Duration) {
		t.Helper()
		for range 100 {
			if w := backoff(base, attempt); w < lo || w > hi {
				t.Fatalf("backoff(%v, %d) = %v, want within [%v, %v]", base, attempt, w, lo, hi)
			}
		}
	}
	f(time.Second, 1, 500*time.Millisecond, time.Second)
	f(time.Second, 2, time.Second, 2*time.Second)
	f(time.Second, 4, 4*time.Second, 8*time.Second)
	f(time.Second, 7, 30*time.Second, time.Minute)
	f(time.Second, 1000, 30*time.Second, time.Minute)
	f(time.Hour, 1, 30*time.Second, time.Minute)
}
