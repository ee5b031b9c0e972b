package devicedb

import (
	"bytes"
	"encoding/binary"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	src, err := ReadSourceFile("testdata/wurfl/mini.xml") // has extra capabilities
	if err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func() (*DB, error){
		"wurfl":   func() (*DB, error) { return Compile(src) },
		"default": func() (*DB, error) { return OpenFile("default.yaml") },
	} {
		db, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		snap, err := db.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		db2, err := Load(snap)
		if err != nil {
			t.Fatalf("%s: Load: %v", name, err)
		}
		if db2.Generation() == db.Generation() {
			t.Errorf("%s: a loaded DB must get a new generation", name)
		}
		if !reflect.DeepEqual(db.recs, db2.recs) || !reflect.DeepEqual(db.byUA, db2.byUA) || !reflect.DeepEqual(db.byToken, db2.byToken) ||
			!reflect.DeepEqual(db.brands, db2.brands) ||
			!reflect.DeepEqual(db.schema, db2.schema) || !reflect.DeepEqual(db.fallback, db2.fallback) || db.sources != db2.sources {
			t.Errorf("%s: round trip differs", name)
		}
		for i := range db.extras {
			if len(db.extras[i]) != len(db2.extras[i]) {
				t.Fatalf("%s: extras of %q differ", name, db.recs[i].id)
			}
		}
		snap2, _ := db2.MarshalBinary()
		if string(snap) != string(snap2) {
			t.Errorf("%s: encoding is not deterministic", name)
		}
	}
}

// TestLoadVersion1: a snapshot of format version 1 (no brand table,
// tokens only upper-cased) still loads and answers.
func TestLoadVersion1(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/minimal-v1.snap")
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != 1 {
		t.Fatalf("fixture has format version %d, want 1", v)
	}
	db, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	r := db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-T1) Chrome/120.0.0.0 Mobile Safari/537.36"})
	if r.ID != "phone" || r.Match != MatchToken || r.Model != "SM-T1" {
		t.Errorf("lookup in a version 1 snapshot = %+v", r)
	}
	if r := db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-A1) Chrome/120.0.0.0 Mobile Safari/537.36"}); r.Match != MatchFallback {
		t.Errorf("version 1 has no brand table, got %+v", r)
	}
}

func TestLoadRejects(t *testing.T) {
	good := DefaultSnapshot()
	f := func(name string, data []byte, want string) {
		t.Helper()
		_, err := Load(data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Load error %v, want one mentioning %q", name, err, want)
		}
	}
	mut := func(fn func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		fn(b)
		return b
	}
	f("empty", nil, "truncated header")
	f("short header", good[:20], "truncated header")
	f("truncated payload", good[:len(good)-1], "truncated or padded")
	f("padded", append(append([]byte(nil), good...), 0), "truncated or padded")
	f("magic", mut(func(b []byte) { b[0] = 'X' }), "bad magic")
	f("version", mut(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 99) }), "format version 99")
	f("flipped payload byte", mut(func(b []byte) { b[len(b)/2] ^= 1 }), "sha256 mismatch")
	f("flipped checksum", mut(func(b []byte) { b[30] ^= 1 }), "sha256 mismatch")
}

// FuzzLoad feeds Load arbitrary bytes, and decodePayload (which Load
// reaches only behind a valid checksum) arbitrary payloads: neither may
// panic, and what loads must answer lookups.
func FuzzLoad(f *testing.F) {
	db, _ := compileString(minimal)
	small, _ := db.MarshalBinary()
	f.Add(small)
	f.Add(small[headerLen:])
	f.Fuzz(func(t *testing.T, data []byte) {
		if db, err := Load(data); err == nil {
			db.Lookup(Evidence{UA: "UA-1"})
		}
		for _, v := range []uint32{1, SnapshotVersion} {
			if db, err := decodePayload(data, v); err == nil {
				for _, r := range db.recs {
					db.Capability(r.id, "os")
				}
				db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-T1)"})
				db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SAMSUNG XY-1 Build/1)"})
			}
		}
	})
}

// FuzzParseSource: the source parser and the compiler never panic, and a
// source that compiles survives a snapshot round trip.
func FuzzParseSource(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(strings.Replace(minimal, "version: t1", "version: t1\nbrand_prefixes: {\"SM-\": Acme, \"X\": \"\"}", 1)))
	f.Add([]byte("format: adx-devicedb/1\ndevices: []\n"))
	f.Add([]byte("format: adx-devicedb/1\ndevices:\n  - id: generic\n    fall_back: generic\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := ParseSource(data)
		if err != nil {
			return
		}
		compileRoundTrip(t, src)
	})
}

// compileRoundTrip compiles src and, if it compiles, checks that its
// snapshot loads again.
func compileRoundTrip(t *testing.T, src *Source) {
	t.Helper()
	db, err := Compile(src)
	if err != nil {
		return
	}
	snap, err := db.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(snap); err != nil {
		t.Fatalf("compiled source does not reload: %v", err)
	}
}

// FuzzImportWURFL: WURFL's XML layout never panics the importer, and an
// import that compiles survives a snapshot round trip.
func FuzzImportWURFL(f *testing.F) {
	mini, err := os.ReadFile("testdata/wurfl/mini.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mini)
	f.Add([]byte(`<wurfl><devices><device id="generic" user_agent="" fall_back="root"><group id="g"><capability name="brand_name" value=""/></group></device></devices></wurfl>`))
	f.Add([]byte(`<wurfl><devices><device id="a" fall_back="a"/></devices></wurfl>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := ImportWURFL(bytes.NewReader(data))
		if err != nil {
			return
		}
		compileRoundTrip(t, src)
	})
}

// FuzzImportPlay: the Google Play list importer never panics, and what it
// adds to a valid source still compiles.
func FuzzImportPlay(f *testing.F) {
	f.Add([]byte(`[{"brand":"Samsung","name":"Galaxy S23 Ultra","device":"dm3q","model":"SM-S918B"}]`))
	f.Add([]byte(`[{"brand":"","name":"","device":"","model":""},{"model":"SM-S918B"},{"model":"sm-s918b"}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := ParseSource([]byte(minimal))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ImportPlay(src, bytes.NewReader(data)); err != nil {
			return
		}
		if _, err := Compile(src); err != nil {
			t.Fatalf("source with the import does not compile: %v", err)
		}
	})
}
