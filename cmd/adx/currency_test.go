package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadyzWaitsForRatesFile: a configured exchange rates file that is not
// there yet keeps /readyz at 503 naming it, as a geo database does; once it
// arrives adx is ready, /version lists it, and /metrics has its age.
func TestReadyzWaitsForRatesFile(t *testing.T) {
	dir := t.TempDir()
	rates := filepath.Join(dir, "eurofxref-daily.xml")
	_, _, admin := startAdx(t, "-currency.file", rates)

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
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
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, body = get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the rates file arrived: %d %s", code, body)
		}
	}
	if _, version := get("/version"); !strings.Contains(version, `"currency.rates"`) || !strings.Contains(version, "EUR 2026-12-02, 30 currencies") {
		t.Errorf("/version does not list the rates file:\n%s", version)
	}
	if _, metrics := get("/metrics"); !strings.Contains(metrics, "adx_currency_rates_age_seconds ") || !strings.Contains(metrics, `adx_data_last_reload_successful{file="currency.rates"} 1`) {
		t.Error("/metrics lacks adx_currency_rates_age_seconds or the reload series of currency.rates")
	}
}
