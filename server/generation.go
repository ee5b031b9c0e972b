package server

import (
	"errors"
	"math/rand/v2"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/notice"
)

// generation is what the request path reads from the config in service:
// the config, the auction with its bidders, and what is derived from the
// partner lists. It never changes once built; a reload builds a new one
// and swaps it in (Public.Reload). A request loads the generation once,
// at admission, and uses it to the end, so that an auction in flight
// finishes on the config and the bidders it started with.
type generation struct {
	cfg     *config.Config
	auction *auction.Auction
	// notice expands the macros of the winning bids.
	notice *notice.Expander
	// costPerByte is what one body byte costs an auction in memory:
	// decoding plus a copy and an answer per remote DSP.
	costPerByte int64
	// supply are the supply partners by name; nil: any caller is served.
	supply map[string]*supplyAccount
	// supplyIndex is each supply partner's index in partners.
	supplyIndex map[string]int
	partners    *partnerMetrics
	// sspNames and dspNames are the partners' names by index (sspNames
	// only with a supply list); dspIndex is the reverse of dspNames.
	sspNames []string
	dspNames []string
	dspIndex map[string]int
	// senderIndex maps a demand partner's index to its index in the
	// notice sender's partners (notice.Sender.Partner); -1 without a
	// sender.
	senderIndex []int
	// noticeMetrics count the exchange-owned notices; nil without them.
	noticeMetrics *noticeMetrics
	// sampleEvents is events.auction_sample as a threshold on a random
	// uint64.
	sampleEvents uint64
	// sellers is sellers.json; nil: not served.
	sellers *sellersJSON
}

// newGeneration builds the generation of cfg running auctions on auc.
func (p *Public) newGeneration(cfg *config.Config, auc *auction.Auction) *generation {
	g := &generation{cfg: cfg, auction: auc, notice: notice.FromConfig(cfg),
		costPerByte: costDecodePerByte + costRemotePerByte*int64(auc.RemoteBidders())}
	if len(cfg.Supply) > 0 {
		g.supply = make(map[string]*supplyAccount, len(cfg.Supply))
		g.supplyIndex = make(map[string]int, len(cfg.Supply))
		for i, s := range cfg.Supply {
			g.supply[s.Name], g.supplyIndex[s.Name] = newSupplyAccount(s, i, auc), i
		}
		g.sspNames = sspNames(cfg)
	}
	g.sellers = buildSellers(cfg)
	g.dspNames = dspNames(cfg)
	g.dspIndex = make(map[string]int, len(g.dspNames))
	for i, n := range g.dspNames {
		g.dspIndex[n] = i
	}
	g.senderIndex = make([]int, len(g.dspNames))
	for i, n := range g.dspNames {
		g.senderIndex[i] = -1
		if p.trail.Sender != nil {
			g.senderIndex[i] = p.trail.Sender.Partner(n)
		}
	}
	g.partners = p.partnerVecs.forPartners(sspNames(cfg), g.dspNames)
	if p.noticeVecs != nil {
		g.noticeMetrics = p.noticeVecs.forPartners(sspNames(cfg), g.dspNames)
	}
	g.sampleEvents = sampleThreshold(cfg.Events.AuctionSample)
	return g
}

// Reload puts cfg in service, running auctions on auc (built for cfg,
// with auction.FromConfig): requests admitted from now on use them, and
// those in flight finish on the config they started with. cfg must be
// valid, and must keep the settings in service that need a restart (see
// config.Config.KeepRestartSettings): Reload applies what the request path
// reads per request, the partner lists, the auction, the supply settings,
// the notice macros, sellers.json and the log sample rate. A supply
// partner's rate limit starts with a full bucket.
func (p *Public) Reload(cfg *config.Config, auc *auction.Auction) error {
	if cfg == nil || auc == nil {
		return errors.New("cannot reload the public server: no config or no auction")
	}
	p.gen.Store(p.newGeneration(cfg, auc))
	return nil
}

// Config returns the config in service. It does not change; a reload
// replaces it.
func (p *Public) Config() *config.Config { return p.gen.Load().cfg }

// Auction returns the auction in service, built for Config; a reload
// replaces it.
func (p *Public) Auction() *auction.Auction { return p.gen.Load().auction }

// sspName is the supply label of the request's partner: "" without a
// supply list.
func (g *generation) sspName(ssp int) string {
	if g.supply == nil {
		return ""
	}
	return g.sspNames[ssp]
}

// sampled reports whether this request's line is logged (log.sample_rate).
func (g *generation) sampled() bool {
	return g.cfg.Log.SampleRate > 0 && rand.Float64() < g.cfg.Log.SampleRate
}

// sspIndexOf returns the supply partner's row in the partner metrics.
func (g *generation) sspIndexOf(name string) (int, bool) {
	if g.supply == nil {
		return 0, name == ""
	}
	i, ok := g.supplyIndex[name]
	return i, ok
}
