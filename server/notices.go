package server

import (
	"errors"
	"math/bits"
	"strconv"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/notice"
)

// The exchange's notice endpoints on the public port. The nurl, burl and
// lurl of every bid returned to an SSP point at them, each with a signed
// token (t) and the SSP's own macros left for it to fill.
const (
	WinPath  = "/win"
	BillPath = "/bill"
	LossPath = "/loss"
)

// The query parameters of a notice URL.
const (
	paramToken    = "t"
	paramPrice    = "price"  // ${AUCTION_PRICE}, filled by the SSP
	paramLoss     = "reason" // ${AUCTION_LOSS}
	paramMinToWin = "mtw"    // ${AUCTION_MIN_TO_WIN}
)

// OpenRTB's loss reasons (list 5.25) for a valid bid outbid: 102 lost to
// a higher bid, 103 lost to a bid for a deal.
const (
	lossOutbid = 102
	lossToDeal = 103
)

// Notices is the exchange-owned notice trail: the tokens that sign the
// notice URLs, the memory of tokens already acted on, the sender that
// fires the demand partners' own notices, and the event stream that
// records them.
type Notices struct {
	// Signer signs and verifies the notice tokens.
	Signer *notice.Signer
	// Replay refuses a token fired twice.
	Replay *notice.ReplayGuard
	// Sender fires the demand partners' notices; nil: none are fired.
	Sender *notice.Sender
}

// Notice outcomes: the outcome label of adx_notices_total.
const (
	noticeAccepted   = iota // verified, recorded, the DSP's notice queued
	noticeMalformed         // no token, or not one
	noticeForged            // unknown key or a signature that does not match
	noticeExpired           // past its expiry
	noticeWrongKind         // a win token fired at /bill, ...
	noticeReplayed          // fired before
	noticeReplayFull        // replay memory full: refused for a retry
	noticeUnrecorded        // the event could not be kept: refused for a retry
	noticeQueueFull         // the DSP's billing notice could not be queued: refused for a retry
	numNoticeOutcomes
)

var noticeOutcomeNames = [numNoticeOutcomes]string{"accepted", "malformed", "forged", "expired", "wrong_kind", "replayed", "replay_full", "unrecorded", "queue_full"}

// noticeKinds are the notice kinds, in the order of noticeMetrics' rows.
var noticeKinds = [...]byte{notice.KindWin, notice.KindBill, notice.KindLoss}

func kindRow(kind byte) int {
	switch kind {
	case notice.KindWin:
		return 0
	case notice.KindBill:
		return 1
	}
	return 2
}

func kindName(kind byte) string {
	switch kind {
	case notice.KindWin:
		return "win"
	case notice.KindBill:
		return "bill"
	}
	return "loss"
}

// noticeMetrics count the notices the SSPs fire, by kind and outcome, and
// the accepted ones per supply and demand partner with their money.
type noticeMetrics struct {
	outcomes [len(noticeKinds)][numNoticeOutcomes]prometheus.Counter
	// byPartner[kind][ssp][dsp] counts accepted notices; billed[ssp][dsp]
	// sums the billed prices, gross (what the DSP is billed) and net (what
	// the SSP reported), in micros of the exchange currency.
	byPartner              [len(noticeKinds)][][]prometheus.Counter
	billedGross, billedNet [][]prometheus.Counter
}

// noticeVecs are the notice metrics' vectors, registered once; each config
// in service takes its counters from them (noticeVecs.forPartners), as
// partnerVecs does.
type noticeVecs struct {
	outcomes, partner, billed *prometheus.CounterVec
}

func newNoticeVecs(reg prometheus.Registerer) *noticeVecs {
	v := &noticeVecs{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_notices_total",
			Help: "Win, billing and loss notices fired at adx by the SSPs, by kind and outcome; only accepted ones are recorded and passed on to the DSP.",
		}, []string{"kind", "outcome"}),
		partner: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_notices_total",
			Help: "Accepted win, billing and loss notices, by supply and demand partner.",
		}, []string{"ssp", "dsp", "kind"}),
		billed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_partner_billed_micros_total",
			Help: "Sum of billed prices (CPMs) in micros of the exchange currency, by supply and demand partner: side gross is what the DSPs are billed, net what the SSPs reported. Divide by 1e9 for the spend in currency units.",
		}, []string{"ssp", "dsp", "side"}),
	}
	if reg != nil {
		reg.MustRegister(v.outcomes, v.partner, v.billed)
	}
	return v
}

