package auction

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/privacy"
)

// Metrics are the auction's Prometheus series. Per-bidder children are
// resolved once, when the Auction is built, so the request path does no
// label lookups.
type Metrics struct {
	requests *prometheus.CounterVec
	bids     *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	filtered *prometheus.CounterVec
	// breakerState is each DSP's breaker: 0 closed, 1 half-open, 2 open.
	breakerState *prometheus.GaugeVec
	// shapedBids, shapingExplored and shapingThreshold are each shaped
	// DSP's (a shaper's lost, explored and gauge).
	shapedBids       *prometheus.CounterVec
	shapingExplored  *prometheus.CounterVec
	shapingThreshold *prometheus.GaugeVec
	latency          *prometheus.HistogramVec
	panics           prometheus.Counter
	refused          *prometheus.CounterVec
	privacy          *prometheus.CounterVec
	lateTimeouts     *prometheus.CounterVec
}

type bidderSeries struct {
	outcome [numOutcomes]prometheus.Counter
	dropped [numDropReasons]prometheus.Counter
	// filtered counts the auctions a demand control kept from the bidder.
	filtered [numFilterReasons]prometheus.Counter
	bids     prometheus.Counter
	latency  prometheus.Observer
	refused  [numRefuseReasons]prometheus.Counter
	// lateTimeouts counts the timeouts adx noticed too late to blame on
	// the bidder (starvedLateness).
	lateTimeouts prometheus.Counter
	// privacy counts the privacy decisions by action and rule; nil where
	// the rule cannot lead to the action.
	privacy [privacy.NumActions][privacy.NumReasons]prometheus.Counter
}

// LatencyBuckets suit a 100 ms world: 0.5 ms to 500 ms.
var LatencyBuckets = []float64{.0005, .001, .002, .005, .01, .02, .03, .05, .075, .1, .15, .2, .3, .5}

// NewMetrics creates the auction series and registers them on reg (nil:
// not registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_requests_total",
			Help: "Calls to demand partners by outcome (bid, nobid, timeout, error, not_eligible).",
		}, []string{"demand", "outcome"}),
		bids: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_bids_total",
			Help: "Valid bids received from demand partners.",
		}, []string{"demand"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_bids_dropped_total",
			Help: "Bids dropped before the auction, by demand partner and reason.",
		}, []string{"demand", "reason"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_filtered_total",
			Help: "Requests not sent to a demand partner by its demand controls, the supply partner's demand lists or the user's privacy signals, by reason (qps, shaped, breaker_open, pretargeting_*, supply_blocked, privacy); also counted as not_eligible in adx_demand_requests_total.",
		}, []string{"demand", "reason"}),
		shapedBids: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_shaped_expected_bids_total",
			Help: "Bids a QPS-capped demand partner was expected to make on the requests shaping kept from it (reason shaped of adx_demand_filtered_total): the sum of their buckets' learnt bid rates.",
		}, []string{"demand"}),
		shapingExplored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_shaping_explored_total",
			Help: "Calls to a QPS-capped demand partner made for requests under its shaping threshold, to learn their bid rates again.",
		}, []string{"demand"}),
		shapingThreshold: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adx_demand_shaping_threshold",
			Help: "The learnt bid rate a request's bucket needs to be sent to a QPS-capped demand partner, but for exploration; 0 while the cap does not bind.",
		}, []string{"demand"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adx_demand_breaker_state",
			Help: "Each demand partner's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"demand"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adx_demand_latency_seconds",
			Help:    "Time from calling a demand partner to its answer (or the deadline).",
			Buckets: LatencyBuckets,
		}, []string{"demand"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adx_bidder_panics_total",
			Help: "Bidder panics recovered; each is a bug.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_answers_refused_total",
			Help: "Demand partner answers refused before decoding, by reason (too_large: past 2 MiB on the wire or inflated, as a gzip bomb; bad_gzip; bad_encoding: a Content-Encoding other than gzip); each also counts as an error in adx_demand_requests_total.",
		}, []string{"demand", "reason"}),
		privacy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_privacy_decisions_total",
			Help: "Requests a demand partner was sent scrubbed (action scrubbed: under each rule that applied) or not sent (not_called: under the rule that kept it away) for the user's privacy signals, by rule: coppa, lmt, att, us_privacy, gdpr_no_consent, tcf_*, gpp_opt_out, gpp_malformed (docs/privacy.md).",
		}, []string{"demand", "action", "reason"}),
		lateTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_demand_timeouts_noticed_late_total",
			Help: "Timeouts of calls to a demand partner that adx noticed more than 10 ms past their deadline: adx was kept from running (its CPU quota spent, a long scheduler queue), not the partner slow, so neither its circuit breaker nor its traffic shaping counts them; each is also a timeout in adx_demand_requests_total.",
		}, []string{"demand"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.bids, m.dropped, m.filtered, m.breakerState, m.shapedBids, m.shapingExplored,
			m.shapingThreshold, m.latency, m.panics, m.refused, m.privacy, m.lateTimeouts)
	}
	return m
}

// seriesFor resolves the series of one bidder, once, when its Auction is
// built, so that an auction does no label lookups.
func (m *Metrics) seriesFor(name string) bidderSeries {
	var s bidderSeries
	for o := range numOutcomes {
		s.outcome[o] = m.requests.WithLabelValues(name, o.String())
	}
	for r := range numDropReasons {
		s.dropped[r] = m.dropped.WithLabelValues(name, r.String())
	}
	for r := range numFilterReasons {
		s.filtered[r] = m.filtered.WithLabelValues(name, r.String())
	}
	s.bids = m.bids.WithLabelValues(name)
	s.latency = m.latency.WithLabelValues(name)
	s.lateTimeouts = m.lateTimeouts.WithLabelValues(name)
	for r := range numRefuseReasons {
		s.refused[r] = m.refused.WithLabelValues(name, r.String())
	}
	for act := range privacy.NumActions {
		for _, r := range privacy.Reasons() {
			if act.Can(r) {
				s.privacy[act][r.Index()] = m.privacy.WithLabelValues(name, act.String(), r.String())
			}
		}
	}
	return s
}

// observePrivacy counts a privacy decision that applied to the bidder:
// once under each rule it is labeled with.
func (s *bidderSeries) observePrivacy(d privacy.Decision) {
	act := d.Action()
	for r := d.Labels(); r != 0; r &= r - 1 {
		if c := s.privacy[act][r.Index()]; c != nil {
			c.Inc()
		}
	}
}

func (s *bidderSeries) observe(r *BidderResult) {
	s.outcome[r.Outcome].Inc()
	if r.Outcome == OutcomeError {
		// Declared here: its address escapes, and it would cost every
		// call an allocation.
		var ae *answerError
		if errors.As(r.Err, &ae) {
			s.refused[ae.reason].Inc()
		}
	}
	if r.Outcome != OutcomeNotEligible {
		s.latency.Observe(r.Latency.Seconds())
	}
	if n := len(r.Bids); n > 0 {
		s.bids.Add(float64(n))
	}
	for reason, n := range r.Dropped {
		if n > 0 {
			s.dropped[reason].Add(float64(n))
		}
	}
}
