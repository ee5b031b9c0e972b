package openrtb

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// The JSON decoder replaces bytes that are not UTF-8, and escaped lone
// surrogates ("\ud800"), with U+FFFD. In free text (a page title, keywords)
// that changes nothing the auction does, and adx accepts it: RFC 8259 §8.1
// requires UTF-8 between systems, but refusing a whole request for a stray
// Latin-1 byte in a title would turn a cosmetic defect into a lost
// impression. In an id it breaks the protocol: the SSP matches the response
// id, each bid's impid and dealid to what it sent, and a replaced id matches
// nothing. So the request id, imp ids and deal ids must be UTF-8, and a
// request whose ids are not is rejected naming the field.
//
// The check costs nothing on the common path: only when a decoded id holds
// U+FFFD (which a client may also send legitimately) is the raw body
// scanned to find whether that id's bytes were valid.

// replacementChar is U+FFFD, which the decoder puts for bytes it cannot read.
const replacementChar = "\uFFFD"

// checkIDEncoding returns a *RequestError naming the first id of req whose
// raw bytes in body are not valid UTF-8, or nil. body is the JSON req was
// decoded from.
func checkIDEncoding(body []byte, req *openrtb2.BidRequest) *RequestError {
	if !idsHoldReplacement(req) {
		return nil
	}
	return findBadID(body)
}

func idsHoldReplacement(req *openrtb2.BidRequest) bool {
	if strings.Contains(req.ID, replacementChar) {
		return true
	}
	for i := range req.Imp {
		imp := &req.Imp[i]
		if strings.Contains(imp.ID, replacementChar) {
			return true
		}
		if imp.PMP != nil {
			for j := range imp.PMP.Deals {
				if strings.Contains(imp.PMP.Deals[j].ID, replacementChar) {
					return true
				}
			}
		}
	}
	return false
}

const probNotUTF8 = "must be valid UTF-8"

// findBadID walks body, a JSON object the decoder accepted, and checks the
// raw strings at id, imp[i].id and imp[i].pmp.deals[j].id. Keys are matched
// as the decoder matches them: case-insensitively, escapes decoded.
func findBadID(body []byte) *RequestError {
	s := &scanner{b: body}
	var bad *RequestError
	s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "id"):
			if !s.checkString() {
				bad = reqErr("id", probNotUTF8)
			}
		case keyIs(key, "imp"):
			bad = s.imps()
		default:
			s.skipValue()
		}
		return bad == nil
	})
	return bad
}

// imps checks the imp array at the scanner's position.
func (s *scanner) imps() *RequestError {
	var bad *RequestError
	s.array(func(i int) bool {
		s.object(func(key []byte) bool {
			switch {
			case keyIs(key, "id"):
				if !s.checkString() {
					bad = reqErr(indexed("imp", i, ".id"), probNotUTF8)
				}
			case keyIs(key, "pmp"):
				bad = s.deals(i)
			default:
				s.skipValue()
			}
			return bad == nil
		})
		return bad == nil
	})
	return bad
}

// deals checks the pmp object of imp i at the scanner's position.
func (s *scanner) deals(i int) *RequestError {
	var bad *RequestError
	s.object(func(key []byte) bool {
		if !keyIs(key, "deals") {
			s.skipValue()
			return true
		}
		s.array(func(j int) bool {
			s.object(func(key []byte) bool {
				if !keyIs(key, "id") {
					s.skipValue()
				} else if !s.checkString() {
					bad = reqErr(indexed2("imp", i, ".pmp.deals", j, ".id"), probNotUTF8)
				}
				return bad == nil
			})
			return bad == nil
		})
		return bad == nil
	})
	return bad
}

// scanner walks JSON text that is known to be well formed; on anything
// else it stops without panicking (every read is bounds-checked), since the
// scan only ever narrows down what the decoder already accepted.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string and returns its raw content between the quotes.
func (s *scanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, true
		default:
			s.i++
		}
	}
	return nil, false
}

// checkString reads a value and reports whether it is not a string holding
// bytes that would decode to U+FFFD. A value of another type (null) passes:
// the decoder has already judged it.
func (s *scanner) checkString() bool {
	if s.peek() != '"' {
		s.skipValue()
		return true
	}
	raw, ok := s.str()
	return !ok || rawStringIsUTF8(raw)
}

// object calls member for each key of the object at the scanner's position;
// member must consume the value and returns false to stop. A value that is
// not an object is skipped.
func (s *scanner) object(member func(key []byte) bool) {
	if s.peek() != '{' {
		s.skipValue()
		return
	}
	s.i++
	for {
		switch s.peek() {
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		case '"':
		default:
			s.i = len(s.b) // not well formed: stop
			return
		}
		key, ok := s.str()
		if !ok || s.peek() != ':' {
			s.i = len(s.b)
			return
		}
		s.i++
		if !member(key) {
			return
		}
	}
}

// array calls elem for each element of the array at the scanner's
// position; elem must consume the element and returns false to stop. A
// value that is not an array is skipped.
func (s *scanner) array(elem func(i int) bool) {
	if s.peek() != '[' {
		s.skipValue()
		return
	}
	s.i++
	for n := 0; ; {
		switch s.peek() {
		case ']':
			s.i++
			return
		case ',':
			s.i++
			continue
		case 0:
			return
		}
		start := s.i
		if !elem(n) {
			return
		}
		if s.i == start { // nothing consumed: not well formed
			s.i = len(s.b)
			return
		}
		n++
	}
}

// skipValue skips one value of any kind, nesting included, without
// recursion. At a delimiter (a malformed value) it consumes nothing.
func (s *scanner) skipValue() {
	depth := 0
	for {
		switch s.peek() {
		case 0:
			return
		case '"':
			if _, ok := s.str(); !ok {
				s.i = len(s.b)
			}
		case '{', '[':
			depth++
			s.i++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing object or array
			}
			depth--
			s.i++
		case ',', ':':
			if depth == 0 {
				return
			}
			s.i++
		default: // a number, true, false or null
			s.i++
			for s.i < len(s.b) && !isDelimiter(s.b[s.i]) {
				s.i++
			}
		}
		if depth == 0 {
			return
		}
	}
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// keyIs reports whether the raw key names field as the decoder matches keys:
// escapes decoded, case folded.
func keyIs(raw []byte, field string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return bytes.EqualFold(raw, []byte(field))
	}
	key := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			key = append(key, c)
			continue
		}
		i++
		switch raw[i] {
		case 'u':
			r, ok := hex4(raw, i+1)
			if !ok {
				return false
			}
			key = utf8.AppendRune(key, r)
			i += 4
		case 'b':
			key = append(key, '\b')
		case 'f':
			key = append(key, '\f')
		case 'n':
			key = append(key, '\n')
		case 'r':
			key = append(key, '\r')
		case 't':
			key = append(key, '\t')
		default:
			key = append(key, raw[i])
		}
	}
	return bytes.EqualFold(key, []byte(field))
}

// rawStringIsUTF8 reports whether the raw content of a JSON string decodes
// without U+FFFD replacements: its bytes are UTF-8 and every escaped
// surrogate is half of a pair.
func rawStringIsUTF8(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw, i+1)
		if !ok {
			return false
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate first
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(raw, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
