package notice

import (
	"encoding/base64"

	"github.com/adx-exchange/adx/currency"
	"testing"
)

func testValues() *Values {
	return &Values{AuctionID: "req 1&x", BidID: "b/1", ImpID: "imp-1", SeatID: "seat=7", AdID: "ad#9",
		Price: 1_500_000, BidPrice: 2_000_000, Currency: "USD"}
}

func TestExpand(t *testing.T) {
	v := testValues()
	f := func(name, s, wantMarkup, wantURL string) {
		t.Helper()
		if got := string(Expand(nil, s, v)); got != wantMarkup {
			t.Errorf("%s: Expand\n got %s\nwant %s", name, got, wantMarkup)
		}
		if got := string(ExpandURL(nil, s, v)); got != wantURL {
			t.Errorf("%s: ExpandURL\n got %s\nwant %s", name, got, wantURL)
		}
	}
	f("html adm", `<a href="https://dsp.example/c"><img src="https://dsp.example/i?p=${AUCTION_PRICE}&imp=${AUCTION_IMP_ID}"></a>`,
		`<a href="https://dsp.example/c"><img src="https://dsp.example/i?p=1.5&imp=imp-1"></a>`,
		`<a href="https://dsp.example/c"><img src="https://dsp.example/i?p=1.5&imp=imp-1"></a>`)
	f("vast with CDATA", `<VAST version="4.2"><Ad><InLine><Impression><![CDATA[https://dsp.example/imp?a=${AUCTION_ID}&p=${AUCTION_PRICE}&c=${AUCTION_CURRENCY}]]></Impression></InLine></Ad></VAST>`,
		`<VAST version="4.2"><Ad><InLine><Impression><![CDATA[https://dsp.example/imp?a=req 1&x&p=1.5&c=USD]]></Impression></InLine></Ad></VAST>`,
		`<VAST version="4.2"><Ad><InLine><Impression><![CDATA[https://dsp.example/imp?a=req+1%26x&p=1.5&c=USD]]></Impression></InLine></Ad></VAST>`)
	f("native tracker", `{"native":{"link":{"url":"https://dsp.example/click"},"imptrackers":["https://dsp.example/t?p=${AUCTION_PRICE}&mbr=${AUCTION_MBR}"]}}`,
		`{"native":{"link":{"url":"https://dsp.example/click"},"imptrackers":["https://dsp.example/t?p=1.5&mbr=0.75"]}}`,
		`{"native":{"link":{"url":"https://dsp.example/click"},"imptrackers":["https://dsp.example/t?p=1.5&mbr=0.75"]}}`)
	f("nurl with every id", "https://dsp.example/win?a=${AUCTION_ID}&b=${AUCTION_BID_ID}&i=${AUCTION_IMP_ID}&s=${AUCTION_SEAT_ID}&ad=${AUCTION_AD_ID}&l=${AUCTION_LOSS}&m=${AUCTION_MIN_TO_WIN}",
		"https://dsp.example/win?a=req 1&x&b=b/1&i=imp-1&s=seat=7&ad=ad#9&l=0&m=",
		"https://dsp.example/win?a=req+1%26x&b=b%2F1&i=imp-1&s=seat%3D7&ad=ad%239&l=0&m=")
	b64 := base64.StdEncoding.EncodeToString
	f("b64 forms", "p=${AUCTION_PRICE:B64}&a=${AUCTION_ID:B64}&c=${AUCTION_CURRENCY:B64}",
		"p="+b64([]byte("1.5"))+"&a="+b64([]byte("req 1&x"))+"&c="+b64([]byte("USD")),
		"p=MS41&a=cmVxIDEmeA%3D%3D&c=VVNE")
	f("unknown macros stay", "${AUCTION_MULTIPLIER} ${CLICK_URL} ${AUCTION_PRICE:ROT13} ${auction_price} ${} ${AUCTION_PRICE",
		"${AUCTION_MULTIPLIER} ${CLICK_URL} ${AUCTION_PRICE:ROT13} ${auction_price} ${} ${AUCTION_PRICE",
		"${AUCTION_MULTIPLIER} ${CLICK_URL} ${AUCTION_PRICE:ROT13} ${auction_price} ${} ${AUCTION_PRICE")
	f("nested and adjacent", "$${${AUCTION_PRICE}}${AUCTION_LOSS}${", "$${1.5}0${", "$${1.5}0${")
	f("a long unknown name is passed over", "${"+string(make([]byte, 40))+"}${AUCTION_IMP_ID}", "${"+string(make([]byte, 40))+"}imp-1", "${"+string(make([]byte, 40))+"}imp-1")
	f("no macro", "https://dsp.example/win?x=1", "https://dsp.example/win?x=1", "https://dsp.example/win?x=1")
}

func TestExpandPrices(t *testing.T) {
	f := func(price, bid, minToWin int64, want string) {
		t.Helper()
		v := &Values{Price: currency.Micros(price), BidPrice: currency.Micros(bid), MinToWin: currency.Micros(minToWin)}
		if got := string(Expand(nil, "${AUCTION_PRICE} ${AUCTION_MBR} ${AUCTION_MIN_TO_WIN}", v)); got != want {
			t.Errorf("price %d bid %d min %d: %q, want %q", price, bid, minToWin, got, want)
		}
	}
	f(1_500_000, 1_500_000, 0, "1.5 1 ")
	f(123, 246, 0, "0.000123 0.5 ")
	f(2_000_000, 3_000_000, 1_250_000, "2 0.666666 1.25")
	f(10_000_000_000, 10_000_000_000, 0, "10000 1 ")
	f(0, 0, 0, "0  ") // no bid price: no ratio
	f(2, 1, 0, "0.000002  ")
}

func TestExpandEncryptedPrice(t *testing.T) {
	c := testCrypter(t)
	v := testValues()
	v.Price, v.Crypter, v.IV = 100, c, testIV
	const token = "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw"
	f := func(s, want string) {
		t.Helper()
		if got := string(ExpandURL(nil, s, v)); got != want {
			t.Errorf("ExpandURL(%q) = %q, want %q", s, got, want)
		}
		if got := string(Expand(nil, s, v)); got != want {
			t.Errorf("Expand(%q) = %q, want %q", s, got, want)
		}
	}
	f("https://dsp.example/win?p=${AUCTION_PRICE}", "https://dsp.example/win?p="+token)
	f("p=${AUCTION_PRICE:B64}&c=${AUCTION_CURRENCY}", "p="+token+"&c=USD")
}
