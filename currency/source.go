package currency

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/internal/reload"
)

// FileName is the logical name of the rates file in logs, metrics
// (adx_data_* {file="currency.rates"}), /readyz and /version.
const FileName = "currency.rates"

// maxFuture is how far past the present a rates file's date may lie. A
// business day begins at most 14 hours before it does in UTC (UTC+14), so
// a date further ahead than a day is a mistake (a wrong year, a wrong
// clock), and a table that would never grow stale.
const maxFuture = 24 * time.Hour

// SourceOptions configure a Source.
type SourceOptions struct {
	// File is a rates file, JSON or the ECB's XML (the package doc); empty
	// means none: the Source then knows the exchange currency alone.
	File string
	// Exchange is the exchange currency (auction.currency). A rates file
	// must hold it, or it is rejected.
	Exchange string
	// MaxAge is the age past which rates are stale (Rates.Age); zero
	// means never.
	MaxAge time.Duration
	// ReloadInterval is the polling fallback of the file watch; zero means
	// reload.DefaultInterval, negative no polling.
	ReloadInterval time.Duration
	// Logger receives loads and rejections; nil discards them.
	Logger *slog.Logger
	// Metrics receives the file's reload series; nil records none.
	Metrics *reload.Metrics
	// StartPending opens a File that cannot be loaded yet (missing or
	// rejected) as pending rather than failing OpenSource: until a version
	// loads, every conversion between two currencies is ErrStaleRates,
	// and reload.CheckLoaded of Files names the file.
	StartPending bool
}

// Source serves the exchange rates in service: a rates file, watched and
// swapped in whole when it changes (a file that fails to parse or
// validate leaves the last good table in service), or without a file the
// exchange currency alone. Build it with OpenSource (or FixedSource); it
// is safe for concurrent use until Close. It is a prometheus.Collector of
// adx_currency_rates_age_seconds.
type Source struct {
	file   *reload.File[table] // nil: fixed
	fixed  *Rates              // the table without a file; while a file is pending, the exchange currency alone
	maxAge time.Duration
}

// table lets an immutable *Rates live in a reload.File: it holds no file
// or mapping, so closing it is nothing.
type table struct{ *Rates }

func (table) Close() error { return nil }

// OpenSource loads the rates file named in opts, checks that it holds
// opts.Exchange and that its date lies at most a day ahead, and watches
// it; every later version must pass the same checks. Without a file it returns a Source that
// converts the exchange currency to itself and knows no other. A file
// that cannot be loaded fails OpenSource with an error naming the file and
// the problem, unless opts.StartPending.
func OpenSource(opts SourceOptions) (*Source, error) {
	if !isCode(opts.Exchange) {
		return nil, fmt.Errorf("currency: the exchange currency %q is not an ISO-4217 code", opts.Exchange)
	}
	s := &Source{fixed: Identity(opts.Exchange), maxAge: opts.MaxAge}
	if opts.File == "" {
		return s, nil
	}
	exchange := opts.Exchange
	f, err := reload.Open(FileName, opts.File, func(path string) (table, error) {
		data, err := readFile(path)
		if err != nil {
			return table{}, err
		}
		r, err := ParseRates(data)
		if err != nil {
			return table{}, err
		}
		if !r.Has(exchange) {
			return table{}, fmt.Errorf("no rate for the exchange currency %s (auction.currency); the file has %d others", exchange, len(r.codes))
		}
		if ahead := r.AsOf().Sub(time.Now()); ahead > maxFuture {
			return table{}, fmt.Errorf("the rates' date %s lies %s in the future", r.AsOf().Format(time.RFC3339), ahead.Round(time.Hour))
		}
		return table{r}, nil
	}, reload.Options[table]{
		Interval:   opts.ReloadInterval,
		Logger:     opts.Logger,
		Metrics:    opts.Metrics,
		Version:    func(t table) string { return t.String() },
		HeapBacked: true, // a table is plain memory

		StartPending: opts.StartPending,
	})
	if err != nil {
		return nil, err
	}
	s.file = f
	return s, nil
}