// forPartners returns the counters of supply partners ssps and demand
// partners dsps, indexed as they are.
func (v *noticeVecs) forPartners(ssps, dsps []string) *noticeMetrics {
	m := &noticeMetrics{}
	for k, kind := range noticeKinds {
		for o := range numNoticeOutcomes {
			m.outcomes[k][o] = v.outcomes.WithLabelValues(kindName(kind), noticeOutcomeNames[o])
		}
		m.byPartner[k] = make([][]prometheus.Counter, len(ssps))
		for s, ssp := range ssps {
			for _, dsp := range dsps {
				m.byPartner[k][s] = append(m.byPartner[k][s], v.partner.WithLabelValues(ssp, dsp, kindName(kind)))
			}
		}
	}
	m.billedGross = make([][]prometheus.Counter, len(ssps))
	m.billedNet = make([][]prometheus.Counter, len(ssps))
	for s, ssp := range ssps {
		for _, dsp := range dsps {
			m.billedGross[s] = append(m.billedGross[s], v.billed.WithLabelValues(ssp, dsp, "gross"))
			m.billedNet[s] = append(m.billedNet[s], v.billed.WithLabelValues(ssp, dsp, "net"))
		}
	}
	return m
}

// appendNoticeBase appends the base URL of the notice URLs for a request
// that came to ctx: notices.base_url, else http:// and the request's Host.
func (p *Public) appendNoticeBase(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	if p.cfg.Notices.BaseURL != "" {
		return append(dst, p.cfg.Notices.BaseURL...)
	}
	return append(append(dst, "http://"...), ctx.Host()...)
}

// exchangeNotices replaces the notice URLs of each bid of the response
// with the exchange's own, signed: the SSP fires them, and adx passes
// each on to the winner's own URL with its price. The winners' adm is
// expanded as before; their own notice URLs travel unexpanded in the
// tokens.
func (p *Public) exchangeNotices(x *exchange) {
	resp := &x.resp
	for s := range resp.SeatBid {
		for b := range resp.SeatBid[s].Bid {
			bid := &resp.SeatBid[s].Bid[b]
			bid.NURL, bid.BURL, bid.LURL = "", "", ""
		}
	}
	x.g.notice.Response(&x.req, x.result, resp)
	now := time.Now()
	ssp := ""
	if x.g.supply != nil {
		ssp = x.g.sspNames[x.ssp]
	}
	hint := 0
	for s := range resp.SeatBid {
		sb := &resp.SeatBid[s]
		for b := range sb.Bid {
			bid := &sb.Bid[b]
			w := x.result.WinnerOf(bid.ImpID, &hint)
			if w == nil {
				continue // BUG: a response bid is a winner's copy
			}
			c := notice.Claims{AuctionID: x.req.ID, ImpID: bid.ImpID, BidID: bid.ID, SSP: ssp,
				DSP: x.g.dspNames[w.BidderIndex()], Seat: sb.Seat, Currency: x.result.Currency,
				BidPrice: int64(w.BidPrice), Charge: int64(w.Charge), Clear: int64(w.Clear), Price: int64(w.Price)}
			if w.Deal != nil {
				c.DealID = w.Deal.ID
			}
			c.Test = x.req.Test == 1
			// The three URLs are strings over the exchange's buffer, which
			// is reused with it, after the response is written: no
			// allocation. A buffer that grows leaves the earlier URLs in
			// the array they were written to.
			start := len(x.noticeURLs)
			b := x.noticeURLs
			c.Kind, c.URL = notice.KindWin, w.Bid.NURL
			b = p.appendNoticeURL(b, x.ctx, WinPath, &c, now, "&"+paramPrice+"=${AUCTION_PRICE}")
			win := len(b)
			c.Kind, c.URL = notice.KindBill, w.Bid.BURL
			b = p.appendNoticeURL(b, x.ctx, BillPath, &c, now, "&"+paramPrice+"=${AUCTION_PRICE}")
			bill := len(b)
			c.Kind, c.URL = notice.KindLoss, w.Bid.LURL
			b = p.appendNoticeURL(b, x.ctx, LossPath, &c, now, "&"+paramLoss+"=${AUCTION_LOSS}&"+paramMinToWin+"=${AUCTION_MIN_TO_WIN}")
			x.noticeURLs = b
			urls := unsafe.String(&b[start], len(b)-start)
			bid.NURL, bid.BURL, bid.LURL = urls[:win-start], urls[win-start:bill-start], urls[bill-start:]
		}
	}
}

