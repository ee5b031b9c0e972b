package enrich

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdb is one loaded MaxMind database: the library's Reader, which decodes
// records, and its search tree, which Enrich walks itself.
//
// Why walk the tree here: a lookup is a chain of dependent loads, one node
// per bit of the address, and in a database of a few hundred thousand
// networks or more most of them miss the CPU caches. Four lookups one
// after the other wait for four chains of misses; walking the four trees
// in lockstep (walkTrees) lets the CPU overlap them. On the generated
// databases of geo_timing_test.go (BenchmarkTreeWalk) the four walks take
// ~1.15 µs in lockstep against ~2.65 µs as four Reader.Lookup calls; the
// walks were over half of Enrich's time. The records are then decoded by
// the library, from the offsets the walk found (Reader.LookupOffset), and
// TestTreeWalk and FuzzTreeWalk check that the walk finds what
// Reader.Lookup finds, for every record size and IP version.
type mmdb struct {
	*maxminddb.Reader
	tree tree
}

// tree is the search tree section of a database (MaxMind DB spec, "Search
// Tree Section").
type tree struct {
	nodes      []byte // nodeCount records pairs of recordSize bits
	nodeCount  uint
	recordSize uint // 24, 28 or 32
	ipv4Only   bool // ip_version 4: no IPv6 lookups
	ipv4Start  uint // node of ::/96, where IPv4 addresses start
}

// newMMDB wraps a verified Reader opened on buf.
func newMMDB(r *maxminddb.Reader, buf []byte) (*mmdb, error) {
	m := r.Metadata
	t := tree{nodeCount: m.NodeCount, recordSize: m.RecordSize, ipv4Only: m.IPVersion == 4}
	switch m.RecordSize {
	case 24, 28, 32:
	default:
		return nil, fmt.Errorf("unsupported record_size %d", m.RecordSize)
	}
	size := m.NodeCount * m.RecordSize / 4
	if size/(m.RecordSize/4) != m.NodeCount || size > uint(len(buf)) {
		return nil, fmt.Errorf("search tree of %d nodes does not fit in %d bytes", m.NodeCount, len(buf))
	}
	t.nodes = buf[:size:size]
	if !t.ipv4Only {
		for i := 0; i < 96 && t.ipv4Start < t.nodeCount; i++ {
			t.ipv4Start = t.next(t.ipv4Start, 0)
		}
	}
	return &mmdb{Reader: r, tree: t}, nil
}

// Close closes the Reader; the tree is its memory.
func (m *mmdb) Close() error { return m.Reader.Close() }

// next returns the record of node for bit (0 left, 1 right). node must be
// below nodeCount.
func (t *tree) next(node, bit uint) uint {
	switch t.recordSize {
	case 28:
		// Each half is 24 bits, plus a nibble of the shared middle byte:
		// the high nibble for the left record, the low one for the right.
		off := node*7 + bit*3
		w := binary.BigEndian.Uint32(t.nodes[off : off+4])
		left := 1 - bit
		return uint((w>>(left*8))&0x00FFFFFF | (w<<(left*20))&0x0F000000)
	case 24:
		off := node*6 + bit*3
		b := t.nodes[off : off+3]
		return uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
	default: // 32
		off := node*8 + bit*4
		return uint(binary.BigEndian.Uint32(t.nodes[off : off+4]))
	}
}

// notFound marks a tree without a record for the address.
const notFound = ^uint(0)

// walkTrees looks ip up in every non-nil database of dbs, walking their
// trees in lockstep, and stores the data-section offset of each record
// found (for Reader.LookupOffset) in offsets, or notFound. ip must be
// unmapped (IPv4 as Is4). An IPv6 address is not found in an IPv4-only
// database.
func walkTrees(dbs *[numSlots]*mmdb, ip netip.Addr, offsets *[numSlots]uint) {
	var (
		node   [numSlots]uint
		active [numSlots]bool
		any    bool
	)
	is4 := ip.Is4()
	for i, db := range dbs {
		offsets[i] = notFound
		if db == nil || (!is4 && db.tree.ipv4Only) {
			continue
		}
		if is4 {
			node[i] = db.tree.ipv4Start
		}
		active[i] = node[i] < db.tree.nodeCount
		any = any || active[i]
	}
	// The address, most significant bit first, in hi then lo.
	var hi, lo uint64
	bits := 128
	if is4 {
		a := ip.As4()
		hi, bits = uint64(binary.BigEndian.Uint32(a[:]))<<32, 32
	} else {
		a := ip.As16()
		hi, lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	}
	for ; bits > 0 && any; bits-- {
		bit := uint(hi >> 63)
		hi, lo = hi<<1|lo>>63, lo<<1
		any = false
		for i, db := range dbs {
			if !active[i] {
				continue
			}
			n := db.tree.next(node[i], bit)
			node[i] = n
			active[i] = n < db.tree.nodeCount
			any = any || active[i]
		}
	}
	for i, db := range dbs {
		if db == nil || (!is4 && db.tree.ipv4Only) {
			continue
		}
		// A record past the tree points into the data section, after the
		// 16-byte separator; nodeCount itself means "no data".
		if n := node[i]; n > db.tree.nodeCount+15 {
			offsets[i] = n - db.tree.nodeCount - 16
		}
	}
}
