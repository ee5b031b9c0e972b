package server

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/adx-exchange/adx/notice"
)

// TestNoticeMacros runs a DSP whose markup and win notice hold macros: the
// SSP receives them expanded with the winner's values, and the partner with
// price encryption gets a token that decrypts to its charge.
func TestNoticeMacros(t *testing.T) {
	const (
		encKey   = "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o="
		integKey = "arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo="
	)
	dsp := startFakeDSP(t, dspConfig{Price: 2.5,
		AdM:  `<img src="https://dsp.example/i?p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}&x=${UNKNOWN}">`,
		NURL: "https://dsp.example/win?a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&s=${AUCTION_SEAT_ID}&p=${AUCTION_PRICE}&mbr=${AUCTION_MBR}"})
	const req = `{"id":"req 1","tmax":300,"imp":[{"id":"1","banner":{"w":300,"h":250}}],
 "site":{"page":"https://news.example/a"},"device":{"ua":"Mozilla/5.0","ip":"192.0.2.1"}}`
	f := func(name, encryption string, check func(price string)) {
		t.Helper()
		url := startPublic(t, `
auction:
  take_rate: 0.2
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "`+dsp+`/bid"
    timeout: 250ms`+encryption+`
`)
		resp := decodeResponse(t, post(t, url, []byte(req), nil))
		bid := resp.SeatBid[0].Bid[0]
		if bid.Price != 2 { // 2.5 less the 20% take rate
			t.Errorf("%s: price %v, want 2", name, bid.Price)
		}
		adm, nurl := parseNotice(t, bid.AdM[len(`<img src="`):len(bid.AdM)-2]), parseNotice(t, bid.NURL)
		if adm.Get("c") != "USD" || adm.Get("x") != "${UNKNOWN}" {
			t.Errorf("%s: adm %q: want the currency expanded and the unknown macro kept", name, bid.AdM)
		}
		if nurl.Get("a") != "req 1" || nurl.Get("i") != "1" || nurl.Get("s") != "fake" || nurl.Get("mbr") != "1" {
			t.Errorf("%s: nurl %q, want the request id, imp id, seat and a market bid ratio of 1", name, bid.NURL)
		}
		if adm.Get("p") != nurl.Get("p") {
			t.Errorf("%s: adm price %q, nurl price %q: want one price", name, adm.Get("p"), nurl.Get("p"))
		}
		check(nurl.Get("p"))
	}
	// First price: the DSP is charged its bid, 2.5 (the SSP sees 2).
	f("in the clear", "", func(price string) {
		if price != "2.5" {
			t.Errorf("price %q, want 2.5", price)
		}
	})
	f("encrypted", `
    price_encryption:
      encryption_key: "`+encKey+`"
      integrity_key: "`+integKey+`"`, func(price string) {
		c, err := notice.NewPriceCrypter(encKey, integKey)
		if err != nil {
			t.Fatal(err)
		}
		micros, _, err := c.Decrypt(price)
		if err != nil || micros != 2_500_000 {
			t.Errorf("token %q decrypts to %d, %v; want 2500000 micros", price, micros, err)
		}
	})
}

// parseNotice returns the query of a notice URL.
func parseNotice(t *testing.T, s string) url.Values {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("notice %s: %v", strconv.Quote(s), err)
	}
	return u.Query()
}

// TestNoticeMacrosPerWinner checks that each bid is expanded with its own
// winner's values when two partners win an imp each, the second listed
// first in the response.
func TestNoticeMacrosPerWinner(t *testing.T) {
	dsp := startFakeDSP(t, dspConfig{Price: 3, NURL: "https://dsp.example/win?i=${AUCTION_IMP_ID}&p=${AUCTION_PRICE}&s=${AUCTION_SEAT_ID}"})
	url := startPublic(t, `
demand:
  - name: house
    type: house
    line_items:
      - {id: v, cpm: 2.25, formats: [video], adm: "<VAST><![CDATA[https://adx.example/i?p=${AUCTION_PRICE}&i=${AUCTION_IMP_ID}&s=${AUCTION_SEAT_ID}]]></VAST>"}
  - name: dsp-a
    type: openrtb
    endpoint: "`+dsp+`/bid"
    timeout: 250ms
    media_types: [banner]
`)
	resp := decodeResponse(t, post(t, url, []byte(twoImps), nil))
	got := map[string]string{}
	for _, sb := range resp.SeatBid {
		for _, b := range sb.Bid {
			got[b.ImpID] = b.AdM + " " + b.NURL
		}
	}
	want := map[string]string{
		"1": "<div>fake ad</div> https://dsp.example/win?i=1&p=3&s=fake",
		"2": "<VAST><![CDATA[https://adx.example/i?p=2.25&i=2&s=house]]></VAST> ",
	}
	for imp, w := range want {
		if got[imp] != w {
			t.Errorf("imp %s: got %q, want %q", imp, got[imp], w)
		}
	}
}
