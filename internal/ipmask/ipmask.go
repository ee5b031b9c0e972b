// Package ipmask cuts IP addresses to a network prefix, the one way adx
// coarsens an address before it leaves for demand partners or a capture
// file.
package ipmask

import "net/netip"

// Truncate keeps the first bits4 bits of an IPv4 address (IPv4-mapped IPv6
// included, returned in IPv4 form) or the first bits6 bits of an IPv6 one,
// and zeroes the rest. An empty string stays empty; an address that does
// not parse becomes "", since it cannot be coarsened and may spell out the
// full address some other way.
func Truncate(ip string, bits4, bits6 int) string {
	if ip == "" {
		return ""
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	bits := bits6
	if a.Is4() || a.Is4In6() {
		a, bits = a.Unmap(), bits4
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}
