package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Network is an IP network the synthesizer draws device addresses from,
// with the ISO-3166-1 alpha-3 country that device.geo.country reports for
// it ("" when unknown) and a relative weight (> 0).
type Network struct {
	Prefix  netip.Prefix
	Country string
	Weight  float64
}

// builtinNetworks are large access-provider (mostly mobile and residential)
// allocations, weighted roughly by each country's share of programmatic
// traffic. They are a plausible mix, not a geo database: with -mmdb the
// synthesizer draws from a real one instead.
var builtinNetworks = func() []Network {
	type country struct {
		iso3   string
		weight float64
		nets   []string
	}
	table := []country{
		{"USA", 35, []string{"73.0.0.0/8", "24.0.0.0/12", "172.56.0.0/14", "107.77.192.0/18", "99.0.0.0/11",
			"2601::/20", "2607:fb90::/32", "2600:1000::/28", "2600:1700::/28"}},
		{"GBR", 7, []string{"86.128.0.0/10", "81.96.0.0/12", "2a00:23c0::/28", "2a02:c7c::/32"}},
		{"DEU", 7, []string{"79.192.0.0/10", "91.0.0.0/10", "2003::/19"}},
		{"FRA", 5, []string{"90.0.0.0/9", "2a01:cb00::/24"}},
		{"ITA", 3, []string{"79.0.0.0/12", "2a01:e11::/32"}},
		{"ESP", 3, []string{"88.0.0.0/11", "2a0c:5a80::/29"}},
		{"NLD", 2, []string{"84.24.0.0/13", "2001:1c00::/23"}},
		{"POL", 2, []string{"83.0.0.0/11"}},
		{"BRA", 6, []string{"177.0.0.0/8", "2804::/16"}},
		{"MEX", 3, []string{"187.128.0.0/10"}},
		{"IND", 8, []string{"49.32.0.0/11", "2409:4000::/22"}},
		{"IDN", 4, []string{"114.120.0.0/13"}},
		{"JPN", 4, []string{"126.0.0.0/8", "240b:10::/28"}},
		{"KOR", 2, []string{"211.234.0.0/16"}},
		{"AUS", 2, []string{"1.128.0.0/11", "2001:8003::/32"}},
		{"CAN", 3, []string{"99.224.0.0/11", "2607:fea8::/32"}},
	}
	var nets []Network
	for _, c := range table {
		for _, s := range c.nets {
			nets = append(nets, Network{Prefix: netip.MustParsePrefix(s), Country: c.iso3, Weight: c.weight / float64(len(c.nets))})
		}
	}
	return nets
}()

// gdprCountries are the built-in table's countries where GDPR applies.
var gdprCountries = map[string]bool{"GBR": true, "DEU": true, "FRA": true, "ITA": true, "ESP": true, "NLD": true, "POL": true,
	"AUT": true, "BEL": true, "BGR": true, "HRV": true, "CYP": true, "CZE": true, "DNK": true, "EST": true, "FIN": true,
	"GRC": true, "HUN": true, "IRL": true, "LVA": true, "LTU": true, "LUX": true, "MLT": true, "PRT": true, "ROU": true,
	"SVK": true, "SVN": true, "SWE": true, "ISL": true, "LIE": true, "NOR": true}

// iso2to3 maps the alpha-2 codes of an mmdb to OpenRTB's alpha-3 ones, for
// the countries that matter most; others are left without a country.
var iso2to3 = map[string]string{"US": "USA", "GB": "GBR", "DE": "DEU", "FR": "FRA", "IT": "ITA", "ES": "ESP",
	"NL": "NLD", "PL": "POL", "BR": "BRA", "MX": "MEX", "IN": "IND", "ID": "IDN", "JP": "JPN", "KR": "KOR",
	"AU": "AUS", "CA": "CAN", "CN": "CHN", "RU": "RUS", "TR": "TUR", "SE": "SWE", "NO": "NOR", "DK": "DNK",
	"FI": "FIN", "IE": "IRL", "PT": "PRT", "BE": "BEL", "AT": "AUT", "CH": "CHE", "CZ": "CZE", "RO": "ROU",
	"HU": "HUN", "GR": "GRC", "AR": "ARG", "CL": "CHL", "CO": "COL", "PE": "PER", "ZA": "ZAF", "NG": "NGA",
	"EG": "EGY", "SA": "SAU", "AE": "ARE", "IL": "ISR", "TH": "THA", "VN": "VNM", "PH": "PHL", "MY": "MYS",
	"SG": "SGP", "HK": "HKG", "TW": "TWN", "NZ": "NZL", "UA": "UKR", "BT": "BTN", "GI": "GIB", "BG": "BGR",
	"HR": "HRV", "CY": "CYP", "EE": "EST", "LV": "LVA", "LT": "LTU", "LU": "LUX", "MT": "MLT", "SK": "SVK",
	"SI": "SVN", "IS": "ISL", "LI": "LIE"}

