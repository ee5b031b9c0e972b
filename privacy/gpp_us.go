package privacy

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
)

// USSection is a decoded US privacy section of a GPP string: usnat (7) or
// one of the state sections usca (8), usva (9), usco (10), usut (11), usct
// (12). The sections share their field names and values; a field a section
// does not carry is 0, which every field defines as "Not Applicable".
//
// The notice, opt-out and consent fields are 2-bit values as the
// specifications define them: notices 0 not applicable, 1 yes (notice was
// provided), 2 no; opt-outs 0 not applicable, 1 opted out, 2 did not opt
// out; consents 0 not applicable, 1 no consent, 2 consent; the Mspa fields
// 1 yes, 2 no (0 not applicable for the two modes). 3 is undefined
// everywhere and Parse rejects it.
type USSection struct {
	ID      int // GPP section ID
	Version int

	SharingNotice                       uint8
	SaleOptOutNotice                    uint8
	SharingOptOutNotice                 uint8
	TargetedAdvertisingOptOutNotice     uint8
	SensitiveDataProcessingOptOutNotice uint8
	SensitiveDataLimitUseNotice         uint8

	SaleOptOut                uint8
	SharingOptOut             uint8
	TargetedAdvertisingOptOut uint8

	// SensitiveDataProcessing holds one value per category of sensitive
	// data, in the section's order: usnat has 16 (12 in strings written
	// before the August 2024 revision), usca 9, usva, usut and usct 8, usco
	// 7.
	SensitiveDataProcessing [16]uint8
	// KnownChildSensitiveDataConsents holds one value per age band: usnat
	// and usct have 3 (usnat 2 before August 2024), usca 2, the others 1.
	KnownChildSensitiveDataConsents [3]uint8
	PersonalDataConsents            uint8

	MspaCoveredTransaction  uint8
	MspaOptOutOptionMode    uint8
	MspaServiceProviderMode uint8

	// GPCSegmentIncluded reports whether the section carried the GPC
	// subsection (usnat, usca, usco and usct may); GPC is its Gpc flag.
	GPCSegmentIncluded bool
	GPC                bool
}

// usField names a core segment field after Version.
type usField uint8

const (
	usSharingNotice usField = iota
	usSaleOptOutNotice
	usSharingOptOutNotice
	usTargetedAdvertisingOptOutNotice
	usSensitiveDataProcessingOptOutNotice
	usSensitiveDataLimitUseNotice
	usSaleOptOut
	usSharingOptOut
	usTargetedAdvertisingOptOut
	usSensitiveDataProcessing
	usKnownChildSensitiveDataConsents
	usPersonalDataConsents
	usMspaCoveredTransaction
	usMspaOptOutOptionMode
	usMspaServiceProviderMode
)

var usFieldNames = [...]string{
	usSharingNotice:                       "SharingNotice",
	usSaleOptOutNotice:                    "SaleOptOutNotice",
	usSharingOptOutNotice:                 "SharingOptOutNotice",
	usTargetedAdvertisingOptOutNotice:     "TargetedAdvertisingOptOutNotice",
	usSensitiveDataProcessingOptOutNotice: "SensitiveDataProcessingOptOutNotice",
	usSensitiveDataLimitUseNotice:         "SensitiveDataLimitUseNotice",
	usSaleOptOut:                          "SaleOptOut",
	usSharingOptOut:                       "SharingOptOut",
	usTargetedAdvertisingOptOut:           "TargetedAdvertisingOptOut",
	usSensitiveDataProcessing:             "SensitiveDataProcessing",
	usKnownChildSensitiveDataConsents:     "KnownChildSensitiveDataConsents",
	usPersonalDataConsents:                "PersonalDataConsents",
	usMspaCoveredTransaction:              "MspaCoveredTransaction",
	usMspaOptOutOptionMode:                "MspaOptOutOptionMode",
	usMspaServiceProviderMode:             "MspaServiceProviderMode",
}

// usSpec is one field of a layout: n 2-bit values (n > 1 for the
// N-Bitfield fields).
type usSpec struct {
	f usField
	n int
}

// usLayout is a section's core segment after Version, and whether it may
// carry the GPC subsection.
type usLayout struct {
	fields []usSpec
	gpc    bool
	bits   int // Version included
	// slots is where each 2-bit value goes, in order: its index in
	// USSection.slots.
	slots []uint8
}

func layout(gpc bool, fields ...usSpec) usLayout {
	lay := usLayout{fields: fields, gpc: gpc, bits: 6}
	for _, f := range fields {
		lay.bits += 2 * f.n
		for i := range f.n {
			lay.slots = append(lay.slots, usSlot(f.f, i))
		}
	}
	return lay
}

// The slots of USSection.slots: the single-value fields before
// SensitiveDataProcessing at their usField index, then the lists, then
// the rest.
const (
	slotSensitiveData = uint8(usSensitiveDataProcessing)
	slotKnownChild    = slotSensitiveData + 16
	slotPersonalData  = slotKnownChild + 3
	numUSSlots        = int(slotPersonalData) + 4 // PersonalDataConsents and the three Mspa fields
)

