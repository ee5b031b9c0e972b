package devicedb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Snapshot layout (FORMAT.md, "Snapshot"): a 56-byte header, then the
// payload.
//
//	magic   [8]byte  "ADXDEVDB"
//	version uint32   little-endian, SnapshotVersion
//	flags   uint32   0
//	length  uint64   payload length in bytes
//	sha256  [32]byte of the payload
//
// The payload is a string table followed by records that refer to strings
// by index, all integers as uvarints.
const (
	snapshotMagic = "ADXDEVDB"
	headerLen     = 8 + 4 + 4 + 8 + 32
	// SnapshotVersion is the snapshot format version MarshalBinary
	// writes. Load reads it and version 1, which had no brand table and
	// kept tokens only upper-cased.
	SnapshotVersion = 2
)

// MarshalBinary encodes db as a snapshot that Load reads back. The encoding
// is deterministic: the same DB contents give the same bytes.
func (db *DB) MarshalBinary() ([]byte, error) {
	w := &snapWriter{idx: make(map[string]uint64, 2*len(db.recs)+len(db.byUA)+len(db.byToken))}
	var body []byte
	body = w.str(body, db.version)
	body = w.str(body, db.sources)
	body = binary.AppendUvarint(body, uint64(len(db.schema)))
	for _, c := range db.schema {
		body = w.str(body, c.Name)
		body = w.str(body, c.Type)
		body = binary.AppendUvarint(body, uint64(len(c.Values)))
		for _, v := range c.Values {
			body = w.str(body, v)
		}
		body = binary.LittleEndian.AppendUint64(body, math.Float64bits(c.Min))
		body = binary.LittleEndian.AppendUint64(body, math.Float64bits(c.Max))
	}
	body = binary.AppendUvarint(body, uint64(len(db.recs)))
	for i := range db.recs {
		r := &db.recs[i]
		for _, s := range [...]string{r.id, r.brand, r.model, r.marketingName, r.hwv, r.os, r.osv, r.browser} {
			body = w.str(body, s)
		}
		body = binary.LittleEndian.AppendUint64(body, math.Float64bits(r.pxRatio))
		body = binary.AppendUvarint(body, uint64(r.w))
		body = binary.AppendUvarint(body, uint64(r.h))
		body = binary.AppendUvarint(body, uint64(r.ppi))
		body = binary.AppendUvarint(body, uint64(r.parent+1))
		body = append(body, byte(r.deviceType), r.flags)
		body = binary.AppendUvarint(body, uint64(len(db.extras[i])))
		for _, e := range db.extras[i] {
			body = binary.AppendUvarint(body, uint64(e.cap))
			body = w.str(body, e.value)
		}
	}
	keys := sortedKeys(db.byUA)
	body = binary.AppendUvarint(body, uint64(len(keys)))
	for _, k := range keys {
		body = w.str(body, k)
		body = binary.AppendUvarint(body, uint64(db.byUA[k]))
	}
	keys = sortedKeys(db.byToken)
	body = binary.AppendUvarint(body, uint64(len(keys)))
	for _, k := range keys {
		t := db.byToken[k]
		body = w.str(body, k)
		body = w.str(body, t.text)
		body = binary.AppendUvarint(body, uint64(t.dev))
	}
	keys = sortedKeys(db.brands.m)
	body = binary.AppendUvarint(body, uint64(len(keys)))
	for _, k := range keys {
		body = w.str(body, k)
		body = w.str(body, db.brands.m[k])
	}
	// The string table goes first so that the loader can slice every string
	// out of one copy.
	payload := binary.AppendUvarint(make([]byte, 0, len(w.table)+len(body)+16), uint64(len(w.strs)))
	payload = append(payload, w.table...)
	payload = append(payload, body...)
	sum := sha256.Sum256(payload)
	out := make([]byte, 0, headerLen+len(payload))
	out = append(out, snapshotMagic...)
	out = binary.LittleEndian.AppendUint32(out, SnapshotVersion)
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(payload)))
	out = append(out, sum[:]...)
	return append(out, payload...), nil
}

type snapWriter struct {
	idx   map[string]uint64
	strs  []string
	table []byte
}

