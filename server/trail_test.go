package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/notice"
)

// hit is one notice a demand partner received.
type hit struct {
	url, key string
}

// startNoticeReceiver starts a demand partner's notice endpoint: a real
// HTTP server that hands every request it gets to the returned channel.
func startNoticeReceiver(t *testing.T) (string, <-chan hit) {
	t.Helper()
	hits := make(chan hit, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- hit{url: r.URL.RequestURI(), key: r.Header.Get("Idempotency-Key")}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// nextHit waits for the partner's next notice.
func nextHit(t *testing.T, hits <-chan hit) hit {
	t.Helper()
	select {
	case h := <-hits:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("the demand partner's notice never arrived")
		return hit{}
	}
}

// testTrail builds the notice trail and an event stream into a file, for
// the demand partners named.
func testTrail(t testing.TB, partners ...string) (Notices, *events.Stream, string) {
	t.Helper()
	signer, err := notice.NewSigner([]notice.Key{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sender := notice.NewSender(notice.SenderOptions{Partners: partners, QueueSize: 64, Workers: 2, Timeout: 5 * time.Second,
		BillAttempts: 3, RetryBackoff: 10 * time.Millisecond})
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	sink, err := events.OpenFile(events.FileOptions{Path: path, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := events.Open(events.Options{Sink: sink, Buffer: 1024, SpillDir: filepath.Join(dir, "spill"),
		SpillMaxBytes: 1 << 20, SinkTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sender.Close(ctx)
		stream.Close(ctx)
	})
	return Notices{Signer: signer, Replay: notice.NewReplayGuard(1024), Sender: sender}, stream, path
}

// readEvents closes the stream and returns the events in its file.
func readEvents(t *testing.T, stream *events.Stream, path string) []events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stream.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []events.Event
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var e events.Event
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatalf("event %q: %v", lines.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// fire fires a notice URL as an SSP does, its macros filled with values.
func fire(t *testing.T, u string, values map[string]string) int {
	t.Helper()
	for k, v := range values {
		u = strings.ReplaceAll(u, "${"+k+"}", v)
	}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNoticeTrail runs an auction between two DSPs with notice URLs, then
// fires the exchange's notices as the SSP would: each accepted one is
// recorded and passed on to the winner with its own price, the loser
// hears of its loss at once, and forged, replayed, expired and misplaced
// notices are refused and never reach a DSP.
func TestNoticeTrail(t *testing.T) {
	recv, hits := startNoticeReceiver(t)
	winner := startFakeDSP(t, dspConfig{Price: 2.5,
		NURL: recv + "/win?p=${AUCTION_PRICE}&a=${AUCTION_ID}",
		BURL: recv + "/bill?p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}",
		LURL: recv + "/loss?r=${AUCTION_LOSS}"})
	loser := startFakeDSP(t, dspConfig{Price: 1, LURL: recv + "/lost?r=${AUCTION_LOSS}&m=${AUCTION_MIN_TO_WIN}&b=${AUCTION_BID_ID}"})
	blocked := startFakeDSP(t, dspConfig{Price: 3, Seat: "blocked-seat", LURL: recv + "/blocked?r=${AUCTION_LOSS}&m=${AUCTION_MIN_TO_WIN}"})
	trail, stream, path := testTrail(t, "dsp-a", "dsp-b", "dsp-c")
	url := startPublicWith(t, `
auction:
  take_rate: 0.2
events:
  auction_sample: 1
supply:
  - name: ssp-one
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "`+winner+`/bid"
    timeout: 250ms
  - name: dsp-b
    type: openrtb
    endpoint: "`+loser+`/bid"
    timeout: 250ms
  - name: dsp-c
    type: openrtb
    endpoint: "`+blocked+`/bid"
    timeout: 250ms
`, Options{Notices: trail, Events: stream})
	const req = `{"id":"req-1","test":1,"tmax":300,"bseat":["blocked-seat"],"imp":[{"id":"1","banner":{"w":300,"h":250}}],
 "site":{"page":"https://news.example/a"},"device":{"ua":"Mozilla/5.0","ip":"192.0.2.1"}}`
	resp := decodeResponse(t, post(t, url+"?ssp=ssp-one", []byte(req), nil))
	bid := resp.SeatBid[0].Bid[0]
	base := strings.TrimSuffix(url, AuctionPath)
	for _, c := range []struct{ got, path, macros string }{
		{bid.NURL, WinPath, "&price=${AUCTION_PRICE}"},
		{bid.BURL, BillPath, "&price=${AUCTION_PRICE}"},
		{bid.LURL, LossPath, "&reason=${AUCTION_LOSS}&mtw=${AUCTION_MIN_TO_WIN}"},
	} {
		if !strings.HasPrefix(c.got, base+c.path+"?t=") || !strings.HasSuffix(c.got, c.macros) || strings.Contains(c.got, recv) {
			t.Errorf("notice URL %q: want the exchange's %s with a token and the SSP's macros, no DSP URL in the clear", c.got, c.path)
		}
	}
	// The losers of adx's own auction hear at once: outbid (102) with 2.5
	// to win, and a blocked seat (104).
	losses := map[string]string{}
	for range 2 {
		h := nextHit(t, hits)
		losses[h.url] = h.key
	}
	if losses["/lost?r=102&m=2.5&b=b0"] != "l:ssp-one:req-1:1:dsp-b:b0" || losses["/blocked?r=104&m=2.5"] != "l:ssp-one:req-1:1:dsp-c:b0" {
		t.Errorf("losers' notices %v, want /lost?r=102&m=2.5&b=b0 and /blocked?r=104&m=2.5, each with its own key", losses)
	}

	// The SSP bills at the price it was answered, 2: the DSP is billed
	// its charge, 2.5, once.
	if s := fire(t, bid.BURL, map[string]string{"AUCTION_PRICE": "2"}); s != http.StatusNoContent {
		t.Fatalf("bill: status %d, want 204", s)
	}
	if h := nextHit(t, hits); h.url != "/bill?p=2.5&c=USD" || h.key != "b:ssp-one:req-1:1" {
		t.Errorf("DSP's billing notice %+v, want /bill?p=2.5&c=USD with key b:ssp-one:req-1:1", h)
	}
	// The SSP won paying 1.6 (its own second price): the DSP pays
	// 1.6 × 2.5 / 2 = 2.
	if s := fire(t, bid.NURL, map[string]string{"AUCTION_PRICE": "1.6"}); s != http.StatusNoContent {
		t.Fatalf("win: status %d, want 204", s)
	}
	if h := nextHit(t, hits); h.url != "/win?p=2&a=req-1" {
		t.Errorf("DSP's win notice %+v, want /win?p=2&a=req-1", h)
	}

	// Refused: none of these reaches the DSP.
	tampered := []byte(bid.BURL)
	i := strings.Index(bid.BURL, "&price=") - 2
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A'] // another MAC
	expired := base + BillPath + "?t=" + string(trail.Signer.Sign(nil, &notice.Claims{Kind: notice.KindBill, AuctionID: "req-1", BidID: "b0", DSP: "dsp-a"}, time.Now().Add(-2*time.Hour))) + "&price=2"
	for _, c := range []struct {
		name, url string
		status    int
	}{
		{"replayed", bid.BURL, http.StatusConflict},
		{"tampered", string(tampered), http.StatusForbidden},
		{"expired", expired, http.StatusGone},
		{"a billing token at /win", strings.Replace(bid.BURL, BillPath+"?", WinPath+"?", 1), http.StatusBadRequest},
		{"no token", base + BillPath + "?price=2", http.StatusBadRequest},
		{"not a token", base + WinPath + "?t=garbage", http.StatusBadRequest},
	} {
		if s := fire(t, c.url, map[string]string{"AUCTION_PRICE": "2"}); s != c.status {
			t.Errorf("%s: status %d, want %d", c.name, s, c.status)
		}
	}

	evs := readEvents(t, stream, path)
	select {
	case h := <-hits:
		t.Errorf("a refused notice reached the DSP: %+v", h)
	default:
	}
	byType := map[events.Type][]events.Event{}
	for _, e := range evs {
		byType[e.Type] = append(byType[e.Type], e)
	}
	if len(evs) != 3 || len(byType[events.Auction]) != 1 || len(byType[events.Bill]) != 1 || len(byType[events.Win]) != 1 {
		t.Fatalf("events %+v: want one auction, one bill, one win", evs)
	}
	b := byType[events.Bill][0]
	if b.ID != "b:ssp-one:req-1:1" || !b.Test || b.SSP != "ssp-one" || b.DSP != "dsp-a" || b.Currency != "USD" || b.BidPrice != 2_500_000 ||
		b.Charge != 2_500_000 || b.Clear != 2_000_000 || b.SSPPrice != 2_000_000 || b.SSPCurrency != "USD" || b.DSPPrice != 2_500_000 {
		t.Errorf("bill event %+v", b)
	}
	if w := byType[events.Win][0]; w.SSPPrice != 1_600_000 || w.DSPPrice != 2_000_000 {
		t.Errorf("win event %+v: want the SSP's 1.6 and the DSP's 2", w)
	}
	a := byType[events.Auction][0]
	if a.ID != "a:ssp-one:req-1" || !a.Test || a.Imps != 1 || len(a.Bids) != 3 {
		t.Fatalf("auction event %+v", a)
	}
	for _, eb := range a.Bids {
		want := map[string]string{"dsp-a": events.BidWon, "dsp-b": events.BidLost, "dsp-c": "blocked_seat"}[eb.DSP]
		if eb.Status != want {
			t.Errorf("auction event bid %+v: status %q, want %q", eb, eb.Status, want)
		}
	}
}
