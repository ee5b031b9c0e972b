package privacy

import (
	"errors"
	"strconv"
	"strings"
)

// GPP section IDs (GPP "Section Information"). The decoder reads sections
// 2 and 7 to 12; the others are kept verbatim (Section).
const (
	SectionTCFEU = 2  // tcfeuv2: IAB Europe TCF v2
	SectionTCFCA = 5  // tcfcav1: IAB Canada TCF
	SectionUSP   = 6  // uspv1: US Privacy string, e.g. "1YNN"
	SectionUSNat = 7  // usnat: MSPA US National
	SectionUSCA  = 8  // usca: California
	SectionUSVA  = 9  // usva: Virginia
	SectionUSCO  = 10 // usco: Colorado
	SectionUSUT  = 11 // usut: Utah
	SectionUSCT  = 12 // usct: Connecticut
)

// maxSectionBit bounds the section IDs HasSection finds in a bitmask; it
// scans the list for larger ones.
const maxSectionBit = 64

// SectionName is the client-side API prefix of GPP section id ("usnat"),
// or "" for an ID this package does not know.
func SectionName(id int) string {
	switch id {
	case SectionTCFEU:
		return "tcfeuv2"
	case SectionTCFCA:
		return "tcfcav1"
	case SectionUSP:
		return "uspv1"
	case SectionUSNat:
		return "usnat"
	case SectionUSCA:
		return "usca"
	case SectionUSVA:
		return "usva"
	case SectionUSCO:
		return "usco"
	case SectionUSUT:
		return "usut"
	case SectionUSCT:
		return "usct"
	}
	return ""
}

// GPP is a decoded Global Privacy Platform string. The zero value is ready
// to use and holds no section; Parse fills it, and reusing one GPP across
// requests keeps its buffers, so that Parse does not allocate once they
// have grown.
//
// GPP keeps a reference to the string it parsed (Section returns substrings
// of it) until the next Parse. It is not safe for concurrent use; the
// accessors are read-only and may be called concurrently once Parse has
// returned.
type GPP struct {
	s        string
	buf      []byte
	sections []gppSection // in header order
	mask     uint64       // bit id set for each section id < maxSectionBit
	tcf      TCF
	hasTCF   bool
	us       []USSection
}

type gppSection struct {
	id         int
	start, end int // s[start:end] is the section
}

func (g *GPP) reset() {
	g.s, g.buf, g.sections, g.mask = "", g.buf[:0], g.sections[:0], 0
	g.tcf.reset()
	g.hasTCF, g.us = false, g.us[:0]
}

func gppError(section int, field, problem string) *DecodeError {
	return &DecodeError{Format: "GPP", Section: section, Field: field, Problem: problem}
}

func gppValueError(section int, field string, v int, problem string) *DecodeError {
	return &DecodeError{Format: "GPP", Section: section, Field: field, Value: int64(v), HasValue: true, Problem: problem}
}

// Parse decodes the GPP string s into g, replacing what g held: the header
// (Type 3, Version 1, the section IDs), then each section the header
// lists, in order, split on '~'. Section 2 is decoded as a TC string (TCF),
// sections 7 to 12 as US privacy sections (US); any other section must be
// non-empty and is kept verbatim.
//
// On error g holds no section and the error is a *DecodeError naming the
// section and field. As with TCF, Parse checks the format, not the policy.
func (g *GPP) Parse(s string) error {
	g.reset()
	if err := g.parse(s); err != nil {
		g.reset()
		return err
	}
	return nil
}

func (g *GPP) parse(s string) error {
	if s == "" {
		return gppError(0, "GPP string", "is empty")
	}
	if len(s) > MaxStringLength {
		return gppValueError(0, "GPP string length", len(s), "exceeds "+strconv.Itoa(MaxStringLength)+" bytes")
	}
	g.s = s
	headerEnd := strings.IndexByte(s, '~')
	nsec := 0
	if headerEnd < 0 {
		headerEnd = len(s)
	} else {
		nsec = strings.Count(s[headerEnd+1:], "~") + 1
	}
	if err := g.parseHeader(trimPadding(s[:headerEnd]), nsec); err != nil {
		return err
	}
	pos := headerEnd + 1
	for i := range g.sections {
		sec := &g.sections[i]
		end := strings.IndexByte(s[pos:], '~')
		if end < 0 {
			end = len(s)
		} else {
			end += pos
		}
		sec.start, sec.end = pos, end
		pos = end + 1
		if err := g.parseSection(sec.id, s[sec.start:sec.end]); err != nil {
			return err
		}
	}
	return nil
}

