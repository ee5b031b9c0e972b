package devicedb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxErrors caps how many rejections Compile reports at once.
const maxErrors = 20

// Compile validates src and builds an immutable *DB from it. It rejects
// duplicate ids, a fall_back to a missing id, a cycle, a chain not ending at
// generic, a capability generic does not define, a value that does not parse
// as its capability's type, a User-Agent or model token mapped to two
// devices, and a blank, overlong or case-conflicting brand prefix. Each
// message names the device (or prefix) and the field; up to 20 are
// joined.
func Compile(src *Source) (*DB, error) {
	if src == nil {
		return nil, errors.New("cannot compile device source: nil source")
	}
	var errs []error
	fail := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	schema := append([]Capability(nil), BuiltinCapabilities...)
	capIdx := make(map[string]int, len(schema)+len(src.Capabilities))
	for i, c := range schema {
		capIdx[c.Name] = i
	}
	for _, c := range src.Capabilities {
		t, ok := parseCapType(c.Type)
		switch {
		case c.Name == "":
			fail("capabilities: a capability has no name")
			continue
		case !ok:
			fail("capabilities: %q: unknown type %q", c.Name, c.Type)
			continue
		case t == TypeEnum && len(c.Values) == 0:
			fail("capabilities: %q: enum without values", c.Name)
			continue
		}
		if _, dup := capIdx[c.Name]; dup {
			fail("capabilities: %q declared twice (or redeclares a built-in)", c.Name)
			continue
		}
		capIdx[c.Name] = len(schema)
		schema = append(schema, c)
	}

	n := len(src.Devices)
	ids := make(map[string]int32, n)
	for i := range src.Devices {
		d := &src.Devices[i]
		if d.ID == "" {
			fail("device #%d: id: empty", i)
			continue
		}
		if j, dup := ids[d.ID]; dup {
			fail("device %q: id: duplicate (also device #%d)", d.ID, j)
			continue
		}
		ids[d.ID] = int32(i)
	}
	gi, ok := ids[GenericID]
	if !ok {
		fail("device %q: missing: the root device must exist", GenericID)
		return nil, joinCompileErrors(errs)
	}
	parent := make([]int32, n)
	for i := range src.Devices {
		d := &src.Devices[i]
		parent[i] = -1
		if int32(i) == gi {
			if d.FallBack != "" && d.FallBack != "root" {
				fail("device %q: fall_back: the root must not have a parent (got %q)", d.ID, d.FallBack)
			}
			continue
		}
		if d.FallBack == "" {
			fail("device %q: fall_back: empty", d.ID)
			continue
		}
		p, ok := ids[d.FallBack]
		if !ok {
			fail("device %q: fall_back: no device %q", d.ID, d.FallBack)
			continue
		}
		parent[i] = p
	}
	if len(errs) > 0 {
		return nil, joinCompileErrors(errs)
	}
	// Chains: every device must reach generic without a cycle. state 0 =
	// unvisited, 1 = on the current walk, 2 = reaches generic.
	state := make([]uint8, n)
	state[gi] = 2
	order := append(make([]int32, 0, n), gi) // parents before children
	var walk []int32
	for i := range src.Devices {
		walk = walk[:0]
		j := int32(i)
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			walk = append(walk, j)
			j = parent[j]
		}
		switch {
		case j >= 0 && state[j] == 1:
			fail("device %q: fall_back: cycle through %q", src.Devices[j].ID, src.Devices[parent[j]].ID)
		case j < 0:
			fail("device %q: fall_back: chain ends at %q, not %q", src.Devices[i].ID, src.Devices[walk[len(walk)-1]].ID, GenericID)
		}
		ok := j >= 0 && state[j] == 2
		for k := len(walk) - 1; k >= 0; k-- {
			if ok {
				state[walk[k]] = 2
				order = append(order, walk[k])
			} else {
				state[walk[k]] = 3 // bad, reported once
			}
		}
	}
	// Values.
	canon := make([]map[int]string, n)
	for i := range src.Devices {
		d := &src.Devices[i]
		if len(d.Caps) == 0 {
			continue
		}
		m := make(map[int]string, len(d.Caps))
		for name, v := range d.Caps {
			ci, ok := capIdx[name]
			if !ok {
				fail("device %q: caps.%s: unknown capability", d.ID, name)
				continue
			}
			cv, err := checkValue(&schema[ci], v)
			if err != nil {
				fail("device %q: caps.%s: %v", d.ID, name, err)
				continue
			}
			m[ci] = cv
		}
		canon[i] = m
	}
	for ci, c := range schema {
		if _, ok := canon[gi][ci]; !ok {
			fail("device %q: caps.%s: the root must define every capability", GenericID, c.Name)
		}
	}
	if len(errs) > 0 {
		return nil, joinCompileErrors(errs)
	}

	db := newDB(n)
	db.version, db.sources = src.Version, src.Sources
	db.schema = schema
	db.recs = db.recs[:n]
	resolve := func(i int32) {
		r := &db.recs[i]
		if p := parent[i]; p >= 0 {
			*r = db.recs[p]
		}
		r.id, r.parent = src.Devices[i].ID, parent[i]
		for ci, v := range canon[i] {
			if ci < len(BuiltinCapabilities) {
				r.set(ci, v)
			} else {
				db.extras[i] = append(db.extras[i], extraCap{cap: uint16(ci), value: v})
			}
		}
	}
	for _, i := range order {
		resolve(i)
	}
	for i := range src.Devices {
		d := &src.Devices[i]
		for _, ua := range d.UserAgents {
			key := strings.TrimSpace(ua)
			if key == "" {
				fail("device %q: user_agents: empty", d.ID)
				continue
			}
			if j, dup := db.byUA[key]; dup && j != int32(i) {
				fail("device %q: user_agents: %q is also mapped to device %q", d.ID, ua, src.Devices[j].ID)
				continue
			}
			db.byUA[key] = int32(i)
		}
		for _, tok := range d.Tokens {
			key, ok := normToken(tok)
			if !ok {
				fail("device %q: tokens: %q is empty or longer than %d bytes", d.ID, tok, maxTokenLen)
				continue
			}
			if j, dup := db.byToken[key]; dup && j.dev != int32(i) {
				fail("device %q: tokens: %q is also mapped to device %q", d.ID, tok, src.Devices[j.dev].ID)
				continue
			}
			db.byToken[key] = tokenRef{dev: int32(i), text: strings.TrimSpace(tok)}
		}
	}
	prefixes, perrs := compileBrandPrefixes(src.BrandPrefixes)
	for _, err := range perrs {
		fail("%v", err)
	}
	if len(errs) > 0 {
		return nil, joinCompileErrors(errs)
	}
	db.brands = newBrandTable(prefixes)
	db.finish()
	return db, nil
}