// usSlot returns the slot of value i of field f.
func usSlot(f usField, i int) uint8 {
	switch {
	case f < usSensitiveDataProcessing:
		return uint8(f)
	case f == usSensitiveDataProcessing:
		return slotSensitiveData + uint8(i)
	case f == usKnownChildSensitiveDataConsents:
		return slotKnownChild + uint8(i)
	}
	return slotPersonalData + uint8(f-usPersonalDataConsents)
}

// slots returns the storage of every value of u, by slot (usSlot).
func (u *USSection) slots() [numUSSlots]*uint8 {
	sd, kc := &u.SensitiveDataProcessing, &u.KnownChildSensitiveDataConsents
	return [numUSSlots]*uint8{
		&u.SharingNotice, &u.SaleOptOutNotice, &u.SharingOptOutNotice, &u.TargetedAdvertisingOptOutNotice,
		&u.SensitiveDataProcessingOptOutNotice, &u.SensitiveDataLimitUseNotice,
		&u.SaleOptOut, &u.SharingOptOut, &u.TargetedAdvertisingOptOut,
		&sd[0], &sd[1], &sd[2], &sd[3], &sd[4], &sd[5], &sd[6], &sd[7],
		&sd[8], &sd[9], &sd[10], &sd[11], &sd[12], &sd[13], &sd[14], &sd[15],
		&kc[0], &kc[1], &kc[2],
		&u.PersonalDataConsents, &u.MspaCoveredTransaction, &u.MspaOptOutOptionMode, &u.MspaServiceProviderMode,
	}
}

func one(f usField) usSpec { return usSpec{f, 1} }

