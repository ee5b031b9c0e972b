package privacy

import (
	"encoding/binary"
	"strconv"
)

// Bit-level plumbing shared by the TCF and GPP decoders and encoders.
//
// Both formats are bit strings written MSB first and carried as base64url
// without padding ("web-safe base64", TCF v2 "TC String Format", GPP
// "Section Encoding"). A segment decodes to len(segment)*6 bits packed into
// bytes; the bits past the last field are padding and are ignored.

// MaxStringLength is the longest TCF or GPP string Parse accepts, in bytes.
// A TCF string that names every vendor of today's Global Vendor List (about
// 1,500) in bitfields for consent, legitimate interest and disclosed vendors
// is under 1 KiB, and a GPP string with every section is shorter still; the
// limit bounds what a reused decoder keeps (its buffers grow to the largest
// string it has seen).
const MaxStringLength = 32 << 10

// b64 maps a base64url character to its 6-bit value, or 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(b64Alphabet); i++ {
		t[b64Alphabet[i]] = byte(i)
	}
	return t
}()

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// trimPadding drops trailing '=' from a segment: the formats forbid padding,
// but some encoders still write it.
func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// decodeBits decodes the base64url segment s into dst's storage, packed
// MSB first, and returns the bytes and the number of bits (6 per
// character). The bytes are followed by 8 zero bytes of slack, so that
// bitReader can load a 64-bit window anywhere in them. ok is false when s
// holds a character outside the base64url alphabet; bad is then its index.
func decodeBits(dst []byte, s string) (b []byte, nbits int, bad int, ok bool) {
	n := (len(s)*6+7)/8 + 8
	if cap(dst) < n {
		dst = make([]byte, n, n+n/2)
	}
	b = dst[:n]
	o := 0
	i := 0
	// Four characters make three bytes.
	for ; i+4 <= len(s); i += 4 {
		c0, c1, c2, c3 := b64[s[i]], b64[s[i+1]], b64[s[i+2]], b64[s[i+3]]
		if (c0|c1|c2|c3)&0xc0 != 0 { // 0xff marks a character outside the alphabet
			for j := i; ; j++ {
				if b64[s[j]] == 0xff {
					return b, 0, j, false
				}
			}
		}
		v := uint32(c0)<<18 | uint32(c1)<<12 | uint32(c2)<<6 | uint32(c3)
		b[o], b[o+1], b[o+2] = byte(v>>16), byte(v>>8), byte(v)
		o += 3
	}
	var acc uint32
	var k uint
	for ; i < len(s); i++ {
		c := b64[s[i]]
		if c == 0xff {
			return b, 0, i, false
		}
		acc = acc<<6 | uint32(c)
		k += 6
		if k >= 8 {
			k -= 8
			b[o] = byte(acc >> k)
			o++
		}
	}
	if k > 0 {
		b[o] = byte(acc << (8 - k))
		o++
	}
	clear(b[o:])
	return b, len(s) * 6, 0, true
}

// validBase64 reports the index of the first character of s outside the
// base64url alphabet, or -1.
func validBase64(s string) int {
	for i := 0; i < len(s); i++ {
		if b64[s[i]] == 0xff {
			return i
		}
	}
	return -1
}

// bitAt reports bit i of b (MSB first). The caller checks i's range.
func bitAt(b []byte, i int) bool {
	return b[i>>3]&(0x80>>(i&7)) != 0
}

// bitReader reads big-endian fields from a decoded segment. Reading past the
// end returns zeros and sets over, so that a run of fixed fields needs one
// check at its end.
type bitReader struct {
	b    []byte
	pos  int
	n    int
	over bool
}

func (r *bitReader) reset(b []byte, nbits int) {
	*r = bitReader{b: b, n: nbits}
}

// left is the number of unread bits.
func (r *bitReader) left() int { return r.n - r.pos }

// uint reads an n-bit unsigned field, n <= 56, from a 64-bit window (the
// slack decodeBits leaves makes the load safe at the end). With the
// window and decodeBits' four-characters-at-a-time loop, Parse of the
// typical TC string (tcf_timing_test.go) takes 0.71 µs; reading bit by
// bit and appending byte by byte it took 2.35 µs.
func (r *bitReader) uint(n int) uint64 {
	if r.pos+n > r.n {
		r.over = true
		r.pos = r.n
		return 0
	}
	w := binary.BigEndian.Uint64(r.b[r.pos>>3:])
	v := w << (r.pos & 7) >> (64 - n)
	r.pos += n
	return v
}

func (r *bitReader) int(n int) int { return int(r.uint(n)) }

func (r *bitReader) bool() bool { return r.uint(1) == 1 }

// skip advances n bits.
func (r *bitReader) skip(n int) {
	if r.pos+n > r.n {
		r.over = true
		r.pos = r.n
		return
	}
	r.pos += n
}

