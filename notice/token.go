package notice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The kinds of notice a token stands for.
const (
	KindWin  byte = 'w'
	KindBill byte = 'b'
	KindLoss byte = 'l'
)

// Claims are what a notice token says of one bid: which notice, which
// auction, imp and bid, which demand partner, the money, and until when the
// notice may be fired.
type Claims struct {
	Kind      byte
	AuctionID string
	ImpID     string
	BidID     string
	// Partner is the demand partner's index in the config's enabled
	// demand list.
	Partner int
	// Charge is what the partner is charged and Clear what the SSP is
	// paid, in micros of the exchange currency (auction.Winner).
	Charge, Clear int64
	// Expires is when the token stops being valid.
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
// padding; the MAC covers the key id and the payload. It is safe for
// concurrent use.
type Signer struct {
	current Key
	keys    map[string][]byte
	ttl     time.Duration
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
	s := &Signer{current: keys[0], keys: make(map[string][]byte, len(keys)), ttl: ttl}
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
		s.keys[k.ID] = k.Secret
	}
	return s, nil
}

var b64 = base64.RawURLEncoding

// Sign appends to dst the token for c, expiring the signer's lifetime
// after now (c.Expires is ignored), and returns the extended slice.
func (s *Signer) Sign(dst []byte, c *Claims, now time.Time) []byte {
	payload := appendPayload(make([]byte, 0, 64+len(c.AuctionID)+len(c.ImpID)+len(c.BidID)), c, now.Add(s.ttl))
	dst = append(dst, s.current.ID...)
	dst = append(dst, '.')
	start := len(dst) - len(s.current.ID) - 1
	dst = b64.AppendEncode(dst, payload)
	mac := hmac.New(sha256.New, s.current.Secret)
	mac.Write(dst[start:])
	dst = append(dst, '.')
	return b64.AppendEncode(dst, mac.Sum(nil))
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
	if !ok || strings.Contains(sig, ".") {
		return c, ErrTokenMalformed
	}
	secret, ok := s.keys[kid]
	if !ok {
		return c, ErrTokenUnknownKey
	}
	got, err := b64.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return c, ErrTokenMalformed
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(token[:len(kid)+1+len(body)]))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return c, ErrTokenForged
	}
	payload, err := b64.DecodeString(body)
	if err != nil {
		return c, ErrTokenMalformed
	}
	if c, err = parsePayload(payload); err != nil {
		return c, err
	}
	if !now.Before(c.Expires) {
		return c, ErrTokenExpired
	}
	return c, nil
}

// payloadVersion is the first byte of a payload.
const payloadVersion = 1

// appendPayload encodes c, expiring at expires: version, kind, the three
// ids length-prefixed, the partner, the two amounts and the expiry in
// Unix seconds, as varints.
func appendPayload(dst []byte, c *Claims, expires time.Time) []byte {
	dst = append(dst, payloadVersion, c.Kind)
	for _, s := range [...]string{c.AuctionID, c.ImpID, c.BidID} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendUvarint(dst, uint64(c.Partner))
	dst = binary.AppendVarint(dst, c.Charge)
	dst = binary.AppendVarint(dst, c.Clear)
	return binary.AppendVarint(dst, expires.Unix())
}

func parsePayload(p []byte) (Claims, error) {
	var c Claims
	if len(p) < 2 || p[0] != payloadVersion {
		return c, ErrTokenMalformed
	}
	c.Kind, p = p[1], p[2:]
	if c.Kind != KindWin && c.Kind != KindBill && c.Kind != KindLoss {
		return c, ErrTokenMalformed
	}
	for _, s := range [...]*string{&c.AuctionID, &c.ImpID, &c.BidID} {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return c, ErrTokenMalformed
		}
		*s, p = string(p[k:k+int(n)]), p[k+int(n):]
	}
	partner, k := binary.Uvarint(p)
	if k <= 0 || partner > 1<<16 {
		return c, ErrTokenMalformed
	}
	c.Partner, p = int(partner), p[k:]
	var vals [3]int64
	for i := range vals {
		v, k := binary.Varint(p)
		if k <= 0 {
			return c, ErrTokenMalformed
		}
		vals[i], p = v, p[k:]
	}
	if len(p) != 0 {
		return c, ErrTokenMalformed
	}
	c.Charge, c.Clear, c.Expires = vals[0], vals[1], time.Unix(vals[2], 0)
	return c, nil
}
