package currency

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	f := func(s string, want uint64) {
		t.Helper()
		got, err := parseRate(s)
		if err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	f("1", rateUnit)
	f("1.0842", 1_084_200_000_000)
	f("0.85710", 857_100_000_000)
	f("17671.52", 17_671_520_000_000_000)
	f("000162.370", 162_370_000_000_000)
	f("0.000000000001", 1)
	f("0.0000000000005", 1)                  // half up
	f("0.9223390518354547", 922_339_051_835) // 1/1.0842 as a float prints it: rounded to 12 places
	f("0.9223390518355", 922_339_051_836)
	f("1.0842e0", 1_084_200_000_000)
	f("10842E-4", 1_084_200_000_000)
	f("1.0842e+2", 108_420_000_000_000)
	f("1e7", 10_000_000*rateUnit)
	f("1e-12", 1)
	f("9999999.9999999999994", 9_999_999_999_999_999_999)
}

func TestParseRateRejects(t *testing.T) {
	f := func(s, want string) {
		t.Helper()
		got, err := parseRate(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseRate(%q) = %d, %v; want an error with %q", s, got, err, want)
		}
	}
	f("", "not a decimal number")
	f("abc", "not a decimal number")
	f(".5", "not a decimal number")
	f("1.", "not a decimal number")
	f("1e", "not a decimal number")
	f("1.0842 ", "not a decimal number")
	f("+1", "not a decimal number")
	f("0x10", "not a decimal number")
	f("NaN", "not a decimal number")
	f("Infinity", "not a decimal number")
	f("1,0842", "not a decimal number")
	f("-1.5", "not a positive rate")
	f("0", "not a positive rate")
	f("0.000", "not a positive rate")
	f("0e5", "not a positive rate")
	f("0.00000000000049", "below 0.000000000001")
	f("1e-13", "below 0.000000000001")
	f("1e-999999", "below 0.000000000001")
	f("1e-9999999", "out of range")
	f("10000000.000000000001", "above 10000000")
	f("99999999999999999999", "above 10000000")
	f("1e400", "above 10000000")
	f("1e1000000000", "out of range")
}

