package devicedb

import (
	"math"
	"math/bits"
	"strings"
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

// tokenRef is a model token's device and the token as the source wrote
// it, which Lookup reports for a device that sends that token in any
// case.
type tokenRef struct {
	dev  int32
	text string
}

// DB is an immutable compiled device database. It is safe for concurrent use;
// it never changes after Compile or Load returns it.
type DB struct {
	gen     uint64
	version string
	sources string
	schema  []Capability
	recs    []record
	extras  [][]extraCap
	byID    map[string]int32
	byUA    map[string]int32
	byToken map[string]tokenRef // key: the token upper-cased (normToken)
	// brands names the brand of a model token the database does not list.
	brands   brandTable
	generic  int32
	fallback [numFallbacks]int32
	// appleScreens maps an Apple phone or tablet screen size (portrait,
	// CSS or physical pixels) to DeviceTypePhone or DeviceTypeTablet, to
	// tell an iPad or iPhone asking for the desktop site from a Mac.
	appleScreens screenTable
}

// screenTable is a small open-addressing hash table from screenKey to a
// device type: read on every cached lookup that carries a screen size, it
// costs a multiply and a probe or two, less than a Go map.
type screenTable struct {
	keys  []uint64 // 0 marks an empty slot (no screen has a zero side)
	types []int8
	shift uint8
}

func (t *screenTable) slot(k uint64) int { return int((k * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the device type stored for k, or 0.
func (t *screenTable) get(k uint64) int8 {
	if len(t.keys) == 0 {
		return deviceTypeUnknown
	}
	mask := len(t.keys) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.types[i]
		case 0:
			return deviceTypeUnknown
		}
	}
}

// newScreenTable builds a table of m with at most 25% of its slots used.
func newScreenTable(m map[uint64]int8) screenTable {
	bits := uint8(4)
	for 1<<bits < 4*len(m) {
		bits++
	}
	t := screenTable{keys: make([]uint64, 1<<bits), types: make([]int8, 1<<bits), shift: 64 - bits}
	mask := len(t.keys) - 1
	for k, v := range m {
		i := t.slot(k)
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.types[i] = k, v
	}
	return t
}

func newDB(n int) *DB {
	return &DB{
		recs:    make([]record, 0, n),
		extras:  make([][]extraCap, n),
		byID:    make(map[string]int32, n),
		byUA:    make(map[string]int32, n),
		byToken: make(map[string]tokenRef, n),
	}
}

// brandTable maps upper-cased model-token prefixes to brands ("" = no
// brand). lens[c] has bit n set when a key of n bytes starts with byte c,
// so that a lookup probes only the lengths that exist for its first
// byte, longest first (two or three probes instead of up to 19).
type brandTable struct {
	m    map[string]string
	lens [256]uint64
	// names holds the keys that can be a maker's whole name: every key,
	// and a key that ends in a space, hyphen or underscore without it
	// ("SAMSUNG-" is also SAMSUNG, unless SAMSUNG is a key of its own).
	names map[string]string
}

// newBrandTable indexes m, whose keys are upper-cased and 1 to
// maxPrefixLen bytes long (compileBrandPrefixes, Load).
func newBrandTable(m map[string]string) brandTable {
	t := brandTable{m: m, names: make(map[string]string, len(m))}
	for k, b := range m {
		t.lens[k[0]] |= 1 << len(k)
		t.names[k] = b
	}
	for k, b := range m {
		if c := k[len(k)-1]; len(k) > 1 && (c == ' ' || c == '-' || c == '_') {
			if _, ok := m[k[:len(k)-1]]; !ok {
				// Of "X " and "X-" naming different brands, the one
				// that sorts first wins, so that loads agree.
				if old, ok := t.names[k[:len(k)-1]]; !ok || b < old {
					t.names[k[:len(k)-1]] = b
				}
			}
		}
	}
	return t
}

// prefixBrand returns the brand of the longest prefix of key, an
// upper-cased model token; false when none names a brand (or the longest
// is an explicit "no brand").
func (t *brandTable) prefixBrand(key []byte) (string, bool) {
	if len(key) == 0 {
		return "", false
	}
	mask := t.lens[key[0]]
	if len(key) < maxPrefixLen {
		mask &= 1<<(len(key)+1) - 1
	}
	for mask != 0 {
		n := bits.Len64(mask) - 1
		mask &^= 1 << n
		if b, ok := t.m[string(key[:n])]; ok {
			return b, b != ""
		}
	}
	return "", false
}

// tokenBrand is prefixBrand of a token as sent (any case, spaces
// around).
func (t *brandTable) tokenBrand(tok string) (string, bool) {
	var buf [maxTokenLen]byte
	key, ok := appendNormToken(buf[:0], tok)
	if !ok {
		return "", false
	}
	return t.prefixBrand(key)
}

// named returns the brand a UA names outright ("SAMSUNG", "Huawei"): the
// word itself must be a key of the table, or one followed by a space,
// hyphen or underscore, as brand names are there.
func (t *brandTable) named(word string) (string, bool) {
	var buf [maxTokenLen]byte
	key, ok := appendNormToken(buf[:0], word)
	if !ok {
		return "", false
	}
	b, ok := t.names[string(key)]
	return b, ok && b != ""
}

// maker returns the brand of a maker's name as apps and import lists
// write it ("samsung", "LGE", "HMD Global", "TECNO MOBILE LIMITED"): the
// name or, failing that, its first word, as named takes it.
func (t *brandTable) maker(name string) (string, bool) {
	if b, ok := t.named(name); ok {
		return b, true
	}
	name = trimSpace(name)
	if k := strings.IndexByte(name, ' '); k > 0 {
		return t.named(name[:k])
	}
	return "", false
}

// canonical spells the brand of an imported row as the table does:
// "LGE" and "TCT (Alcatel)" are LG and Alcatel. A maker the table does
// not know yields to the brand of the model's prefix (the Play list files
// some models under their ODM); else the brand stays as written.
func (t *brandTable) canonical(brand, model string) string {
	if b, ok := t.maker(brand); ok {
		return b
	}
	if i, j := strings.IndexByte(brand, '('), strings.LastIndexByte(brand, ')'); i >= 0 && j > i {
		if b, ok := t.named(brand[i+1 : j]); ok {
			return b
		}
	}
	if b, ok := t.tokenBrand(model); ok {
		return b
	}
	return brand
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
	db.indexAppleScreens()
	db.gen = generations.Add(1)
}

// screenKey is the portrait (shorter side first) key of a screen size.
func screenKey(w, h int64) uint64 {
	if w > h {
		w, h = h, w
	}
	return uint64(uint32(w))<<32 | uint64(uint32(h))
}

// indexAppleScreens collects the screen sizes of the Apple phones and
// tablets in the database, in physical and CSS pixels. A size both kinds
// share is dropped: it would tell nothing.
func (db *DB) indexAppleScreens() {
	sizes := make(map[uint64]int8)
	add := func(w, h int64, t int8) {
		if w <= 0 || h <= 0 {
			return
		}
		k := screenKey(w, h)
		if old, ok := sizes[k]; ok && old != t {
			t = deviceTypeUnknown
		}
		sizes[k] = t
	}
	for i := range db.recs {
		r := &db.recs[i]
		if r.brand != "Apple" || r.deviceType != DeviceTypePhone && r.deviceType != DeviceTypeTablet {
			continue
		}
		add(int64(r.w), int64(r.h), r.deviceType)
		if r.pxRatio > 0 {
			add(int64(math.Round(float64(r.w)/r.pxRatio)), int64(math.Round(float64(r.h)/r.pxRatio)), r.deviceType)
		}
	}
	db.appleScreens = newScreenTable(sizes)
}

// appleScreen returns DeviceTypePhone or DeviceTypeTablet when w×h is the
// screen of an Apple phone or tablet in the database, else 0.
func (db *DB) appleScreen(w, h int64) int8 {
	if w <= 0 || h <= 0 || w > 1<<20 || h > 1<<20 {
		return deviceTypeUnknown
	}
	return db.appleScreens.get(screenKey(w, h))
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
