package notice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"time"
)

// The kinds of notice a token stands for.
const (
	KindWin  byte = 'w'
	KindBill byte = 'b'
	KindLoss byte = 'l'
)

// Claims are what a notice token says of one bid, all that any adx
// instance needs to act on the notice without memory of the auction
// (instances share the signing keys, nothing else): which notice, which
// auction, imp and bid, which supply and demand partner, the money, the
// demand partner's own notice URL, and until when the notice may be fired.
type Claims struct {
	// Kind is KindWin, KindBill or KindLoss.
	Kind      byte
	AuctionID string
	ImpID     string
	BidID     string
	// SSP is the supply partner's name, "" without a supply partner list.
	SSP string
	// DSP is the demand partner's name: names survive config reorderings,
	// indices do not.
	DSP string
	// Seat is the winner's seat; DealID the deal it won on, "" for the
	// open market.
	Seat   string
	DealID string
	// Currency is the response's currency: the unit of Price, as the SSP
	// sees it.
	Currency string
	// BidPrice is what the DSP bid, Charge what it is charged and Clear
	// what the SSP is paid, in micros of the exchange currency
	// (auction.Winner).
	BidPrice, Charge, Clear int64
	// Price is the bid's price returned to the SSP, in micros of Currency.
	Price int64
	// Test marks a bid of a test request (test=1): not billable.
	Test bool
	// URL is the DSP's own notice URL for Kind (its nurl, burl or lurl),
	// macros unexpanded; "" when it gave none.
	URL string
	// Expires is when the token stops being valid, in whole seconds.
	Expires time.Time
}

// Key is one notice signing key. Its ID goes into every token it signs, so
// that keys rotate: a new key signs, the old one still verifies the tokens
// already handed out until it is removed.
type Key struct {
	ID     string
	Secret []byte
}

// Token errors. A token that fails is never acted on.
var (
	ErrTokenMalformed  = errors.New("notice token is malformed")
	ErrTokenUnknownKey = errors.New("notice token is signed with an unknown key")
	ErrTokenForged     = errors.New("notice token signature does not match")
	ErrTokenExpired    = errors.New("notice token has expired")
)

// Signer signs notice tokens with HMAC-SHA256 and verifies them. A token
// is KEYID.PAYLOAD.MAC, the payload and MAC in web-safe base64 without
// padding; the MAC covers the key id and the payload. A token has one
// spelling: Verify takes no other (no padding, no stray bits, no line
// breaks), so that its text, or its MAC's, names it (ReplayGuard). It is
// safe for concurrent use.
type Signer struct {
	current *signingKey
	keys    map[string]*signingKey
	ttl     time.Duration
}

// signingKey is one key with its pool of HMAC states: hmac.New costs
// five allocations and two SHA-256 blocks of key setup, a Reset of a
// used one restores the keyed state without either.
type signingKey struct {
	id     string
	secret []byte
	macs   sync.Pool // of *macState
}

// macState is one goroutine's HMAC and scratch, reused. sum and buf live
// on the heap with it so that hashing into them allocates nothing.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
	got [sha256.Size]byte
	buf []byte // a payload, encoded or decoded
	txt []byte // a token's text, for the MAC
}

// maxPooledScratch bounds the scratch kept with a pooled macState.
const maxPooledScratch = 16 << 10

func (k *signingKey) get() *macState {
	if m, ok := k.macs.Get().(*macState); ok {
		m.h.Reset()
		return m
	}
	return &macState{h: hmac.New(sha256.New, k.secret)}
}

func (k *signingKey) put(m *macState) {
	if cap(m.buf) > maxPooledScratch || cap(m.txt) > maxPooledScratch {
		return
	}
	k.macs.Put(m)
}

// minSecret is the shortest key accepted: 256 bits, HMAC-SHA256's size.
const minSecret = 32

// NewSigner returns a Signer that signs with keys[0], verifies tokens of
// any of keys, and gives tokens ttl to live.
func NewSigner(keys []Key, ttl time.Duration) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("notice signer: no key")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("notice signer: token lifetime %v is not positive", ttl)
	}
	s := &Signer{keys: make(map[string]*signingKey, len(keys)), ttl: ttl}
	for i, k := range keys {
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, ". "):
			return nil, fmt.Errorf("notice signer: key %d: id %q must be non-empty, without dots or spaces", i, k.ID)
		case len(k.Secret) < minSecret:
			return nil, fmt.Errorf("notice signer: key %q: secret of %d bytes, want at least %d", k.ID, len(k.Secret), minSecret)
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("notice signer: key id %q appears twice", k.ID)
		}
		s.keys[k.ID] = &signingKey{id: k.ID, secret: slices.Clone(k.Secret)}
	}
	s.current = s.keys[keys[0].ID]
	return s, nil
}

// b64 is the tokens' encoding, strict: one spelling per byte string.
var b64 = base64.RawURLEncoding.Strict()

// macLen is the length of a token's MAC part.
var macLen = b64.EncodedLen(sha256.Size)

