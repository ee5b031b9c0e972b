package enrich

import (
	"bytes"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/internal/ipmask"
)

// Privacy rule (what DSPs may see of the user's address).
//
// When the request says the user is a child (regs.coppa=1), asks not to be
// tracked (device.lmt=1), or falls under GDPR (regs.gdpr=1, or the 2.5
// regs.ext.gdpr=1) without a consent string (user.consent, or the 2.5
// user.ext.consent), the exchange still enriches from the full IP, then
// truncates the IP that leaves for demand partners: IPv4 to its /24, IPv6 to
// its /48. The truncated address still places the user in a city for
// targeting but no longer names a household. Nothing else is removed here.

// Restricted reports whether req falls under the privacy rule above.
func Restricted(req *openrtb2.BidRequest) bool {
	if req.Regs != nil && req.Regs.COPPA == 1 {
		return true
	}
	if req.Device != nil && req.Device.Lmt != nil && *req.Device.Lmt == 1 {
		return true
	}
	return gdprApplies(req) && !hasConsent(req)
}

// TruncateIPs applies the privacy rule: when req is Restricted, device.ip
// becomes its /24 and device.ipv6 its /48. It reports whether it changed
// anything. Call it after enrichment, which needs the full address.
func TruncateIPs(req *openrtb2.BidRequest) bool {
	if req.Device == nil || (req.Device.IP == "" && req.Device.IPv6 == "") || !Restricted(req) {
		return false
	}
	changed := false
	if t := ipmask.Truncate(req.Device.IP, 24, 48); t != req.Device.IP {
		req.Device.IP, changed = t, true
	}
	if t := ipmask.Truncate(req.Device.IPv6, 24, 48); t != req.Device.IPv6 {
		req.Device.IPv6, changed = t, true
	}
	return changed
}

func gdprApplies(req *openrtb2.BidRequest) bool {
	if req.Regs == nil {
		return false
	}
	if req.Regs.GDPR != nil {
		return *req.Regs.GDPR == 1
	}
	return extInt(req.Regs.Ext, "gdpr") == 1
}

func hasConsent(req *openrtb2.BidRequest) bool {
	if req.User == nil {
		return false
	}
	if req.User.Consent != "" {
		return true
	}
	return extNonEmptyString(req.User.Ext, "consent")
}

// extInt finds "key": N at the top level of a small ext object without
// decoding it; it returns -1 when absent or not an integer. ext objects are
// small and this runs only for requests that carry one.
func extInt(ext []byte, key string) int {
	v := extValue(ext, key)
	if len(v) == 0 || v[0] < '0' || v[0] > '9' {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return -1
		}
	}
	return n
}

func extNonEmptyString(ext []byte, key string) bool {
	v := extValue(ext, key)
	return len(v) > 2 && v[0] == '"' && v[1] != '"'
}

// extValue returns the raw bytes following "key": at the top level of the
// JSON object ext, or nil. It tracks nesting and strings, so a key inside a
// nested object or inside a string value does not match.
func extValue(ext []byte, key string) []byte {
	depth := 0
	for i := 0; i < len(ext); i++ {
		switch c := ext[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			end := i + 1
			for end < len(ext) && ext[end] != '"' {
				if ext[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(ext) {
				return nil
			}
			str := ext[i+1 : end]
			i = end
			if depth != 1 || !bytes.Equal(str, []byte(key)) {
				continue
			}
			j := i + 1
			for j < len(ext) && (ext[j] == ' ' || ext[j] == '\t' || ext[j] == '\n' || ext[j] == '\r') {
				j++
			}
			if j >= len(ext) || ext[j] != ':' {
				continue // a string value, not a key
			}
			j++
			for j < len(ext) && (ext[j] == ' ' || ext[j] == '\t' || ext[j] == '\n' || ext[j] == '\r') {
				j++
			}
			return ext[j:]
		}
	}
	return nil
}
