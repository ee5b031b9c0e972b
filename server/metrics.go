package server

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
)

const (
	endpointAuction = iota
	endpointOther
	numEndpoints
)

var endpointNames = [numEndpoints]string{"auction", "other"}

// Metrics are the public server's Prometheus series.
type Metrics struct {
	requests       *prometheus.CounterVec
	auctionSeconds prometheus.Histogram
	shed           prometheus.Counter
	byStatus       [numEndpoints]map[int]prometheus.Counter

	// inflight counts the auctions running now; admission control reads it.
	inflight atomic.Int64
}

// NewMetrics creates the server series and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_http_requests_total",
			Help: "Requests on the public port by endpoint and HTTP status.",
		}, []string{"endpoint", "status"}),
		auctionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "adx_auction_duration_seconds",
			Help:    "Time from a bid request's arrival to the end of its auction.",
			Buckets: auction.LatencyBuckets,
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adx_http_shed_total",
			Help: "Requests refused at once because http.max_inflight auctions were running.",
		}),
	}
	for e := range numEndpoints {
		m.byStatus[e] = make(map[int]prometheus.Counter)
		for _, code := range []int{200, 204, 400, 401, 403, 404, 405, 408, 413, 415, 431, 503} {
			m.byStatus[e][code] = m.requests.WithLabelValues(endpointNames[e], strconv.Itoa(code))
		}
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.auctionSeconds, m.shed, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "adx_auctions_inflight",
			Help: "Auctions running now.",
		}, func() float64 { return float64(m.inflight.Load()) }))
	}
	return m
}

func (m *Metrics) count(endpoint, status int) {
	if c, ok := m.byStatus[endpoint][status]; ok {
		c.Inc()
		return
	}
	m.requests.WithLabelValues(endpointNames[endpoint], strconv.Itoa(status)).Inc()
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
