package enrich

import (
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
	"github.com/prebid/openrtb/v20/adcom1"
)

// The record decoders of this file are hand-written
// mmdbdata.CursorUnmarshalers that read only the fields Enrich uses and
// skip the rest (names in other languages, geoname IDs, continent,
// registered country, traits) without decoding them; find stops reading a
// shared map at the key it wants.
// Measured on the generated GeoIP2-City database of geo_timing_test.go
// (350,000 networks, 22 MB; go test -run x -bench DecodeCity -benchmem
// ./enrich/, 2-core VM), lookup plus decode of one record, allocations
// including the record (pooled in Enrich) and the strings not in the
// reader's string cache:
//
//	hand-written cursor decoder (this)       ~1.7 µs,  3 allocs,  143 B
//	reflection into a small tagged struct    ~1.9 µs,  3 allocs,  163 B
//	DecodePath, one call per field           ~3.2 µs, 11 allocs,  460 B
//	geoip2-golang v2 City (all fields)       ~3.6 µs, 19 allocs, 1508 B
//
// The lookup (tree walk) alone is ~0.6 µs; the rest is mostly cache misses
// following pointers into the data section, which is why the decoders
// differ less than their instruction counts. Strings come from the
// reader's string cache, so repeated ones (country, region, time zone,
// connection type, carriers) do not allocate.

// maxString bounds every string read from a database into a request.
const maxString = 256

// cityRecord is what Enrich uses of a City, Country or Enterprise record.
type cityRecord struct {
	country        string // ISO 3166-1 alpha-2
	region         string // ISO 3166-2 subdivision code, most general
	city           string // English name
	postal         string
	timeZone       string // IANA name
	lat, lon       float64
	hasLat, hasLon bool
	accuracy       uint64 // km
	metro          uint64
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (c *cityRecord) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachKey(cur, func(key []byte, val mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch string(key) {
		case "country":
			return stringAt(val, "iso_code", &c.country)
		case "subdivisions":
			return firstSubdivision(val, &c.region)
		case "city":
			names, ok, next, err := find(val, "names")
			if ok {
				_, err = stringAt(names, "en", &c.city)
			}
			return next, err
		case "postal":
			return stringAt(val, "code", &c.postal)
		case "location":
			return eachKey(val, c.location)
		}
		return val.Skip()
	})
}

func (c *cityRecord) location(key []byte, val mmdbdata.Cursor) (next mmdbdata.Cursor, err error) {
	switch string(key) {
	case "latitude":
		c.lat, next, err = val.ReadFloat()
		c.hasLat = err == nil
	case "longitude":
		c.lon, next, err = val.ReadFloat()
		c.hasLon = err == nil
	case "accuracy_radius":
		c.accuracy, next, err = val.ReadUint()
	case "metro_code":
		c.metro, next, err = val.ReadUint()
	case "time_zone":
		c.timeZone, next, err = val.ReadStringMaxSize(maxString)
	default:
		next, err = val.Skip()
	}
	return next, err
}

// ispRecord is what Enrich uses of a GeoIP2-ISP or GeoLite2-ASN record.
type ispRecord struct {
	isp, org, asOrg string
	mcc, mnc        string
}

// carrier is the name for device.carrier: the ISP, else the organization,
// else (GeoLite2-ASN) the autonomous system's organization.
func (r *ispRecord) carrier() string {
	switch {
	case r.isp != "":
		return r.isp
	case r.org != "":
		return r.org
	}
	return r.asOrg
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler. The
// organization names are read only when there is no isp: each is a
// pointer to a string elsewhere in the data section, a cache miss.
func (r *ispRecord) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	var org, asOrg mmdbdata.Cursor // zero: absent
	next, err := eachKey(cur, func(key []byte, val mmdbdata.Cursor) (next mmdbdata.Cursor, err error) {
		var dst *string
		switch string(key) {
		case "isp":
			dst = &r.isp
		case "mobile_country_code":
			dst = &r.mcc
		case "mobile_network_code":
			dst = &r.mnc
		case "organization":
			org = val
			return val.Skip()
		case "autonomous_system_organization":
			asOrg = val
			return val.Skip()
		default:
			return val.Skip()
		}
		*dst, next, err = val.ReadStringMaxSize(maxString)
		return next, err
	})
	if err != nil || r.isp != "" {
		return next, err
	}
	for _, c := range [2]struct {
		cur mmdbdata.Cursor
		dst *string
	}{{org, &r.org}, {asOrg, &r.asOrg}} {
		if c.cur != (mmdbdata.Cursor{}) {
			if *c.dst, _, err = c.cur.ReadStringMaxSize(maxString); err != nil {
				return next, fmt.Errorf("organization: %w", err)
			}
			if *c.dst != "" {
				break
			}
		}
	}
	return next, nil
}

// connRecord is a GeoIP2-Connection-Type record, mapped to OpenRTB.
type connRecord struct {
	kind adcom1.ConnectionType
}