// Sign appends to dst the token for c, expiring the signer's lifetime
// after now (c.Expires is ignored), and returns the extended slice. It
// allocates nothing when dst has room for the token.
func (s *Signer) Sign(dst []byte, c *Claims, now time.Time) []byte {
	k := s.current
	m := k.get()
	m.buf = appendPayload(m.buf[:0], c, now.Add(s.ttl))
	dst = slices.Grow(dst, len(k.id)+1+b64.EncodedLen(len(m.buf))+1+macLen)
	start := len(dst)
	dst = append(dst, k.id...)
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, m.buf)
	m.h.Write(dst[start:])
	sum := m.h.Sum(m.sum[:0])
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, sum)
	k.put(m)
	return dst
}

// Verify checks token's key, signature and expiry at now and returns its
// claims.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	var c Claims
	kid, rest, ok := strings.Cut(token, ".")
	if !ok {
		return c, ErrTokenMalformed
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok || len(sig) != macLen {
		return c, ErrTokenMalformed
	}
	k, ok := s.keys[kid]
	if !ok {
		return c, ErrTokenUnknownKey
	}
	m := k.get()
	defer k.put(m)
	m.txt = append(m.txt[:0], sig...)
	if n, err := b64.Decode(m.got[:], m.txt); err != nil || n != sha256.Size {
		return c, ErrTokenMalformed
	}
	m.txt = append(m.txt[:0], token[:len(kid)+1+len(body)]...)
	m.h.Write(m.txt)
	if !hmac.Equal(m.got[:], m.h.Sum(m.sum[:0])) {
		return c, ErrTokenForged
	}
	var err error
	if m.buf, err = b64.AppendDecode(m.buf[:0], m.txt[len(kid)+1:]); err != nil {
		return c, ErrTokenMalformed
	}
	if c, err = parsePayload(m.buf); err != nil {
		return c, err
	}
	if !now.Before(c.Expires) {
		return c, ErrTokenExpired
	}
	return c, nil
}

// payloadVersion is the first byte of a payload. Version 1 had no supply
// or demand partner names, no deal, currency, prices or URL.
const payloadVersion = 2

// appendPayload encodes c, expiring at expires: the version, the kind, the
// strings length-prefixed (uvarint) in payloadStrings' order, then
// BidPrice, Charge, Clear, Price and the expiry in Unix seconds as
// varints.
func appendPayload(dst []byte, c *Claims, expires time.Time) []byte {
	kind := c.Kind
	if c.Test {
		kind |= testBit
	}
	dst = append(dst, payloadVersion, kind)
	for _, s := range [...]string{c.AuctionID, c.ImpID, c.BidID, c.SSP, c.DSP, c.Seat, c.DealID, c.Currency, c.URL} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	for _, v := range [...]int64{c.BidPrice, c.Charge, c.Clear, c.Price, expires.Unix()} {
		dst = binary.AppendVarint(dst, v)
	}
	return dst
}

// testBit marks a test request's token in its kind byte: the kinds are
// ASCII letters, below it.
const testBit = 0x80

// payloadStrings are the string fields of a payload, in order.
func payloadStrings(c *Claims) [9]*string {
	return [...]*string{&c.AuctionID, &c.ImpID, &c.BidID, &c.SSP, &c.DSP, &c.Seat, &c.DealID, &c.Currency, &c.URL}
}

// parsePayload decodes what appendPayload encoded and nothing else: a
// truncated payload, a trailing byte, an unknown kind or a varint longer
// than it needs to be is ErrTokenMalformed, so that a payload has one
// encoding. The strings share one allocation.
func parsePayload(p []byte) (Claims, error) {
	var c Claims
	if len(p) < 2 || p[0] != payloadVersion {
		return c, ErrTokenMalformed
	}
	c.Kind, c.Test = p[1]&^testBit, p[1]&testBit != 0
	if c.Kind != KindWin && c.Kind != KindBill && c.Kind != KindLoss {
		return c, ErrTokenMalformed
	}
	all := string(p) // the strings are cut from one copy
	off := 2
	for _, s := range payloadStrings(&c) {
		n, k := uvarint(p[off:])
		if k <= 0 || n > uint64(len(p)-off-k) {
			return Claims{}, ErrTokenMalformed
		}
		off += k
		*s = all[off : off+int(n)]
		off += int(n)
	}
	for _, v := range [...]*int64{&c.BidPrice, &c.Charge, &c.Clear, &c.Price} {
		x, k := uvarint(p[off:])
		if k <= 0 {
			return Claims{}, ErrTokenMalformed
		}
		*v, off = unzigzag(x), off+k
	}
	x, k := uvarint(p[off:])
	if k <= 0 || off+k != len(p) {
		return Claims{}, ErrTokenMalformed
	}
	c.Expires = time.Unix(unzigzag(x), 0)
	return c, nil
}

// uvarint is binary.Uvarint taking only the shortest encoding: a last
// byte of zero after others adds nothing, so another encoding of the same
// number would have been shorter.
func uvarint(p []byte) (uint64, int) {
	x, k := binary.Uvarint(p)
	if k > 1 && p[k-1] == 0 {
		return 0, -1
	}
	return x, k
}

// unzigzag is the inverse of binary.AppendVarint's zig-zag encoding.
func unzigzag(u uint64) int64 {
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}
