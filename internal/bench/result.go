package bench

import (
	"encoding/base64"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/goccy/go-json"
)

// ResultVersion is the version of the result file format written by this
// package; see RESULT-FORMAT.md. It changes only when a key changes meaning
// or goes away; new keys may appear without a version change.
const ResultVersion = 1

// Result is the outcome of one `adx bench run`, as written to result.json.
// Its JSON form is documented in RESULT-FORMAT.md; keep the two in step.
type Result struct {
	Version       int       `json:"version"`
	Target        string    `json:"target"`
	Started       time.Time `json:"started"`
	DurationS     float64   `json:"duration_s"`
	Arrival       string    `json:"arrival"`
	RequestedRate float64   `json:"requested_rate"`
	AchievedRate  float64   `json:"achieved_rate"`

	Sent      int64 `json:"sent"`
	Completed int64 `json:"completed"`
	LateSends int64 `json:"late_sends"`
	Dropped   int64 `json:"dropped"`
	Missed    int64 `json:"missed"`

	Status     map[string]int64 `json:"status"`
	Errors     int64            `json:"errors"`
	Timeouts   int64            `json:"timeouts"`
	ErrorKinds map[string]int64 `json:"error_kinds"`

	LatencyMS Percentiles `json:"latency_ms"`
	ServiceMS Percentiles `json:"service_ms"`
	SendLagMS Percentiles `json:"send_lag_ms"`

	Histogram Histograms `json:"histogram"`
	Intervals []Interval `json:"intervals"`
	Generator Generator  `json:"generator"`
	Warnings  []string   `json:"warnings"`
}

// Percentiles summarises one latency distribution, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Histograms holds the whole-run histograms in HdrHistogram's compressed,
// base64 log encoding (V2, the form HistogramLogWriter writes), values in
// Unit, so that runs can be merged and re-analysed.
type Histograms struct {
	Unit    string `json:"unit"`
	Latency string `json:"latency"`
	Service string `json:"service"`
}

// Interval is one second of a run (the last one may be shorter), by
// completion time for latencies and by send time for sends.
type Interval struct {
	T         float64     `json:"t"` // seconds since Started, at the interval's end
	Sent      int64       `json:"sent"`
	Completed int64       `json:"completed"`
	Late      int64       `json:"late"`
	Dropped   int64       `json:"dropped"`
	Errors    int64       `json:"errors"`
	Timeouts  int64       `json:"timeouts"`
	Rate      float64     `json:"rate"` // sends per second within the interval
	LatencyMS Percentiles `json:"latency_ms"`
	ServiceMS Percentiles `json:"service_ms"`
}

// Generator describes the load generator's own settings and health.
type Generator struct {
	GOMAXPROCS     int     `json:"gomaxprocs"`
	Conns          int     `json:"conns"`
	MaxInFlight    int     `json:"max_in_flight"`
	TimeoutMS      float64 `json:"timeout_ms"`
	LateMS         float64 `json:"late_threshold_ms"`
	CPUUtilization float64 `json:"cpu_utilization"` // process CPU time / (wall time * GOMAXPROCS); -1 if unknown
	TrafficBodies  int     `json:"traffic_bodies"`
}

// Histogram bounds: 1 µs to 5 minutes, 3 significant digits.
const (
	histLowest  = 1
	histHighest = int64(5 * time.Minute / time.Microsecond)
	histSigFigs = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histSigFigs)
}

// recordDur records d in microseconds, clamped into the histogram's range.
func recordDur(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	_ = h.RecordValue(min(max(us, histLowest), histHighest))
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

func encodeHist(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("cannot encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram decodes one of Histograms' fields (values in
// microseconds). Histograms of several runs can then be merged with
// (*hdrhistogram.Histogram).Merge.
func DecodeHistogram(s string) (h *hdrhistogram.Histogram, err error) {
	if s == "" {
		return newHist(), nil
	}
	if raw, err := base64.StdEncoding.DecodeString(s); err != nil || len(raw) < 8 {
		return nil, fmt.Errorf("cannot decode histogram: not base64 of an encoded histogram (%v)", err)
	}
	defer func() { // the decoder indexes its input without checking lengths
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("cannot decode histogram: corrupt encoding (%v)", p)
		}
	}()
	h, err = hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("cannot decode histogram: %w", err)
	}
	return h, nil
}

// WriteResult writes r as indented JSON to path.
func WriteResult(path string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write result: %w", err)
	}
	return nil
}

// ReadResult reads a result file written by WriteResult.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cannot decode result %q: %w", path, err)
	}
	if r.Version != ResultVersion {
		return nil, fmt.Errorf("result %q has version %d, want %d", path, r.Version, ResultVersion)
	}
	return &r, nil
}