func (w *snapWriter) str(dst []byte, s string) []byte {
	i, ok := w.idx[s]
	if !ok {
		i = uint64(len(w.strs))
		w.idx[s] = i
		w.strs = append(w.strs, s)
		w.table = binary.AppendUvarint(w.table, uint64(len(s)))
		w.table = append(w.table, s...)
	}
	return binary.AppendUvarint(dst, i)
}

// Load decodes and verifies a snapshot written by MarshalBinary. It rejects
// a wrong magic or version, a truncated or overlong file, a checksum
// mismatch and any inconsistent record. The returned *DB does not alias
// data.
func Load(data []byte) (*DB, error) {
	if len(data) < headerLen {
		return nil, fmt.Errorf("cannot load device snapshot: truncated header (%d of %d bytes)", len(data), headerLen)
	}
	if string(data[:8]) != snapshotMagic {
		return nil, fmt.Errorf("cannot load device snapshot: bad magic %q, want %q", data[:8], snapshotMagic)
	}
	v := binary.LittleEndian.Uint32(data[8:])
	if v != 1 && v != SnapshotVersion {
		return nil, fmt.Errorf("cannot load device snapshot: format version %d, this build reads 1 and %d", v, SnapshotVersion)
	}
	n := binary.LittleEndian.Uint64(data[16:])
	payload := data[headerLen:]
	if uint64(len(payload)) != n {
		return nil, fmt.Errorf("cannot load device snapshot: payload is %d bytes, header says %d (truncated or padded)", len(payload), n)
	}
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], data[24:56]) {
		return nil, errors.New("cannot load device snapshot: sha256 mismatch (corrupt file)")
	}
	db, err := decodePayload(payload, v)
	if err != nil {
		return nil, fmt.Errorf("cannot load device snapshot: %w", err)
	}
	return db, nil
}

// snapReader decodes a payload; the first error sticks.
type snapReader struct {
	b    []byte
	s    string // the same bytes as b, copied once so strings can be sliced
	off  int
	strs []string
	err  error
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("truncated or bad varint")
		return 0
	}
	r.off += n
	return v
}

// count reads an element count and checks it against the bytes left, each
// element taking at least min bytes, so a corrupt count cannot make us
// allocate gigabytes.
func (r *snapReader) count(min int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)-r.off)/uint64(min) {
		r.fail("count %d exceeds the remaining %d bytes", v, len(r.b)-r.off)
		return 0
	}
	return int(v)
}

func (r *snapReader) str() string {
	i := r.uvarint()
	if r.err == nil && i >= uint64(len(r.strs)) {
		r.fail("string index %d out of range [0, %d)", i, len(r.strs))
	}
	if r.err != nil {
		return ""
	}
	return r.strs[i]
}

