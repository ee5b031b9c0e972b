package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// StepsVersion is the version of the steps file written by WriteSteps; see
// RESULT-FORMAT.md. Its version key is "steps_version", so ReadResult
// refuses a steps file instead of misreading it.
const StepsVersion = 1

// Kinds of a Steps file.
const (
	StepsKindSteps = "steps"
	StepsKindRamp  = "ramp"
)

// Steps is the outcome of a stepped or ramped `adx bench run`: one Run per
// rate, in order. Each step's full result is also written as its own result
// file (see StepFile), so report and compare work on single steps.
type Steps struct {
	StepsVersion int    `json:"steps_version"`
	Kind         string `json:"kind"`
	Target       string `json:"target"`
	// StepDurationS is each step's measured window in seconds.
	StepDurationS float64 `json:"step_duration_s"`
	// P99ThresholdMS is the ramp's corrected p99 limit (0 for steps).
	P99ThresholdMS float64 `json:"p99_threshold_ms"`
	// MaxSustainableRate is the highest requested rate of a step that was
	// sustainable (see StepSummary.Sustainable); 0 if none was.
	MaxSustainableRate float64 `json:"max_sustainable_rate"`
	// StopReason says why a ramp stopped; empty for steps.
	StopReason string        `json:"stop_reason"`
	Steps      []StepSummary `json:"steps"`

	// Results holds each step's full result; not in the steps file itself.
	Results []*Result `json:"-"`
}

// StepSummary is one step of a Steps file.
type StepSummary struct {
	Step          int     `json:"step"` // 1-based
	File          string  `json:"file"` // the step's result file, relative to the steps file ("" if not written)
	RequestedRate float64 `json:"requested_rate"`
	AchievedRate  float64 `json:"achieved_rate"`
	Sent          int64   `json:"sent"`
	// Failures is errors + timeouts + dropped + 5xx responses. Missed sends
	// are the generator's failing, not the target's: they show in the
	// achieved rate and the result's warnings.
	Failures  int64       `json:"failures"`
	LatencyMS Percentiles `json:"latency_ms"`
	// Sustainable: no failures, achieved rate within 5% of requested and,
	// with a p99 threshold, corrected p99 at or under it.
	Sustainable bool   `json:"sustainable"`
	Why         string `json:"why"` // why not sustainable; empty if it was
}