// FixedSource returns a Source that serves r, never reloaded: for tests
// and tools. maxAge is SourceOptions.MaxAge.
func FixedSource(r *Rates, maxAge time.Duration) *Source {
	return &Source{fixed: r, maxAge: maxAge}
}

// Snapshot is the rates of one auction: the table in service when it
// began, and whether that table was stale then. It is a small value, kept
// for the auction and dropped with it; the table stays valid as long as it
// is held, whatever reloads meanwhile. The zero Snapshot has no table: it
// converts each currency to itself, and refuses every other conversion
// with ErrStaleRates.
type Snapshot struct {
	rates *Rates
	stale bool
}

// Snapshot returns the rates in service at now (the auction's start):
// one atomic load, no allocation. While a configured file has not loaded,
// it holds the exchange currency alone, and is stale.
func (s *Source) Snapshot(now time.Time) Snapshot {
	if s.file == nil {
		return Snapshot{rates: s.fixed, stale: s.staleAt(s.fixed, now)}
	}
	t, release := s.file.Acquire()
	release() // HeapBacked: the table stays valid while referenced
	if t.Rates == nil {
		return Snapshot{rates: s.fixed, stale: true}
	}
	return Snapshot{rates: t.Rates, stale: s.staleAt(t.Rates, now)}
}

// Stale tells whether the rates in service at now are stale: older than
// the maximum age, or, for a configured file, not loaded yet.
func (s *Source) Stale(now time.Time) bool { return s.Snapshot(now).stale }

func (s *Source) staleAt(r *Rates, now time.Time) bool {
	return s.maxAge > 0 && r.Age(now) > s.maxAge
}

// MaxAge returns the age past which rates are stale; zero means never.
func (s *Source) MaxAge() time.Duration { return s.maxAge }

// Files describes the rates file in service, for /version and readiness;
// nil without a file.
func (s *Source) Files() []reload.Info {
	if s.file == nil {
		return nil
	}
	return []reload.Info{s.file.Info()}
}

// Version describes the table in service, e.g. "EUR 2026-12-02, 30
// currencies", or says that there is no file, or none loaded yet.
func (s *Source) Version() string {
	if s.file == nil {
		return s.fixed.base + " only (no rates file)"
	}
	t, release := s.file.Acquire()
	release()
	if t.Rates == nil {
		return "none loaded yet"
	}
	return t.String()
}

// Close stops watching the rates file. Snapshot must not be called after
// Close.
func (s *Source) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// Rates returns the table of the snapshot: the file's, or the exchange
// currency alone (no file, or none loaded yet); nil only for the zero
// Snapshot.
func (sn Snapshot) Rates() *Rates { return sn.rates }

// Stale tells whether the table was stale at the snapshot's time.
func (sn Snapshot) Stale() bool { return sn.stale }

// Convert is Rates.Convert, except that a conversion between two
// currencies from stale rates is ErrStaleRates (checked before the
// currencies are looked up). The same currency converts to itself
// whatever the rates. It does not allocate, except for an
// UnknownCurrencyError.
func (sn Snapshot) Convert(m Micros, from, to string, round Rounding) (Micros, error) {
	if from == to {
		return m, nil
	}
	if sn.stale || sn.rates == nil {
		return 0, ErrStaleRates
	}
	return sn.rates.Convert(m, from, to, round)
}

var ageDesc = prometheus.NewDesc("adx_currency_rates_age_seconds",
	"Age of the exchange rates in service: now minus their date (the start, in UTC, of the business day the rates are for; for ECB rates up to about 15 hours before they were published). Absent without a rates file or before one has loaded. Past currency.max_age, conversions stop.",
	nil, nil)

// Describe implements prometheus.Collector.
func (s *Source) Describe(ch chan<- *prometheus.Desc) { ch <- ageDesc }

// Collect implements prometheus.Collector: adx_currency_rates_age_seconds
// of the table in service, when it has a date.
func (s *Source) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	r := s.Snapshot(now).rates
	if r.asOf.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, r.Age(now).Seconds())
}
