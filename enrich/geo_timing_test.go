package enrich

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// The benchmarks run on databases generated at benchmark start with
// github.com/maxmind/mmdbwriter, at a realistic shape: a City database of
// 350,000 networks (300,000 IPv4 spread over the unicast space, 50,000
// IPv6) and 30,000 cities with names in MaxMind's 8 languages, continents,
// countries, one or two subdivisions, postal codes, locations, time zones
// and US metro codes, about 22 MB; ISP and Connection-Type databases over
// the same networks; and a sparse Anonymous-IP database. They are
// generated once per test binary (about 15 s), kept in memory and written
// to each benchmark's b.TempDir(); nothing is committed. Benchmark
// addresses are random ones inside the networks, so the City, ISP and
// Connection-Type lookups all hit: the costly case.
//
//	go test -run x -bench . -benchmem -count 5 ./enrich/

const (
	benchV4Networks = 300_000
	benchV6Networks = 50_000
	benchCities     = 30_000
	benchCountries  = 240
	benchISPs       = 8_000
	benchAddrs      = 8192
)

type benchDBs struct {
	city, cityNext, isp, conn, anon []byte // cityNext: city with one more network
	addrs                           []string
}

var (
	benchOnce sync.Once
	bench     benchDBs
	benchErr  error
)

// benchData returns the generated databases.
func benchData(b *testing.B) *benchDBs {
	b.Helper()
	benchOnce.Do(func() {
		start := time.Now()
		benchErr = bench.generate()
		runtime.GC() // the writer's garbage would slow the first benchmark
		b.Logf("generated benchmark databases in %v: city %d bytes", time.Since(start).Round(time.Millisecond), len(bench.city))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return &bench
}

// writeBenchDBs writes the generated databases into dir.
func writeBenchDBs(b *testing.B, dir string) GeoOptions {
	b.Helper()
	d := benchData(b)
	opts := GeoOptions{
		City:           filepath.Join(dir, "GeoIP2-City.mmdb"),
		ISP:            filepath.Join(dir, "GeoIP2-ISP.mmdb"),
		ConnectionType: filepath.Join(dir, "GeoIP2-Connection-Type.mmdb"),
		AnonymousIP:    filepath.Join(dir, "GeoIP2-Anonymous-IP.mmdb"),
		// The default config's block list; every lookup reads the
		// Anonymous-IP database.
		Block:          []string{"hosting_provider", "public_proxy", "tor_exit_node"},
		ReloadInterval: -1,
	}
	for path, content := range map[string][]byte{opts.City: d.city, opts.ISP: d.isp, opts.ConnectionType: d.conn, opts.AnonymousIP: d.anon} {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return opts
}

// BenchmarkEnrich: one Enrich call on a fresh device with only device.ip,
// the per-request cost of geo enrichment.
func BenchmarkEnrich(b *testing.B) {
	opts := writeBenchDBs(b, b.TempDir())
	addrs := benchData(b).addrs
	cityOnly := GeoOptions{City: opts.City, ReloadInterval: -1}
	for _, c := range []struct {
		name     string
		opts     GeoOptions
		parallel bool
	}{
		{"all-four-dbs", opts, false},
		{"city-only", cityOnly, false},
		{"all-four-dbs-parallel", opts, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			g := openGeo(b, c.opts)
			b.ReportAllocs()
			if c.parallel {
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					dev := new(openrtb2.Device)
					req := &openrtb2.BidRequest{Device: dev}
					for i := 0; pb.Next(); i++ {
						*dev = openrtb2.Device{IP: addrs[i%len(addrs)]}
						g.Enrich(req)
					}
				})
				return
			}
			dev := new(openrtb2.Device)
			req := &openrtb2.BidRequest{Device: dev}
			i := 0
			for b.Loop() {
				*dev = openrtb2.Device{IP: addrs[i%len(addrs)]}
				if !g.Enrich(req).Found || dev.Geo == nil {
					b.Fatalf("%s: not found", addrs[i%len(addrs)])
				}
				i++
			}
		})
	}
}

// BenchmarkTreeWalk: finding the records of one address in the four
// databases, by walkTrees (the trees walked in lockstep, as Enrich does)
// and by four Reader.Lookup calls one after the other.
func BenchmarkTreeWalk(b *testing.B) {
	opts := writeBenchDBs(b, b.TempDir())
	g := openGeo(b, opts)
	var dbs [numSlots]*mmdb
	for i, f := range g.dbs {
		db, release := f.Acquire()
		defer release()
		dbs[i] = db
	}
	d := benchData(b)
	ips := make([]netip.Addr, len(d.addrs))
	for i, s := range d.addrs {
		ips[i] = netip.MustParseAddr(s)
	}
	var offsets [numSlots]uint
	b.Run("lockstep", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			walkTrees(&dbs, ips[i%len(ips)], &offsets)
			i++
		}
	})
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			for k, db := range dbs {
				offsets[k] = uint(db.Lookup(ips[i%len(ips)]).Offset())
			}
			i++
		}
	})
}