func TestParseFormats(t *testing.T) {
	load := func(name string) *Rates {
		t.Helper()
		r, err := LoadRates(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ecb, js, usd := load("eurofxref-daily.xml"), load("rates.json"), load("rates-usd.json")
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f := func(name string, r *Rates, base string, asOf time.Time, n int, rates map[string]string) {
		t.Helper()
		if r.Base() != base || !r.AsOf().Equal(asOf) || len(r.Currencies()) != n {
			t.Errorf("%s: base %s, as of %s, %d currencies; want %s, %s, %d", name, r.Base(), r.AsOf(), len(r.Currencies()), base, asOf, n)
		}
		for code, want := range rates {
			if got, ok := r.Rate(code); got != want || !ok {
				t.Errorf("%s: rate of %s = %q, want %q", name, code, got, want)
			}
		}
	}
	f("ECB", ecb, "EUR", day, 30, map[string]string{"EUR": "1", "USD": "1.0842", "GBP": "0.8571", "JPY": "162.37", "IDR": "17671.52", "CZK": "24.915"})
	f("JSON", js, "EUR", day, 17, map[string]string{"EUR": "1", "USD": "1.0842", "GBP": "0.8571", "JPY": "162.37"})
	f("JSON USD", usd, "USD", day.Add(15*time.Hour), 10, map[string]string{"USD": "1", "EUR": "0.922339", "VND": "25402.5", "KWD": "0.30712"})
	if ecb.Has("BGN") {
		t.Error("the 2026 ECB sample lists BGN")
	}
	// The two formats of the same rates convert alike.
	for _, code := range js.Currencies() {
		a, errA := ecb.Convert(1_500_000, code, "USD", Down)
		b, errB := js.Convert(1_500_000, code, "USD", Down)
		if a != b || errA != nil || errB != nil {
			t.Errorf("1.5 %s in USD: ECB %d, %v; JSON %d, %v", code, a, errA, b, errB)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	f := func(doc string, base string, n int) {
		t.Helper()
		r, err := ParseRates([]byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
			return
		}
		if r.Base() != base || len(r.Currencies()) != n {
			t.Errorf("%q: base %s, %d currencies; want %s, %d", doc, r.Base(), len(r.Currencies()), base, n)
		}
	}
	f(`{"base":"EUR","date":"2026-12-02","rates":{"USD":1.0842}}`, "EUR", 2)
	f(`{"base":"EUR","date":"2026-12-02","rates":{"USD":1.0842,"EUR":1.000}}`, "EUR", 2)
	f(`{"base":"EUR","date":"2026-12-02","rates":{"EUR":1, "USD":1.0842}}`, "EUR", 2)
	f("\xef\xbb\xbf \n {\"rates\":{\"GBP\":0.79},\"date\":\"2026-12-02T09:30:00+01:00\",\"base\":\"USD\"}\n", "USD", 2)
	ecb := func(day, cubes string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>` + day + cubes + `</Cube></Cube></gesmes:Envelope>`
	}
	f(ecb(`<Cube time="2026-12-02">`, `<Cube currency="USD" rate="1.0842"/><Cube currency="JPY" rate="162.37"/>`), "EUR", 3)
}

// TestParseRejects checks that every bad document is refused with an
// error naming the field and the problem.
func TestParseRejects(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		r, err := ParseRates([]byte(doc))
		if err == nil {
			t.Errorf("%q: accepted (%s), want an error", doc, r)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q, want it to contain %q", doc, err, w)
			}
		}
	}
	f(``, "empty")
	f(" \n\t", "empty")
	f(`USD,1.0842`, "neither JSON", "ECB")
	f(`[1]`, "neither JSON")

	const date = `"date":"2026-12-02"`
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1.0842}`, "not a JSON rates document")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1.0842}} {}`, "data after the object")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1.0842},"source":"ECB"}`, "unknown field", "source")
	f(`{`+date+`,"rates":{"USD":1.0842}}`, "base: missing")
	f(`{"base":"eur",`+date+`,"rates":{"USD":1.0842}}`, "base:", `"eur"`, "ISO-4217")
	f(`{"base":"EURO",`+date+`,"rates":{"USD":1.0842}}`, "base:", "ISO-4217")
	f(`{"base":1,`+date+`,"rates":{"USD":1.0842}}`, "not a JSON rates document", "base")
	f(`{"base":"EUR","rates":{"USD":1.0842}}`, "date: missing")
	f(`{"base":"EUR","date":"2026-13-02","rates":{"USD":1.0842}}`, "date:", `"2026-13-02"`)
	f(`{"base":"EUR","date":"02.12.2026","rates":{"USD":1.0842}}`, "date:", "YYYY-MM-DD")
	f(`{"base":"EUR",`+date+`}`, "rates: missing")
	f(`{"base":"EUR",`+date+`,"rates":null}`, "rates: want an object")
	f(`{"base":"EUR",`+date+`,"rates":[1.0842]}`, "rates: want an object")
	f(`{"base":"EUR",`+date+`,"rates":{}}`, "rates: no currency besides the base EUR")
	f(`{"base":"EUR",`+date+`,"rates":{"EUR":1}}`, "rates: no currency besides the base EUR")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":"1.0842"}}`, "rates.USD: want a number")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":null}}`, "rates.USD: want a number")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":{"rate":1}}}`, "rates.USD: want a number")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":-1.0842}}`, "rates.USD:", "not a positive rate")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":0}}`, "rates.USD:", "not a positive rate")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1e999}}`, "rates.USD:", "above 10000000")
	f(`{"base":"EUR",`+date+`,"rates":{"usd":1.0842}}`, "rates.usd:", "ISO-4217")
	f(`{"base":"EUR",`+date+`,"rates":{"US":1.0842}}`, "rates.US:", "ISO-4217")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1.0842,"USD":1.09}}`, "rates.USD:", "twice")
	f(`{"base":"EUR",`+date+`,"rates":{"USD":1.0842,"EUR":1.1}}`, "base currency EUR must have rate 1, got 1.1")

	ecb := func(day, cubes string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>` + day + cubes + `</Cube></Cube></gesmes:Envelope>`
	}
	const usd = `<Cube currency="USD" rate="1.0842"/>`
	f(`<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"><Cube>`, "not the ECB's XML")
	f(`<html><body>Service unavailable</body></html>`, "not the ECB's XML", "root element is html")
	f(`<Envelope><Cube><Cube time="2026-12-02">`+usd+`</Cube></Cube></Envelope>`, "not the ECB's XML", "gesmes:Envelope")
	f(`<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"><Cube></Cube></gesmes:Envelope>`, "no <Cube time=")
	f(ecb(`<Cube>`, usd), "time attribute", "missing")
	f(ecb(`<Cube time="2026-12-32">`, usd), "Cube time:", `"2026-12-32"`)
	f(ecb(`<Cube time="2026-12-02T15:00:00Z">`, usd), "Cube time:", "YYYY-MM-DD")
	f(ecb(`<Cube time="2026-12-02">`, ""), "no currency besides the base EUR")
	f(ecb(`<Cube time="2026-12-02">`, usd+`<Cube currency="JPY" rate="-162.37"/>`), `Cube[1] currency="JPY"`, "not a positive rate")
	f(ecb(`<Cube time="2026-12-02">`, usd+`<Cube currency="JPY" rate="162,37"/>`), `Cube[1] currency="JPY"`, "not a decimal number")
	f(ecb(`<Cube time="2026-12-02">`, usd+`<Cube currency="JPY"/>`), `Cube[1] currency="JPY"`, "not a decimal number")
	f(ecb(`<Cube time="2026-12-02">`, usd+`<Cube currency="Yen" rate="162.37"/>`), `Cube[1] currency="Yen"`, "ISO-4217")
	f(ecb(`<Cube time="2026-12-02">`, usd+usd), `Cube[1] currency="USD"`, "twice")
	f(ecb(`<Cube time="2026-12-02">`, usd+`<Cube currency="EUR" rate="0.9"/>`), "base currency EUR must have rate 1")
	f(ecb(`<Cube time="2026-12-02">`+usd+`</Cube><Cube time="2026-12-01">`, usd), "2 days of rates", "eurofxref-daily.xml")
}

func TestLoadRatesNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	f := func(name string, content []byte, want ...string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if content != nil {
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := LoadRates(path)
		if err == nil {
			t.Errorf("%s: loaded, want an error", name)
			return
		}
		for _, w := range append(want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q, want it to contain %q", name, err, w)
			}
		}
	}
	f("missing.json", nil, "no such file")
	f("bad.json", []byte(`{"base":"EUR","date":"2026-12-02","rates":{"USD":-1}}`), "rates.USD", "not a positive rate")
	f("huge.json", make([]byte, MaxFileBytes+1), "larger than")
	xml, err := os.ReadFile("testdata/eurofxref-daily.xml")
	if err != nil {
		t.Fatal(err)
	}
	f("truncated.xml", xml[:len(xml)/2], "not the ECB's XML")
}

// FuzzParseRates: no input crashes the parser, and a table it accepts
// holds only valid codes and rates, and converts without panicking, Down
// never above Up.
func FuzzParseRates(f *testing.F) {
	for _, name := range []string{"eurofxref-daily.xml", "rates.json", "rates-usd.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"base":"EUR","date":"2026-12-02","rates":{"USD":1.0842e0,"JPY":1e-12,"IDR":9999999.9999999999995}}`))
	f.Add([]byte(`<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"><Cube><Cube time="2026-12-02"><Cube currency="USD" rate="1.0842"/></Cube></Cube></gesmes:Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRates(data)
		if err != nil {
			if r != nil {
				t.Fatal("a table with an error")
			}
			return
		}
		codes := r.Currencies()
		if len(codes) < 2 || !r.Has(r.Base()) || r.AsOf().IsZero() {
			t.Fatalf("accepted table %s: %v", r, codes)
		}
		if rate, _ := r.Rate(r.Base()); rate != "1" {
			t.Fatalf("base %s has rate %s", r.Base(), rate)
		}
		for _, c := range codes {
			if !isCode(c) {
				t.Fatalf("accepted code %q", c)
			}
			v := r.rates[c]
			if v == 0 || v > maxRate*rateUnit {
				t.Fatalf("accepted rate %d for %s", v, c)
			}
			rate, _ := r.Rate(c)
			if back, err := parseRate(rate); err != nil || back != v {
				t.Fatalf("rate %s of %s reads back as %d, %v; want %d", rate, c, back, err, v)
			}
		}
		for _, m := range []Micros{0, 1, 1_500_000, -7, 1 << 62} {
			from, to := codes[0], codes[len(codes)-1]
			d, errD := r.Convert(m, from, to, Down)
			u, errU := r.Convert(m, from, to, Up)
			if errD == nil && errU == nil && (d > u || u-d > 1) {
				t.Fatalf("%d %s → %s: Down %d, Up %d", m, from, to, d, u)
			}
		}
	})
}
