package notice

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func testKey(id string, fill byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, 32)} }

var claims = Claims{Kind: KindBill, AuctionID: "auction-1", ImpID: "imp/1", BidID: "b ü 9", SSP: "ssp-a", DSP: "dsp-b",
	Seat: "seat 7", DealID: "deal.1", Currency: "EUR", BidPrice: 3_000_000, Charge: 2_500_000, Clear: 2_250_000, Price: 2_070_000,
	URL: "https://dsp.example/bill?p=${AUCTION_PRICE}&a=${AUCTION_ID}"}

// A token carries its claims through, until it expires.
func TestTokenRoundTrip(t *testing.T) {
	s, err := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	f := func(name string, c Claims) {
		t.Helper()
		tok := string(s.Sign([]byte("prefix:"), &c, now))[len("prefix:"):]
		if strings.ContainsAny(tok, "+/=&?# ") {
			t.Errorf("%s: token %q is not URL-safe", name, tok)
		}
		got, err := s.Verify(tok, now.Add(59*time.Minute))
		want := c
		want.Expires = now.Add(time.Hour)
		if err != nil || got != want {
			t.Fatalf("%s: Verify = %+v, %v; want %+v", name, got, err, want)
		}
		if _, err := s.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("%s: at its expiry: %v, want ErrTokenExpired", name, err)
		}
	}
	f("every field", claims)
	f("zero", Claims{Kind: KindWin})
	f("test request", Claims{Kind: KindBill, AuctionID: "a", Test: true})
	f("loss without URL", Claims{Kind: KindLoss, AuctionID: "a", DSP: "d", Charge: 1})
	f("negative and extreme amounts", Claims{Kind: KindWin, BidPrice: math.MaxInt64, Charge: math.MinInt64, Clear: -1, Price: 1 << 40})
	f("long URL", Claims{Kind: KindWin, URL: "https://dsp.example/win?" + strings.Repeat("x=${AUCTION_PRICE}&", 200)})
	f("bytes", Claims{Kind: KindBill, AuctionID: "\x00\xff.\n", Seat: "\r\n", Currency: "€"})
}

// signPayload signs any payload, as Sign would: the way to give Verify
// payloads that pass the MAC but are not Sign's.
func signPayload(s *Signer, payload []byte) string {
	k := s.current
	tok := append([]byte(k.id+"."), b64.EncodeToString(payload)...)
	mac := hmac.New(sha256.New, k.secret)
	mac.Write(tok)
	return string(tok) + "." + b64.EncodeToString(mac.Sum(nil))
}

// A payload is read whole and exactly: each truncation, a trailing byte,
// another version or kind, or an overlong varint is malformed even under
// a good MAC.
func TestTokenPayloadStrict(t *testing.T) {
	s, _ := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	good := appendPayload(nil, &claims, now.Add(time.Hour))
	if _, err := s.Verify(signPayload(s, good), now); err != nil {
		t.Fatalf("the good payload: %v", err)
	}
	f := func(name string, p []byte) {
		t.Helper()
		if _, err := s.Verify(signPayload(s, p), now); !errors.Is(err, ErrTokenMalformed) {
			t.Errorf("%s: %v, want ErrTokenMalformed", name, err)
		}
	}
	for n := range len(good) {
		f(fmt.Sprintf("truncated to %d bytes", n), good[:n])
	}
	f("a trailing byte", append(slices.Clone(good), 0))
	f("version 1", append([]byte{1}, good[1:]...))
	f("unknown kind", append([]byte{payloadVersion, 'x'}, good[2:]...))
	f("overlong length", append([]byte{payloadVersion, KindWin, 0x80, 0x00}, good[3:]...))
	f("string past the end", append([]byte{payloadVersion, KindWin, 0x7f}, good[3:]...))
	overlongExpiry := append(good[:len(good)-5:len(good)-5], 0x80|good[len(good)-5], 0x80|good[len(good)-4], 0x80|good[len(good)-3], 0x80|good[len(good)-2], 0x80|good[len(good)-1], 0)
	f("overlong expiry", overlongExpiry)
}