// appendNoticeURL appends the notice URL at path for a request that came
// to ctx, with c's token and the SSP's macros.
func (p *Public) appendNoticeURL(b []byte, ctx *fasthttp.RequestCtx, path string, c *notice.Claims, now time.Time, macros string) []byte {
	b = p.appendNoticeBase(b, ctx)
	b = append(b, path...)
	b = append(b, "?"+paramToken+"="...)
	b = p.trail.Signer.Sign(b, c, now)
	return append(b, macros...)
}

// fireLosses fires the loss notice of every bid that lost adx's own
// auction: a valid bid outbid with ${AUCTION_LOSS} 102 (103 when a deal
// bid won over it) and the winner's charge as ${AUCTION_MIN_TO_WIN}; a
// dropped bid with the loss code of its drop reason (100 below the floor,
// 203 a size not allowed, ...).
func (p *Public) fireLosses(x *exchange) {
	res := x.result
	for i := range res.Bidders {
		br := &res.Bidders[i]
		for j := range br.Bids {
			bid := &br.Bids[j]
			if bid.LURL == "" {
				continue
			}
			w := res.WinnerOf(bid.ImpID, nil)
			if w == nil || w.Bid == bid {
				continue
			}
			loss := lossOutbid
			if w.Deal != nil && bid.DealID == "" {
				loss = lossToDeal
			}
			p.fireLoss(x, i, br, bid.ImpID, bid.ID, bid.LURL, loss, int64(w.Charge))
		}
		for j := range br.Drops {
			d := &br.Drops[j]
			if d.LURL == "" {
				continue
			}
			var minToWin int64
			if w := res.WinnerOf(d.ImpID, nil); w != nil {
				minToWin = int64(w.Charge)
			}
			p.fireLoss(x, i, br, d.ImpID, d.BidID, d.LURL, d.Reason.LossCode(), minToWin)
		}
	}
}

// fireLoss queues the loss notice lurl of bidder i's bid.
func (p *Public) fireLoss(x *exchange, i int, br *auction.BidderResult, impID, bidID, lurl string, loss int, minToWin int64) {
	c := notice.Claims{Kind: notice.KindLoss, AuctionID: x.req.ID, ImpID: impID, BidID: bidID, DSP: br.Name, Seat: br.Seat, URL: lurl}
	if x.g.supply != nil {
		c.SSP = x.g.sspNames[x.ssp]
	}
	u := x.g.notice.Notice(nil, &c, i, 0, loss, minToWin)
	p.trail.Sender.Send(notice.Outgoing{Kind: notice.KindLoss, Partner: x.g.senderIndex[i], URL: string(u), Key: "l:" + c.SSP + ":" + x.req.ID + ":" + impID + ":" + br.Name + ":" + bidID})
}

