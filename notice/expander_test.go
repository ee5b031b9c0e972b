package notice

import (
	"net/url"
	"testing"
)

// testExpander has two partners: 0 takes its price in the clear, 1
// encrypted.
func testExpander(t testing.TB) *Expander {
	return &Expander{currency: "USD", crypters: []*PriceCrypter{nil, testCrypter(t)}}
}

func TestExpanderNotice(t *testing.T) {
	e := testExpander(t)
	c := claims // a bill of "seat 7", bid 3.00, charged 2.50
	c.URL = "https://dsp.example/n?a=${AUCTION_ID}&i=${AUCTION_IMP_ID}&b=${AUCTION_BID_ID}&s=${AUCTION_SEAT_ID}" +
		"&p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}&l=${AUCTION_LOSS}&m=${AUCTION_MIN_TO_WIN}&r=${AUCTION_MBR}&ad=${AUCTION_AD_ID}&x=${OTHER}"
	f := func(name string, partner int, price int64, loss int, minToWin int64, want map[string]string) url.Values {
		t.Helper()
		got := string(e.Notice([]byte("GET "), &c, partner, price, loss, minToWin))
		if got[:4] != "GET " {
			t.Fatalf("%s: %q does not extend dst", name, got)
		}
		u, err := url.Parse(got[4:])
		if err != nil {
			t.Fatalf("%s: %q: %v", name, got, err)
		}
		q := u.Query()
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q (in %s)", name, k, q.Get(k), v, got)
			}
		}
		return q
	}
	ids := map[string]string{"a": "auction-1", "i": "imp/1", "b": "b ü 9", "s": "seat 7", "c": "USD", "ad": "", "x": "${OTHER}"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ids {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	f("bill in the clear", 0, 1_250_000, 0, 0, with("p", "1.25", "l", "0", "m", "", "r", "0.416666"))
	f("loss in the clear", 0, 0, 102, 2_010_000, with("p", "0", "l", "102", "m", "2.01"))
	q := f("bill encrypted", 1, 1_250_000, 0, 0, with("l", "0"))
	micros, _, err := testCrypter(t).Decrypt(q.Get("p"))
	if err != nil || micros != 1_250_000 {
		t.Errorf("encrypted price %q decrypts to %d, %v; want 1250000", q.Get("p"), micros, err)
	}
	q2 := f("bill encrypted again", 1, 1_250_000, 0, 0, nil)
	if q2.Get("p") == q.Get("p") {
		t.Errorf("two notices share the encrypted price %q: want a new iv each", q.Get("p"))
	}

	unchanged := func(name string, c *Claims, partner int) {
		t.Helper()
		if got := string(e.Notice([]byte("x"), c, partner, 1, 0, 0)); got != "x" {
			t.Errorf("%s: %q, want dst unchanged", name, got)
		}
	}
	noURL := c
	noURL.URL = ""
	unchanged("no URL", &noURL, 0)
	unchanged("partner past the list", &c, 2)
	unchanged("negative partner", &c, -1)
}
