package server

import (
	"bytes"
	"crypto/subtle"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
)

// auctionPrefix starts the canonical auction path of a supply partner,
// /openrtb2/auction/NAME.
const auctionPrefix = AuctionPath + "/"

// supplyAccount is one supply partner as the request path uses it: its
// settings, parsed once at start.
type supplyAccount struct {
	cfg config.Supply
	// index is the partner's index in the partner metrics.
	index int
	// token is the bearer token; nil: none asked.
	token []byte
	// allow are the prefixes the peer address must fall in; nil: any.
	allow []netip.Prefix
	// limit bounds the partner's request rate; nil: no bound.
	limit *tokenBucket
	// tmaxCap caps the auction's time budget; 0: no cap.
	tmaxCap time.Duration
	// run are the partner's auction settings on the server's auction.
	run auction.RunOptions
}

// newSupplyAccount parses s, the index-th supply partner, for auctions on
// auc. The config was validated, so a parse error is a bug.
func newSupplyAccount(s config.Supply, index int, auc *auction.Auction) *supplyAccount {
	allow, err := config.ParseAllowIPs(s.AllowIPs)
	if err != nil {
		panic("BUG: supply[" + strconv.Itoa(index) + "].allow_ips passed validation: " + err.Error())
	}
	a := &supplyAccount{cfg: s, index: index, allow: allow, tmaxCap: s.TmaxCap.D(), run: auc.SupplyOptions(&s)}
	if s.Token != "" {
		a.token = []byte(s.Token)
	}
	if s.RateLimit > 0 {
		a.limit = newTokenBucket(s.RateLimit)
	}
	return a
}

// checkSupply admits the request when no supply partners are configured;
// otherwise it must name an enabled one, in the path
// (/openrtb2/auction/NAME, canonical) or with ?ssp=NAME, and pass its
// token and address checks. The partner's rate limit comes last, so that
// only its own authenticated requests spend its budget.
func (p *Public) checkSupply(x *exchange) outcome {
	ctx := x.ctx
	if x.g.supply == nil {
		return outcome{}
	}
	name := x.pathSSP
	if q := ctx.QueryArgs().Peek("ssp"); len(q) > 0 {
		if len(name) > 0 && !bytes.Equal(name, q) {
			return end(forbidden, "the path names supply partner "+strconv.Quote(string(name))+" and ?ssp= names "+strconv.Quote(string(q)))
		}
		name = q
	}
	if len(name) == 0 {
		return end(forbidden, "the supply partner is missing: post to "+auctionPrefix+"NAME")
	}
	a, ok := x.g.supply[string(name)]
	if !ok {
		return end(forbidden, "unknown supply partner "+strconv.Quote(string(name)))
	}
	if a.cfg.Disabled {
		return end(forbidden, "supply partner "+strconv.Quote(a.cfg.Name)+" is disabled")
	}
	x.ssp, x.account = a.index, a
	if a.allow != nil {
		addr, ok := peerAddr(ctx)
		if !ok || !allowed(a.allow, addr) {
			return end(forbidden, "supply partner "+strconv.Quote(a.cfg.Name)+" does not send from "+addr.String())
		}
	}
	if a.token != nil {
		auth := ctx.Request.Header.Peek("Authorization")
		const prefix = "Bearer "
		if len(auth) <= len(prefix) || string(auth[:len(prefix)]) != prefix ||
			subtle.ConstantTimeCompare(auth[len(prefix):], a.token) != 1 {
			return end(unauthorized, "supply partner "+strconv.Quote(a.cfg.Name)+" needs a valid Authorization: Bearer token")
		}
	}
	if a.limit != nil && !a.limit.take(x.arrival) {
		return outcome{end: rateLimited}
	}
	return outcome{}
}

// peerAddr returns the TCP peer's address, IPv4-mapped IPv6 unmapped. It
// is the connection's, never a header's: behind a load balancer that
// proxies connections it is the balancer's.
func peerAddr(ctx *fasthttp.RequestCtx) (netip.Addr, bool) {
	tcp, ok := ctx.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	return tcp.AddrPort().Addr().Unmap(), true
}

func allowed(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// applySupply applies the partner's own auction settings to its request in
// the policy stage: test=1, the floor minimum, and the exchange's node in
// the supply chain. The time budget cap is applied by budget.
func (p *Public) applySupply(x *exchange) outcome {
	a := x.account
	if a == nil {
		return outcome{}
	}
	if a.cfg.Test {
		x.req.Test = 1
	}
	if a.cfg.FloorMin > 0 {
		raiseFloors(x.req.Imp, a.cfg.FloorMin, x.g.cfg.Auction.Currency)
	}
	if a.cfg.SellerID != "" {
		if err := extendSChain(&x.req, x.g.cfg.Exchange.Domain, a.cfg.SellerID); err != nil {
			return end(invalidRequest, err.Error())
		}
	}
	return outcome{}
}

// capBudget returns the time budget tmax under the partner's tmax_cap.
func (x *exchange) capBudget(tmax time.Duration) time.Duration {
	if x.account != nil && x.account.tmaxCap > 0 {
		return min(tmax, x.account.tmaxCap)
	}
	return tmax
}

// openRTBDefaultCur is the currency of a floor whose bidfloorcur is empty
// (OpenRTB 2.6 section 3.2.4), as the auction reads it.
const openRTBDefaultCur = "USD"

// raiseFloors raises each imp's bidfloor to at least floorMin, a CPM in
// the exchange currency cur. An imp without a floor gets floorMin in cur;
// an imp whose floor is in another currency (an empty bidfloorcur is USD)
// keeps it, since comparing the two needs exchange rates. Deal floors are
// the deals' own terms and are left alone.
func raiseFloors(imps []openrtb2.Imp, floorMin float64, cur string) {
	for i := range imps {
		imp := &imps[i]
		fc := imp.BidFloorCur
		if fc == "" {
			fc = openRTBDefaultCur
		}
		switch {
		case imp.BidFloor <= 0:
			imp.BidFloor, imp.BidFloorCur = floorMin, cur
		case fc == cur && imp.BidFloor < floorMin:
			imp.BidFloor = floorMin
		}
	}
}

// tokenBucket is a request rate limit: it holds up to burst tokens, gains
// rate of them a second, and each request takes one. A mutex serializes
// takes: uncontended it costs about 20 ns, and one partner's requests are
// its only users.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// newTokenBucket returns a full bucket for rate requests a second that
// holds one second's worth, at least one request.
func newTokenBucket(rate float64) *tokenBucket {
	burst := math.Max(1, rate)
	return &tokenBucket{rate: rate, burst: burst, tokens: burst}
}

// take takes a token at now and reports whether there was one.
func (b *tokenBucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		if d := now.Sub(b.last); d > 0 {
			b.tokens = math.Min(b.burst, b.tokens+d.Seconds()*b.rate)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
