package privacy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseGVLExample(t *testing.T) {
	g, err := LoadGVL("testdata/gvl/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	if g.Version() != 131 || g.PolicyVersion() != 5 || g.Len() != 7 {
		t.Errorf("Version %d PolicyVersion %d Len %d, want 131 5 7", g.Version(), g.PolicyVersion(), g.Len())
	}
	if want := time.Date(2026, 11, 26, 16, 5, 21, 0, time.UTC); !g.LastUpdated().Equal(want) {
		t.Errorf("LastUpdated = %v, want %v", g.LastUpdated(), want)
	}
	f := func(id int, want Vendor) {
		t.Helper()
		got, ok := g.Vendor(id)
		if !ok {
			t.Fatalf("Vendor(%d) not found", id)
		}
		if got != want {
			t.Errorf("Vendor(%d) =\n%+v\nwant\n%+v", id, got, want)
		}
	}
	set := func(ids ...int) IDSet {
		var s IDSet
		for _, id := range ids {
			s |= 1 << id
		}
		return s
	}
	f(1, Vendor{ID: 1, Name: "Example Exchange Partner AG",
		Purposes: set(1, 3, 4), LegIntPurposes: set(2, 7, 9, 10), FlexiblePurposes: set(2, 7),
		SpecialPurposes: set(1, 2, 3), Features: set(1, 3)})
	f(10, Vendor{ID: 10, Name: "Example Demand Platform Ltd",
		Purposes: set(1, 2, 3, 4, 7), LegIntPurposes: set(9, 10), FlexiblePurposes: set(9),
		SpecialPurposes: set(1, 2), Features: set(1, 2, 3), SpecialFeatures: set(1)})
	f(1126, Vendor{ID: 1126, Name: "Example Contextual Oy", LegIntPurposes: set(2, 7, 11), SpecialPurposes: set(2)})
	f(333, Vendor{ID: 333, Name: "Example Former Vendor GmbH", Purposes: set(1, 2),
		DeletedDate: time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)})

	v, _ := g.Vendor(333)
	if !v.Deleted() {
		t.Error("vendor 333 is not Deleted")
	}
	v, _ = g.Vendor(755)
	if v.Deleted() || !v.Purposes.Has(5) || v.Purposes.Has(2) || !v.FlexiblePurposes.Has(11) || v.LegIntPurposes.Has(1) {
		t.Errorf("vendor 755 = %+v", v)
	}
	for _, id := range []int{-1, 0, 2, 9, 1125, 1127, 70000} {
		if _, ok := g.Vendor(id); ok {
			t.Errorf("Vendor(%d) found, want not", id)
		}
	}
}

func TestIDSet(t *testing.T) {
	s := IDSet(1<<1 | 1<<11 | 1<<31)
	if got := s.IDs(); !slices.Equal(got, []int{1, 11, 31}) {
		t.Errorf("IDs = %v", got)
	}
	for id, want := range map[int]bool{-1: false, 0: false, 1: true, 2: false, 11: true, 31: true, 32: false, 64: false} {
		if s.Has(id) != want {
			t.Errorf("Has(%d) = %v, want %v", id, !want, want)
		}
	}
}