// Forged, tampered, malformed and wrong-key tokens are refused, each
// with its reason.
func TestTokenRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, _ := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	other, _ := NewSigner([]Key{testKey("k1", 2)}, time.Hour) // same id, another secret
	tok := string(s.Sign(nil, &claims, now))
	kid, rest, _ := strings.Cut(tok, ".")
	body, sig, _ := strings.Cut(rest, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	f := func(name, token string, want error) {
		t.Helper()
		if _, err := s.Verify(token, now); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	f("another key's secret", string(other.Sign(nil, &claims, now)), ErrTokenForged)
	f("payload changed", kid+"."+flip(body, 5)+"."+sig, ErrTokenForged)
	f("signature changed", kid+"."+body+"."+flip(sig, 3), ErrTokenForged)
	f("key id changed", "k2."+body+"."+sig, ErrTokenUnknownKey)
	f("empty", "", ErrTokenMalformed)
	f("no signature", kid+"."+body, ErrTokenMalformed)
	f("extra part", tok+".x", ErrTokenMalformed)
	f("signature not base64", kid+"."+body+".!!", ErrTokenMalformed)
	// One token, one spelling: the MAC's 2 spare bits set, a line break
	// (which base64 decoders skip) or padding would spell the same MAC
	// another way and pass a replay guard keyed by the text.
	last := strings.IndexByte(b64Alphabet, sig[len(sig)-1])
	f("spare bits set", kid+"."+body+"."+sig[:len(sig)-1]+string(b64Alphabet[last|1]), ErrTokenMalformed)
	f("line break in the signature", kid+"."+body+"."+sig[:10]+"\n"+sig[10:], ErrTokenMalformed)
	f("line break for a character", kid+"."+body+"."+sig[:10]+"\n"+sig[11:], ErrTokenMalformed)
	f("padded signature", kid+"."+body+"."+sig+"=", ErrTokenMalformed)
	f("line break in the payload", kid+"."+body[:4]+"\n"+body[4:]+"."+sig, ErrTokenForged)
}

// Keys rotate: tokens of the old key verify while it is listed after the
// new one, which signs; once it is removed they do not.
func TestTokenKeyRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	old, _ := NewSigner([]Key{testKey("2026-11", 1)}, time.Hour)
	rotated, _ := NewSigner([]Key{testKey("2026-12", 2), testKey("2026-11", 1)}, time.Hour)
	after, _ := NewSigner([]Key{testKey("2026-12", 2)}, time.Hour)
	oldTok := string(old.Sign(nil, &claims, now))
	newTok := string(rotated.Sign(nil, &claims, now))
	if !strings.HasPrefix(newTok, "2026-12.") {
		t.Errorf("the rotated signer signs with %q, want the first key", newTok[:8])
	}
	for _, c := range []struct {
		s    *Signer
		tok  string
		want error
	}{{rotated, oldTok, nil}, {rotated, newTok, nil}, {after, newTok, nil}, {after, oldTok, ErrTokenUnknownKey}} {
		if _, err := c.s.Verify(c.tok, now); !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("Verify(%.12s...) = %v, want %v", c.tok, err, c.want)
		}
	}
}

func TestNewSignerRejects(t *testing.T) {
	f := func(keys []Key, ttl time.Duration, want string) {
		t.Helper()
		if _, err := NewSigner(keys, ttl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewSigner(%d keys, %v) = %v, want an error with %q", len(keys), ttl, err, want)
		}
	}
	f(nil, time.Hour, "no key")
	f([]Key{testKey("k", 1)}, 0, "not positive")
	f([]Key{{ID: "k", Secret: []byte("short")}}, time.Hour, "at least 32")
	f([]Key{testKey("a.b", 1)}, time.Hour, "without dots")
	f([]Key{testKey("k", 1), testKey("k", 2)}, time.Hour, "twice")
}

// FuzzVerifyToken: no token makes Verify panic, and what it accepts is
// what was signed.
func FuzzVerifyToken(f *testing.F) {
	s, _ := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	f.Add(string(s.Sign(nil, &claims, now)))
	f.Add("k1..")
	f.Add("k1.AQ.")
	f.Add(signPayload(s, []byte{payloadVersion, KindWin}))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token, now)
		if err != nil {
			return
		}
		if again := string(s.Sign(nil, &c, c.Expires.Add(-time.Hour))); again != token {
			t.Fatalf("accepted %q, which signs back as %q", token, again)
		}
	})
}

// FuzzTokenPayload: past the MAC, no payload makes the parser panic, and
// what it accepts is what appendPayload writes for its claims (one
// encoding per claims).
func FuzzTokenPayload(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(appendPayload(nil, &claims, now))
	f.Add(appendPayload(nil, &Claims{Kind: KindWin}, now))
	f.Add([]byte{payloadVersion, KindLoss, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := parsePayload(p)
		if err != nil {
			return
		}
		if again := appendPayload(nil, &c, c.Expires); !bytes.Equal(again, p) {
			t.Fatalf("accepted %x, which encodes back as %x", p, again)
		}
	})
}
