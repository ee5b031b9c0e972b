package privacy

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// GPPBuilder encodes a GPP string: the header listing the sections in
// ascending ID order, then the sections. It is for tests and traffic
// generators; the request path only decodes.
type GPPBuilder struct {
	// TCF, when not nil, is encoded as section 2 (tcfeuv2).
	TCF *TCFBuilder
	// US sections are encoded by their ID (7 to 12), usnat in its current
	// layout (16 sensitive data categories).
	US []USSection
	// Raw sections are copied verbatim, e.g. {ID: 6, Value: "1YNN"}.
	Raw []GPPSection
}

// GPPSection is a section of a GPP string as it is carried.
type GPPSection struct {
	ID    int
	Value string
}

// String returns the encoded string. It panics where Encode returns an
// error: the builder's input is the program's own.
func (b *GPPBuilder) String() string {
	s, err := b.Encode()
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return s
}

// Encode returns the encoded string, or an error naming the section that
// cannot be encoded.
func (b *GPPBuilder) Encode() (string, error) {
	var secs []GPPSection
	if b.TCF != nil {
		s, err := b.TCF.Encode()
		if err != nil {
			return "", err
		}
		secs = append(secs, GPPSection{SectionTCFEU, s})
	}
	for i := range b.US {
		s, err := b.US[i].encode()
		if err != nil {
			return "", err
		}
		secs = append(secs, GPPSection{b.US[i].ID, s})
	}
	for _, raw := range b.Raw {
		if raw.Value == "" || strings.IndexByte(raw.Value, '~') >= 0 {
			return "", errors.New("GPPBuilder: raw section " + strconv.Itoa(raw.ID) + " is empty or holds '~'")
		}
		secs = append(secs, raw)
	}
	slices.SortFunc(secs, func(a, b GPPSection) int { return a.ID - b.ID })
	for i, sec := range secs {
		if sec.ID < 1 || sec.ID > maxFibonacci {
			return "", errors.New("GPPBuilder: section ID " + strconv.Itoa(sec.ID) + " is out of range")
		}
		if i > 0 && secs[i-1].ID == sec.ID {
			return "", errors.New("GPPBuilder: section " + strconv.Itoa(sec.ID) + " appears twice")
		}
	}

	// Header: Type 3, Version 1, Sections as Range(Fibonacci): runs of
	// consecutive IDs, each an offset from the previous run's end.
	var runs [][2]int
	for _, sec := range secs {
		if n := len(runs); n > 0 && runs[n-1][1] == sec.ID-1 {
			runs[n-1][1] = sec.ID
			continue
		}
		runs = append(runs, [2]int{sec.ID, sec.ID})
	}
	var w bitWriter
	w.uint(3, 6)
	w.uint(1, 6)
	w.uint(uint64(len(runs)), 12)
	last := 0
	for _, run := range runs {
		isRange := run[1] != run[0]
		w.bool(isRange)
		w.fibonacci(run[0] - last)
		if isRange {
			w.fibonacci(run[1] - run[0])
		}
		last = run[1]
	}
	var sb strings.Builder
	sb.WriteString(w.base64(8))
	for _, sec := range secs {
		sb.WriteByte('~')
		sb.WriteString(sec.Value)
	}
	return sb.String(), nil
}