// The layouts, from each section's technical specification (version 1).
var (
	// usnat as revised in August 2024 (16 sensitive data categories, 3
	// known-child age bands), still Version 1 in the strings the IAB's
	// reference encoders write.
	usNatLayout = layout(true,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usSharingOptOutNotice),
		one(usTargetedAdvertisingOptOutNotice), one(usSensitiveDataProcessingOptOutNotice),
		one(usSensitiveDataLimitUseNotice), one(usSaleOptOut), one(usSharingOptOut),
		one(usTargetedAdvertisingOptOut), usSpec{usSensitiveDataProcessing, 16},
		usSpec{usKnownChildSensitiveDataConsents, 3}, one(usPersonalDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	// usnat as first published (December 2022): 12 categories, 2 bands.
	usNatLayout2022 = layout(true,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usSharingOptOutNotice),
		one(usTargetedAdvertisingOptOutNotice), one(usSensitiveDataProcessingOptOutNotice),
		one(usSensitiveDataLimitUseNotice), one(usSaleOptOut), one(usSharingOptOut),
		one(usTargetedAdvertisingOptOut), usSpec{usSensitiveDataProcessing, 12},
		usSpec{usKnownChildSensitiveDataConsents, 2}, one(usPersonalDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	usCALayout = layout(true,
		one(usSaleOptOutNotice), one(usSharingOptOutNotice), one(usSensitiveDataLimitUseNotice),
		one(usSaleOptOut), one(usSharingOptOut), usSpec{usSensitiveDataProcessing, 9},
		usSpec{usKnownChildSensitiveDataConsents, 2}, one(usPersonalDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	usVALayout = layout(false,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usTargetedAdvertisingOptOutNotice),
		one(usSaleOptOut), one(usTargetedAdvertisingOptOut), usSpec{usSensitiveDataProcessing, 8},
		one(usKnownChildSensitiveDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	usCOLayout = layout(true,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usTargetedAdvertisingOptOutNotice),
		one(usSaleOptOut), one(usTargetedAdvertisingOptOut), usSpec{usSensitiveDataProcessing, 7},
		one(usKnownChildSensitiveDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	usUTLayout = layout(false,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usTargetedAdvertisingOptOutNotice),
		one(usSensitiveDataProcessingOptOutNotice), one(usSaleOptOut), one(usTargetedAdvertisingOptOut),
		usSpec{usSensitiveDataProcessing, 8}, one(usKnownChildSensitiveDataConsents),
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
	usCTLayout = layout(true,
		one(usSharingNotice), one(usSaleOptOutNotice), one(usTargetedAdvertisingOptOutNotice),
		one(usSaleOptOut), one(usTargetedAdvertisingOptOut), usSpec{usSensitiveDataProcessing, 8},
		usSpec{usKnownChildSensitiveDataConsents, 3},
		one(usMspaCoveredTransaction), one(usMspaOptOutOptionMode), one(usMspaServiceProviderMode))
)

// usLayoutFor returns section id's layout for a core segment of nbits bits.
//
// usnat grew from 12 to 16 sensitive data categories and from 2 to 3
// known-child bands in August 2024 without a new Version; the segment's
// length tells them apart, as in the IAB's reference decoders: the 2022
// layout is 60 bits (10 or 11 characters), the current one 70 (12).
func usLayoutFor(id, nbits int) *usLayout {
	switch id {
	case SectionUSNat:
		if nbits < usNatLayout.bits {
			return &usNatLayout2022
		}
		return &usNatLayout
	case SectionUSCA:
		return &usCALayout
	case SectionUSVA:
		return &usVALayout
	case SectionUSCO:
		return &usCOLayout
	case SectionUSUT:
		return &usUTLayout
	case SectionUSCT:
		return &usCTLayout
	}
	return nil
}

// decode decodes section id from sec (core segment, then optionally the GPC
// subsection after a '.'), using *buf as scratch.
func (u *USSection) decode(id int, sec string, buf *[]byte) error {
	*u = USSection{ID: id}
	core, gpc, hasGPC := strings.Cut(sec, ".")
	core = trimPadding(core)
	if core == "" {
		return gppError(id, "core segment", "is empty")
	}
	b, nbits, bad, ok := decodeBits(*buf, core)
	*buf = b
	if !ok {
		return gppError(id, "core segment", "character "+strconv.Itoa(bad)+" is not base64url")
	}
	lay := usLayoutFor(id, nbits)
	var r bitReader
	r.reset(b, nbits)
	u.Version = r.int(6)
	// The reference encoders write Version 1 for both usnat layouts; the
	// August 2024 revision of the usnat specification is its document
	// version 2, which an encoder might write. A later version may change
	// the layout: reading it as this one could report "did not opt out".
	if u.Version != 1 && !(id == SectionUSNat && u.Version == 2) {
		return gppValueError(id, "Version", u.Version, "is not a supported version")
	}
	if nbits < lay.bits {
		return gppValueError(id, "core segment length", nbits, "is shorter than the "+strconv.Itoa(lay.bits)+" bits of its fields")
	}
	// Every field after Version is 2 bits, at most 32 of them: one 64-bit
	// window from bit 6 holds them all (decodeBits leaves 8 bytes of
	// slack past the segment, and nbits >= lay.bits was checked).
	w := binary.BigEndian.Uint64(b)<<6 | uint64(b[8]>>2)
	nvals := (lay.bits - 6) / 2
	if undef := w & (w << 1) & 0xaaaaaaaaaaaaaaaa & (^uint64(0) << (64 - 2*nvals)); undef != 0 {
		// A value of 3: name its field.
		idx := bits.LeadingZeros64(undef) / 2
		for _, spec := range lay.fields {
			if idx < spec.n {
				return gppValueError(id, usFieldNames[spec.f], 3, "is undefined")
			}
			idx -= spec.n
		}
	}
	dst := u.slots()
	for _, slot := range lay.slots {
		*dst[slot] = uint8(w >> 62)
		w <<= 2
	}
	if !hasGPC {
		return nil
	}
	if !lay.gpc {
		return gppError(id, "GPC subsection", "is not part of this section")
	}
	gpc = trimPadding(gpc)
	if gpc == "" {
		return gppError(id, "GPC subsection", "is empty")
	}
	if strings.IndexByte(gpc, '.') >= 0 {
		return gppError(id, "GPC subsection", "is followed by another subsection")
	}
	if bad := validBase64(gpc); bad >= 0 {
		return gppError(id, "GPC subsection", "character "+strconv.Itoa(bad)+" is not base64url")
	}
	// SubsectionType Int(2), then Gpc Bool: the first character's top
	// three bits.
	c := b64[gpc[0]]
	if typ := int(c >> 4); typ != 1 {
		return gppValueError(id, "GPC SubsectionType", typ, "is not 1 (GPC)")
	}
	u.GPC = c>>3&1 == 1
	u.GPCSegmentIncluded = true
	return nil
}

// encode writes u in its section's current layout, with the GPC subsection
// when GPCSegmentIncluded.
func (u *USSection) encode() (string, error) {
	lay := usLayoutFor(u.ID, usNatLayout.bits)
	if lay == nil {
		return "", gppValueError(u.ID, "USSection.ID", u.ID, "is not a US section (7 to 12)")
	}
	version := u.Version
	if version == 0 {
		version = 1
	}
	var w bitWriter
	w.uint(uint64(version), 6)
	src, k := u.slots(), 0
	for _, spec := range lay.fields {
		for range spec.n {
			v := *src[lay.slots[k]]
			k++
			if v > 2 {
				return "", gppValueError(u.ID, usFieldNames[spec.f], int(v), "is not 0, 1 or 2")
			}
			w.uint(uint64(v), 2)
		}
	}
	s := w.base64(8)
	if u.GPCSegmentIncluded {
		if !lay.gpc {
			return "", gppError(u.ID, "GPC subsection", "is not part of this section")
		}
		var g bitWriter
		g.uint(1, 2)
		g.bool(u.GPC)
		s += "." + g.base64(8)
	}
	return s, nil
}
