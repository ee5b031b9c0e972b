package auction

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/config"
)

// FilterReason says why a demand control kept a request from a DSP.
type FilterReason uint8

// Reasons a DSP is not called, used as the "reason" label of
// adx_demand_filtered_total. The pretargeting reasons are in the order the
// rules are checked: a request is counted under the first it fails.
const (
	FilterQPS         FilterReason = iota // over demand[].qps
	FilterBreakerOpen                     // the breaker is open, or its half-open probes are out
	FilterInventory                       // app or site not in targeting.inventory
	FilterCountry                         // device.geo.country not in targeting.countries
	FilterDeviceType                      // device.devicetype not in targeting.device_types
	FilterOS                              // device.os not in targeting.os
	FilterBundle                          // app.bundle not in targeting.bundles, or in block_bundles
	FilterDomain                          // site.domain not in targeting.domains, or in block_domains
	FilterFormat                          // no imp of targeting.formats
	FilterSize                            // no imp of targeting.sizes
	FilterSupply                          // the supply partner's demand or block_demand leaves it out
	FilterShaped                          // over demand[].qps, its bucket's bid rate under the shaping threshold
	FilterPrivacy                         // the user's privacy signals keep the request from it (package privacy)
	numFilterReasons
)

var filterReasonNames = [numFilterReasons]string{"qps", "breaker_open", "pretargeting_inventory", "pretargeting_country",
	"pretargeting_device_type", "pretargeting_os", "pretargeting_bundle", "pretargeting_domain", "pretargeting_format",
	"pretargeting_size", "supply_blocked", "shaped", "privacy"}

// String returns the reason's metric label.
func (r FilterReason) String() string { return filterReasonNames[r] }

// FilteredError is the Err of a BidderResult whose DSP a demand control,
// or the supply partner's demand lists, kept the request from (Outcome
// OutcomeNotEligible).
type FilteredError struct{ Reason FilterReason }

func (e *FilteredError) Error() string { return "not sent: " + e.Reason.String() }

// filteredErrors are the FilteredErrors, one per reason, so that filtering
// does not allocate.
var filteredErrors = func() (errs [numFilterReasons]error) {
	for r := range numFilterReasons {
		errs[r] = &FilteredError{Reason: r}
	}
	return errs
}()

// monoEpoch anchors the controls' clock: nanoseconds since it, read from
// the monotonic clock.
var monoEpoch = time.Now()

func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// controls are one DSP's demand controls: pretargeting, a QPS cap with
// its shaping and a circuit breaker, each deciding before the call. A nil
// field is a control not configured. Built with the bidder; a config
// reload may hand the bucket, the breaker and the shaper on to the
// bidder's successor (keep). Safe for concurrent use.
type controls struct {
	target  *targeting
	bucket  *tokenBucket
	shaper  *shaper
	breaker *breaker
	// timeout is the DSP's own bound on a call (demand[].timeout); 0:
	// none. The breaker judges timeouts against it.
	timeout time.Duration
	// now is the clock of the bucket, the shaper and the breaker, in
	// nanoseconds; tests drive it.
	now func() int64
}

func newControls(d *config.Demand) controls {
	c := controls{now: monoNow, target: newTargeting(&d.Targeting), timeout: d.Timeout.D(), shaper: shapingOf(d)}
	if d.QPS > 0 {
		c.bucket = newTokenBucket(d.QPS)
	}
	if !d.Breaker.Disabled {
		c.breaker = newBreaker(d.Breaker.WithDefaults())
	}
	return c
}

// keep takes over from prev, the controls of the same DSP in the config
// in service, the state whose settings are unchanged: the token bucket's
// calls (same qps), the breaker's state and counts (same breaker), and
// the bid rates learnt (same shaping window; a new qps or exploration is
// applied to them). The old and the new auction then share them while
// the old one's auctions finish. What changed starts afresh.
func (c *controls) keep(prev *controls) {
	if c.bucket != nil && prev.bucket != nil && c.bucket.interval == prev.bucket.interval && c.bucket.tolerance == prev.bucket.tolerance {
		c.bucket = prev.bucket
	}
	if c.breaker != nil && prev.breaker != nil && c.breaker.cfg == prev.breaker.cfg {
		c.breaker = prev.breaker
	}
	if c.shaper != nil && prev.shaper != nil && c.shaper.step == prev.shaper.step {
		prev.shaper.qps.Store(c.shaper.qps.Load())
		prev.shaper.explore.Store(c.shaper.explore.Load())
		c.shaper = prev.shaper
	}
}