// RunSteps runs base once per rate in rates, each for stepDuration, one
// after the other, and returns their results. A p99 of 0 judges
// sustainability without a latency limit.
func RunSteps(ctx context.Context, base RunConfig, rates []float64, stepDuration time.Duration, p99 time.Duration) (*Steps, error) {
	if len(rates) == 0 {
		return nil, errors.New("no step rates")
	}
	s := &Steps{StepsVersion: StepsVersion, Kind: StepsKindSteps, Target: base.Target,
		StepDurationS: stepDuration.Seconds(), P99ThresholdMS: float64(p99) / 1e6}
	for _, r := range rates {
		if err := s.step(ctx, base, r, stepDuration, p99); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return s, nil
}

// RampConfig configures Ramp.
type RampConfig struct {
	// Base is the run to repeat; its Rate is the first step's rate and its
	// Duration is ignored.
	Base RunConfig
	// StepDuration is each step's window (default 10s).
	StepDuration time.Duration
	// Factor multiplies the rate from one step to the next (default 1.5).
	Factor float64
	// P99 is the corrected p99 latency a sustainable step stays at or under
	// (> 0).
	P99 time.Duration
	// MaxSteps bounds the number of steps (default 20); MaxRate the rate
	// (default 1,000,000/s).
	MaxSteps int
	MaxRate  float64
}

// Ramp runs steps from cfg.Base.Rate, multiplying the rate by cfg.Factor
// after each sustainable step, and stops at the first step that is not
// (corrected p99 over cfg.P99, or errors, timeouts, drops or 5xx
// responses appear, or the achieved rate falls short), or at the step or
// rate limit. The highest sustainable rate is in MaxSustainableRate.
func Ramp(ctx context.Context, cfg RampConfig) (*Steps, error) {
	if cfg.StepDuration == 0 {
		cfg.StepDuration = 10 * time.Second
	}
	if cfg.Factor == 0 {
		cfg.Factor = 1.5
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = 20
	}
	if cfg.MaxRate == 0 {
		cfg.MaxRate = 1e6
	}
	switch {
	case !(cfg.Base.Rate > 0):
		return nil, fmt.Errorf("bad ramp: start rate %v: want > 0", cfg.Base.Rate)
	case !(cfg.Factor > 1):
		return nil, fmt.Errorf("bad ramp: factor %v: want > 1", cfg.Factor)
	case cfg.P99 <= 0:
		return nil, fmt.Errorf("bad ramp: p99 threshold %v: want > 0", cfg.P99)
	case cfg.StepDuration < 0 || cfg.MaxSteps < 0:
		return nil, errors.New("bad ramp: step duration and max steps must be > 0")
	}
	s := &Steps{StepsVersion: StepsVersion, Kind: StepsKindRamp, Target: cfg.Base.Target,
		StepDurationS: cfg.StepDuration.Seconds(), P99ThresholdMS: float64(cfg.P99) / 1e6}
	rate := cfg.Base.Rate
	for {
		if err := s.step(ctx, cfg.Base, rate, cfg.StepDuration, cfg.P99); err != nil {
			return nil, err
		}
		last := s.Steps[len(s.Steps)-1]
		switch {
		case ctx.Err() != nil:
			s.StopReason = "interrupted"
		case !last.Sustainable:
			s.StopReason = fmt.Sprintf("step %d at %s/s: %s", last.Step, fmtNum(rate), last.Why)
		case len(s.Steps) >= cfg.MaxSteps:
			s.StopReason = fmt.Sprintf("reached %d steps without failing", cfg.MaxSteps)
		case rate*cfg.Factor > cfg.MaxRate:
			s.StopReason = fmt.Sprintf("next rate would pass the limit of %s/s", fmtNum(cfg.MaxRate))
		default:
			// Round so rates read well and the steps file is reproducible.
			rate = float64(int64(rate*cfg.Factor + 0.5))
			continue
		}
		return s, nil
	}
}

// step runs one step and appends it.
func (s *Steps) step(ctx context.Context, base RunConfig, rate float64, d, p99 time.Duration) error {
	cfg := base
	cfg.Rate, cfg.Duration = rate, d
	r, err := Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("step %d at %v/s: %w", len(s.Steps)+1, rate, err)
	}
	sum := StepSummary{Step: len(s.Steps) + 1, RequestedRate: rate, AchievedRate: r.AchievedRate,
		Sent: r.Sent, LatencyMS: r.LatencyMS}
	sum.Failures = r.Errors + r.Timeouts + r.Dropped
	for code, n := range r.Status {
		if strings.HasPrefix(code, "5") {
			sum.Failures += n
		}
	}
	var why []string
	if sum.Failures > 0 {
		why = append(why, fmt.Sprintf("%d failures (errors %d, timeouts %d, dropped %d, 5xx %d)",
			sum.Failures, r.Errors, r.Timeouts, r.Dropped, sum.Failures-r.Errors-r.Timeouts-r.Dropped))
	}
	if r.AchievedRate < 0.95*rate && cfg.Arrival != ArrivalCaptured {
		why = append(why, fmt.Sprintf("achieved %.1f/s of %s/s", r.AchievedRate, fmtNum(rate)))
	}
	if p99 > 0 && r.LatencyMS.P99 > float64(p99)/1e6 {
		why = append(why, fmt.Sprintf("p99 %.3fms over %s", r.LatencyMS.P99, p99))
	}
	sum.Why = strings.Join(why, "; ")
	sum.Sustainable = sum.Why == "" && ctx.Err() == nil
	if sum.Sustainable && rate > s.MaxSustainableRate {
		s.MaxSustainableRate = rate
	}
	s.Steps = append(s.Steps, sum)
	s.Results = append(s.Results, r)
	return nil
}

// StepFile returns the result file of step i (1-based) for a steps file at
// path: "run.json" gives "run.step1.json".
func StepFile(path string, i int) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".step" + strconv.Itoa(i) + ext
}

// WriteSteps writes s as indented JSON to path and each step's result to
// StepFile(path, i).
func WriteSteps(path string, s *Steps) error {
	for i, r := range s.Results {
		f := StepFile(path, i+1)
		if err := WriteResult(f, r); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		if i < len(s.Steps) {
			s.Steps[i].File = filepath.Base(f)
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode steps: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write steps: %w", err)
	}
	return nil
}

// ReadSteps reads a steps file written by WriteSteps (without the step
// results; read those with ReadResult).
func ReadSteps(path string) (*Steps, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read steps: %w", err)
	}
	var s Steps
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cannot decode steps %q: %w", path, err)
	}
	if s.StepsVersion != StepsVersion {
		return nil, fmt.Errorf("steps %q has steps_version %d, want %d", path, s.StepsVersion, StepsVersion)
	}
	return &s, nil
}
