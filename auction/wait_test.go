package auction

import (
	"net"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
)

// A remote bidder's wait is the DSP's answer time, within its latency; an
// in-process bidder waits for nothing; DemandWait is the longest wait.
func TestDemandWait(t *testing.T) {
	const dspDelay = 30 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		time.Sleep(dspDelay) // the DSP's own answer time
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	defer srv.Shutdown()

	dsp := NewHTTPBidder(config.Demand{Name: "dsp", Endpoint: "http://" + ln.Addr().String() + "/bid"}, config.Defaults().DSPClient, "USD")
	house := &staticBidder{name: "house", bids: []openrtb2.Bid{{ID: "h", ImpID: "1", Price: 1, AdM: "x", CrID: "c"}}}
	a := New([]Bidder{dsp, house}, Rules{Currency: "USD"}, nil)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	res := a.Run(req, time.Now().Add(10*time.Second))

	remote, local := res.Bidders[0], res.Bidders[1]
	if remote.Outcome != OutcomeNoBid {
		t.Fatalf("DSP outcome %v (%v), want a no-bid", remote.Outcome, remote.Err)
	}
	if remote.Wait < dspDelay || remote.Wait > remote.Latency {
		t.Errorf("DSP wait %v, latency %v: want the wait at least the DSP's %v and within the latency", remote.Wait, remote.Latency, dspDelay)
	}
	if local.Wait != 0 {
		t.Errorf("in-process bidder waited %v", local.Wait)
	}
	if res.DemandWait() != remote.Wait {
		t.Errorf("DemandWait %v, want the DSP's %v", res.DemandWait(), remote.Wait)
	}
}
