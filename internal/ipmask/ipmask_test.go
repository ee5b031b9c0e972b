package ipmask

import "testing"

func TestTruncate(t *testing.T) {
	f := func(ip string, bits4, bits6 int, want string) {
		t.Helper()
		if got := Truncate(ip, bits4, bits6); got != want {
			t.Errorf("Truncate(%q, %d, %d) = %q, want %q", ip, bits4, bits6, got, want)
		}
	}
	f("81.2.69.160", 24, 48, "81.2.69.0")
	f("81.2.69.160", 16, 48, "81.2.0.0")
	f("::ffff:81.2.69.160", 24, 48, "81.2.69.0")
	f("2001:db8:abcd:12:1:2:3:4", 24, 48, "2001:db8:abcd::")
	f("2001:db8:abcd:12::1%eth0", 24, 48, "2001:db8:abcd::")
	f("", 24, 48, "")
	f("81.2.69.160.7", 24, 48, "")
	f("not an ip", 24, 48, "")
	f("81.2.69.160", 40, 48, "")
}

func FuzzTruncate(f *testing.F) {
	f.Add("81.2.69.160")
	f.Add("2001:db8::1")
	f.Fuzz(func(t *testing.T, ip string) {
		if out := Truncate(ip, 24, 48); out != "" && Truncate(out, 24, 48) != out {
			t.Fatalf("Truncate is not idempotent on %q: %q then %q", ip, out, Truncate(out, 24, 48))
		}
	})
}
