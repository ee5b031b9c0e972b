package devicedb

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Benchmarks (BENCHMARKS.md):
//
//	go test -run '^$' -bench . -benchmem ./devicedb/
//
// The traffic is the 10,000 real UAs of user-agents-intoli with their
// screen sizes; the 100k DB is
// default.yaml plus the Google Play list plus synthetic variants of its
// rows, each with a sample UA (built once per process).

func intoliUAs(b testing.TB) []string {
	b.Helper()
	evs := intoliEvidence(b)
	uas := make([]string, len(evs))
	for i := range evs {
		uas[i] = evs[i].UA
	}
	return uas
}

// intoliEvidence is the Intoli sample as requests carry it: the UA and
// the screen size the browser reported.
func intoliEvidence(b testing.TB) []Evidence {
	b.Helper()
	f, err := os.Open("testdata/intoli/user-agents.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var rows []struct {
		UserAgent                 string
		ScreenWidth, ScreenHeight int64
	}
	if err := json.NewDecoder(zr).Decode(&rows); err != nil {
		b.Fatal(err)
	}
	evs := make([]Evidence, len(rows))
	for i, r := range rows {
		evs[i] = Evidence{UA: r.UserAgent, W: r.ScreenWidth, H: r.ScreenHeight}
	}
	return evs
}

var big100k = sync.OnceValues(func() ([]byte, error) { return build100k("") })

// build100k compiles the 100,000-device snapshot; a non-empty version
// replaces the source's, so that two builds differ in content.
func build100k(version string) ([]byte, error) {
	src, err := ReadSourceFile("default.yaml")
	if err != nil {
		return nil, err
	}
	if _, err := ImportPlayFile(src, "testdata/play/android-supported-devices.json.gz"); err != nil {
		return nil, err
	}
	n := len(src.Devices)
	for i := 0; len(src.Devices) < 100000; i++ {
		base := src.Devices[n-1-i%(n-1)]
		if len(base.Tokens) == 0 {
			continue
		}
		tok := base.Tokens[0] + "-V" + strconv.Itoa(i)
		caps := map[string]string{CapModel: tok, CapScreenWidth: "1080", CapScreenHeight: "2400", CapPPI: "400", CapPixelRatio: "2.625"}
		src.Devices = append(src.Devices, Device{ID: "synth_" + strconv.Itoa(i), FallBack: "generic_android_phone", Tokens: []string{tok},
			UserAgents: []string{"Mozilla/5.0 (Linux; Android 14; " + tok + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"},
			Caps:       caps})
	}
	if version != "" {
		src.Version = version
	}
	db, err := Compile(src)
	if err != nil {
		return nil, err
	}
	return db.MarshalBinary()
}

func load100k(b testing.TB) *DB {
	b.Helper()
	snap, err := big100k()
	if err != nil {
		b.Fatal(err)
	}
	db, err := Load(snap)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkMapBaseline is the floor: one Go map lookup keyed by the UA.
func BenchmarkMapBaseline(b *testing.B) {
	uas := intoliUAs(b)
	m := make(map[string]int32, len(uas))
	for i, ua := range uas {
		m[ua] = int32(i)
	}
	b.ResetTimer()
	var sink int32
	for i := 0; i < b.N; i++ {
		sink += m[uas[i%len(uas)]]
	}
	_ = sink
}

// BenchmarkLookupCached: "screen" is the evidence as requests carry it,
// "ua" the same UAs without a screen size, which skips the screen check.
func BenchmarkLookupCached(b *testing.B) {
	withScreen := intoliEvidence(b)[:1000]
	uaOnly := make([]Evidence, len(withScreen))
	for i := range withScreen {
		uaOnly[i] = Evidence{UA: withScreen[i].UA}
	}
	db := defaultDB(b)
	for _, bc := range []struct {
		name string
		evs  []Evidence
	}{{"screen", withScreen}, {"ua", uaOnly}} {
		b.Run(bc.name, func(b *testing.B) {
			c := NewCache(4096)
			for _, ev := range bc.evs {
				c.Lookup(db, ev)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Lookup(db, bc.evs[i%len(bc.evs)])
			}
		})
	}
}

func BenchmarkLookupCachedParallel(b *testing.B) {
	evs := intoliEvidence(b)[:1000]
	db := defaultDB(b)
	c := NewCache(4096)
	for _, ev := range evs {
		c.Lookup(db, ev)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Lookup(db, evs[i%len(evs)])
			i++
		}
	})
}

func BenchmarkLookupUncached(b *testing.B) {
	evs := intoliEvidence(b)
	for _, bc := range []struct {
		name string
		db   func(testing.TB) *DB
	}{{"default", defaultDB}, {"100k", load100k}} {
		db := bc.db(b)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				db.Lookup(evs[i%len(evs)])
			}
		})
	}
	// Android UAs with a model token (uap-core test_device, browser
	// forms): the token index, the maker prefixes and the brand table,
	// the paths the Intoli sample (6% Android) rarely takes. A model
	// known only by its brand is copied: one allocation.
	db := defaultDB(b)
	android := androidModelEvidence(b)
	b.Run("android", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			db.Lookup(android[i%len(android)])
		}
	})
}

// androidModelEvidence returns the uap-core test_device UAs of Android
// phones and tablets that carry their model, in browser form.
func androidModelEvidence(b testing.TB) []Evidence {
	b.Helper()
	data, err := os.ReadFile("testdata/uap-core/test_device.sample30.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var f struct {
		TestCases []uapDevice `yaml:"test_cases"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		b.Fatal(err)
	}
	var evs []Evidence
	for _, c := range f.TestCases {
		if androidWithModel(c) && browserForm(c.UA) {
			evs = append(evs, Evidence{UA: c.UA})
		}
	}
	return evs
}

// BenchmarkIsBot: "list" is the crawler-token scan Lookup runs; "IsBot"
// the exported check, which also tokenizes the UA for the crawler
// conventions (Lookup reads those during its own parse).
func BenchmarkIsBot(b *testing.B) {
	uas := intoliUAs(b)
	for _, bc := range []struct {
		name string
		f    func(string) bool
	}{{"list", listedBot}, {"IsBot", IsBot}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				bc.f(uas[i%len(uas)])
			}
		})
	}
}

// BenchmarkLoad100k measures Load of the 100,000-device snapshot and the
// live heap it adds (heap-MB, after a GC).
func BenchmarkLoad100k(b *testing.B) {
	snap, err := big100k()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(snap)))
	b.ReportMetric(float64(len(snap))/1e6, "snapshot-MB")
	var heap float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		db, err := Load(snap)
		el := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / 1e6
		runtime.KeepAlive(db)
		_ = el
	}
	b.ReportMetric(heap, "heap-MB")
}

// BenchmarkLoadDefault is the cost of Default() on first use.
func BenchmarkLoadDefault(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Load(DefaultSnapshot()); err != nil {
			b.Fatal(err)
		}
	}
}
