package auction

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
)

// recordingDSP is a real DSP on loopback that answers no-bid and keeps the
// requests it was sent.
type recordingDSP struct {
	url string
	mu  sync.Mutex
	got []openrtb2.BidRequest
	// bodies are the bodies as sent, for what decoding does not keep (an
	// empty object decodes as absent).
	bodies []string
}

func startRecordingDSP(t *testing.T) *recordingDSP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &recordingDSP{url: "http://" + ln.Addr().String() + "/bid"}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		var req openrtb2.BidRequest
		if err := openrtb.DecodeRequest(ctx.PostBody(), &req); err != nil {
			t.Errorf("the DSP was sent a body that does not decode: %v: %s", err, ctx.PostBody())
		}
		d.mu.Lock()
		d.got = append(d.got, req)
		d.bodies = append(d.bodies, string(ctx.PostBody()))
		d.mu.Unlock()
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

func (d *recordingDSP) requests() []openrtb2.BidRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]openrtb2.BidRequest(nil), d.got...)
}

// sent returns the bodies the DSP was sent, in order.
func (d *recordingDSP) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bodies...)
}

// Bidders taking the same media share one encoding of the request; each
// gets its own tmax and only the imps of its media; a bidder with none is
// not called.
func TestFanOutByMedia(t *testing.T) {
	all1, all2, video, audio := startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t)
	bidder := func(name string, d *recordingDSP, media ...string) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: d.url, MediaTypes: media}, config.Defaults().DSPClient, "USD")
	}
	a := New([]Bidder{bidder("all1", all1), bidder("all2", all2), bidder("video", video, "video"), bidder("audio", audio, "audio")}, Rules{Currency: "USD"}, nil)
	req := &openrtb2.BidRequest{ID: "r", TMax: 500, Imp: []openrtb2.Imp{
		{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}},
		{ID: "2", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}}},
	}}
	res := a.Run(req, time.Now().Add(2*time.Second))
	want := []Outcome{OutcomeNoBid, OutcomeNoBid, OutcomeNoBid, OutcomeNotEligible}
	for i, br := range res.Bidders {
		if br.Outcome != want[i] {
			t.Errorf("%s: outcome %v (%v), want %v", br.Name, br.Outcome, br.Err, want[i])
		}
	}
	for _, c := range []struct {
		name string
		d    *recordingDSP
		imps []string
	}{{"all1", all1, []string{"1", "2"}}, {"all2", all2, []string{"1", "2"}}, {"video", video, []string{"2"}}, {"audio", audio, nil}} {
		got := c.d.requests()
		if len(c.imps) == 0 {
			if len(got) != 0 {
				t.Errorf("%s was called with no imp of its media", c.name)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s got %d requests, want 1", c.name, len(got))
		}
		r := got[0]
		var ids []string
		for _, imp := range r.Imp {
			ids = append(ids, imp.ID)
		}
		if r.ID != "r" || r.TMax <= 0 || r.TMax > 2000 || len(ids) != len(c.imps) || ids[0] != c.imps[0] {
			t.Errorf("%s was sent id %q, tmax %d, imps %v; want id r, the time left (0-2000 ms), imps %v", c.name, r.ID, r.TMax, ids, c.imps)
		}
	}
	if req.TMax != 500 || len(req.Imp) != 2 {
		t.Errorf("the auction changed the request: tmax %d, %d imps", req.TMax, len(req.Imp))
	}
}

// Remote calls run on workers that are reused from one auction to the
// next, and that exit once idle.
func TestWorkersAreReusedThenRetire(t *testing.T) {
	d := startRecordingDSP(t)
	a := New([]Bidder{NewHTTPBidder(config.Demand{Name: "dsp", Endpoint: d.url}, config.Defaults().DSPClient, "USD")}, Rules{Currency: "USD"}, nil)
	a.workers.maxIdle = 100 * time.Millisecond
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("waited 30s for %s", what)
			}
		}
	}
	for i := range 20 {
		if res := a.Run(req, time.Now().Add(5*time.Second)); res.Bidders[0].Outcome != OutcomeNoBid {
			t.Fatalf("auction %d: outcome %v (%v)", i, res.Bidders[0].Outcome, res.Bidders[0].Err)
		}
		// The worker is back in the pool just after sending its answer.
		waitFor("the worker to be idle", func() bool { return a.workers.idleWorkers() == 1 })
	}
	waitFor("the idle worker to exit", func() bool { return a.workers.idleWorkers() == 0 })
	if res := a.Run(req, time.Now().Add(5*time.Second)); res.Bidders[0].Outcome != OutcomeNoBid {
		t.Fatalf("after the workers exited: outcome %v (%v)", res.Bidders[0].Outcome, res.Bidders[0].Err)
	}
	if n := len(d.requests()); n != 21 {
		t.Errorf("the DSP got %d requests, want 21", n)
	}
}