// citySmall is the reflection-decoded alternative to cityRecord, for
// BenchmarkDecodeCity.
type citySmall struct {
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Location struct {
		Accuracy uint16  `maxminddb:"accuracy_radius"`
		Lat      float64 `maxminddb:"latitude"`
		Lon      float64 `maxminddb:"longitude"`
		Metro    uint16  `maxminddb:"metro_code"`
		TimeZone string  `maxminddb:"time_zone"`
	} `maxminddb:"location"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
}

// BenchmarkDecodeCity compares ways to look up and decode one City record:
// Enrich's hand-written cursor decoder, reflection into a small struct,
// DecodePath per field, and the baseline, geoip2-golang v2's City (a
// generated decoder of the whole record).
func BenchmarkDecodeCity(b *testing.B) {
	d := benchData(b)
	ips := make([]netip.Addr, len(d.addrs))
	for i, s := range d.addrs {
		ips[i] = netip.MustParseAddr(s)
	}
	db, err := maxminddb.OpenBytes(d.city)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, decode func(ip netip.Addr) string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if decode(ips[i%len(ips)]) == "" {
					b.Fatalf("%s: no country", ips[i%len(ips)])
				}
				i++
			}
		})
	}
	run("cursor", func(ip netip.Addr) string {
		var rec cityRecord
		if err := db.Lookup(ip).Decode(&rec); err != nil {
			b.Fatal(err)
		}
		return rec.country
	})
	run("reflect-small", func(ip netip.Addr) string {
		var rec citySmall
		if err := db.Lookup(ip).Decode(&rec); err != nil {
			b.Fatal(err)
		}
		return rec.Country.ISOCode
	})
	run("decodepath", func(ip netip.Addr) string {
		var rec cityRecord
		res := db.Lookup(ip)
		for _, p := range []struct {
			dst  any
			path []any
		}{
			{&rec.country, []any{"country", "iso_code"}},
			{&rec.region, []any{"subdivisions", 0, "iso_code"}},
			{&rec.city, []any{"city", "names", "en"}},
			{&rec.postal, []any{"postal", "code"}},
			{&rec.timeZone, []any{"location", "time_zone"}},
			{&rec.lat, []any{"location", "latitude"}},
			{&rec.lon, []any{"location", "longitude"}},
			{&rec.accuracy, []any{"location", "accuracy_radius"}},
			{&rec.metro, []any{"location", "metro_code"}},
		} {
			if err := res.DecodePath(p.dst, p.path...); err != nil {
				b.Fatal(err)
			}
		}
		return rec.country
	})
	full, err := geoip2.OpenBytes(d.city)
	if err != nil {
		b.Fatal(err)
	}
	run("geoip2-City", func(ip netip.Addr) string {
		rec, err := full.City(ip)
		if err != nil {
			b.Fatal(err)
		}
		return rec.Country.ISOCode
	})
}

// BenchmarkReload: one reload of the City database as the watcher does it
// when the file changed (the path is a symlink flipped between two
// versions): stat, SHA-256, read, open, Verify, probe decode, swap, close
// the old version.
func BenchmarkReload(b *testing.B) {
	d := benchData(b)
	dir := b.TempDir()
	a, next := filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb")
	for path, content := range map[string][]byte{a: d.city, next: d.cityNext} {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "GeoIP2-City.mmdb")
	point := func(target string) {
		tmp := path + ".tmp"
		if err := os.Symlink(target, tmp); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	point(a)
	g := openGeo(b, GeoOptions{City: path, ReloadInterval: -1})
	f := g.dbs[slotCity]
	b.ReportAllocs()
	b.SetBytes(int64(len(d.city)))
	i := 0
	for b.Loop() {
		target := next
		if i%2 == 1 {
			target = a
		}
		point(target)
		if err := f.Reload(); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if got := f.Info().Reloads; got != uint64(i) {
		b.Fatalf("%d reloads for %d iterations", got, i)
	}
}

var benchLanguages = []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"}

// benchZones are real zone names, so utcoffset is computed as in production.
var benchZones = []string{
	"Europe/London", "America/Los_Angeles", "America/New_York", "America/Chicago", "Europe/Berlin",
	"Europe/Paris", "Europe/Stockholm", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Australia/Sydney",
	"America/Sao_Paulo", "Africa/Lagos", "Asia/Manila", "Asia/Thimphu", "Europe/Kyiv", "America/Mexico_City",
	"Asia/Jakarta", "Europe/Madrid", "Europe/Rome",
}

func (d *benchDBs) generate() error {
	r := rand.New(rand.NewPCG(1, 2))
	nets := benchLayout(r)
	d.addrs = make([]string, benchAddrs)
	for i := range d.addrs {
		d.addrs[i] = benchAddrIn(r, nets[r.IntN(len(nets))]).String()
	}

	tree, err := newBenchTree("GeoIP2-City")
	if err != nil {
		return err
	}
	cities := benchCityRecords(r)
	for i, p := range nets {
		if err := tree.Insert(ipNet(p), cities[(i*7919)%len(cities)]); err != nil {
			return err
		}
	}
	if d.city, err = serialize(tree); err != nil {
		return err
	}
	// The next version: one more network, as a daily update differs.
	if err := tree.Insert(ipNet(netip.MustParsePrefix("2.125.160.216/29")), cities[0]); err != nil {
		return err
	}
	if d.cityNext, err = serialize(tree); err != nil {
		return err
	}

	isps := make([]mmdbtype.Map, benchISPs)
	for i := range isps {
		name := mmdbtype.String(benchWord(r) + " " + benchWord(r))
		isps[i] = mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(1000 + i),
			"autonomous_system_organization": mmdbtype.String(benchWord(r) + " AS"),
			"isp":                            name,
			"organization":                   name,
		}
		if i%10 == 0 {
			isps[i]["mobile_country_code"] = mmdbtype.String(fmt.Sprintf("%03d", 200+r.IntN(600)))
			isps[i]["mobile_network_code"] = mmdbtype.String(fmt.Sprintf("%03d", r.IntN(1000)))
		}
	}
	if d.isp, err = benchDB("GeoIP2-ISP", nets, func(i int) mmdbtype.DataType { return isps[(i*31)%len(isps)] }); err != nil {
		return err
	}
	kinds := []mmdbtype.DataType{
		mmdbtype.Map{"connection_type": mmdbtype.String("Cable/DSL")},
		mmdbtype.Map{"connection_type": mmdbtype.String("Cellular")},
		mmdbtype.Map{"connection_type": mmdbtype.String("Corporate")},
		mmdbtype.Map{"connection_type": mmdbtype.String("Satellite")},
	}
	if d.conn, err = benchDB("GeoIP2-Connection-Type", nets, func(i int) mmdbtype.DataType { return kinds[i%len(kinds)] }); err != nil {
		return err
	}
	anon := []mmdbtype.DataType{
		mmdbtype.Map{"is_anonymous": mmdbtype.Bool(true), "is_anonymous_vpn": mmdbtype.Bool(true)},
		mmdbtype.Map{"is_anonymous": mmdbtype.Bool(true), "is_residential_proxy": mmdbtype.Bool(true)},
	}
	sparse := make([]netip.Prefix, 0, len(nets)/50)
	for i := 0; i < len(nets); i += 50 {
		sparse = append(sparse, nets[i])
	}
	d.anon, err = benchDB("GeoIP2-Anonymous-IP", sparse, func(i int) mmdbtype.DataType { return anon[i%len(anon)] })
	return err
}

func newBenchTree(dbType string) (*mmdbwriter.Tree, error) {
	return mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		Description:             map[string]string{"en": "adx benchmark " + dbType},
		Languages:               benchLanguages,
		IncludeReservedNetworks: true,
		RecordSize:              28,
		KeyGenerator:            identityKey{},
	})
}

func benchDB(dbType string, nets []netip.Prefix, value func(i int) mmdbtype.DataType) ([]byte, error) {
	tree, err := newBenchTree(dbType)
	if err != nil {
		return nil, err
	}
	for i, p := range nets {
		if err := tree.Insert(ipNet(p), value(i)); err != nil {
			return nil, err
		}
	}
	return serialize(tree)
}

func serialize(tree *mmdbwriter.Tree) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// identityKey deduplicates records by identity instead of by serializing
// and hashing each (the default): every record inserted is a value built
// once, so this is exact, and generation takes half the time.
type identityKey struct{}

func (identityKey) Key(v mmdbtype.DataType) ([]byte, error) {
	return binary.LittleEndian.AppendUint64(nil, uint64(reflect.ValueOf(v).Pointer())), nil
}

// benchCityRecords builds City records sharing country, continent and
// subdivision maps, as MaxMind's do (the writer stores them once and
// points to them).
func benchCityRecords(r *rand.Rand) []mmdbtype.Map {
	type country struct {
		rec, continent mmdbtype.Map
		subdivisions   []mmdbtype.Map
		zone           string
		us             bool
	}
	codes := []string{"US"}
	for i, iso3 := range alpha3 {
		if iso3 != "" && iso3 != "USA" && len(codes) < benchCountries {
			codes = append(codes, string([]byte{byte('A' + i/26), byte('A' + i%26)}))
		}
	}
	countries := make([]country, len(codes))
	for i, iso := range codes {
		c := country{zone: benchZones[i%len(benchZones)], us: i == 0}
		c.continent = mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148 + i%7), "names": benchNames(fmt.Sprint("Continent ", i%7))}
		c.rec = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(1_000_000 + i), "iso_code": mmdbtype.String(iso), "names": benchNames(benchWord(r))}
		if i%5 == 0 {
			c.rec["is_in_european_union"] = mmdbtype.Bool(true)
		}
		for s := range 1 + r.IntN(30) {
			c.subdivisions = append(c.subdivisions, mmdbtype.Map{
				"geoname_id": mmdbtype.Uint32(2_000_000 + i*100 + s),
				"iso_code":   mmdbtype.String(fmt.Sprintf("%c%c%c", 'A'+s%26, 'A'+r.IntN(26), 'A'+r.IntN(26))),
				"names":      benchNames(benchWord(r)),
			})
		}
		countries[i] = c
	}
	cities := make([]mmdbtype.Map, benchCities)
	for i := range cities {
		c := countries[r.IntN(len(countries))]
		if i%4 == 0 {
			c = countries[0] // a quarter of the cities in the US
		}
		location := mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(1 + r.IntN(500)),
			"latitude":        mmdbtype.Float64(r.Float64()*180 - 90),
			"longitude":       mmdbtype.Float64(r.Float64()*360 - 180),
			"time_zone":       mmdbtype.String(c.zone),
		}
		if c.us {
			location["metro_code"] = mmdbtype.Uint16(500 + r.IntN(382))
		}
		subdivisions := mmdbtype.Slice{c.subdivisions[r.IntN(len(c.subdivisions))]}
		if r.IntN(3) == 0 {
			subdivisions = append(subdivisions, c.subdivisions[r.IntN(len(c.subdivisions))])
		}
		cities[i] = mmdbtype.Map{
			"city":               mmdbtype.Map{"geoname_id": mmdbtype.Uint32(3_000_000 + i), "names": benchNames(benchWord(r))},
			"continent":          c.continent,
			"country":            c.rec,
			"registered_country": c.rec,
			"location":           location,
			"postal":             mmdbtype.Map{"code": mmdbtype.String(fmt.Sprintf("%05d", r.IntN(100_000)))},
			"subdivisions":       subdivisions,
		}
	}
	return cities
}

// benchNames is a names map in every language, non-Latin scripts included.
func benchNames(base string) mmdbtype.Map {
	m := mmdbtype.Map{}
	for _, lang := range benchLanguages {
		name := base + " (" + lang + ")"
		switch lang {
		case "en":
			name = base
		case "ja":
			name = "シティ" + base
		case "ru":
			name = "Город " + base
		case "zh-CN":
			name = "城市" + base
		}
		m[mmdbtype.String(lang)] = mmdbtype.String(name)
	}
	return m
}

func benchWord(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 4+r.IntN(9))
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	b[0] -= 'a' - 'A'
	return string(b)
}

// benchLayout returns distinct networks: IPv4 /18 to /28 at random over
// 1.0.0.0-223.255.255.255, and IPv6 /32 to /48 in 2a00::/8.
func benchLayout(r *rand.Rand) []netip.Prefix {
	out := make([]netip.Prefix, 0, benchV4Networks+benchV6Networks)
	seen := make(map[netip.Prefix]bool, cap(out))
	for len(out) < cap(out) {
		var p netip.Prefix
		if len(out) < benchV4Networks {
			v := 1<<24 + r.Uint32N(223<<24)
			p, _ = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).Prefix(18 + r.IntN(11))
		} else {
			var a [16]byte
			a[0] = 0x2a
			for i := 1; i < 6; i++ {
				a[i] = byte(r.IntN(256))
			}
			p, _ = netip.AddrFrom16(a).Prefix(32 + r.IntN(17))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// benchAddrIn returns a random address in p.
func benchAddrIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	for bit := p.Bits(); bit < len(a)*8; bit++ {
		if r.IntN(2) == 1 {
			a[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	return addr
}

func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Addr()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}
