package notice

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKey(id string, fill byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, 32)} }

var claims = Claims{Kind: KindBill, AuctionID: "auction-1", ImpID: "imp/1", BidID: "b ü 9", Partner: 3, Charge: 2_500_000, Clear: 2_250_000}

// A token carries its claims through, until it expires.
func TestTokenRoundTrip(t *testing.T) {
	s, err := NewSigner([]Key{testKey("k1", 1)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	tok := string(s.Sign(nil, &claims, now))
	if strings.ContainsAny(tok, "+/=&?# ") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	got, err := s.Verify(tok, now.Add(59*time.Minute))
	want := claims
	want.Expires = now.Add(time.Hour)
	if err != nil || got != want {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("at its expiry: %v, want ErrTokenExpired", err)
	}
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