// tokenBucket caps calls per second, lock-free: it keeps the time at which
// the bucket would be full again (GCRA, the generic cell rate algorithm),
// and a call is allowed while that stays within burst calls of now. It
// holds 100 ms of calls (at least one), so that no second sees much more
// than the cap. A CAS on one word: BenchmarkTokenBucket (both Ps at once,
// on a loaded 2-core machine) took 39-78 ns a call against 103-122 ns for
// golang.org/x/time/rate's Limiter.Allow, which takes a mutex; neither
// allocates.
type tokenBucket struct {
	interval  int64 // nanoseconds per call
	tolerance int64 // how far ahead of now the full time may run
	tat       atomic.Int64
}

func newTokenBucket(qps int) *tokenBucket {
	interval := max(int64(time.Second)/int64(qps), 1)
	burst := max(int64(qps)/10, 1)
	return &tokenBucket{interval: interval, tolerance: interval * burst}
}

// allow takes a call's token at now, and reports whether there was one.
func (b *tokenBucket) allow(now int64) bool {
	for {
		tat := b.tat.Load()
		next := max(tat, now) + b.interval
		if next-now > b.tolerance {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// minFairCallTime is the least time left, when a call is sent, for its
// timeout to count against the DSP (a DSP whose own timeout is shorter
// needs half of it). A call sent with less had the auction's time spent
// before it, by adx waiting for CPU or in its queues: under overload
// every DSP would time out, and every breaker open, for adx's fault.
const minFairCallTime = 20 * time.Millisecond

// fairChance reports whether a call that timed out had a fair share of
// its time, so that the timeout is the DSP's failure: waited is the time
// from its admission to its sending, left from its sending to its
// deadline; its budget, waited plus left, and left are each capped by the
// DSP's own timeout. It had one when sent with at least minFairCallTime
// left and at least half its budget: a call that waited for a worker
// longer than it could wait for the DSP had not.
func (c *controls) fairChance(waited, left time.Duration) bool {
	budget, floor := waited+left, minFairCallTime
	if c.timeout > 0 {
		budget, left = min(budget, c.timeout), min(left, c.timeout)
		floor = min(floor, c.timeout/2)
	}
	return left >= floor && 2*left >= budget
}

// Breaker states, the values of adx_demand_breaker_state.
const (
	breakerClosed int32 = iota
	breakerHalfOpen
	breakerOpen
)

// callResult is what a call let through by the breaker tells it.
type callResult uint8

const (
	callSuccess callResult = iota // a bid or a no-bid
	callFailure                   // an error or a timeout
	callNone                      // not made after all: says nothing of the DSP
)

// breaker is a DSP's circuit breaker (config.Breaker). A closed breaker is
// passed with two atomic loads; ending a call takes its mutex. Each state
// change starts a generation, and a call ending in another generation than
// it started in is not counted: it says nothing of the state now.
//
// Calls are counted over a sliding window of breakerSteps steps: a step
// ends, its counts drop out of the window breakerSteps steps later, so
// that a burst of failures is judged with the calls just before it
// rather than with an empty window that happened to start then.
//
// gobreaker's TwoStepCircuitBreaker fits the protocol, but it allocates
// its done closure on every call (48 B) and takes its mutex twice: 240-262
// ns a call against 54-134 ns for BenchmarkBreakerAllow (both Ps, a loaded
// 2-core machine), and the auction's allocations are pinned. Nor does it
// take a clock, which the state machine's tests drive.
type breaker struct {
	cfg                config.Breaker
	ratio              float64
	minRequests        int64
	step, openFor      int64
	probes             int32
	state              atomic.Int32
	gen                atomic.Uint64
	openUntil          atomic.Int64
	gauge              prometheus.Gauge // nil: not exported
	mu                 sync.Mutex
	epoch              int64 // the newest step: now / step
	steps              [breakerSteps]breakerCount
	total, failures    int64 // over steps
	probesOut, probeOK int32
}

// breakerSteps are the steps of a breaker's window.
const breakerSteps = 10

// breakerCount is the calls of one step of a breaker's window.
type breakerCount struct{ total, failures int64 }

func newBreaker(c config.Breaker) *breaker {
	return &breaker{cfg: c, ratio: c.FailureRatio, minRequests: int64(c.MinRequests), step: max(int64(c.Window)/breakerSteps, 1),
		openFor: int64(c.OpenFor), probes: int32(c.HalfOpenProbes)}
}

// isOpen reports, without taking anything, whether the breaker refuses
// calls at now.
func (b *breaker) isOpen(now int64) bool {
	return b.state.Load() == breakerOpen && now < b.openUntil.Load()
}

// allow reports whether a call may be made at now, and the generation to
// end it in (done). Half-open, it lets through the probes.
func (b *breaker) allow(now int64) (uint64, bool) {
	gen := b.gen.Load()
	if b.state.Load() == breakerClosed {
		return gen, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state.Load() {
	case breakerClosed:
		return b.gen.Load(), true
	case breakerOpen:
		if now < b.openUntil.Load() {
			return 0, false
		}
		b.setState(breakerHalfOpen, now)
	}
	if b.probesOut >= b.probes {
		return 0, false
	}
	b.probesOut++
	return b.gen.Load(), true
}

// done ends a call allowed in generation gen.
func (b *breaker) done(gen uint64, r callResult, now int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen.Load() {
		return
	}
	switch b.state.Load() {
	case breakerClosed:
		if r == callNone {
			return
		}
		c := b.slide(now)
		c.total++
		b.total++
		if r == callFailure {
			c.failures++
			b.failures++
			if b.total >= b.minRequests && float64(b.failures) >= b.ratio*float64(b.total) {
				b.setState(breakerOpen, now)
			}
		}
	case breakerHalfOpen:
		switch r {
		case callNone:
			b.probesOut--
		case callFailure:
			b.setState(breakerOpen, now)
		case callSuccess:
			if b.probeOK++; b.probeOK >= b.probes {
				b.setState(breakerClosed, now)
			}
		}
	}
}

// slide moves the window on to now, dropping the steps that left it, and
// returns the step to count in; b.mu is held. A call ending with a clock
// read before the newest step counts in it.
func (b *breaker) slide(now int64) *breakerCount {
	ep := now / b.step
	if ep > b.epoch {
		for e := b.epoch + 1; e <= ep && e <= b.epoch+breakerSteps; e++ {
			c := &b.steps[e%breakerSteps]
			b.total -= c.total
			b.failures -= c.failures
			*c = breakerCount{}
		}
		b.epoch = ep
	}
	return &b.steps[b.epoch%breakerSteps]
}

// setState starts a generation in state s; b.mu is held.
func (b *breaker) setState(s int32, now int64) {
	b.gen.Add(1)
	b.steps, b.total, b.failures, b.epoch = [breakerSteps]breakerCount{}, 0, 0, now/b.step
	b.probesOut, b.probeOK = 0, 0
	if s == breakerOpen {
		b.openUntil.Store(now + b.openFor)
	}
	b.state.Store(s)
	if b.gauge != nil {
		b.gauge.Set(float64(s))
	}
}

// targeting is config.Targeting compiled for matching. Its lookups do not
// allocate.
type targeting struct {
	// any is false when a rule is set other than formats and sizes, which
	// the fan-out applies to imps.
	any                bool
	countries          stringSet
	deviceTypes        []int64
	os                 []string
	app, site          bool // targeting.inventory; both false: either
	bundles, blockBun  stringSet
	domains, blockDoms stringSet
	// sizes are the banner and video sizes taken; empty: any.
	sizes []size
}

func newTargeting(t *config.Targeting) *targeting {
	x := &targeting{
		countries: newStringSet(t.Countries),
		os:        t.OS,
		bundles:   newStringSet(t.Bundles), blockBun: newStringSet(t.BlockBundles),
		domains: newStringSet(t.Domains), blockDoms: newStringSet(t.BlockDomains),
	}
	for _, dt := range t.DeviceTypes {
		x.deviceTypes = append(x.deviceTypes, int64(dt))
	}
	for _, inv := range t.Inventory {
		x.app = x.app || inv == "app"
		x.site = x.site || inv == "site"
	}
	for _, s := range t.Sizes {
		if w, h, ok := config.ParseSize(s); ok {
			x.sizes = append(x.sizes, size{w, h})
		}
	}
	x.any = len(t.Countries)+len(t.DeviceTypes)+len(t.OS)+len(t.Inventory)+len(t.Bundles)+len(t.BlockBundles)+
		len(t.Domains)+len(t.BlockDomains) > 0
	if !x.any && len(x.sizes) == 0 {
		return nil
	}
	return x
}

// check returns the first request rule req fails, if any.
func (t *targeting) check(req *openrtb2.BidRequest) (FilterReason, bool) {
	if !t.any {
		return 0, true
	}
	if (t.app || t.site) && !(t.app && req.App != nil || t.site && req.Site != nil) {
		return FilterInventory, false
	}
	dev := req.Device
	if t.countries.n > 0 && (dev == nil || dev.Geo == nil || !t.countries.has(dev.Geo.Country)) {
		return FilterCountry, false
	}
	if len(t.deviceTypes) > 0 {
		ok := false
		if dev != nil {
			for _, dt := range t.deviceTypes {
				ok = ok || int64(dev.DeviceType) == dt
			}
		}
		if !ok {
			return FilterDeviceType, false
		}
	}
	if len(t.os) > 0 {
		ok := false
		if dev != nil && dev.OS != "" {
			for _, os := range t.os {
				ok = ok || strings.EqualFold(dev.OS, os)
			}
		}
		if !ok {
			return FilterOS, false
		}
	}
	if app := req.App; app != nil && (t.bundles.n > 0 && !t.bundles.has(app.Bundle) || t.blockBun.has(app.Bundle)) {
		return FilterBundle, false
	}
	if site := req.Site; site != nil && (t.domains.n > 0 && !t.domains.hasDomain(site.Domain) || t.blockDoms.hasDomain(site.Domain)) {
		return FilterDomain, false
	}
	return 0, true
}

// fits reports whether imp, offering media, has a banner or video size
// among t.sizes, or is an imp sizes do not judge: audio, native, or a
// banner or video without a size.
func (t *targeting) fits(imp *openrtb2.Imp, media mediaMask) bool {
	if len(t.sizes) == 0 || media&(mediaAudio|mediaNative) != 0 {
		return true
	}
	if media&mediaBanner != 0 {
		b := imp.Banner
		sized := false
		if b.W != nil && b.H != nil && *b.W > 0 && *b.H > 0 {
			sized = true
			if t.hasSize(*b.W, *b.H) {
				return true
			}
		}
		for _, f := range b.Format {
			if f.W > 0 && f.H > 0 {
				sized = true
				if t.hasSize(f.W, f.H) {
					return true
				}
			}
		}
		if !sized {
			return true
		}
	}
	if media&mediaVideo != 0 {
		w, h := deref(imp.Video.W), deref(imp.Video.H)
		if w <= 0 || h <= 0 || t.hasSize(w, h) {
			return true
		}
	}
	return false
}

func (t *targeting) hasSize(w, h int64) bool {
	for _, s := range t.sizes {
		if s.w == w && s.h == h {
			return true
		}
	}
	return false
}

// stringSet is a set of strings: a slice scanned up to setScanLimit
// entries, a map past them (a bundle block list may hold thousands).
type stringSet struct {
	n    int
	list []string
	m    map[string]struct{}
}

const setScanLimit = 8

func newStringSet(values []string) stringSet {
	s := stringSet{n: len(values)}
	if len(values) <= setScanLimit {
		s.list = values
		return s
	}
	s.m = make(map[string]struct{}, len(values))
	for _, v := range values {
		s.m[v] = struct{}{}
	}
	return s
}

func (s *stringSet) has(v string) bool {
	if s.m != nil {
		_, ok := s.m[v]
		return ok
	}
	for _, x := range s.list {
		if x == v {
			return true
		}
	}
	return false
}

// hasDomain reports whether d is in s or a subdomain of a domain in s.
func (s *stringSet) hasDomain(d string) bool {
	if s.n == 0 || d == "" {
		return false
	}
	for {
		if s.has(d) {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
}
