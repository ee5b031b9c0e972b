package devicedb

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCacheHitsAndGenerations(t *testing.T) {
	c := NewCache(1024)
	db1 := defaultDB(t)
	db2, err := compileString(minimal)
	if err != nil {
		t.Fatal(err)
	}
	ua := "UA-1"
	if r := c.Lookup(db1, Evidence{UA: ua}); r.Match != MatchGeneric {
		t.Fatalf("default DB: %+v", r)
	}
	c.Lookup(db1, Evidence{UA: ua})
	if h, m := c.Stats(); h != 1 || m != 1 {
		t.Fatalf("stats = %d hits %d misses, want 1 1", h, m)
	}
	// Same evidence, new snapshot: the old entry must not be served.
	if r := c.Lookup(db2, Evidence{UA: ua}); r.ID != "phone" {
		t.Fatalf("after a reload the cache served %q", r.ID)
	}
	// sua is part of the key.
	red := "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	a := c.Lookup(db1, Evidence{UA: red})
	b := c.Lookup(db1, Evidence{UA: red, SUA: &openrtb2.UserAgent{Model: "SM-S918B"}})
	if a.Model == b.Model || b.Model != "SM-S918B" {
		t.Fatalf("sua ignored by the cache key: %q then %q", a.Model, b.Model)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetCounter().GetValue()
	}
	h, m := c.Stats()
	if got["adx_devicedb_cache_hits_total"] != float64(h) || got["adx_devicedb_cache_misses_total"] != float64(m) || len(got) != 2 {
		t.Errorf("collector exports %v, want hits %d misses %d", got, h, m)
	}
}

// TestCacheScreenKey: an Apple touch screen size is part of the key (it
// turns a Mac UA into an iPad); any other size is not, so that one UA's
// many desktop screens share an entry.
func TestCacheScreenKey(t *testing.T) {
	c := NewCache(1024)
	db := defaultDB(t)
	mac := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	if r := c.Lookup(db, Evidence{UA: mac, W: 1440, H: 900}); r.ID != "apple_mac" {
		t.Fatalf("1440x900: %s", r.ID)
	}
	if r := c.Lookup(db, Evidence{UA: mac, W: 820, H: 1180}); r.ID != "apple_ipad" {
		t.Fatalf("820x1180 after a Mac screen: the cache served %s", r.ID)
	}
	if r := c.Lookup(db, Evidence{UA: mac, W: 1920, H: 1080}); r.ID != "apple_mac" {
		t.Fatalf("1920x1080 after an iPad screen: the cache served %s", r.ID)
	}
	if h, m := c.Stats(); h != 1 || m != 2 {
		t.Fatalf("stats = %d hits %d misses, want 1 2: desktop screens must share an entry", h, m)
	}
}

func TestCacheBounded(t *testing.T) {
	c := NewCache(100)
	db := defaultDB(t)
	for i := 0; i < 10000; i++ {
		c.Lookup(db, Evidence{UA: "ua " + strconv.Itoa(i)})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].entries)
	}
	if n != 128 {
		t.Fatalf("cache holds %d slots, want 128", n)
	}
}

// TestConcurrentReload swaps snapshots (good ones, and keeps the last good
// copy on corrupt and truncated ones) under concurrent cached lookups; run
// with -race. Each result must come from the generation read with it.
func TestConcurrentReload(t *testing.T) {
	good := DefaultSnapshot()
	other, _ := compileString(minimal)
	otherSnap, _ := other.MarshalBinary()
	var cur atomic.Pointer[DB]
	cur.Store(defaultDB(t))
	c := NewCache(256)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				db := cur.Load()
				r := c.Lookup(db, Evidence{UA: "UA-1"})
				if _, isMinimal := db.byID["phone"]; isMinimal != (r.ID == "phone") {
					failures.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		var data []byte
		switch i % 4 {
		case 0:
			data = good
		case 1:
			data = otherSnap
		case 2:
			data = good[:len(good)/2] // truncated
		case 3:
			data = append([]byte(nil), otherSnap...)
			data[len(data)-3] ^= 0xff // corrupt
		}
		if db, err := Load(data); err == nil {
			cur.Store(db)
		} else if i%4 < 2 {
			t.Errorf("good snapshot rejected: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d lookups returned a result of another generation", n)
	}
}

// TestCacheShardPadding pins the shard size: whole cache lines, with at
// least a line between the fields of neighbouring shards.
func TestCacheShardPadding(t *testing.T) {
	size, fields := unsafe.Sizeof(cacheShard{}), unsafe.Sizeof(shardState{})
	if cacheLine < 64 || size%cacheLine != 0 || size-fields < cacheLine {
		t.Errorf("cacheShard is %d bytes (%d of fields) for %d-byte lines: want whole lines and at least one line of padding", size, fields, cacheLine)
	}
	want := map[string]uintptr{"amd64": 128, "arm64": 256}[runtime.GOARCH]
	if want != 0 && size != want {
		t.Errorf("cacheShard is %d bytes on %s, want %d: the fields grew past a line, or the padding changed", size, runtime.GOARCH, want)
	}
}
