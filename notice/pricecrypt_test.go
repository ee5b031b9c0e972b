package notice

import (
	"errors"
	"testing"
)

// The published example keys and tokens of the scheme.
const (
	testEncryptionKey = "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o="
	testIntegrityKey  = "arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo="
)

var testIV = [16]byte([]byte("abc123def456ghi7"))

func testCrypter(t testing.TB) *PriceCrypter {
	t.Helper()
	c, err := NewPriceCrypter(testEncryptionKey, testIntegrityKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPriceCrypterVectors(t *testing.T) {
	c := testCrypter(t)
	f := func(token string, micros int64) {
		t.Helper()
		got, iv, err := c.Decrypt(token)
		if err != nil || got != micros || iv != testIV {
			t.Errorf("Decrypt(%q) = %d, %q, %v; want %d, %q", token, got, iv, err, micros, testIV)
		}
		if enc := c.Encrypt(micros, testIV); enc != token {
			t.Errorf("Encrypt(%d) = %q, want %q", micros, enc, token)
		}
	}
	f("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw", 100)
	f("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCAWJRxOgA", 1900)
	f("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemC32prpWWw", 2700)
}

func TestPriceCrypterRejects(t *testing.T) {
	c := testCrypter(t)
	f := func(token string, want error) {
		t.Helper()
		if _, _, err := c.Decrypt(token); !errors.Is(err, want) {
			t.Errorf("Decrypt(%q): %v, want %v", token, err, want)
		}
	}
	good := "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw"
	f(good[:20]+"A"+good[21:], ErrTokenSignature)                   // the ciphertext changed
	f(good[:2]+"Z"+good[3:], ErrTokenSignature)                     // the iv changed
	f(good[:len(good)-3]+"X"+good[len(good)-2:], ErrTokenSignature) // the signature changed
	f(good[:len(good)-1]+"x", ErrTokenFormat)                       // bits past the 28 bytes set
	f(good[:len(good)-4], ErrTokenFormat)
	f(good+"AAAA", ErrTokenFormat)
	f("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce/6msaw", ErrTokenFormat) // standard base64
	f("", ErrTokenFormat)
	other, err := NewPriceCrypter(testIntegrityKey, testEncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Decrypt(good); !errors.Is(err, ErrTokenSignature) {
		t.Errorf("Decrypt with other keys: %v, want %v", err, ErrTokenSignature)
	}
}

func TestPriceCrypterRoundTrip(t *testing.T) {
	c := testCrypter(t)
	iv := testIV
	for _, m := range []int64{0, 1, 1_500_000, 123, 1 << 62, -1} {
		iv[15]++
		tok := c.Encrypt(m, iv)
		if len(tok) != 38 {
			t.Errorf("token %q is %d characters, want 38", tok, len(tok))
		}
		got, giv, err := c.Decrypt(tok + "==") // padded tokens are taken too
		if err != nil || got != m || giv != iv {
			t.Errorf("round trip of %d: %d, %v", m, got, err)
		}
	}
}

func TestNewPriceCrypterNamesTheKey(t *testing.T) {
	f := func(enc, integ, want string) {
		t.Helper()
		_, err := NewPriceCrypter(enc, integ)
		if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Errorf("NewPriceCrypter(%q, %q): %v, want an error starting %q", enc, integ, err, want)
		}
	}
	f("short", testIntegrityKey, "encryption key:")
	f(testEncryptionKey, "", "integrity key:")
	f(testEncryptionKey, "arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjp", "integrity key:") // 30 bytes
}

func FuzzDecryptPrice(f *testing.F) {
	c := testCrypter(f)
	f.Add("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw")
	f.Add("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCAWJRxOgA==")
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, token string) {
		m, iv, err := c.Decrypt(token)
		if err != nil {
			return
		}
		// A token that passes re-encrypts to itself.
		if got := c.Encrypt(m, iv); got != token[:38] {
			t.Errorf("Decrypt(%q) = %d, but Encrypt gives %q", token, m, got)
		}
	})
}