// maxPrefixLen bounds brand prefixes: one bit per length in a uint64
// (brandTable.lens).
const maxPrefixLen = 63

// compileBrandPrefixes upper-cases the brand table's keys. A key must not
// be blank or longer than maxPrefixLen, and two keys that differ only in
// case must name the same brand.
func compileBrandPrefixes(src map[string]string) (map[string]string, []error) {
	out := make(map[string]string, len(src))
	orig := make(map[string]string, len(src))
	var errs []error
	for _, p := range sortedKeys(src) {
		brand := strings.TrimSpace(src[p])
		if strings.TrimSpace(p) == "" || len(p) > maxPrefixLen {
			errs = append(errs, fmt.Errorf("brand_prefixes: %q is blank or longer than %d bytes", p, maxPrefixLen))
			continue
		}
		key := upperASCII(p)
		if b, dup := out[key]; dup && b != brand {
			errs = append(errs, fmt.Errorf("brand_prefixes: %q (%s) and %q (%s) differ only in case", orig[key], b, p, brand))
			continue
		}
		out[key], orig[key] = brand, p
	}
	return out, errs
}

// upperASCII upper-cases the ASCII letters of s.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func joinCompileErrors(errs []error) error {
	err := errors.Join(errs...)
	if len(errs) == maxErrors {
		err = fmt.Errorf("%w\n(more errors not shown)", err)
	}
	return fmt.Errorf("invalid device source: %w", err)
}

// set stores the canonical value v of built-in capability ci.
func (r *record) set(ci int, v string) {
	switch BuiltinCapabilities[ci].Name {
	case CapBrand:
		r.brand = v
	case CapModel:
		r.model = v
	case CapMarketingName:
		r.marketingName = v
	case CapHWV:
		r.hwv = v
	case CapDeviceType:
		n, _ := strconv.Atoi(v)
		r.deviceType = int8(n)
	case CapOS:
		r.os = v
	case CapOSVersion:
		r.osv = v
	case CapBrowser:
		r.browser = v
	case CapScreenWidth:
		n, _ := strconv.Atoi(v)
		r.w = int32(n)
	case CapScreenHeight:
		n, _ := strconv.Atoi(v)
		r.h = int32(n)
	case CapPixelRatio:
		f, _ := strconv.ParseFloat(v, 64)
		r.pxRatio = f
	case CapPPI:
		n, _ := strconv.Atoi(v)
		r.ppi = int32(n)
	case CapIsBot:
		r.setFlag(flagBot, v == "true")
	case CapIsTablet:
		r.setFlag(flagTablet, v == "true")
	case CapIsSmartTV:
		r.setFlag(flagSmartTV, v == "true")
	case CapJS:
		r.setFlag(flagJS, v == "true")
	}
}

// get returns the canonical text of built-in capability ci.
func (r *record) get(ci int) string {
	switch BuiltinCapabilities[ci].Name {
	case CapBrand:
		return r.brand
	case CapModel:
		return r.model
	case CapMarketingName:
		return r.marketingName
	case CapHWV:
		return r.hwv
	case CapDeviceType:
		return strconv.Itoa(int(r.deviceType))
	case CapOS:
		return r.os
	case CapOSVersion:
		return r.osv
	case CapBrowser:
		return r.browser
	case CapScreenWidth:
		return strconv.Itoa(int(r.w))
	case CapScreenHeight:
		return strconv.Itoa(int(r.h))
	case CapPixelRatio:
		return strconv.FormatFloat(r.pxRatio, 'g', -1, 64)
	case CapPPI:
		return strconv.Itoa(int(r.ppi))
	case CapIsBot:
		return strconv.FormatBool(r.flags&flagBot != 0)
	case CapIsTablet:
		return strconv.FormatBool(r.flags&flagTablet != 0)
	case CapIsSmartTV:
		return strconv.FormatBool(r.flags&flagSmartTV != 0)
	case CapJS:
		return strconv.FormatBool(r.flags&flagJS != 0)
	}
	return ""
}

func (r *record) setFlag(f uint8, on bool) {
	if on {
		r.flags |= f
	} else {
		r.flags &^= f
	}
}

// maxTokenLen bounds model tokens so that lookups normalise them in a stack
// buffer.
const maxTokenLen = 64

// normToken upper-cases ASCII letters and trims spaces: the key form of the
// token index.
func normToken(s string) (string, bool) {
	var buf [maxTokenLen]byte
	b, ok := appendNormToken(buf[:0], s)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendNormToken appends the key form of s to dst; ok is false when s is
// empty or longer than maxTokenLen after trimming.
func appendNormToken(dst []byte, s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxTokenLen {
		return dst, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}
