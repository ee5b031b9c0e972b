package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/internal/waittest"
)

// TestReadyzWaitsForRatesFile: a configured exchange rates file that is not
// there yet keeps /readyz at 503 naming it, as a geo database does; once it
// arrives adx is ready, /version lists it, and /metrics has its age.
func TestReadyzWaitsForRatesFile(t *testing.T) {
	dir := t.TempDir()
	rates := filepath.Join(dir, "eurofxref-daily.xml")
	// The test file's date is fixed: a max_age of years keeps it fresh.
	_, _, admin := startAdx(t, "-currency.file", rates, "-currency.maxAge", "100000h")

	get := func(path string) (int, string) {
		t.Helper()
		return adminGet(t, admin, path)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "currency.rates") || !strings.Contains(body, rates) {
		t.Fatalf("/readyz without the rates file: %d %s, want 503 naming currency.rates and its path", code, body)
	}
	if _, metrics := get("/metrics"); strings.Contains(metrics, "adx_currency_rates_age_seconds") {
		t.Error("/metrics has adx_currency_rates_age_seconds before any rates loaded")
	}

	xml, err := os.ReadFile("../../currency/testdata/eurofxref-daily.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rates+".tmp", xml, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(rates+".tmp", rates); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "/readyz 200 after the rates file arrived", func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	if _, version := get("/version"); !strings.Contains(version, `"currency.rates"`) || !strings.Contains(version, "EUR 2026-12-02, 30 currencies") {
		t.Errorf("/version does not list the rates file:\n%s", version)
	}
	if _, metrics := get("/metrics"); !strings.Contains(metrics, "adx_currency_rates_age_seconds ") || !strings.Contains(metrics, `adx_data_last_reload_successful{file="currency.rates"} 1`) {
		t.Error("/metrics lacks adx_currency_rates_age_seconds or the reload series of currency.rates")
	}
}

// With the rates loaded, adx prices in the request's currency: a request
// whose cur is EUR, with a floor in EUR, gets the house bid (0.50 USD)
// converted to EUR, rounded down to the price precision.
func TestAnswersInTheRequestsCurrency(t *testing.T) {
	rates := filepath.Join(t.TempDir(), "eurofxref-daily.xml")
	xml, err := os.ReadFile("../../currency/testdata/eurofxref-daily.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rates, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	_, public, _ := startAdx(t, "-currency.file", rates, "-currency.maxAge", "100000h")
	table, err := currency.LoadRates(rates)
	if err != nil {
		t.Fatal(err)
	}
	want, err := table.Convert(500_000, "USD", "EUR", currency.Down)
	if err != nil {
		t.Fatal(err)
	}
	want = want.RoundDown(100) // auction.price_precision 0.0001

	body := `{"id":"eur","cur":["EUR","USD"],"imp":[{"id":"1","bidfloor":0.2,"bidfloorcur":"EUR","banner":{"w":300,"h":250}}],
		"site":{"page":"https://news.example/a"},"device":{"ua":"Mozilla/5.0","ip":"203.0.113.17"}}`
	resp, err := http.Post("http://"+public+"/openrtb2/auction", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var br openrtb2.BidResponse
	if err := json.NewDecoder(resp.Body).Decode(&br); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if br.Cur != "EUR" || len(br.SeatBid) != 1 || len(br.SeatBid[0].Bid) != 1 {
		t.Fatalf("response %+v, want one bid in EUR", br)
	}
	if got := br.SeatBid[0].Bid[0].Price; got != want.Float() {
		t.Errorf("price %v EUR, want 0.50 USD in EUR rounded down: %v", got, want.Float())
	}
}
