package privacy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExtValue(t *testing.T) {
	f := func(ext, key, want string) {
		t.Helper()
		if got := string(extValue([]byte(ext), key)); got != want {
			t.Errorf("extValue(%s, %s) = %q, want %q", ext, key, got, want)
		}
	}
	f(`{"gdpr":1}`, "gdpr", "1")
	f(` { "a" : "gdpr", "gdpr" : 1 } `, "gdpr", "1")
	f(`{"x":{"gdpr":2},"gdpr":0}`, "gdpr", "0")
	f(`{"x":[{"gdpr":2}],"y":"}","gdpr":3}`, "gdpr", "3")
	f(`{"s":"\"gdpr\":5","gdpr":1}`, "gdpr", "1")
	f(`{"consent":"BOE\"x"}`, "consent", `"BOE\"x"`)
	f(`{"gdpr"`, "gdpr", "")
	f(`{"gdp`, "gdpr", "")
	f(`{"a":}`, "a", "")
	f(`{"a":1 2,"gdpr":1}`, "gdpr", "")
	f(`["gdpr",1]`, "gdpr", "")
	f(`{"x":{"gdpr":1}}`, "gdpr", "")
	f(``, "gdpr", "")
	f(`null`, "gdpr", "")
}

func TestExtIntAndString(t *testing.T) {
	fi := func(ext string, want int) {
		t.Helper()
		if got := extInt([]byte(ext), "k"); got != want {
			t.Errorf("extInt(%s) = %d, want %d", ext, got, want)
		}
	}
	fi(`{"k":1}`, 1)
	fi(`{"k":0}`, 0)
	fi(`{"k":12}`, 12)
	fi(`{"k":-1}`, -1)
	fi(`{"k":"1"}`, -1)
	fi(`{"k":1.5}`, -1)
	fi(`{"k":99999999999}`, -1)
	fi(`{"j":1}`, -1)
	fs := func(ext, want string) {
		t.Helper()
		if got := string(extString([]byte(ext), "k")); got != want {
			t.Errorf("extString(%s) = %q, want %q", ext, got, want)
		}
	}
	fs(`{"k":"1YYN"}`, "1YYN")
	fs(`{"k":""}`, "")
	fs(`{"k":1}`, "")
	fs(`{"k":null}`, "")
}

func TestExtWithout(t *testing.T) {
	f := func(ext, want string, removed bool) {
		t.Helper()
		got, ok := extWithout([]byte(ext), "eids")
		if string(got) != want || ok != removed {
			t.Errorf("extWithout(%s) = %s, %v; want %s, %v", ext, got, ok, want, removed)
		}
	}
	f(`{"eids":[{"source":"a","uids":[{"id":"x"}]}]}`, `{}`, true)
	f(`{"eids":[],"consent":"C"}`, `{"consent":"C"}`, true)
	f(`{"consent":"C","eids":[]}`, `{"consent":"C"}`, true)
	f(`{"a":1, "eids" : {"x":"}"} , "b":2}`, `{"a":1, "b":2}`, true)
	f(`{"eids":1,"a":{"eids":2},"eids":3}`, `{"a":{"eids":2}}`, true)
	f(`{"consent":"C"}`, `{"consent":"C"}`, false)
	f(`{"x":{"eids":[]}}`, `{"x":{"eids":[]}}`, false)
	f(`{"eids":[`, `{"eids":[`, false)
}

// FuzzExt: the scanner never panics, and what extWithout leaves is valid
// JSON without the key whenever the input was a valid object.
func FuzzExt(f *testing.F) {
	for _, s := range []string{`{"gdpr":1}`, `{"eids":[{"id":"a"}],"consent":"C"}`, `{"a":"\"","eids":{}}`, `{`, `{"a":[}`, `{"eids":1,"eids":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, ext []byte) {
		extInt(ext, "gdpr")
		extString(ext, "consent")
		out, ok := extWithout(ext, "eids")
		var in map[string]json.RawMessage
		if json.Unmarshal(ext, &in) != nil {
			return
		}
		var after map[string]json.RawMessage
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("extWithout(%s) = %s, which is not a JSON object: %v", ext, out, err)
		}
		had := false
		for k := range after {
			if strings.EqualFold(k, "eids") {
				t.Fatalf("extWithout(%s) = %s still has %q", ext, out, k)
			}
		}
		for k := range in {
			had = had || strings.EqualFold(k, "eids")
		}
		if had != ok {
			t.Fatalf("extWithout(%s) reports %v", ext, ok)
		}
		for k := range in {
			if _, kept := after[k]; !strings.EqualFold(k, "eids") && !kept {
				t.Fatalf("extWithout(%s) = %s lost %q", ext, out, k)
			}
		}
		// extInt reads an integer member as encoding/json does: the last
		// of a key given twice, escapes decoded.
		var n struct {
			GDPR json.RawMessage `json:"gdpr"`
		}
		if json.Unmarshal(ext, &n) == nil && len(n.GDPR) > 0 {
			var want int
			if json.Unmarshal(n.GDPR, &want) != nil || want < 0 || want > 1e6 || strings.ContainsAny(string(n.GDPR), ".eE-") {
				return
			}
			if got := extInt(ext, "gdpr"); got != want {
				t.Fatalf("extInt(%s, gdpr) = %d, encoding/json reads %d", ext, got, want)
			}
		}
	})
}

func TestKeyIs(t *testing.T) {
	f := func(raw string, want bool) {
		t.Helper()
		if got := keyIs([]byte(raw), "eids"); got != want {
			t.Errorf("keyIs(%s) = %v, want %v", raw, got, want)
		}
	}
	f(`eids`, true)
	f(`\u0065ids`, true)
	f(`e\u0069\u0044s`, true)
	f(`EIDs`, true)
	f("eidſ", true)
	f(`eid\u017f`, true)
	f(`e\u0069\u0064s`, true)
	f(`\/eids`, false)
	f(`eid`, false)
	f(`eidss`, false)
	f(`eids\`, false)
	f(`\u00`, false)
	f(`\u00e9ids`, false)
	f(`\n`, false)
}
