package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
)

// anySSP is the supply label when no supply partners are configured.
const anySSP = "any"

// partnerMetrics count the business between each supply partner and each
// demand partner: auctions, valid bids, wins, and the winning prices,
// gross (what the DSPs are charged) and net (what the SSPs are paid). The
// labels are the config's partner names, so their number is bounded; the
// counters are made once, so that counting is an index, not a lookup.
type partnerMetrics struct {
	auctions []prometheus.Counter // by supply partner
	// rateLimited counts requests past the partner's rate_limit.
	rateLimited []prometheus.Counter
	bids        [][]prometheus.Counter // [ssp][dsp]
	wins        [][]prometheus.Counter
	gross       [][]prometheus.Counter
	net         [][]prometheus.Counter
}

// sspNames returns the supply labels of cfg, indexed as supplyIndex does.
func sspNames(cfg *config.Config) []string {
	if len(cfg.Supply) == 0 {
		return []string{anySSP}
	}
	names := make([]string, len(cfg.Supply))
	for i, s := range cfg.Supply {
		names[i] = s.Name
	}
	return names
}

// dspNames returns the enabled demand partners' names, in the auction's
// bidder order.
func dspNames(cfg *config.Config) []string {
	var names []string
	for _, d := range cfg.Demand {
		if !d.Disabled {
			names = append(names, d.Name)
		}
	}
	return names
}

// partnerVecs are the partner metrics' vectors, registered once; each
// config in service takes its counters from them (partnerVecs.forPartners),
// so that a reload adds the new partners' series without registering
// anything. Series of partners a reload removed stay, unchanged.
type partnerVecs struct {
	auctions, bids, wins, cpm, limited *prometheus.CounterVec
}

func newPartnerVecs(reg prometheus.Registerer) *partnerVecs {
	v := &partnerVecs{
		auctions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_auctions_total",
			Help: "Auctions run, by supply partner (\"any\" without a supply list).",
		}, []string{"ssp"}),
		bids: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_bids_total",
			Help: "Bids that passed every check, by supply and demand partner.",
		}, []string{"ssp", "dsp"}),
		wins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_wins_total",
			Help: "Winning bids, by supply and demand partner.",
		}, []string{"ssp", "dsp"}),
		cpm: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_cpm_micros_total",
			Help: "Sum of winning prices (CPMs) in micros of the exchange currency, by supply and demand partner: side gross is what the DSPs are charged, net what the SSPs are paid. Divide by 1e9 for the spend in currency units.",
		}, []string{"ssp", "dsp", "side"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_rate_limited_total",
			Help: "Requests answered 204 at once because the supply partner passed its supply[].rate_limit, by supply partner.",
		}, []string{"ssp"}),
	}
	if reg != nil {
		reg.MustRegister(v.auctions, v.bids, v.wins, v.cpm, v.limited)
	}
	return v
}

// forPartners returns the counters of supply partners ssps and demand
// partners dsps, indexed as they are.
func (v *partnerVecs) forPartners(ssps, dsps []string) *partnerMetrics {
	m := &partnerMetrics{}
	for _, s := range ssps {
		m.auctions = append(m.auctions, v.auctions.WithLabelValues(s))
		m.rateLimited = append(m.rateLimited, v.limited.WithLabelValues(s))
		var b, w, g, n []prometheus.Counter
		for _, d := range dsps {
			b = append(b, v.bids.WithLabelValues(s, d))
			w = append(w, v.wins.WithLabelValues(s, d))
			g = append(g, v.cpm.WithLabelValues(s, d, "gross"))
			n = append(n, v.cpm.WithLabelValues(s, d, "net"))
		}
		m.bids, m.wins, m.gross, m.net = append(m.bids, b), append(m.wins, w), append(m.gross, g), append(m.net, n)
	}
	return m
}

// observe counts one auction for supply partner ssp.
func (m *partnerMetrics) observe(ssp int, res *auction.Result) {
	m.auctions[ssp].Inc()
	bids := m.bids[ssp]
	for i := range res.Bidders {
		if n := len(res.Bidders[i].Bids); n > 0 && i < len(bids) {
			bids[i].Add(float64(n))
		}
	}
	for i := range res.Winners {
		w := &res.Winners[i]
		d := w.BidderIndex()
		if d >= len(bids) {
			continue
		}
		m.wins[ssp][d].Inc()
		m.gross[ssp][d].Add(float64(w.Charge))
		m.net[ssp][d].Add(float64(w.Clear))
	}
}