// countingHolder counts its holds and releases, and signals each Release.
type countingHolder struct {
	held, releases atomic.Int32
	released       chan struct{}
}

func (h *countingHolder) Hold() { h.held.Add(1) }
func (h *countingHolder) Release() {
	h.releases.Add(1)
	if h.held.Add(-1) < 0 {
		panic("released more than held")
	}
	h.released <- struct{}{}
}

// Each remote call holds RunOptions.Holder from before it starts until it
// ends, a call that times out too; a bidder not called never holds it.
func TestCallsHoldTheRequest(t *testing.T) {
	fast := startRecordingDSP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	slow := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		<-gate
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	go slow.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() { slow.Shutdown() })
	t.Cleanup(func() { close(gate) }) // first: the handler returns
	bidder := func(name, url string, media ...string) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: url, MediaTypes: media}, config.Defaults().DSPClient, "USD")
	}
	a := New([]Bidder{bidder("fast", fast.url), bidder("slow", "http://"+ln.Addr().String()+"/bid"), bidder("audio", fast.url, "audio")},
		Rules{Currency: "USD"}, nil)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	h := &countingHolder{released: make(chan struct{}, 3)}
	res := a.RunWith(req, time.Now().Add(100*time.Millisecond), &RunOptions{Holder: h})
	if res.Bidders[0].Outcome != OutcomeNoBid || res.Bidders[1].Outcome != OutcomeTimeout || res.Bidders[2].Outcome != OutcomeNotEligible {
		t.Fatalf("outcomes %v, %v and %v; want a no-bid, a timeout and not eligible", res.Bidders[0].Outcome, res.Bidders[1].Outcome, res.Bidders[2].Outcome)
	}
	for range 2 { // both calls end
		select {
		case <-h.released:
		case <-time.After(30 * time.Second):
			t.Fatalf("waited 30s for the calls to release the request: %d released", h.releases.Load())
		}
	}
	if n, r := h.held.Load(), h.releases.Load(); n != 0 || r != 2 {
		t.Errorf("after both calls, %d holds and %d releases, want 0 and 2", n, r)
	}
}

// lateBidder is a remote bidder whose first call answers only once gate
// is closed, with an error, and whose later calls answer at once with no
// bid.
type lateBidder struct {
	gate  chan struct{}
	calls atomic.Int32
}

func (*lateBidder) Name() string { return "late" }

func (b *lateBidder) Bid(*openrtb2.BidRequest, time.Time) ([]openrtb2.Bid, error) {
	if b.calls.Add(1) == 1 {
		<-b.gate
		return nil, errLateAnswer
	}
	return nil, nil
}

var errLateAnswer = errors.New("the first auction's late answer")

// An auction lent RunOptions.Answers collects its own calls' answers, not
// the late answers a previous auction stopped waiting for.
func TestAnswersAreReused(t *testing.T) {
	b := &lateBidder{gate: make(chan struct{})}
	a := New([]Bidder{b}, Rules{Currency: "USD"}, nil)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	var answers Answers
	h := &countingHolder{released: make(chan struct{}, 1)}
	res := a.RunWith(req, time.Now().Add(20*time.Millisecond), &RunOptions{Holder: h, Answers: &answers})
	if o := res.Bidders[0].Outcome; o != OutcomeTimeout {
		t.Fatalf("first auction: %v, want a timeout", o)
	}
	first := answers.ch
	close(b.gate) // the call answers after its auction stopped waiting
	select {
	case <-h.released:
	case <-time.After(30 * time.Second):
		t.Fatal("waited 30s for the late call to end")
	}
	if len(answers.ch) != 1 {
		t.Fatalf("%d answers wait after the first auction, want its late one", len(answers.ch))
	}
	res = a.RunWith(req, time.Now().Add(30*time.Second), &RunOptions{Holder: h, Answers: &answers})
	if br := res.Bidders[0]; br.Outcome != OutcomeNoBid || br.Err != nil {
		t.Errorf("second auction: %v (%v), want its own call's no-bid", br.Outcome, br.Err)
	}
	if answers.ch != first {
		t.Error("the second auction made a channel of its own")
	}
}