// handleNotice acts on a notice the SSP fires at /win, /bill or /loss:
// it checks the token's signature, expiry and kind, refuses a second
// firing, derives the DSP's price from the SSP's and the margin, records
// the event and queues the DSP's own notice. Refused notices never reach a
// DSP.
func (p *Public) handleNotice(ctx *fasthttp.RequestCtx, kind byte) {
	g := p.gen.Load()
	row := kindRow(kind)
	refuse := func(o, status int, msg string) {
		g.noticeMetrics.outcomes[row][o].Inc()
		if status == fasthttp.StatusServiceUnavailable {
			ctx.Response.Header.Set("Retry-After", "1")
		}
		p.fail(ctx, endpointNotice, status, msg)
	}
	if !ctx.IsGet() && !ctx.IsPost() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, POST")
		p.fail(ctx, endpointNotice, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" is not allowed; fire a notice with GET")
		return
	}
	args := ctx.QueryArgs()
	token := string(args.Peek(paramToken))
	if token == "" {
		refuse(noticeMalformed, fasthttp.StatusBadRequest, "missing the notice token (query parameter "+paramToken+")")
		return
	}
	now := time.Now()
	c, err := p.trail.Signer.Verify(token, now)
	switch {
	case errors.Is(err, notice.ErrTokenExpired):
		refuse(noticeExpired, fasthttp.StatusGone, err.Error())
		return
	case errors.Is(err, notice.ErrTokenForged), errors.Is(err, notice.ErrTokenUnknownKey):
		refuse(noticeForged, fasthttp.StatusForbidden, err.Error())
		return
	case err != nil:
		refuse(noticeMalformed, fasthttp.StatusBadRequest, err.Error())
		return
	case c.Kind != kind:
		refuse(noticeWrongKind, fasthttp.StatusBadRequest, "the token is for a "+kindName(c.Kind)+" notice, not a "+kindName(kind)+" one")
		return
	}
	switch err := p.trail.Replay.Claim(token, c.Expires, now); {
	case errors.Is(err, notice.ErrReplayed):
		refuse(noticeReplayed, fasthttp.StatusConflict, "this "+kindName(kind)+" notice was already fired")
		return
	case err != nil:
		refuse(noticeReplayFull, fasthttp.StatusServiceUnavailable, "cannot take notices now: "+err.Error())
		return
	}
	sspPrice, reported := notice.ParsePrice(string(args.Peek(paramPrice)))
	ev := events.Event{ID: eventID(kind, c.SSP, c.AuctionID, c.ImpID), Time: now.UTC(), AuctionID: c.AuctionID,
		SSP: c.SSP, Currency: p.cfg.Auction.Currency, ImpID: c.ImpID, BidID: c.BidID, DSP: c.DSP, Seat: c.Seat,
		DealID: c.DealID, BidPrice: currency.Micros(c.BidPrice), Charge: currency.Micros(c.Charge),
		Clear: currency.Micros(c.Clear), SSPPrice: -1, SSPCurrency: c.Currency, Test: c.Test}
	if reported {
		ev.SSPPrice = currency.Micros(sspPrice)
	}
	var loss int
	var minToWin int64
	switch kind {
	case notice.KindWin:
		ev.Type = events.Win
		ev.DSPPrice = currency.Micros(notice.DSPPrice(&c, sspPrice, reported))
	case notice.KindBill:
		ev.Type = events.Bill
		ev.DSPPrice = currency.Micros(notice.DSPPrice(&c, sspPrice, reported))
	default:
		ev.Type = events.Loss
		loss, _ = strconv.Atoi(string(args.Peek(paramLoss)))
		if loss < 0 || loss > 1<<20 {
			loss = 0
		}
		ev.LossReason = loss
		if mtw, ok := notice.ParsePrice(string(args.Peek(paramMinToWin))); ok && c.Price > 0 {
			minToWin = mulDiv(mtw, c.Charge, c.Price)
		}
	}
	// The event first: a notice refused for a retry then never reached
	// the DSP, and the retry's event has the same id.
	if p.stream != nil {
		if err := p.stream.Record(&ev); err != nil {
			p.trail.Replay.Release(token)
			p.log.Error("cannot record a notice event", "kind", kindName(kind), "auction", c.AuctionID, "err", err)
			refuse(noticeUnrecorded, fasthttp.StatusServiceUnavailable, "cannot record the notice now; fire it again")
			return
		}
	}
	dsp, known := g.dspIndex[c.DSP]
	if c.URL != "" && known && p.trail.Sender != nil {
		u := g.notice.Notice(nil, &c, dsp, int64(ev.DSPPrice), loss, minToWin)
		if !p.trail.Sender.Send(notice.Outgoing{Kind: kind, Partner: g.senderIndex[dsp], URL: string(u), Key: ev.ID}) && kind == notice.KindBill {
			// Billing is money: the SSP fires it again rather than the DSP
			// never hearing of it.
			p.trail.Replay.Release(token)
			refuse(noticeQueueFull, fasthttp.StatusServiceUnavailable, "cannot pass the billing notice on now; fire it again")
			return
		}
	}
	g.noticeMetrics.outcomes[row][noticeAccepted].Inc()
	if s, ok := g.sspIndexOf(c.SSP); ok && known {
		g.noticeMetrics.byPartner[row][s][dsp].Inc()
		if kind == notice.KindBill {
			g.noticeMetrics.billedGross[s][dsp].Add(float64(ev.DSPPrice))
			net := c.Clear
			if reported && c.Price > 0 {
				net = min(mulDiv(sspPrice, c.Clear, c.Price), c.Clear)
			}
			g.noticeMetrics.billedNet[s][dsp].Add(float64(net))
		}
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	p.metrics.count(endpointNotice, fasthttp.StatusNoContent)
}

