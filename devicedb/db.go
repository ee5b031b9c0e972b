package devicedb

import (
	"sync/atomic"
)

// generations numbers every *DB built by Compile or Load, so that a cache
// never serves an entry computed from another snapshot.
var generations atomic.Uint64

const (
	flagBot uint8 = 1 << iota
	flagTablet
	flagSmartTV
	flagJS
)

// record is one device with its built-in capabilities resolved through the
// fall_back chain.
type record struct {
	id, brand, model, marketingName, hwv string
	os, osv, browser                     string
	pxRatio                              float64
	w, h, ppi                            int32
	parent                               int32
	deviceType                           int8
	flags                                uint8
}

// extraCap is a non-built-in capability value set by the device itself.
type extraCap struct {
	cap   uint16
	value string
}

// DB is an immutable compiled device database. It is safe for concurrent use;
// it never changes after Compile or Load returns it.
type DB struct {
	gen      uint64
	version  string
	sources  string
	schema   []Capability
	recs     []record
	extras   [][]extraCap
	byID     map[string]int32
	byUA     map[string]int32
	byToken  map[string]int32
	generic  int32
	fallback [numFallbacks]int32
}

func newDB(n int) *DB {
	return &DB{
		recs:    make([]record, 0, n),
		extras:  make([][]extraCap, n),
		byID:    make(map[string]int32, n),
		byUA:    make(map[string]int32, n),
		byToken: make(map[string]int32, n),
	}
}

// finish indexes ids, resolves the family fallbacks and stamps a generation.
func (db *DB) finish() {
	for i := range db.recs {
		db.byID[db.recs[i].id] = int32(i)
	}
	db.generic = db.byID[GenericID]
	for f := range db.fallback {
		db.fallback[f] = -1
		for _, id := range fallbackIDs[f] {
			if i, ok := db.byID[id]; ok {
				db.fallback[f] = i
				break
			}
		}
	}
	db.gen = generations.Add(1)
}

// Generation returns a number unique to this *DB within the process; it
// tags cache entries so that a reload never serves stale results.
func (db *DB) Generation() uint64 { return db.gen }

// Version returns the source's version string.
func (db *DB) Version() string { return db.version }

// Sources returns the data sources and licences recorded in the header.
func (db *DB) Sources() string { return db.sources }

// Len returns the number of devices.
func (db *DB) Len() int { return len(db.recs) }

// Device returns the resolved built-in capabilities of device id as a Result
// with Match MatchExact, and false if there is no such device.
func (db *DB) Device(id string) (Result, bool) {
	i, ok := db.byID[id]
	if !ok {
		return Result{}, false
	}
	var r Result
	db.fill(&r, i)
	r.Match = MatchExact
	return r, true
}

// Capability returns the value of capability name for device id, resolved
// through the fall_back chain, as canonical text. ok is false when the
// device or the capability does not exist.
func (db *DB) Capability(id, name string) (value string, ok bool) {
	i, ok := db.byID[id]
	if !ok {
		return "", false
	}
	ci := -1
	for k := range db.schema {
		if db.schema[k].Name == name {
			ci = k
			break
		}
	}
	if ci < 0 {
		return "", false
	}
	if ci < len(BuiltinCapabilities) {
		return db.recs[i].get(ci), true
	}
	for j := i; j >= 0; j = db.recs[j].parent {
		for _, e := range db.extras[j] {
			if int(e.cap) == ci {
				return e.value, true
			}
		}
	}
	return "", false
}

// Capabilities returns the schema: the built-in capabilities followed by
// those the source declared. Callers must not modify it.
func (db *DB) Capabilities() []Capability { return db.schema }