// parseHeader decodes the header section: Type Int(6) = 3, Version Int(6)
// = 1, Sections Range(Fibonacci). nsec is the number of sections the string
// holds after the header; the header must list exactly that many.
func (g *GPP) parseHeader(h string, nsec int) error {
	if h == "" {
		return gppError(0, "header", "is empty")
	}
	buf, nbits, bad, ok := decodeBits(g.buf, h)
	g.buf = buf
	if !ok {
		return gppError(0, "header", "character "+strconv.Itoa(bad)+" is not base64url")
	}
	var r bitReader
	r.reset(buf, nbits)
	if typ := r.int(6); typ != 3 {
		return gppValueError(0, "header Type", typ, "is not 3")
	}
	if v := r.int(6); v != 1 {
		return gppValueError(0, "header Version", v, "only version 1 is supported")
	}
	count := r.int(12)
	if r.over {
		return gppError(0, "header Sections", problemTruncated)
	}
	last := 0
	for range count {
		if r.left() < 1 {
			return gppError(0, "header Sections", problemTruncated)
		}
		isRange := r.bool()
		off, ok := r.fibonacci()
		if !ok {
			return gppError(0, "header Sections", "holds a truncated or oversized Fibonacci integer")
		}
		start := last + off
		end := start
		if isRange {
			n, ok := r.fibonacci()
			if !ok {
				return gppError(0, "header Sections", "holds a truncated or oversized Fibonacci integer")
			}
			end = start + n
		}
		if end > maxFibonacci {
			// Each offset is bounded, their sum is not: an ID past the
			// bound of one is no section, and no encoder writes it.
			return gppValueError(0, "header Sections", end, "lists a section ID above "+strconv.Itoa(maxFibonacci))
		}
		for id := start; id <= end; id++ {
			if len(g.sections) == nsec {
				return gppValueError(0, "header Sections", nsec, "lists more sections than the string holds")
			}
			g.sections = append(g.sections, gppSection{id: id})
			if id < maxSectionBit {
				g.mask |= 1 << id
			}
		}
		last = end
	}
	if len(g.sections) != nsec {
		return gppValueError(0, "header Sections", len(g.sections), "lists "+strconv.Itoa(len(g.sections))+" sections but the string holds "+strconv.Itoa(nsec))
	}
	return nil
}

func (g *GPP) parseSection(id int, sec string) error {
	if sec == "" {
		return gppError(id, "section", "is empty")
	}
	switch {
	case id == SectionTCFEU:
		if err := g.tcf.Parse(sec); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.Format, de.Section = "GPP", id
			}
			return err
		}
		g.hasTCF = true
	case id >= SectionUSNat && id <= SectionUSCT:
		g.us = append(g.us, USSection{})
		if err := g.us[len(g.us)-1].decode(id, sec, &g.buf); err != nil {
			return err
		}
	}
	return nil
}

// HasSection reports whether the header lists section id.
func (g *GPP) HasSection(id int) bool {
	if id >= 0 && id < maxSectionBit {
		return g.mask&(1<<id) != 0
	}
	for _, sec := range g.sections {
		if sec.id == id {
			return true
		}
	}
	return false
}

// Section returns section id as the string carries it, for a section this
// package does not decode (uspv1's "1YNN", for example). The string is
// valid while g is not parsed again.
func (g *GPP) Section(id int) (string, bool) {
	for _, sec := range g.sections {
		if sec.id == id {
			return g.s[sec.start:sec.end], true
		}
	}
	return "", false
}

// TCF returns the decoded tcfeuv2 section (2). The TCF belongs to g and is
// replaced by the next Parse.
func (g *GPP) TCF() (*TCF, bool) {
	if !g.hasTCF {
		return nil, false
	}
	return &g.tcf, true
}

// US returns the decoded US privacy section id (7 to 12). The section
// belongs to g and is replaced by the next Parse.
func (g *GPP) US(id int) (*USSection, bool) {
	for i := range g.us {
		if g.us[i].ID == id {
			return &g.us[i], true
		}
	}
	return nil, false
}

// SaleOptOut reports whether any decoded US section says the user opted
// out of the sale of their personal data: SaleOptOut = 1 ("Opted Out"; 2 is
// "Did Not Opt Out", 0 "Not Applicable").
func (g *GPP) SaleOptOut() bool {
	for i := range g.us {
		if g.us[i].SaleOptOut == 1 {
			return true
		}
	}
	return false
}

// SharingOptOut reports whether any decoded US section says the user opted
// out of the sharing of their personal data (SharingOptOut = 1; only usnat
// and usca carry the field).
func (g *GPP) SharingOptOut() bool {
	for i := range g.us {
		if g.us[i].SharingOptOut == 1 {
			return true
		}
	}
	return false
}

// TargetedAdsOptOut reports whether any decoded US section says the user
// opted out of targeted advertising (TargetedAdvertisingOptOut = 1; every
// section but usca carries the field).
func (g *GPP) TargetedAdsOptOut() bool {
	for i := range g.us {
		if g.us[i].TargetedAdvertisingOptOut == 1 {
			return true
		}
	}
	return false
}

// GPC reports whether any decoded US section carries a GPC subsection with
// Gpc set: the user agent sent the Global Privacy Control signal.
func (g *GPP) GPC() bool {
	for i := range g.us {
		if g.us[i].GPC {
			return true
		}
	}
	return false
}
