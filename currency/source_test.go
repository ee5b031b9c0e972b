package currency

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/adx-exchange/adx/internal/reload"
	"github.com/adx-exchange/adx/internal/waittest"
)

// put installs a rates file the way an updater does: written beside it,
// then renamed over it.
func put(t testing.TB, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonRates returns a JSON rates file of base EUR for day, USD at usd.
func jsonDoc(day, usd string) []byte {
	return []byte(`{"base":"EUR","date":"` + day + `","rates":{"USD":` + usd + `,"GBP":0.8571}}`)
}

// TestSourceWithoutFile: with no file adx knows the exchange currency
// alone, as before rates existed: it converts to itself, nothing else is
// known, nothing is stale, and there is no file to wait for.
func TestSourceWithoutFile(t *testing.T) {
	s, err := OpenSource(SourceOptions{Exchange: "USD", MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	sn := s.Snapshot(now)
	if sn.Stale() || s.Stale(now.Add(1000*time.Hour)) || s.Files() != nil || s.Version() != "USD only (no rates file)" {
		t.Errorf("stale %v, files %v, version %q", sn.Stale(), s.Files(), s.Version())
	}
	if got, err := sn.Convert(1_500_000, "USD", "USD", Up); got != 1_500_000 || err != nil {
		t.Errorf("USD to USD: %d, %v", got, err)
	}
	if _, err := sn.Convert(1_500_000, "EUR", "USD", Up); !sameUnknown(err, &UnknownCurrencyError{Code: "EUR"}) {
		t.Errorf("EUR to USD with no rates: %v, want an UnknownCurrencyError", err)
	}
	if err := reload.CheckLoaded(s.Files()); err != nil {
		t.Errorf("CheckLoaded with no file: %v", err)
	}
	if _, err := OpenSource(SourceOptions{Exchange: "usd"}); err == nil || !strings.Contains(err.Error(), `"usd"`) {
		t.Errorf("OpenSource with exchange currency usd: %v", err)
	}
}

// TestSourceReload replaces a real rates file on disk: a good version is
// swapped in, a bad one is rejected with its file and problem named and
// the last good table kept, and a good one after it loads again.
func TestSourceReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rates.json")
	put(t, path, jsonDoc("2026-12-01", "1.08"))
	s, err := OpenSource(SourceOptions{File: path, Exchange: "USD", ReloadInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info := func() reload.Info { t.Helper(); return s.Files()[0] }
	asOf := func() string { return s.Snapshot(time.Now()).Rates().AsOf().Format(time.DateOnly) }
	price := func() Micros {
		t.Helper()
		m, err := s.Snapshot(time.Now()).Convert(1_000_000, "EUR", "USD", Down)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if asOf() != "2026-12-01" || price() != 1_080_000 || info().Name != FileName || s.Version() != "EUR 2026-12-01, 3 currencies" {
		t.Fatalf("first load: as of %s, 1 EUR = %d, %+v", asOf(), price(), info())
	}

	// The ECB's file, renamed over the JSON one.
	put(t, path, readTestdata(t, "eurofxref-daily.xml"))
	waittest.For(t, "the ECB file", func() bool { return asOf() == "2026-12-02" })
	if price() != 1_084_200 || info().Reloads != 1 {
		t.Errorf("after the ECB file: 1 EUR = %d micros USD, %+v", price(), info())
	}

	// Bad files: each rejected, named, counted; the ECB table stays.
	for i, bad := range []struct {
		content []byte
		want    string
	}{
		{jsonDoc("2026-12-03", "-1.09"), "rates.USD: -1.09 is not a positive rate"},
		{readTestdata(t, "eurofxref-daily.xml")[:500], "not the ECB's XML"},
		{[]byte(`{"base":"EUR","date":"2026-12-03","rates":{"GBP":0.8571}}`), "no rate for the exchange currency USD"},
		{jsonDoc(time.Now().AddDate(1, 0, 0).Format(time.DateOnly), "1.09"), "in the future"},
	} {
		put(t, path, bad.content)
		waittest.For(t, "the rejection of bad file "+bad.want, func() bool { return info().Failures == uint64(i+1) })
		fi := info()
		for _, w := range []string{FileName, path, bad.want} {
			if !strings.Contains(fi.LastError, w) {
				t.Errorf("rejection %q does not name %q", fi.LastError, w)
			}
		}
		if fi.LastReloadOK || asOf() != "2026-12-02" || price() != 1_084_200 {
			t.Errorf("after %q: last reload ok %v, as of %s, 1 EUR = %d; want the ECB table in service", bad.want, fi.LastReloadOK, asOf(), price())
		}
	}

	// A good file again (the positive control of the waits above).
	put(t, path, jsonDoc("2026-12-03", "1.0901"))
	waittest.For(t, "the good file after the bad ones", func() bool { return asOf() == "2026-12-03" })
	if price() != 1_090_100 || !info().LastReloadOK || info().Reloads != 2 {
		t.Errorf("after the good file: 1 EUR = %d, %+v", price(), info())
	}
}

// TestSourcePending: a configured file that is not there yet leaves the
// Source pending: readiness names it, and conversions between currencies
// are stale, until the file arrives.
func TestSourcePending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eurofxref-daily.xml")
	if _, err := OpenSource(SourceOptions{File: path, Exchange: "USD"}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenSource of a missing file without StartPending: %v, want an error naming it", err)
	}
	s, err := OpenSource(SourceOptions{File: path, Exchange: "USD", ReloadInterval: 50 * time.Millisecond, StartPending: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	sn := s.Snapshot(now)
	if !sn.Stale() || !s.Stale(now) || s.Version() != "none loaded yet" {
		t.Errorf("pending: stale %v, version %q; want stale", sn.Stale(), s.Version())
	}
	if _, err := sn.Convert(1_000_000, "EUR", "USD", Up); !errors.Is(err, ErrStaleRates) {
		t.Errorf("EUR to USD while pending: %v, want ErrStaleRates", err)
	}
	if got, err := sn.Convert(1_000_000, "USD", "USD", Up); got != 1_000_000 || err != nil {
		t.Errorf("USD to USD while pending: %d, %v", got, err)
	}
	err = reload.CheckLoaded(s.Files())
	if err == nil || !strings.Contains(err.Error(), FileName) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("CheckLoaded while pending: %v, want it to name %s", err, FileName)
	}

	put(t, path, readTestdata(t, "eurofxref-daily.xml"))
	waittest.For(t, "the file to load", func() bool { return reload.CheckLoaded(s.Files()) == nil })
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if got, err := s.Snapshot(day).Convert(1_000_000, "EUR", "USD", Up); got != 1_084_200 || err != nil {
		t.Errorf("EUR to USD once loaded: %d, %v", got, err)
	}
}

// TestStale: rates are stale once older than the maximum age, not at it;
// stale rates convert no currency into another, yet each into itself.
func TestStale(t *testing.T) {
	r := testRates(t)
	day := r.AsOf()
	const maxAge = 144 * time.Hour
	s := FixedSource(r, maxAge)
	f := func(now time.Time, wantStale bool) {
		t.Helper()
		sn := s.Snapshot(now)
		if sn.Stale() != wantStale || s.Stale(now) != wantStale || sn.Rates() != r {
			t.Errorf("at %s: stale %v, want %v", now, sn.Stale(), wantStale)
		}
		got, err := sn.Convert(1_000_000, "EUR", "USD", Down)
		if wantStale && !errors.Is(err, ErrStaleRates) || !wantStale && (err != nil || got != 1_084_200) {
			t.Errorf("at %s: EUR to USD = %d, %v", now, got, err)
		}
		if _, err := sn.Convert(1_000_000, "EUR", "CHF", Down); wantStale && !errors.Is(err, ErrStaleRates) || !wantStale && !sameUnknown(err, &UnknownCurrencyError{Code: "CHF"}) {
			t.Errorf("at %s: EUR to CHF: %v", now, err)
		}
		if got, err := sn.Convert(1_000_000, "JPY", "JPY", Up); got != 1_000_000 || err != nil {
			t.Errorf("at %s: JPY to JPY = %d, %v", now, got, err)
		}
	}
	f(day.Add(-time.Hour), false)
	f(day, false)
	// Friday's ECB rates, in service until Tuesday afternoon across an
	// Easter weekend (Good Friday and Easter Monday have no rates).
	f(day.Add(5*24*time.Hour+16*time.Hour), false)
	f(day.Add(maxAge), false)
	f(day.Add(maxAge+time.Nanosecond), true)
	f(day.AddDate(1, 0, 0), true)

	if FixedSource(r, 0).Stale(day.AddDate(10, 0, 0)) {
		t.Error("a maximum age of zero must mean never stale")
	}
	var zero Snapshot
	if got, err := zero.Convert(7, "USD", "USD", Down); got != 7 || err != nil {
		t.Errorf("the zero Snapshot: USD to USD = %d, %v", got, err)
	}
	if _, err := zero.Convert(7, "EUR", "USD", Down); !errors.Is(err, ErrStaleRates) {
		t.Errorf("the zero Snapshot: EUR to USD: %v, want ErrStaleRates", err)
	}
}

// TestAgeMetric: adx_currency_rates_age_seconds is now minus the rates'
// date, and absent without a table with a date.
func TestAgeMetric(t *testing.T) {
	age := func(s *Source) (float64, bool) {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(s)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "adx_currency_rates_age_seconds" && mf.GetType() == dto.MetricType_GAUGE {
				return mf.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	r := testRates(t)
	before := time.Since(r.AsOf()).Seconds()
	got, ok := age(FixedSource(r, time.Hour))
	after := time.Since(r.AsOf()).Seconds()
	if !ok || got < before || got > after {
		t.Errorf("adx_currency_rates_age_seconds = %v (present %v), want within [%v, %v]", got, ok, before, after)
	}
	none, err := OpenSource(SourceOptions{Exchange: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := age(none); ok {
		t.Errorf("without a rates file adx_currency_rates_age_seconds = %v, want it absent", got)
	}
	pending, err := OpenSource(SourceOptions{File: filepath.Join(t.TempDir(), "missing.xml"), Exchange: "USD", StartPending: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	if got, ok := age(pending); ok {
		t.Errorf("before the file loads adx_currency_rates_age_seconds = %v, want it absent", got)
	}
}