// maxFibonacci bounds a Fibonacci-coded integer (GPP "Integer
// (Fibonacci)"): far above any section ID or offset in use, far below
// overflow.
const maxFibonacci = 1 << 20

// fibonacci reads a Fibonacci-coded integer (GPP "Fibonacci Encoding"):
// bit i adds F(i+2) (1, 2, 3, 5, ...) and the code word ends at the first
// "11". ok is false when the string ends first or the value exceeds
// maxFibonacci.
func (r *bitReader) fibonacci() (v int, ok bool) {
	a, b := 1, 2
	prev := false
	for r.pos < r.n {
		bit := bitAt(r.b, r.pos)
		r.pos++
		if bit && prev {
			return v, true
		}
		if bit {
			v += a
			if v > maxFibonacci {
				return 0, false
			}
		}
		prev = bit
		a, b = b, a+b
		if a > maxFibonacci && !bit {
			// The next set bit alone would exceed the bound.
			return 0, false
		}
	}
	r.over = true
	return 0, false
}

// bitWriter builds a bit string MSB first; base64 pads and encodes it the
// way the IAB reference encoders do.
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) uint(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v>>uint(i)&1 == 1)
	}
}

func (w *bitWriter) bool(v bool) { w.bit(v) }

func (w *bitWriter) bit(v bool) {
	if w.n&7 == 0 {
		w.b = append(w.b, 0)
	}
	if v {
		w.b[w.n>>3] |= 0x80 >> (w.n & 7)
	}
	w.n++
}

// fibonacci writes v >= 1 Fibonacci-coded.
func (w *bitWriter) fibonacci(v int) {
	fib := []int{1, 2}
	for fib[len(fib)-1] <= v {
		fib = append(fib, fib[len(fib)-1]+fib[len(fib)-2])
	}
	bits := make([]bool, len(fib))
	last := 0
	for i := len(fib) - 1; i >= 0 && v > 0; i-- {
		if fib[i] <= v {
			bits[i] = true
			v -= fib[i]
			last = max(last, i)
		}
	}
	for i := 0; i <= last; i++ {
		w.bit(bits[i])
	}
	w.bit(true)
}

// base64 encodes the bits written so far without padding characters. The
// bit string is first padded with zeros to a multiple of unit bits, then to
// a whole character, as the IAB reference encoders do: 24 for TCF segments
// (iabtcf-es, so a segment is a multiple of 4 characters), 8 for GPP
// headers and US sections (iabgpp-es, iabgpp-java). Either way the result
// also decodes with Go's base64.RawURLEncoding, and a usnat core segment of
// the 2022 layout keeps its 11 characters, which decoders use to tell the
// two usnat layouts apart (gpp_us.go).
func (w *bitWriter) base64(unit int) string {
	nbits := (w.n + unit - 1) / unit * unit
	nchars := (nbits + 5) / 6
	out := make([]byte, nchars)
	for i := range nchars {
		var v byte
		for j := range 6 {
			p := i*6 + j
			v <<= 1
			if p < w.n && bitAt(w.b, p) {
				v |= 1
			}
		}
		out[i] = b64Alphabet[v]
	}
	return string(out)
}

// DecodeError reports why a consent string is malformed: the format, the
// GPP section (0 for a GPP header or a bare TCF string), the field as the
// specification names it and the problem. Parse returns it as a
// *DecodeError; a caller that needs only "malformed or not" checks err !=
// nil.
type DecodeError struct {
	// Format is "TCF" or "GPP".
	Format string
	// Section is the GPP section ID the problem is in, 0 when none.
	Section int
	// Field is the field named as in the specification, e.g. "MaxVendorId".
	Field string
	// Value is the offending value, when HasValue.
	Value    int64
	HasValue bool
	// Problem says what is wrong, e.g. "string ends inside the field".
	Problem string
}

// Error formats e as "cannot decode TCF string: Version = 1: only version 2
// is supported".
func (e *DecodeError) Error() string {
	s := "cannot decode " + e.Format + " string: "
	if e.Section != 0 {
		s += "section " + strconv.Itoa(e.Section)
		if name := SectionName(e.Section); name != "" {
			s += " (" + name + ")"
		}
		s += ": "
	}
	s += e.Field
	if e.HasValue {
		s += " = " + strconv.FormatInt(e.Value, 10)
	}
	return s + ": " + e.Problem
}

const problemTruncated = "string ends inside the field"

func tcfError(field, problem string) *DecodeError {
	return &DecodeError{Format: "TCF", Field: field, Problem: problem}
}

func tcfValueError(field string, v int, problem string) *DecodeError {
	return &DecodeError{Format: "TCF", Field: field, Value: int64(v), HasValue: true, Problem: problem}
}
