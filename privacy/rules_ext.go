package privacy

import "bytes"

// The OpenRTB 2.5 forms of the privacy signals live in ext objects
// (regs.ext.gdpr, regs.ext.us_privacy, user.ext.consent, user.ext.eids),
// and ATT in device.ext.atts. These few functions read the top level of
// such an object without decoding it: ext objects are small, and only a
// request that carries one pays for the scan.

// extMember is one member at the top level of a JSON object: its key, as
// written between the quotes, and where the member and its value lie.
type extMember struct {
	key []byte
	// start is the offset of the key's opening quote; value is
	// obj[valStart:valEnd].
	start, valStart, valEnd int
}

// extScan walks the members at the top level of a JSON object.
type extScan struct {
	obj []byte
	// i is where the last member read ends: at a ',' or the '}' after it.
	i       int
	started bool
}

// next returns the next member; ok is false at the end of the object or
// where the JSON is malformed, so that a broken ext reads as one without
// the rest of its members.
func (s *extScan) next() (m extMember, ok bool) {
	b := s.obj
	var i int
	if !s.started {
		s.started = true
		if i = skipSpace(b, 0); i >= len(b) || b[i] != '{' {
			return m, false
		}
	} else if i = s.i; i >= len(b) || b[i] != ',' {
		return m, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '"' {
		return m, false
	}
	m.start = i
	end := skipString(b, i)
	if end < 0 {
		return m, false
	}
	m.key = b[i+1 : end-1]
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return m, false
	}
	m.valStart = skipSpace(b, i+1)
	m.valEnd = skipValue(b, m.valStart)
	if m.valEnd < 0 {
		return m, false
	}
	s.i = skipSpace(b, m.valEnd)
	if s.i < len(b) && b[s.i] != ',' && b[s.i] != '}' {
		return m, false
	}
	return m, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset just past the string that starts with the
// quote at b[i], or -1 when it does not end. It jumps from quote to
// quote: a quote after an odd run of backslashes is escaped.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// skipValue returns the offset just past the JSON value that starts at
// b[i], or -1 when there is none. Nested objects and arrays are skipped by
// their brackets, strings by their quotes; a scalar runs to the next
// delimiter.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// extValue returns the raw value of the member key at the top level of
// the JSON object ext, or nil; of a key given twice, the last, as
// encoding/json reads it. A key nested deeper, or a string value that
// reads like the key, does not match.
func extValue(ext []byte, key string) []byte {
	var v []byte
	s := extScan{obj: ext}
	for {
		m, ok := s.next()
		if !ok {
			return v
		}
		if keyIs(m.key, key) {
			v = ext[m.valStart:m.valEnd]
		}
	}
}

// longS is ſ, U+017F, which Unicode case folding, and so encoding/json,
// takes for s. (The Kelvin sign folds to k, which no key holds.)
const longS = 0x17f

// keyIs reports whether the JSON string content raw, escapes decoded, is
// the lower-case ASCII key in any case: a partner's decoder may read
// "\u0065ids" and "EIDS" as eids (encoding/json matches field names
// without regard to case), so the rules read them so too.
func keyIs(raw []byte, key string) bool {
	if len(raw) == len(key) && string(raw) == key {
		return true
	}
	k := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			if i+1 >= len(raw) {
				return false
			}
			i++
			switch raw[i] {
			case '"', '\\', '/':
				c = raw[i]
			case 'u':
				if i+4 >= len(raw) {
					return false
				}
				r := 0
				for _, h := range raw[i+1 : i+5] {
					switch {
					case h >= '0' && h <= '9':
						r = r<<4 | int(h-'0')
					case h >= 'a' && h <= 'f':
						r = r<<4 | int(h-'a'+10)
					case h >= 'A' && h <= 'F':
						r = r<<4 | int(h-'A'+10)
					default:
						return false
					}
				}
				switch {
				case r == longS:
					r = 's'
				case r >= 0x80:
					return false // keys are ASCII
				}
				c, i = byte(r), i+4
			default:
				return false // \b, \f, \n, \r, \t are in no key
			}
		}
		if c == 0xc5 && i+1 < len(raw) && raw[i+1] == 0xbf { // ſ in UTF-8
			c, i = 's', i+1
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if k >= len(key) || key[k] != c {
			return false
		}
		k++
	}
	return k == len(key)
}

// extValues is extValue for three keys at once, in one scan.
func extValues(ext []byte, key1, key2, key3 string) (v1, v2, v3 []byte) {
	s := extScan{obj: ext}
	for {
		m, ok := s.next()
		if !ok {
			return v1, v2, v3
		}
		switch {
		case keyIs(m.key, key1):
			v1 = ext[m.valStart:m.valEnd]
		case keyIs(m.key, key2):
			v2 = ext[m.valStart:m.valEnd]
		case keyIs(m.key, key3):
			v3 = ext[m.valStart:m.valEnd]
		}
	}
}

// extInt returns the member key of ext as a small non-negative integer;
// -1 when it is absent or not one.
func extInt(ext []byte, key string) int { return intValue(extValue(ext, key)) }

// intValue returns the raw JSON value v as a small non-negative integer;
// -1 when it is not one.
func intValue(v []byte) int {
	if len(v) == 0 || len(v) > 7 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// extString returns the member key of ext as the bytes between its
// quotes, escapes left as written; nil when it is absent or not a string.
func extString(ext []byte, key string) []byte { return stringValue(extValue(ext, key)) }

// stringValue returns the raw JSON value v as the bytes between its
// quotes; nil when it is not a string.
func stringValue(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	return v[1 : len(v)-1]
}

// extWithout returns a copy of the JSON object ext without its top-level
// member key, and true; ext itself and false when it has no such member.
// An object left empty is "{}".
func extWithout(ext []byte, key string) ([]byte, bool) {
	s := extScan{obj: ext}
	prevEnd := -1 // where the member before the match ends
	for {
		m, ok := s.next()
		if !ok {
			return ext, false
		}
		if !keyIs(m.key, key) {
			prevEnd = m.valEnd
			continue
		}
		from, to := m.start, s.i
		if to < len(ext) && ext[to] == ',' {
			to = skipSpace(ext, to+1) // the member and the comma after it
		} else if prevEnd >= 0 {
			from = prevEnd // the last member: the comma before it goes
		}
		out := make([]byte, 0, len(ext)-(to-from))
		out = append(append(out, ext[:from]...), ext[to:]...)
		if again, ok := extWithout(out, key); ok { // a key sent twice
			return again, true
		}
		return bytes.TrimSpace(out), true
	}
}