// connectionType maps MaxMind's connection_type to OpenRTB's
// device.connectiontype (AdCOM 1.0 list "Connection Types"). Neither
// MaxMind nor OpenRTB defines this mapping; it is a product decision:
//
//	Cable/DSL -> 1 Ethernet (a fixed line; the last hop may be Wi-Fi, which an IP cannot tell)
//	Corporate -> 1 Ethernet (an office network)
//	Cellular  -> 3 Cellular, unknown generation
//	Satellite, Dialup, anything else -> not set (no OpenRTB value fits; 0 would claim "unknown" as a fact)
func connectionType(s string) adcom1.ConnectionType {
	switch s {
	case "Cable/DSL", "Corporate":
		return adcom1.ConnectionEthernet
	case "Cellular":
		return adcom1.ConnectionCellular
	}
	return adcom1.ConnectionUnknown
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *connRecord) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachKey(cur, func(key []byte, val mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		if string(key) != "connection_type" {
			return val.Skip()
		}
		s, next, err := val.ReadStringMaxSize(maxString)
		r.kind = connectionType(s)
		return next, err
	})
}

// anonFlags is a set of GeoIP2-Anonymous-IP flags.
type anonFlags uint8

const (
	flagTorExitNode anonFlags = 1 << iota
	flagPublicProxy
	flagResidentialProxy
	flagVPN
	flagHostingProvider
	flagAnonymous
)

type anonFlagName struct {
	flag anonFlags
	name string // GeoOptions.Block name and GeoOutcome.Blocked value
	key  string // field in the database
}

// anonFlagNames lists the flags from the most specific to the most
// general: a request matching several blocked flags is reported under the
// first, so "anonymous", which MaxMind sets with any other, comes last.
// "vpn" is the database's is_anonymous_vpn.
var anonFlagNames = [...]anonFlagName{
	{flagTorExitNode, "tor_exit_node", "is_tor_exit_node"},
	{flagPublicProxy, "public_proxy", "is_public_proxy"},
	{flagResidentialProxy, "residential_proxy", "is_residential_proxy"},
	{flagVPN, "vpn", "is_anonymous_vpn"},
	{flagHostingProvider, "hosting_provider", "is_hosting_provider"},
	{flagAnonymous, "anonymous", "is_anonymous"},
}

// name returns the name of the most specific flag in f.
func (f anonFlags) name() string {
	for _, n := range anonFlagNames {
		if f&n.flag != 0 {
			return n.name
		}
	}
	return ""
}

// anonRecord is a GeoIP2-Anonymous-IP record.
type anonRecord struct {
	flags anonFlags
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *anonRecord) UnmarshalMaxMindDBCursor(cur mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachKey(cur, func(key []byte, val mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		for _, n := range anonFlagNames {
			if string(key) == n.key {
				on, next, err := val.ReadBool()
				if on {
					r.flags |= n.flag
				}
				return next, err
			}
		}
		return val.Skip()
	})
}

// eachKey calls fn for every entry of the map at cur; fn reads or skips
// the value and returns its successor. It returns the map's successor.
func eachKey(cur mmdbdata.Cursor, fn func(key []byte, val mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	m, err := cur.MapReader()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, val, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if next, err = fn(key, val); err != nil {
			return mmdbdata.Cursor{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	return m.End(next)
}

// find returns the value under key of the map at cur, whether there is
// one, and the successor of the whole map. It stops reading at key: the
// successor comes from Skip, which is O(1) when cur is a pointer (how
// MaxMind stores the shared country, subdivision and names maps), so the
// rest of the map is never walked.
func find(cur mmdbdata.Cursor, key string) (val mmdbdata.Cursor, ok bool, next mmdbdata.Cursor, err error) {
	if next, err = cur.Skip(); err != nil {
		return val, false, next, err
	}
	m, err := cur.MapReader()
	if err != nil {
		return val, false, next, err
	}
	c := m.First()
	for range m.Len() {
		var k []byte
		if k, val, err = c.ReadMapKey(); err != nil {
			return val, false, next, err
		}
		if string(k) == key {
			return val, true, next, nil
		}
		if c, err = val.Skip(); err != nil {
			return val, false, next, err
		}
	}
	return val, false, next, nil
}

// stringAt reads the string under key of the map at cur into dst and
// returns the map's successor.
func stringAt(cur mmdbdata.Cursor, key string, dst *string) (mmdbdata.Cursor, error) {
	val, ok, next, err := find(cur, key)
	if ok {
		*dst, _, err = val.ReadStringMaxSize(maxString)
	}
	return next, err
}

// firstSubdivision reads the iso_code of the first (most general)
// subdivision of the list at cur into dst and returns the list's
// successor.
func firstSubdivision(cur mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	next, err := cur.Skip()
	if err != nil {
		return next, err
	}
	s, err := cur.Slice()
	if err != nil {
		return next, err
	}
	if _, first, ok := s.Next(mmdbdata.Cursor{}); ok {
		_, err = stringAt(first, "iso_code", dst)
	}
	return next, err
}
