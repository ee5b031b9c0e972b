package privacy

// USPrivacy is a US Privacy string (IAB Tech Lab, "CCPA Compliance
// Framework, US Privacy String" 1.0), as OpenRTB 2.6 carries it in
// regs.us_privacy and 2.5 in regs.ext.us_privacy: four characters, the
// version "1" then three flags, each 'Y' (yes), 'N' (no) or '-' (the
// law does not apply):
//
//	1YYN: version 1, notice given, the user opted out of the sale of
//	      their data, the publisher has not signed the LSPA
type USPrivacy struct {
	// Notice says whether the user was given explicit notice and the
	// chance to opt out.
	Notice byte
	// OptOut says whether the user opted out of the sale of their
	// personal information.
	OptOut byte
	// LSPA says whether the publisher is a signatory of the IAB Limited
	// Service Provider Agreement.
	LSPA byte
}

// ParseUSPrivacy parses a US Privacy string, given as a string or as the
// bytes of a JSON string's content. It takes the flags in either case
// ("1yyn" reads as "1YYN": an opt-out written in lower case is still an
// opt-out) and reports false for anything else: another length or
// version, or a flag that is not Y, N or '-'. It does not allocate.
func ParseUSPrivacy[T string | []byte](s T) (USPrivacy, bool) {
	if len(s) != 4 || s[0] != '1' {
		return USPrivacy{}, false
	}
	var f [3]byte
	for i := range f {
		switch c := s[i+1]; c {
		case 'Y', 'N', '-':
			f[i] = c
		case 'y', 'n':
			f[i] = c - 'a' + 'A'
		default:
			return USPrivacy{}, false
		}
	}
	return USPrivacy{Notice: f[0], OptOut: f[1], LSPA: f[2]}, true
}

// OptedOut reports whether the user opted out of the sale of their
// personal information: the third character is Y.
func (u USPrivacy) OptedOut() bool { return u.OptOut == 'Y' }

// String returns the string form, "1YYN"; "" for the zero USPrivacy.
func (u USPrivacy) String() string {
	if u == (USPrivacy{}) {
		return ""
	}
	return string([]byte{'1', u.Notice, u.OptOut, u.LSPA})
}
