package devicedb

import (
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/prebid/openrtb/v20/openrtb2"
	"golang.org/x/sys/cpu"
)

const cacheShards = 64

// Cache is a bounded lookup cache in front of (*DB).Lookup: 64 shards of
// direct-mapped slots, each entry keyed by a 128-bit hash of the whole
// Evidence (two independent seeds) and tagged with the DB's Generation, so
// that results computed from a replaced snapshot are never served. A slot
// is overwritten on collision: the cache never grows. It keeps no
// reference to evidence bytes; an entry of a replaced DB keeps that DB's
// strings reachable until the slot is overwritten. Safe for concurrent use.
type Cache struct {
	seed1, seed2 maphash.Seed
	mask         uint64
	shards       [cacheShards]cacheShard
}

// cacheLine is the unit of false sharing: x/sys/cpu's cache line for the
// target (64 bytes on amd64; 128 on arm64, where Apple cores have 128-byte
// lines), and at least 64 (x/sys/cpu says 32 or 0 on a few targets).
const cacheLine = max(unsafe.Sizeof(cpu.CacheLinePad{}), 64)

// shardState is what a shard holds; cacheShard pads it.
type shardState struct {
	mu      sync.Mutex
	entries []cacheEntry
	hits    uint64
	misses  uint64
}

// cacheShard is a shardState padded to whole cache lines, with at least one
// line of padding after the fields, so that the fields of two neighbouring
// shards never share a line wherever the array starts: Go promises a Cache
// only 8-byte alignment, and the shards follow its seeds. On amd64 that is
// 48 bytes of fields and 80 of padding (TestCacheShardPadding).
type cacheShard struct {
	shardState
	_ [2*cacheLine - unsafe.Sizeof(shardState{})%cacheLine]byte
}

type cacheEntry struct {
	k1, k2 uint64
	gen    uint64
	res    Result
}

// NewCache returns a cache holding at most size results (rounded up to a
// multiple of 64 and a power of two per shard; at least 64).
func NewCache(size int) *Cache {
	per := 1
	for per*cacheShards < size {
		per <<= 1
	}
	c := &Cache{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), mask: uint64(per - 1)}
	for i := range c.shards {
		c.shards[i].entries = make([]cacheEntry, per)
	}
	return c
}

// Lookup returns db.Lookup(ev), from the cache when an entry for the same
// evidence and the same db generation is present. It allocates nothing on a
// hit.
func (c *Cache) Lookup(db *DB, ev Evidence) Result {
	k1, k2 := c.hash(db, &ev)
	gen := db.Generation()
	s := &c.shards[k1%cacheShards]
	slot := (k1 / cacheShards) & c.mask
	s.mu.Lock()
	e := &s.entries[slot]
	if e.gen == gen && e.k1 == k1 && e.k2 == k2 {
		r := e.res
		s.hits++
		s.mu.Unlock()
		return r
	}
	s.misses++
	s.mu.Unlock()
	r := db.Lookup(ev)
	s.mu.Lock()
	*e = cacheEntry{k1: k1, k2: k2, gen: gen, res: r}
	s.mu.Unlock()
	return r
}

// Stats returns the hit and miss counts since NewCache.
func (c *Cache) Stats() (hits, misses uint64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		hits += s.hits
		misses += s.misses
		s.mu.Unlock()
	}
	return hits, misses
}

// hash keys the evidence. The screen size counts only when it is an Apple
// phone or tablet screen, the one case where Lookup reads it, so that the
// many screen sizes of one UA share an entry.
func (c *Cache) hash(db *DB, ev *Evidence) (uint64, uint64) {
	k1 := maphash.String(c.seed1, ev.UA)
	k2 := maphash.String(c.seed2, ev.UA)
	if ev.SUA != nil {
		k1, k2 = hashSUA(c.seed1, k1, ev.SUA), hashSUA(c.seed2, k2, ev.SUA)
	}
	if db.appleScreen(ev.W, ev.H) != deviceTypeUnknown {
		s := screenKey(ev.W, ev.H)
		k1 = (k1 ^ s) * 0x9E3779B97F4A7C15
		k2 = (k2 ^ s) * 0xC2B2AE3D27D4EB4F
	}
	return k1, k2
}

// hashSUA mixes every sua field into k, with separators so that field
// boundaries count.
func hashSUA(seed maphash.Seed, k uint64, sua *openrtb2.UserAgent) uint64 {
	mix := func(k uint64, s string) uint64 { return (k^maphash.String(seed, s))*0x9E3779B97F4A7C15 + 1 }
	k = mix(k, sua.Model)
	k = mix(k, sua.Architecture)
	k = mix(k, sua.Bitness)
	m := int8(-1)
	if sua.Mobile != nil {
		m = *sua.Mobile
	}
	k = (k ^ uint64(uint8(m)) ^ uint64(sua.Source)<<8) * 0x9E3779B97F4A7C15
	if p := sua.Platform; p != nil {
		k = mix(k, p.Brand)
		for _, v := range p.Version {
			k = mix(k, v)
		}
	}
	k = mix(k, "\x00browsers")
	for i := range sua.Browsers {
		k = mix(k, sua.Browsers[i].Brand)
		for _, v := range sua.Browsers[i].Version {
			k = mix(k, v)
		}
	}
	return k
}
