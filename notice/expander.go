package notice

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
)

// Expander expands the macros of an auction's winning bids, with each
// demand partner's price encryption. Build it once with FromConfig; it is
// safe for concurrent use.
type Expander struct {
	// currency is the exchange's: the currency of the prices.
	currency string
	// crypters are the enabled partners' price crypters, by bidder index;
	// nil: the price in the clear.
	crypters []*PriceCrypter
	// ivSeq is the server part of each encrypted price's iv: it starts at
	// random and counts, so that no two ivs of one instance repeat.
	ivSeq atomic.Uint64
}

// FromConfig returns the Expander for cfg's enabled demand partners, in
// config order: the order of the auction's bidders. cfg must be valid.
func FromConfig(cfg *config.Config) *Expander {
	e := &Expander{currency: cfg.Auction.Currency}
	var seed [8]byte
	rand.Read(seed[:])
	e.ivSeq.Store(binary.BigEndian.Uint64(seed[:]))
	for _, d := range cfg.Demand {
		if d.Disabled {
			continue
		}
		var c *PriceCrypter
		if pe := d.PriceEncryption; pe != nil {
			var err error
			if c, err = NewPriceCrypter(pe.EncryptionKey, pe.IntegrityKey); err != nil {
				panic("BUG: config validation let through demand " + d.Name + "'s price_encryption: " + err.Error())
			}
		}
		e.crypters = append(e.crypters, c)
	}
	return e
}

// iv returns a new iv for an encrypted price: the time in seconds and
// microseconds, then the server part.
func (e *Expander) iv(now time.Time) [16]byte {
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[0:], uint32(now.Unix()))
	binary.BigEndian.PutUint32(iv[4:], uint32(now.Nanosecond()/1000))
	binary.BigEndian.PutUint64(iv[8:], e.ivSeq.Add(1))
	return iv
}

// bufs are the scratch buffers the fields are expanded into.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuf bounds the buffers kept for reuse.
const maxPooledBuf = 64 << 10

// Response expands the macros in the adm, nurl, burl and lurl of each bid
// of resp, the response res built for req, with the values of the bid's
// winner. A bid whose fields hold no "${" costs nothing.
func (e *Expander) Response(req *openrtb2.BidRequest, res *auction.Result, resp *openrtb2.BidResponse) {
	var buf *[]byte
	hint := 0
	for s := range resp.SeatBid {
		sb := &resp.SeatBid[s]
		for b := range sb.Bid {
			bid := &sb.Bid[b]
			if !hasMacro(bid.AdM) && !hasMacro(bid.NURL) && !hasMacro(bid.BURL) && !hasMacro(bid.LURL) {
				continue
			}
			w := res.WinnerOf(bid.ImpID, &hint)
			if w == nil {
				continue // BUG: a response bid is a winner's copy
			}
			v := Values{AuctionID: req.ID, BidID: bid.ID, ImpID: bid.ImpID, SeatID: sb.Seat, AdID: bid.AdID,
				Price: w.Charge, BidPrice: w.BidPrice, Currency: e.currency}
			if i := w.BidderIndex(); i < len(e.crypters) && e.crypters[i] != nil {
				v.Crypter, v.IV = e.crypters[i], e.iv(time.Now())
			}
			if buf == nil {
				buf = bufs.Get().(*[]byte)
			}
			bid.AdM = expandField(buf, bid.AdM, &v, false)
			bid.NURL = expandField(buf, bid.NURL, &v, true)
			bid.BURL = expandField(buf, bid.BURL, &v, true)
			bid.LURL = expandField(buf, bid.LURL, &v, true)
		}
	}
	if buf != nil && cap(*buf) <= maxPooledBuf {
		bufs.Put(buf)
	}
}

// Notice appends to dst the demand partner's notice URL of c (c.URL),
// its macros expanded as the SSP fires the exchange's notice:
// ${AUCTION_PRICE} is price (micros of the exchange currency, DSPPrice),
// encrypted when the partner asks for it, ${AUCTION_LOSS} is loss (the
// loss reason, 0 for a win or bill), ${AUCTION_MIN_TO_WIN} minToWin (0:
// unknown, nothing), ${AUCTION_CURRENCY} the exchange currency,
// ${AUCTION_MBR} price / c.BidPrice, and the ids come from c
// (${AUCTION_AD_ID}, which tokens do not carry, is nothing). Each value is
// query-escaped, as ExpandURL does. partner is the index of c.DSP in the
// enabled demand list, for its price encryption. It returns dst unchanged
// when there is nothing to fire: c.URL is empty, or partner is not in the
// list (a partner removed since the auction: whether it wanted its price
// encrypted is unknown, and a price never leaves in the clear by mistake).
func (e *Expander) Notice(dst []byte, c *Claims, partner int, price int64, loss int, minToWin int64) []byte {
	if c.URL == "" || partner < 0 || partner >= len(e.crypters) {
		return dst
	}
	v := Values{AuctionID: c.AuctionID, BidID: c.BidID, ImpID: c.ImpID, SeatID: c.Seat,
		Price: currency.Micros(price), BidPrice: currency.Micros(c.BidPrice), Currency: e.currency,
		Loss: loss, MinToWin: currency.Micros(minToWin)}
	if cr := e.crypters[partner]; cr != nil {
		v.Crypter, v.IV = cr, e.iv(time.Now())
	}
	return ExpandURL(dst, c.URL, &v)
}

func hasMacro(s string) bool { return strings.Contains(s, "${") }

// expandField returns s expanded, using buf; s itself when it holds no
// macro.
func expandField(buf *[]byte, s string, v *Values, url bool) string {
	if !hasMacro(s) {
		return s
	}
	if url {
		*buf = ExpandURL((*buf)[:0], s, v)
	} else {
		*buf = Expand((*buf)[:0], s, v)
	}
	return string(*buf)
}
