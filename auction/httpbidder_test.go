package auction

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
)

// TestHTTPBidderConnSettings: the dsp_client settings reach the bidder's
// connection pool. With one connection busy, a second call fails at once
// when conn_wait is 0, and waits for the connection when it is not.
func TestHTTPBidderConnSettings(t *testing.T) {
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	f := func(connWait time.Duration, wantErr error) {
		t.Helper()
		d := config.Demand{Name: "dsp", Type: config.DemandOpenRTB, Endpoint: "http://" + ln.Addr().String() + "/bid", MaxConns: 1}
		client := config.Defaults().DSPClient
		client.ConnWait = config.Duration(connWait)
		b := NewHTTPBidder(d, client.ForDemand(&d), "USD")

		first := make(chan error, 1)
		go func() {
			_, err := b.Bid(req, time.Now().Add(30*time.Second))
			first <- err
		}()
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the first call never reached the DSP")
		}
		second := make(chan error, 1)
		go func() {
			_, err := b.Bid(req, time.Now().Add(30*time.Second))
			second <- err
		}()
		if wantErr != nil {
			// Fails while the first call holds the one connection.
			if err := <-second; !errors.Is(err, wantErr) {
				t.Errorf("conn_wait %v: second call = %v, want %v", connWait, err, wantErr)
			}
			release <- struct{}{}
		} else {
			release <- struct{}{}
			<-arrived // the second call got the connection the first let go
			release <- struct{}{}
			if err := <-second; err != nil {
				t.Errorf("conn_wait %v: second call = %v, want it to wait and succeed", connWait, err)
			}
		}
		if err := <-first; err != nil {
			t.Errorf("conn_wait %v: first call = %v", connWait, err)
		}
	}
	f(0, fasthttp.ErrNoFreeConns)
	f(20*time.Second, nil)
}
