package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// std is encoding/json's string, HTML escaping off.
func std(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func TestAppend(t *testing.T) {
	f := func(s, want string) {
		t.Helper()
		got := Append([]byte("x"), s)
		if string(got) != "x"+want {
			t.Errorf("Append(%q) = %s, want %s", s, got[1:], want)
		}
		if !bytes.Equal(got[1:], std(t, s)) {
			t.Errorf("Append(%q) = %s, encoding/json says %s", s, got[1:], std(t, s))
		}
	}
	f("", `""`)
	f("plain ascii", `"plain ascii"`)
	f("q\"b\\s/<>&", `"q\"b\\s/<>&"`)
	f("\x00\x01\b\f\n\r\t\x1f\x7f", `"\u0000\u0001\b\f\n\r\t\u001f`+"\x7f"+`"`)
	f("é\u2028\u2029😀", `"é\u2028\u2029😀"`)
	f("a\xffb\xc3", `"a\ufffdb\ufffd"`)
}

func TestAppendAllocations(t *testing.T) {
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst = Append(dst[:0], "a \"quoted\"\n string é") }); n != 0 {
		t.Errorf("%v allocations, want 0 with room in dst", n)
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("q\"\\\x00\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got := Append(nil, s); !bytes.Equal(got, std(t, s)) {
			t.Fatalf("Append(%q) = %s, encoding/json says %s", s, got, std(t, s))
		}
	})
}
