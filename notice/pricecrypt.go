package notice

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// The encrypted price scheme DSPs widely decrypt ("decrypt price
// confirmations", also used by BidSwitch and others): a token is the web-safe
// base64, unpadded, of
//
//	iv (16 bytes) || price XOR HMAC-SHA1(encryption key, iv)[:8] || HMAC-SHA1(integrity key, price || iv)[:4]
//
// where price is the price in micros, 8 bytes big-endian.
const (
	ivSize    = 16
	priceSize = 8
	sigSize   = 4
	tokenSize = ivSize + priceSize + sigSize
	// KeySize is the decoded size of an encryption or integrity key.
	KeySize = 32
)

// tokenEncoding is web-safe base64 without padding, strict: a token has
// one spelling. Decrypt and ParseKey also take it padded.
var tokenEncoding = base64.RawURLEncoding.Strict()

// Errors of Decrypt.
var (
	// ErrTokenFormat is a token that is not web-safe base64 of 28 bytes.
	ErrTokenFormat = errors.New("not web-safe base64 of 28 bytes")
	// ErrTokenSignature is a token whose integrity signature does not
	// match: tampered with, or made with other keys.
	ErrTokenSignature = errors.New("integrity signature does not match")
)

// PriceCrypter encrypts and decrypts prices with one demand partner's
// pair of keys. It is safe for concurrent use.
type PriceCrypter struct {
	enc, integ []byte
	macs       sync.Pool // of *macPair
}

// macPair is one goroutine's HMACs, reused: hmac.New allocates. The
// bytes they hash are copied into msg, which lives on the heap with them,
// so that hashing allocates nothing.
type macPair struct {
	enc, integ hash.Hash
	sum        [sha1.Size]byte
	msg        [priceSize + ivSize]byte // price || iv
}

// ParseKey decodes a web-safe base64 key (padded or not) of KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	k, err := tokenEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("cannot decode the key as web-safe base64: %w", err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("the key is %d bytes, want %d", len(k), KeySize)
	}
	return k, nil
}

// NewPriceCrypter returns the crypter for a web-safe base64 encryption key
// and integrity key, of KeySize bytes each.
func NewPriceCrypter(encryptionKey, integrityKey string) (*PriceCrypter, error) {
	enc, err := ParseKey(encryptionKey)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	integ, err := ParseKey(integrityKey)
	if err != nil {
		return nil, fmt.Errorf("integrity key: %w", err)
	}
	c := &PriceCrypter{enc: enc, integ: integ}
	c.macs.New = func() any {
		return &macPair{enc: hmac.New(sha1.New, c.enc), integ: hmac.New(sha1.New, c.integ)}
	}
	return c, nil
}

// seal returns the 28 bytes of micros' token under iv.
func (c *PriceCrypter) seal(micros int64, iv [16]byte) [tokenSize]byte {
	m := c.macs.Get().(*macPair)
	defer c.macs.Put(m)
	copy(m.msg[priceSize:], iv[:])
	pad := m.pad()
	binary.BigEndian.PutUint64(m.msg[:priceSize], uint64(micros))
	var t [tokenSize]byte
	copy(t[:ivSize], iv[:])
	for i := range priceSize {
		t[ivSize+i] = m.msg[i] ^ pad[i]
	}
	sig := m.signature()
	copy(t[ivSize+priceSize:], sig[:])
	return t
}

// pad returns the pad of the iv in msg.
func (m *macPair) pad() [priceSize]byte {
	m.enc.Reset()
	m.enc.Write(m.msg[priceSize:])
	return [priceSize]byte(m.enc.Sum(m.sum[:0]))
}

// signature returns the signature of the price and iv in msg.
func (m *macPair) signature() [sigSize]byte {
	m.integ.Reset()
	m.integ.Write(m.msg[:])
	return [sigSize]byte(m.integ.Sum(m.sum[:0]))
}

// Encrypt returns the token of a price in micros under iv. The iv must not
// repeat under one key: two prices under one iv share their pad.
func (c *PriceCrypter) Encrypt(micros int64, iv [16]byte) string {
	return string(c.AppendEncrypt(nil, micros, iv))
}

// AppendEncrypt appends the token of a price in micros under iv to dst.
func (c *PriceCrypter) AppendEncrypt(dst []byte, micros int64, iv [16]byte) []byte {
	t := c.seal(micros, iv)
	return tokenEncoding.AppendEncode(dst, t[:])
}

// Decrypt returns the price in micros a token holds and its iv. It fails
// with ErrTokenFormat or ErrTokenSignature.
func (c *PriceCrypter) Decrypt(token string) (int64, [16]byte, error) {
	var iv [16]byte
	token = strings.TrimRight(token, "=")
	if tokenEncoding.DecodedLen(len(token)) != tokenSize {
		return 0, iv, ErrTokenFormat
	}
	var t [tokenSize]byte
	if n, err := tokenEncoding.Decode(t[:], []byte(token)); err != nil || n != tokenSize {
		return 0, iv, ErrTokenFormat
	}
	copy(iv[:], t[:ivSize])
	m := c.macs.Get().(*macPair)
	defer c.macs.Put(m)
	copy(m.msg[priceSize:], iv[:])
	pad := m.pad()
	for i := range priceSize {
		m.msg[i] = t[ivSize+i] ^ pad[i]
	}
	sig := m.signature()
	if subtle.ConstantTimeCompare(sig[:], t[ivSize+priceSize:]) != 1 {
		return 0, iv, ErrTokenSignature
	}
	price := m.msg[:priceSize]
	return int64(binary.BigEndian.Uint64(price)), iv, nil
}
