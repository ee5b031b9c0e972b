package server

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/devicedb"
	"github.com/adx-exchange/adx/enrich"
	"github.com/adx-exchange/adx/internal/admission"
)

const (
	endpointAuction = iota
	endpointNotice
	endpointOther
	numEndpoints
)

var endpointNames = [numEndpoints]string{"auction", "notice", "other"}

// ownBuckets suit the time adx adds to an auction: 25 µs to 20 ms.
var ownBuckets = []float64{.000025, .00005, .0001, .0002, .0003, .0005, .00075, .001, .0015, .002, .003, .005, .01, .02}

// Metrics are the public server's Prometheus series.
type Metrics struct {
	requests       *prometheus.CounterVec
	auctionSeconds prometheus.Histogram
	ownSeconds     prometheus.Histogram
	shed           [numShedCauses]prometheus.Counter
	noIP           prometheus.Counter
	malformedUSP   prometheus.Counter // US Privacy strings ignored as malformed
	malformedTCF   prometheus.Counter // consent strings that do not decode
	malformedGPP   prometheus.Counter // GPP strings that do not decode
	blocked        *prometheus.CounterVec
	serverErrors   prometheus.Counter
	deviceMatches  [devicedb.NumMatchTypes + 1]prometheus.Counter // last: no UA
	byStatus       [numEndpoints]map[int]prometheus.Counter

	// reg is where the series that need the config (partnerMetrics) are
	// registered, by NewPublic; nil: not registered.
	reg prometheus.Registerer

	// admit is the public server's admission limiter, set by NewPublic; it
	// counts the auctions running now.
	admit atomic.Pointer[admission.Limiter]
	// inflightBytes is the estimated memory the running auctions hold
	// (http.inflight_memory_ratio).
	inflightBytes atomic.Int64
}

// NewMetrics creates the server series and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_http_requests_total",
			Help: "Requests on the public port by endpoint and HTTP status.",
		}, []string{"endpoint", "status"}),
		auctionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "adx_auction_duration_seconds",
			Help:    "Time from a bid request's arrival to the end of its auction.",
			Buckets: auction.LatencyBuckets,
		}),
		ownSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "adx_auction_own_seconds",
			Help:    "Time adx itself adds to an auction: from the moment the request was read to its answer, less the longest wait for a remote DSP's answer.",
			Buckets: ownBuckets,
		}),
		noIP: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adx_enrich_no_ip_total",
			Help: "Requests with no usable device.ip or device.ipv6, so not geo-enriched.",
		}),
		blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_ivt_blocked_total",
			Help: "Requests not sent to demand as invalid traffic, by the Anonymous-IP flag that matched.",
		}, []string{"reason"}),
		serverErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adx_http_server_errors_total",
			Help: "Errors fasthttp reported on public connections (one per log line it wrote, logged or suppressed past 10 a second): connections that failed before or while a request was read.",
		}),
	}
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adx_http_shed_total",
		Help: "Requests refused at once, by reason: inflight (http.max_inflight auctions were running), overload (the CPU could not take more: the adaptive admission limit, http.sched_latency_target), inflight_memory (running auctions held their share of the Go memory limit, http.inflight_memory_ratio), memory (what the GC cannot free neared the limit, http.shed_memory_ratio), or ssp_rate (a supply partner past its supply[].rate_limit, answered 204).",
	}, []string{"reason"})
	for c, name := range shedCauseNames {
		m.shed[c] = shed.WithLabelValues(name)
	}
	for e := range numEndpoints {
		m.byStatus[e] = make(map[int]prometheus.Counter)
		for _, code := range []int{200, 204, 400, 401, 403, 404, 405, 408, 409, 410, 413, 415, 431, 503} {
			m.byStatus[e][code] = m.requests.WithLabelValues(endpointNames[e], strconv.Itoa(code))
		}
	}
	matches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adx_devicedb_matches_total",
		Help: "Device lookups by how the device was found: exact (the whole UA), token (the model), brand (only the maker, from the model code or the UA), fallback (the UA family), generic, or no_ua.",
	}, []string{"match"})
	for i := range int(devicedb.NumMatchTypes) {
		m.deviceMatches[i] = matches.WithLabelValues(devicedb.MatchType(i).String())
	}
	m.deviceMatches[devicedb.NumMatchTypes] = matches.WithLabelValues("no_ua")
	malformed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "adx_privacy_malformed_signals_total",
		Help: "Requests whose privacy signal of this kind does not parse: us_privacy (not 4 characters, version 1 and flags Y, N or -) is ignored; tcf (the consent string) and gpp put the request on the strict GDPR path; docs/privacy.md.",
	}, []string{"signal"})
	m.malformedUSP = malformed.WithLabelValues("us_privacy")
	m.malformedTCF = malformed.WithLabelValues("tcf")
	m.malformedGPP = malformed.WithLabelValues("gpp")
	if reg != nil {
		reg.MustRegister(matches, malformed)
		reg.MustRegister(m.requests, m.auctionSeconds, m.ownSeconds, shed, m.noIP, m.blocked, m.serverErrors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "adx_auctions_inflight",
			Help: "Auctions running now.",
		}, func() float64 {
			if a := m.admit.Load(); a != nil {
				return float64(a.Inflight())
			}
			return 0
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "adx_auctions_inflight_bytes",
			Help: "Estimated memory the running auctions hold ((8 + 2 x remote DSPs) x body + 16 KiB each), bounded by http.inflight_memory_ratio of the Go memory limit.",
		}, func() float64 { return float64(m.inflightBytes.Load()) }))
	}
	return m
}

func (m *Metrics) deviceMatch(out enrich.DeviceOutcome) {
	if out.NoUA {
		m.deviceMatches[devicedb.NumMatchTypes].Inc()
		return
	}
	m.deviceMatches[out.Match].Inc()
}

func (m *Metrics) blockedIVT(reason string) prometheus.Counter {
	return m.blocked.WithLabelValues(reason)
}

func (m *Metrics) count(endpoint, status int) {
	if c, ok := m.byStatus[endpoint][status]; ok {
		c.Inc()
		return
	}
	m.requests.WithLabelValues(endpointNames[endpoint], strconv.Itoa(status)).Inc()
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