// maxMMDBNetworks caps how many networks LoadMMDBNetworks keeps, so a full
// GeoLite2 City database does not turn into millions of table entries.
const maxMMDBNetworks = 200000

// LoadMMDBNetworks reads the networks of a MaxMind DB (a Country, City or
// other database whose records have country.iso_code or
// registered_country.iso_code) for the synthesizer, each with weight 1.
// Networks beyond the first 200,000 are skipped.
func LoadMMDBNetworks(path string) ([]Network, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open mmdb %q: %w", path, err)
	}
	defer db.Close()
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		Registered struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"registered_country"`
	}
	var nets []Network
	for res := range db.Networks() {
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("cannot walk networks of mmdb %q: %w", path, err)
		}
		rec.Country.ISOCode, rec.Registered.ISOCode = "", ""
		if err := res.Decode(&rec); err != nil {
			return nil, fmt.Errorf("cannot decode network %s of mmdb %q: %w", res.Prefix(), path, err)
		}
		iso := rec.Country.ISOCode
		if iso == "" {
			iso = rec.Registered.ISOCode
		}
		p := res.Prefix()
		if !p.IsValid() || !p.Addr().IsGlobalUnicast() || p.Addr().IsPrivate() {
			continue
		}
		nets = append(nets, Network{Prefix: p.Masked(), Country: iso2to3[iso], Weight: 1})
		if len(nets) >= maxMMDBNetworks {
			break
		}
	}
	if len(nets) == 0 {
		return nil, errors.New("mmdb " + path + " has no global unicast networks")
	}
	return nets, nil
}

// netPool draws addresses from weighted networks, split by family.
type netPool struct {
	v4, v6       []Network
	cum4, cum6   []float64 // cumulative weights
	hasV4, hasV6 bool
}

func newNetPool(nets []Network) (*netPool, error) {
	p := &netPool{}
	for _, n := range nets {
		if !n.Prefix.IsValid() || !(n.Weight > 0) {
			return nil, fmt.Errorf("network %v: want a valid prefix and weight > 0", n.Prefix)
		}
		if n.Prefix.Addr().Is4() || n.Prefix.Addr().Is4In6() {
			p.v4 = append(p.v4, n)
			p.cum4 = appendCum(p.cum4, n.Weight)
		} else {
			p.v6 = append(p.v6, n)
			p.cum6 = appendCum(p.cum6, n.Weight)
		}
	}
	p.hasV4, p.hasV6 = len(p.v4) > 0, len(p.v6) > 0
	if !p.hasV4 && !p.hasV6 {
		return nil, errors.New("no networks to draw addresses from")
	}
	return p, nil
}

func appendCum(cum []float64, w float64) []float64 {
	if len(cum) > 0 {
		w += cum[len(cum)-1]
	}
	return append(cum, w)
}

// pickCum returns the index drawn from cumulative weights cum.
func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// draw returns a random host address in a network picked by weight, IPv6
// with probability v6Share when both families are present.
func (p *netPool) draw(r *rand.Rand, v6Share float64) (netip.Addr, string) {
	useV6 := p.hasV6 && (!p.hasV4 || r.Float64() < v6Share)
	var n Network
	if useV6 {
		n = p.v6[pickCum(r, p.cum6)]
	} else {
		n = p.v4[pickCum(r, p.cum4)]
	}
	return randomHost(r, n.Prefix), n.Country
}

// randomHost fills the host bits of prefix with random bits, avoiding the
// network and broadcast-looking all-zero and all-one low bytes.
func randomHost(r *rand.Rand, prefix netip.Prefix) netip.Addr {
	a := prefix.Addr().Unmap()
	b := a.AsSlice()
	bits := prefix.Bits()
	if a.Is4() && prefix.Addr().Is4In6() {
		bits -= 96
	}
	for i := range b {
		keep := bits - 8*i // bits of this byte that belong to the prefix
		if keep >= 8 {
			continue
		}
		rnd := byte(r.Uint32())
		if keep <= 0 {
			b[i] = rnd
			continue
		}
		mask := byte(0xff) << (8 - keep)
		b[i] = b[i]&mask | rnd&^mask
	}
	if last := len(b) - 1; bits <= 8*last && (b[last] == 0 || b[last] == 0xff) {
		b[last] = 1 + byte(r.IntN(254))
	}
	addr, _ := netip.AddrFromSlice(b)
	return addr
}