// gvlWith returns the example list with edit applied to its decoded JSON.
func gvlWith(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/gvl/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func vendorOf(m map[string]any, key string) map[string]any {
	return m["vendors"].(map[string]any)[key].(map[string]any)
}

func TestParseGVLErrors(t *testing.T) {
	f := func(b []byte, wantErr string) {
		t.Helper()
		g, err := ParseGVL(b)
		if err == nil {
			t.Fatalf("ParseGVL succeeded (%d vendors), want an error containing %q", g.Len(), wantErr)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseGVL error = %q, want it to contain %q", err, wantErr)
		}
	}
	f([]byte(`{"vendors": [`), "cannot parse the vendor list JSON")
	f([]byte(`[]`), "cannot parse the vendor list JSON")
	f(gvlWith(t, func(m map[string]any) { delete(m, "gvlSpecificationVersion") }), "gvlSpecificationVersion is missing")
	f(gvlWith(t, func(m map[string]any) { m["gvlSpecificationVersion"] = 2 }), "gvlSpecificationVersion is 2; only 3 (TCF v2.2) is supported")
	f(gvlWith(t, func(m map[string]any) { m["vendorListVersion"] = 0 }), "vendorListVersion is missing or below 1")
	f(gvlWith(t, func(m map[string]any) { delete(m, "tcfPolicyVersion") }), "tcfPolicyVersion is missing or below 1")
	f(gvlWith(t, func(m map[string]any) { m["vendors"] = map[string]any{} }), "vendors is missing or empty")
	f(gvlWith(t, func(m map[string]any) { m["lastUpdated"] = "yesterday" }), `lastUpdated "yesterday" is not an RFC 3339 time`)
	f(gvlWith(t, func(m map[string]any) { m["purposes"].(map[string]any)["x"] = map[string]any{} }), `purposes has key "x", not an ID from 1 to 31`)
	f(gvlWith(t, func(m map[string]any) { m["features"].(map[string]any)["40"] = map[string]any{} }), `features has key "40"`)
	f(gvlWith(t, func(m map[string]any) { delete(vendorOf(m, "10"), "id") }), `vendor "10" has no id`)
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["id"] = 11 }), `vendor "10" has id 11; the key and the id must match`)
	f(gvlWith(t, func(m map[string]any) {
		m["vendors"].(map[string]any)["70000"] = map[string]any{"id": 70000, "name": "x"}
	}), `vendor "70000" has id 70000, outside 1 to 65535`)
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["name"] = "" }), "vendor 10 has no name")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["purposes"] = []int{1, 12} }), "vendor 10: purposes holds 12, which the list does not define")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["specialFeatures"] = []int{3} }), "vendor 10: specialFeatures holds 3")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["features"] = []int{0} }), "vendor 10: features holds 0")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["purposes"] = "1,2" }), "cannot parse the vendor list JSON")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["legIntPurposes"] = []int{2, 9} }),
		"vendor 10: purposes [2] are in both purposes and legIntPurposes")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["flexiblePurposes"] = []int{5, 9} }),
		"vendor 10: flexiblePurposes [5] are in neither purposes nor legIntPurposes")
	f(gvlWith(t, func(m map[string]any) { vendorOf(m, "10")["deletedDate"] = "2025-13-01" }), `vendor 10: deletedDate "2025-13-01" is not an RFC 3339 time`)

	// Without top-level definitions, any ID from 1 to 31 is accepted.
	b := gvlWith(t, func(m map[string]any) {
		delete(m, "purposes")
		vendorOf(m, "10")["purposes"] = []int{1, 24}
	})
	g, err := ParseGVL(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Vendor(10); !v.Purposes.Has(24) {
		t.Errorf("vendor 10 purposes %v lack 24", v.Purposes.IDs())
	}
}

func TestLoadGVLNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	f := func(path string, wantErr ...string) {
		t.Helper()
		_, err := LoadGVL(path)
		if err == nil {
			t.Fatalf("LoadGVL(%s) succeeded", path)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadGVL(%s) error = %q, want it to contain %q", path, err, w)
			}
		}
	}
	missing := filepath.Join(dir, "missing.json")
	f(missing, missing, "no such file")
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte("\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f(empty, empty, "the file is empty")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"gvlSpecificationVersion": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f(bad, bad, "gvlSpecificationVersion is 2")
}

// FuzzParseGVL: ParseGVL never panics, and a list it accepts answers every
// vendor lookup.
func FuzzParseGVL(f *testing.F) {
	b, err := os.ReadFile("testdata/gvl/vendor-list.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"gvlSpecificationVersion":3,"vendorListVersion":1,"tcfPolicyVersion":4,"vendors":{"1":{"id":1,"name":"a","purposes":[1]}}}`))
	f.Add([]byte(`{"gvlSpecificationVersion":3,"vendorListVersion":1,"tcfPolicyVersion":4,"vendors":{"65535":{"id":65535,"name":"a"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGVL(b)
		if err != nil {
			return
		}
		if g.Len() == 0 || g.Version() < 1 {
			t.Fatalf("accepted a list with %d vendors, version %d", g.Len(), g.Version())
		}
		n := 0
		for id := range len(g.vendors) + 1 {
			if v, ok := g.Vendor(id); ok {
				n++
				if v.ID != id || v.Name == "" || v.Purposes&v.LegIntPurposes != 0 {
					t.Fatalf("Vendor(%d) = %+v", id, v)
				}
			}
		}
		if n != g.Len() {
			t.Fatalf("found %d vendors, Len says %d", n, g.Len())
		}
	})
}