// eventID is a notice event's idempotency key, also sent to the DSP with
// its notice: the kind, the SSP, the auction and the imp, which has one
// winning bid.
func eventID(kind byte, ssp, auctionID, impID string) string {
	return string(kind) + ":" + ssp + ":" + auctionID + ":" + impID
}

// mulDiv returns a×b/c rounded down, for non-negative a and b and a
// positive c, without overflowing in between; 0 for other arguments or a
// quotient past int64.
func mulDiv(a, b, c int64) int64 {
	if a < 0 || b < 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > 1<<63-1 {
		return 0
	}
	return int64(q)
}

// auctionEvent fills ev, reusing its slices, with the auction x ran: the
// request's shape, each bid with its fate, and what the privacy signals
// did to each demand partner.
func (p *Public) auctionEvent(x *exchange, ev *events.Event) {
	res := x.result
	ssp := ""
	if x.g.supply != nil {
		ssp = x.g.sspNames[x.ssp]
	}
	*ev = events.Event{Type: events.Auction, ID: "a:" + ssp + ":" + x.req.ID, Time: x.arrival.UTC(),
		AuctionID: x.req.ID, SSP: ssp, Currency: p.cfg.Auction.Currency, Test: x.req.Test == 1, Imps: len(x.req.Imp),
		DurationMicros: time.Since(x.arrival).Microseconds(),
		Bids:           ev.Bids[:0], NoBids: ev.NoBids[:0], Unchecked: ev.Unchecked[:0], Privacy: ev.Privacy[:0]}
	for i := range res.Bidders {
		br := &res.Bidders[i]
		if d := br.Privacy; !d.IsZero() {
			act := d.Action().String()
			for r := d.Labels(); r != 0; r &= r - 1 {
				ev.Privacy = append(ev.Privacy, events.Privacy{DSP: br.Name, Action: act, Reason: r.String()})
			}
		}
		if br.Outcome != auction.OutcomeBid {
			ev.NoBids = append(ev.NoBids, events.NoBid{DSP: br.Name, Reason: br.Outcome.String()})
			continue
		}
		cur := br.Currency
		if cur == p.cfg.Auction.Currency {
			cur = ""
		}
		for j := range br.Bids {
			b := &br.Bids[j]
			eb := events.Bid{DSP: br.Name, Seat: br.Seat, ImpID: b.ImpID, BidID: b.ID, DealID: b.DealID,
				Price: micros(b.Price), Cur: cur, Status: events.BidLost}
			if br.Seats != nil {
				eb.Seat = br.Seats[j]
			}
			if w := res.WinnerOf(b.ImpID, nil); w != nil && w.Bid == b {
				eb.Status, eb.Charge, eb.Clear = events.BidWon, w.Charge, w.Clear
			}
			ev.Bids = append(ev.Bids, eb)
		}
		for _, d := range br.Drops {
			ev.Bids = append(ev.Bids, events.Bid{DSP: br.Name, Seat: br.Seat, ImpID: d.ImpID, BidID: d.BidID,
				Price: micros(d.Price), Cur: cur, Status: d.Reason.String()})
		}
		for _, r := range [...]auction.DropReason{auction.DropTooManyBids, auction.DropLate} {
			if n := br.Dropped[r]; n > 0 {
				ev.Unchecked = append(ev.Unchecked, events.Unchecked{DSP: br.Name, Reason: r.String(), Count: n})
			}
		}
	}
}

// micros returns price in micros, 0 when it is not a finite amount.
func micros(price float64) currency.Micros {
	m, _ := currency.FromFloat(price)
	return m
}