func (r *snapReader) u64() uint64 {
	if r.err == nil && len(r.b)-r.off < 8 {
		r.fail("truncated")
	}
	if r.err != nil {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *snapReader) byte1() byte {
	if r.err == nil && r.off >= len(r.b) {
		r.fail("truncated")
	}
	if r.err != nil {
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *snapReader) int32v(what string, max uint64) int32 {
	v := r.uvarint()
	if r.err == nil && v > max {
		r.fail("%s %d out of range", what, v)
	}
	return int32(v)
}

// decodePayload decodes a payload of format version v whose checksum has
// been verified. It still checks every index, since a buggy writer is
// possible.
func decodePayload(p []byte, v uint32) (*DB, error) {
	r := &snapReader{b: p, s: string(p)}
	ns := r.count(1)
	r.strs = make([]string, ns)
	for i := 0; i < ns && r.err == nil; i++ {
		l := r.uvarint()
		if r.err == nil && l > uint64(len(p)-r.off) {
			r.fail("string %d length %d exceeds the remaining bytes", i, l)
		}
		if r.err != nil {
			break
		}
		r.strs[i] = r.s[r.off : r.off+int(l)]
		r.off += int(l)
	}
	version, sources := r.str(), r.str()
	nc := r.count(4)
	schema := make([]Capability, nc)
	for i := range schema {
		c := &schema[i]
		c.Name, c.Type = r.str(), r.str()
		nv := r.count(1)
		if nv > 0 {
			c.Values = make([]string, nv)
		}
		for j := range c.Values {
			c.Values[j] = r.str()
		}
		c.Min, c.Max = math.Float64frombits(r.u64()), math.Float64frombits(r.u64())
		if r.err != nil {
			return nil, r.err
		}
		if _, ok := parseCapType(c.Type); !ok {
			r.fail("capability %q has unknown type %q", c.Name, c.Type)
		}
		if i < len(BuiltinCapabilities) && c.Name != BuiltinCapabilities[i].Name {
			r.fail("capability %d is %q, want built-in %q", i, c.Name, BuiltinCapabilities[i].Name)
		}
	}
	if r.err == nil && nc < len(BuiltinCapabilities) {
		r.fail("%d capabilities, want at least the %d built-ins", nc, len(BuiltinCapabilities))
	}
	nd := r.count(21)
	if r.err != nil {
		return nil, r.err
	}
	db := newDB(nd)
	db.version, db.sources, db.schema = version, sources, schema
	db.recs = db.recs[:nd]
	for i := 0; i < nd && r.err == nil; i++ {
		rec := &db.recs[i]
		rec.id, rec.brand, rec.model, rec.marketingName = r.str(), r.str(), r.str(), r.str()
		rec.hwv, rec.os, rec.osv, rec.browser = r.str(), r.str(), r.str(), r.str()
		rec.pxRatio = math.Float64frombits(r.u64())
		rec.w = r.int32v("width", math.MaxInt32)
		rec.h = r.int32v("height", math.MaxInt32)
		rec.ppi = r.int32v("ppi", math.MaxInt32)
		rec.parent = r.int32v("parent", uint64(nd)) - 1
		rec.deviceType = int8(r.byte1())
		rec.flags = r.byte1()
		ne := r.count(2)
		if ne > 0 && r.err == nil {
			db.extras[i] = make([]extraCap, ne)
		}
		for j := 0; j < ne && r.err == nil; j++ {
			c := r.uvarint()
			if r.err == nil && (c < uint64(len(BuiltinCapabilities)) || c >= uint64(nc)) {
				r.fail("device %q: extra capability index %d out of range", rec.id, c)
			}
			db.extras[i][j] = extraCap{cap: uint16(c), value: r.str()}
		}
		if _, dup := db.byID[rec.id]; dup && r.err == nil {
			r.fail("device %q: duplicate id", rec.id)
		}
		db.byID[rec.id] = int32(i)
	}
	n := r.count(2)
	for i := 0; i < n && r.err == nil; i++ {
		k := r.str()
		db.byUA[k] = r.int32v("device index", uint64(nd-1))
	}
	n = r.count(2)
	for i := 0; i < n && r.err == nil; i++ {
		k := r.str()
		text := k
		if v >= 2 {
			text = r.str()
		}
		db.byToken[k] = tokenRef{dev: r.int32v("device index", uint64(nd-1)), text: text}
	}
	var prefixes map[string]string
	if v >= 2 {
		n = r.count(2)
		prefixes = make(map[string]string, n)
		for i := 0; i < n && r.err == nil; i++ {
			k, b := r.str(), r.str()
			if r.err == nil && (k == "" || len(k) > maxPrefixLen || upperASCII(k) != k) {
				r.fail("brand prefix %q is empty, too long or not upper-cased", k)
			}
			prefixes[k] = b
		}
	}
	if r.err == nil && r.off != len(p) {
		r.fail("%d trailing bytes", len(p)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	if _, ok := db.byID[GenericID]; !ok {
		return nil, fmt.Errorf("no %q device", GenericID)
	}
	// Chains must be acyclic: Capability walks them.
	state := make([]uint8, nd)
	for i := range db.recs {
		j := int32(i)
		for steps := 0; j >= 0 && state[j] == 0; steps++ {
			if steps > nd {
				return nil, fmt.Errorf("device %q: fall_back cycle", db.recs[i].id)
			}
			j = db.recs[j].parent
		}
		for k := int32(i); k >= 0 && state[k] == 0; k = db.recs[k].parent {
			state[k] = 1
		}
	}
	db.brands = newBrandTable(prefixes)
	db.finish()
	return db, nil
}
