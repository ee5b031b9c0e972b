package enrich

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"
	"go4.org/netipx"
)

// The facts asserted here are the MaxMind test databases' own, listed in
// testdata/EXPECTED.md.

func td(name string) string { return filepath.Join("testdata", name) }

var allDBs = GeoOptions{
	City:           td("GeoIP2-City-Test.mmdb"),
	ISP:            td("GeoIP2-ISP-Test.mmdb"),
	ConnectionType: td("GeoIP2-Connection-Type-Test.mmdb"),
	AnonymousIP:    td("GeoIP2-Anonymous-IP-Test.mmdb"),
}

func openGeo(t testing.TB, opts GeoOptions) *Geo {
	t.Helper()
	g, err := OpenGeo(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// offset is the UTC offset in minutes of zone now, as Enrich computes it.
func offset(t testing.TB, zone string) int64 {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	_, off := time.Now().In(loc).Zone()
	return int64(off / 60)
}

func ptr[T any](v T) *T { return &v }

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ipGeo is a device.geo as Enrich fills it from an IP.
func ipGeo(country, region, city, zip, metro string, lat, lon float64, accuracy, utcoffset int64) *openrtb2.Geo {
	return &openrtb2.Geo{
		Country: country, Region: region, City: city, ZIP: zip, Metro: metro,
		Lat: &lat, Lon: &lon, Accuracy: accuracy, UTCOffset: utcoffset,
		Type: adcom1.LocationIP, IPService: adcom1.LocationServiceMaxMind,
	}
}

// enrichTest returns an f-test: Enrich(dev) must turn dev into want.
func enrichTest(t *testing.T, g *Geo) func(dev, want *openrtb2.Device, wantOut GeoOutcome) {
	return func(dev, want *openrtb2.Device, wantOut GeoOutcome) {
		t.Helper()
		in := show(dev)
		out := g.Enrich(&openrtb2.BidRequest{ID: "1", Device: dev})
		if out != wantOut {
			t.Errorf("Enrich(%s) = %+v, want %+v", in, out, wantOut)
		}
		if !reflect.DeepEqual(dev, want) {
			t.Errorf("Enrich(%s):\n got  %s\n want %s", in, show(dev), show(want))
		}
	}
}

func TestEnrich(t *testing.T) {
	f := enrichTest(t, openGeo(t, allDBs))
	found := GeoOutcome{Found: true}
	london, la := offset(t, "Europe/London"), offset(t, "America/Los_Angeles")

	// IPv4, IPv6, IPv4-mapped IPv6.
	f(&openrtb2.Device{IP: "81.2.69.160"}, &openrtb2.Device{
		IP:      "81.2.69.160",
		Geo:     ipGeo("GBR", "ENG", "London", "", "", 51.5142, -0.0931, 100_000, london),
		Carrier: "Andrews & Arnold Ltd",
	}, found)
	f(&openrtb2.Device{IP: "216.160.83.56"}, &openrtb2.Device{
		IP:             "216.160.83.56",
		Geo:            ipGeo("USA", "WA", "Milton", "98354", "819", 47.2513, -122.3149, 22_000, la),
		Carrier:        "Century Link",
		ConnectionType: ptr(adcom1.ConnectionEthernet), // Corporate
	}, found)
	f(&openrtb2.Device{IPv6: "2001:480:10::1"}, &openrtb2.Device{
		IPv6: "2001:480:10::1",
		Geo:  ipGeo("USA", "CA", "San Diego", "92101", "825", 32.7203, -117.1552, 20_000, la),
	}, found)
	f(&openrtb2.Device{IP: "::ffff:81.2.69.160"}, &openrtb2.Device{
		IP:      "::ffff:81.2.69.160",
		Geo:     ipGeo("GBR", "ENG", "London", "", "", 51.5142, -0.0931, 100_000, london),
		Carrier: "Andrews & Arnold Ltd",
	}, found)
	f(&openrtb2.Device{IP: "2001:218::1"}, &openrtb2.Device{ // IPv6 in device.ip
		IP:  "2001:218::1",
		Geo: ipGeo("JPN", "", "", "", "", 35.68536, 139.75309, 100_000, offset(t, "Asia/Tokyo")),
	}, found)

	// More countries and shapes of record.
	f(&openrtb2.Device{IP: "89.160.20.112"}, &openrtb2.Device{
		IP:      "89.160.20.112",
		Geo:     ipGeo("SWE", "E", "Linköping", "", "", 58.4167, 15.6167, 76_000, offset(t, "Europe/Stockholm")),
		Carrier: "Bredband2 AB",
	}, found)
	f(&openrtb2.Device{IP: "175.16.199.1"}, &openrtb2.Device{
		IP:             "175.16.199.1",
		Geo:            ipGeo("CHN", "22", "Changchun", "", "", 43.88, 125.3228, 100_000, offset(t, "Asia/Harbin")),
		ConnectionType: ptr(adcom1.ConnectionEthernet), // Cable/DSL
	}, found)
	f(&openrtb2.Device{IP: "2.125.160.216"}, &openrtb2.Device{ // two subdivisions: the most general
		IP:             "2.125.160.216",
		Geo:            ipGeo("GBR", "ENG", "Boxford", "OX1", "", 51.75, -1.25, 100_000, london),
		ConnectionType: ptr(adcom1.ConnectionEthernet),
	}, found)
	f(&openrtb2.Device{IP: "67.43.156.1"}, &openrtb2.Device{ // no city
		IP:             "67.43.156.1",
		Geo:            ipGeo("BTN", "", "", "", "", 27.5, 90.5, 534_000, offset(t, "Asia/Thimphu")),
		Carrier:        "Loud Packet",
		ConnectionType: ptr(adcom1.ConnectionCellular),
	}, found)
	f(&openrtb2.Device{IPv6: "2a02:d300::1"}, &openrtb2.Device{ // no time zone
		IPv6: "2a02:d300::1",
		Geo:  ipGeo("UKR", "", "", "", "", 49, 32, 100_000, 0),
	}, found)
	f(&openrtb2.Device{IP: "202.196.224.1"}, &openrtb2.Device{
		IP:  "202.196.224.1",
		Geo: ipGeo("PHL", "", "", "34021", "", 13, 122, 121_000, offset(t, "Asia/Manila")),
	}, found)
	f(&openrtb2.Device{IP: "214.78.120.5"}, &openrtb2.Device{ // Satellite: no connectiontype; AS organization as carrier
		IP:      "214.78.120.5",
		Geo:     ipGeo("USA", "CA", "San Diego", "92105", "825", 32.7405, -117.0935, 100_000, la),
		Carrier: "DoD Network Information Center",
	}, found)
	f(&openrtb2.Device{IP: "149.101.100.5"}, &openrtb2.Device{
		IP:             "149.101.100.5",
		Geo:            ipGeo("USA", "", "", "", "", 37.751, -97.822, 1_000_000, offset(t, "America/Chicago")),
		Carrier:        "Verizon Wireless",
		MCCMNC:         "310-004",
		ConnectionType: ptr(adcom1.ConnectionCellular),
	}, found)

	// A miss in every database: nothing filled, no error.
	f(&openrtb2.Device{IP: "1.2.3.4"}, &openrtb2.Device{IP: "1.2.3.4"}, GeoOutcome{})
	f(&openrtb2.Device{IPv6: "2001:480::52"}, &openrtb2.Device{IPv6: "2001:480::52"}, GeoOutcome{})

	// No usable IP: device.ipv6 is the fallback.
	f(&openrtb2.Device{IP: "81.2.69.999", IPv6: "2001:480:10::1"}, &openrtb2.Device{
		IP: "81.2.69.999", IPv6: "2001:480:10::1",
		Geo: ipGeo("USA", "CA", "San Diego", "92101", "825", 32.7203, -117.1552, 20_000, la),
	}, found)
	f(&openrtb2.Device{IP: "81.2.69.999"}, &openrtb2.Device{IP: "81.2.69.999"}, GeoOutcome{NoIP: true})
	f(&openrtb2.Device{IP: " 81.2.69.160"}, &openrtb2.Device{IP: " 81.2.69.160"}, GeoOutcome{NoIP: true})
	f(&openrtb2.Device{UA: "x"}, &openrtb2.Device{UA: "x"}, GeoOutcome{NoIP: true})
	if out := (&Geo{}).Enrich(&openrtb2.BidRequest{}); out != (GeoOutcome{NoIP: true}) {
		t.Errorf("Enrich without device = %+v", out)
	}
}

func TestEnrichConnectionType(t *testing.T) {
	g := openGeo(t, GeoOptions{ConnectionType: td("GeoIP2-Connection-Type-Test.mmdb")})
	f := func(ip string, want *adcom1.ConnectionType) {
		t.Helper()
		dev := &openrtb2.Device{IP: ip}
		g.Enrich(&openrtb2.BidRequest{Device: dev})
		if !reflect.DeepEqual(dev.ConnectionType, want) {
			t.Errorf("%s: connectiontype %v, want %v", ip, show(dev.ConnectionType), show(want))
		}
		if dev.Geo != nil || dev.Carrier != "" {
			t.Errorf("%s: a connection-type database filled %s", ip, show(dev))
		}
	}
	f("1.0.0.1", ptr(adcom1.ConnectionEthernet))       // Cable/DSL
	f("1.0.1.1", ptr(adcom1.ConnectionCellular))       // Cellular
	f("201.243.200.1", ptr(adcom1.ConnectionEthernet)) // Corporate
	f("2003::1", ptr(adcom1.ConnectionEthernet))       // Cable/DSL, IPv6
	f("214.78.120.5", nil)                             // Satellite
	f("81.2.69.160", nil)                              // not found
}

func TestConnectionTypeMapping(t *testing.T) {
	f := func(maxmind string, want adcom1.ConnectionType) {
		t.Helper()
		if got := connectionType(maxmind); got != want {
			t.Errorf("connectionType(%q) = %d, want %d", maxmind, got, want)
		}
	}
	f("Cable/DSL", adcom1.ConnectionEthernet)
	f("Corporate", adcom1.ConnectionEthernet)
	f("Cellular", adcom1.ConnectionCellular)
	f("Satellite", adcom1.ConnectionUnknown)
	f("Dialup", adcom1.ConnectionUnknown)
	f("", adcom1.ConnectionUnknown)
	f("cellular", adcom1.ConnectionUnknown)
}

func TestEnrichISP(t *testing.T) {
	f := func(db, ip, carrier, mccmnc string) {
		t.Helper()
		g := openGeo(t, GeoOptions{ISP: td(db)})
		dev := &openrtb2.Device{IP: ip}
		g.Enrich(&openrtb2.BidRequest{Device: dev})
		want := &openrtb2.Device{IP: ip, Carrier: carrier, MCCMNC: mccmnc}
		if !reflect.DeepEqual(dev, want) {
			t.Errorf("%s %s: got %s, want %s", db, ip, show(dev), show(want))
		}
	}
	f("GeoIP2-ISP-Test.mmdb", "149.101.100.5", "Verizon Wireless", "310-004")
	f("GeoIP2-ISP-Test.mmdb", "1.128.0.1", "Telstra Internet", "")
	f("GeoIP2-ISP-Test.mmdb", "12.81.96.1", "AT&T Services", "")
	f("GeoIP2-ISP-Test.mmdb", "2600:7000::1", "Hurricane Electric, Inc.", "") // AS organization only
	f("GeoIP2-ISP-Test.mmdb", "1.2.3.4", "", "")
	// GeoLite2-ASN in the isp slot: the AS organization is the carrier.
	f("GeoLite2-ASN-Test.mmdb", "1.0.0.1", "Google Inc.", "")
	f("GeoLite2-ASN-Test.mmdb", "1.128.0.1", "Telstra Pty Ltd", "")
	f("GeoLite2-ASN-Test.mmdb", "2001:1c00::1", "Ziggo B.V.", "")
	f("GeoLite2-ASN-Test.mmdb", "149.101.100.5", "CELLCO-PART", "")
	f("GeoLite2-ASN-Test.mmdb", "12.81.96.1", "", "") // ASN without organization
}

// TestCitySlotTypes: every database type the city slot accepts fills geo
// from what it has.
func TestCitySlotTypes(t *testing.T) {
	london := offset(t, "Europe/London")
	countryOnly := &openrtb2.Geo{Country: "GBR", Type: adcom1.LocationIP, IPService: adcom1.LocationServiceMaxMind}
	f := func(db string, want *openrtb2.Geo) {
		t.Helper()
		g := openGeo(t, GeoOptions{City: td(db)})
		dev := &openrtb2.Device{IP: "81.2.69.160"}
		g.Enrich(&openrtb2.BidRequest{Device: dev})
		if !reflect.DeepEqual(dev.Geo, want) {
			t.Errorf("%s: got %s, want %s", db, show(dev.Geo), show(want))
		}
	}
	f("GeoIP2-City-Test.mmdb", ipGeo("GBR", "ENG", "London", "", "", 51.5142, -0.0931, 100_000, london))
	f("GeoLite2-City-Test.mmdb", ipGeo("GBR", "ENG", "London", "", "", 51.5142, -0.0931, 100_000, london))
	f("GeoIP2-Enterprise-Test.mmdb", ipGeo("GBR", "ENG", "London", "", "", 51.5142, -0.0931, 100_000, london))
	f("GeoIP2-Country-Test.mmdb", countryOnly)
	f("GeoLite2-Country-Test.mmdb", countryOnly)
}

func TestEnrichBlocksAnonymous(t *testing.T) {
	f := func(block []string, ip, wantBlocked string) {
		t.Helper()
		opts := allDBs
		opts.Block = block
		g := openGeo(t, opts)
		dev := &openrtb2.Device{IP: ip, Carrier: "ssp", Geo: &openrtb2.Geo{Country: "FRA"}}
		if strings.Contains(ip, ":") {
			dev.IP, dev.IPv6 = "", ip
		}
		before := show(dev)
		out := g.Enrich(&openrtb2.BidRequest{Device: dev})
		if out.Blocked != wantBlocked {
			t.Errorf("block %v, %s: Blocked = %q, want %q", block, ip, out.Blocked, wantBlocked)
		}
		if wantBlocked != "" && show(dev) != before {
			t.Errorf("block %v, %s: a blocked request was changed: %s -> %s", block, ip, before, show(dev))
		}
	}
	all := []string{"hosting_provider", "public_proxy", "tor_exit_node", "vpn", "residential_proxy", "anonymous"}
	f(all, "81.2.69.160", "tor_exit_node") // every flag: the most specific
	f(all, "::ffff:81.2.69.160", "tor_exit_node")
	f(all, "216.160.83.56", "") // not anonymous
	f(all, "2001:480:10::1", "")
	f([]string{"hosting_provider"}, "71.160.223.9", "hosting_provider")
	f([]string{"hosting_provider"}, "186.30.236.5", "")
	f([]string{"public_proxy"}, "186.30.236.5", "public_proxy")
	f([]string{"public_proxy"}, "abcd:1000::1", "public_proxy")
	f([]string{"public_proxy"}, "2001:480:3a::5", "public_proxy")
	f([]string{"residential_proxy"}, "6.1.0.4", "residential_proxy")
	f([]string{"vpn"}, "1.124.213.1", "vpn")
	f([]string{"vpn"}, "1.2.3.4", "vpn")
	f([]string{"tor_exit_node"}, "1.124.213.1", "tor_exit_node")
	f([]string{"tor_exit_node"}, "71.160.223.9", "")
	f([]string{"anonymous"}, "71.160.223.9", "anonymous")
	f([]string{"anonymous", "hosting_provider"}, "71.160.223.9", "hosting_provider")
	f(nil, "81.2.69.160", "")
}

func TestEnrichKeepsOrOverridesSSPValues(t *testing.T) {
	la, chicago := offset(t, "America/Los_Angeles"), offset(t, "America/Chicago")
	ssp := func(ip string) *openrtb2.Device {
		return &openrtb2.Device{
			IP: ip,
			Geo: &openrtb2.Geo{
				Country: "USA", City: "Seattle", Lat: ptr(47.6062), Lon: ptr(-122.3321),
				Type: adcom1.LocationGPS, Accuracy: 10, Ext: json.RawMessage(`{"x":1}`),
			},
			Carrier: "SSP Mobile", MCCMNC: "310-410", ConnectionType: ptr(adcom1.ConnectionWIFI),
		}
	}

	// Kept: only the empty fields are filled, lat/lon and their type stay.
	kept := ssp("216.160.83.56")
	kept.Geo.Region, kept.Geo.ZIP, kept.Geo.Metro, kept.Geo.UTCOffset = "WA", "98354", "819", la
	f := enrichTest(t, openGeo(t, allDBs))
	f(ssp("216.160.83.56"), kept, GeoOutcome{Found: true})

	// Kept, another country: nothing below the country is filled.
	other := ssp("216.160.83.56")
	other.Geo.Country = "CAN"
	otherWant := ssp("216.160.83.56")
	otherWant.Geo.Country = "CAN"
	f(other, otherWant, GeoOutcome{Found: true})

	// Kept, no lat/lon sent: ours come with accuracy, type and ipservice.
	f(&openrtb2.Device{IP: "216.160.83.56", Geo: &openrtb2.Geo{City: "Tacoma", Type: adcom1.LocationUserProvided}},
		&openrtb2.Device{
			IP: "216.160.83.56",
			Geo: &openrtb2.Geo{
				Country: "USA", Region: "WA", City: "Tacoma", ZIP: "98354", Metro: "819", UTCOffset: la,
				Lat: ptr(47.2513), Lon: ptr(-122.3149), Accuracy: 22_000,
				Type: adcom1.LocationIP, IPService: adcom1.LocationServiceMaxMind,
			},
			Carrier: "Century Link", ConnectionType: ptr(adcom1.ConnectionEthernet),
		}, GeoOutcome{Found: true})

	// Overridden: the exchange's values win, geo as a whole (ext kept).
	opts := allDBs
	opts.Override = map[string]bool{"geo": true, "connectiontype": true, "carrier": true, "mccmnc": true}
	f = enrichTest(t, openGeo(t, opts))
	over := ipGeo("USA", "", "", "", "", 37.751, -97.822, 1_000_000, chicago)
	over.Ext = json.RawMessage(`{"x":1}`)
	f(ssp("149.101.100.5"), &openrtb2.Device{
		IP: "149.101.100.5", Geo: over,
		Carrier: "Verizon Wireless", MCCMNC: "310-004", ConnectionType: ptr(adcom1.ConnectionCellular),
	}, GeoOutcome{Found: true})

	// Overridden, but the database has no value: the SSP's stays.
	sat := ssp("214.78.120.5") // Satellite, no MCC/MNC
	satWant := ssp("214.78.120.5")
	satWant.Geo = ipGeo("USA", "CA", "San Diego", "92105", "825", 32.7405, -117.0935, 100_000, la)
	satWant.Geo.Ext = json.RawMessage(`{"x":1}`)
	satWant.Carrier = "DoD Network Information Center"
	f(sat, satWant, GeoOutcome{Found: true})

	// Overridden, a miss: nothing changes.
	f(ssp("1.2.3.4"), ssp("1.2.3.4"), GeoOutcome{})

	// Override of one field only.
	opts = allDBs
	opts.Override = map[string]bool{"carrier": true}
	f = enrichTest(t, openGeo(t, opts))
	one := ssp("149.101.100.5")
	one.Carrier = "Verizon Wireless"
	one.Geo.UTCOffset = chicago // empty, so filled
	f(ssp("149.101.100.5"), one, GeoOutcome{Found: true})
}

func TestOpenGeoRejects(t *testing.T) {
	f := func(opts GeoOptions, want ...string) {
		t.Helper()
		g, err := OpenGeo(opts)
		if err == nil {
			g.Close()
			t.Fatalf("OpenGeo(%+v) succeeded", opts)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("OpenGeo error %q does not contain %q", err, w)
			}
		}
	}
	// A file of the wrong type for its slot: the message names the file,
	// the slot and the type found.
	f(GeoOptions{City: td("GeoIP2-ISP-Test.mmdb")}, "geo.city", td("GeoIP2-ISP-Test.mmdb"), `database_type "GeoIP2-ISP" does not fit slot city`)
	f(GeoOptions{ISP: td("GeoIP2-City-Test.mmdb")}, "geo.isp", `database_type "GeoIP2-City" does not fit slot isp`)
	f(GeoOptions{ISP: td("GeoIP2-Domain-Test.mmdb")}, "geo.isp", `"GeoIP2-Domain"`)
	f(GeoOptions{ConnectionType: td("GeoIP2-Anonymous-IP-Test.mmdb")}, "geo.connection_type", `"GeoIP2-Anonymous-IP" does not fit slot connection_type`)
	f(GeoOptions{AnonymousIP: td("GeoIP2-Connection-Type-Test.mmdb")}, "geo.anonymous_ip", `"GeoIP2-Connection-Type" does not fit slot anonymous_ip`)
	f(GeoOptions{City: td("GeoIP2-City-Test.mmdb"), AnonymousIP: td("GeoIP2-City-Test.mmdb")}, "geo.anonymous_ip")
	f(GeoOptions{City: td("missing.mmdb")}, "geo.city", "missing.mmdb", "no such file")
	f(GeoOptions{City: td("EXPECTED.md")}, "geo.city", "not a MaxMind database")
	f(GeoOptions{City: td("bad-data/static/GeoIP2-City-Test-Broken-Double-Format.mmdb")}, "geo.city", "corrupt GeoIP2-City database", "float 64 size of 5")
	f(GeoOptions{Override: map[string]bool{"country": true}}, `unknown override field "country"`)
	f(GeoOptions{Block: []string{"is_vpn"}}, `unknown anonymous-IP flag "is_vpn"`)

	// Every corrupt database is rejected, in any slot, without a panic.
	bad, err := filepath.Glob(td("bad-data/*/*.mmdb"))
	if err != nil || len(bad) < 20 {
		t.Fatalf("bad-data: %d files, %v", len(bad), err)
	}
	for _, path := range bad {
		f(GeoOptions{City: path}, "geo.city", path)
		f(GeoOptions{ISP: path}, "geo.isp", path)
	}
}

// TestOpenGeoRejectsForeignSchema: a database of the right type whose
// fields have other types than MaxMind's passes Verify (a format check) but
// not the loader's probe with Enrich's own decoders.
func TestOpenGeoRejectsForeignSchema(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", Description: map[string]string{"en": "foreign"}})
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("81.2.69.0/24")
	record := mmdbtype.Map{
		"country":  mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
		"location": mmdbtype.Map{"latitude": mmdbtype.String("51.5")},
	}
	if err := tree.Insert(network, record); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "foreign.mmdb")
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeo(GeoOptions{City: path})
	if err == nil {
		g.Close()
		t.Fatal("OpenGeo accepted a latitude that is a string")
	}
	for _, want := range []string{"geo.city", path, "81.2.69.0/24", "latitude"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestOpenGeoNothing(t *testing.T) {
	g := openGeo(t, GeoOptions{})
	dev := &openrtb2.Device{IP: "81.2.69.160"}
	if out := g.Enrich(&openrtb2.BidRequest{Device: dev}); out != (GeoOutcome{}) || show(dev) != `{"ip":"81.2.69.160"}` {
		t.Errorf("a Geo without databases: %+v, %s", out, show(dev))
	}
	if files := g.Files(); len(files) != 0 {
		t.Errorf("Files() = %v", files)
	}
}

func TestFiles(t *testing.T) {
	g := openGeo(t, allDBs)
	files := g.Files()
	want := []struct{ name, path, dbType string }{
		{"geo.city", allDBs.City, "GeoIP2-City "},
		{"geo.isp", allDBs.ISP, "GeoIP2-ISP "},
		{"geo.connection_type", allDBs.ConnectionType, "GeoIP2-Connection-Type "},
		{"geo.anonymous_ip", allDBs.AnonymousIP, "GeoIP2-Anonymous-IP "},
	}
	if len(files) != len(want) {
		t.Fatalf("Files() = %+v", files)
	}
	for i, w := range want {
		got := files[i]
		if got.Name != w.name || got.Path != w.path || !strings.HasPrefix(got.Version, w.dbType) || len(got.SHA256) != 64 || got.LoadedAt.IsZero() || !got.LastReloadOK {
			t.Errorf("Files()[%d] = %+v, want %s %s %s…", i, got, w.name, w.path, w.dbType)
		}
	}
}

// TestGeoHotReload replaces the city database under concurrent Enrich
// calls: by another good database, then by broken ones in place and by
// rename. Run it with -race: a reader of a closed database would race with
// its Close, and count as a failed lookup.
func TestGeoHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "GeoIP2-City.mmdb")
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(td(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put := func(content []byte, byRename bool) {
		t.Helper()
		target := path
		if byRename {
			target = path + ".tmp"
		}
		if err := os.WriteFile(target, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if byRename {
			if err := os.Rename(target, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	geoip2, geolite2 := read("GeoIP2-City-Test.mmdb"), read("GeoLite2-City-Test.mmdb")
	put(geoip2, false)
	g := openGeo(t, GeoOptions{City: path, ConnectionType: td("GeoIP2-Connection-Type-Test.mmdb"), ReloadInterval: 20 * time.Millisecond})

	// Addresses both databases know, with the country they must always get.
	known := map[string]string{"81.2.69.160": "GBR", "216.160.83.56": "USA", "2001:480:10::1": "USA", "89.160.20.112": "SWE", "2a02:d300::1": "UKR"}
	var (
		stop    atomic.Bool
		lookups atomic.Int64
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				for ip, country := range known {
					dev := &openrtb2.Device{IP: ip}
					out := g.Enrich(&openrtb2.BidRequest{Device: dev})
					if !out.Found || dev.Geo == nil || dev.Geo.Country != country {
						t.Errorf("%s: %+v, geo %s, want country %s", ip, out, show(dev.Geo), country)
					}
					lookups.Add(1)
				}
				runtime.Gosched()
			}
		})
	}

	// 214.78.0.1 is only in GeoLite2-City-Test; 2001:480:10::1 is 20 km
	// accurate in GeoIP2-City-Test, 50 km in GeoLite2-City-Test. A swap
	// between the two lookups mixes the databases' answers: look again,
	// and there is no second swap to fall between them.
	isGeoLite2 := func() bool {
		t.Helper()
		var probe, v6 *openrtb2.Device
		for range 3 {
			probe = &openrtb2.Device{IP: "214.78.0.1"}
			g.Enrich(&openrtb2.BidRequest{Device: probe})
			v6 = &openrtb2.Device{IPv6: "2001:480:10::1"}
			g.Enrich(&openrtb2.BidRequest{Device: v6})
			lite := probe.Geo != nil && probe.Geo.ZIP == "92136" && v6.Geo.Accuracy == 50_000
			full := probe.Geo == nil && v6.Geo.Accuracy == 20_000
			if lite || full {
				return lite
			}
		}
		t.Errorf("neither database's answer, 3 times: %s, %s", show(probe.Geo), show(v6.Geo))
		return false
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	failures := func() uint64 { return g.Files()[0].Failures }

	if isGeoLite2() {
		t.Fatal("GeoLite2 answers before the swap")
	}
	put(geolite2, true)
	waitFor("GeoLite2-City-Test in service", isGeoLite2)

	broken := []string{
		"bad-data/static/GeoIP2-City-Test-Broken-Double-Format.mmdb",
		"bad-data/static/GeoIP2-City-Test-Invalid-Node-Count.mmdb",
		"bad-data/static/MaxMind-DB-test-broken-pointers-24.mmdb",
		"bad-data/static/MaxMind-DB-test-broken-search-tree-24.mmdb",
		"bad-data/maxminddb-golang/invalid-data-record-offset.mmdb",
	}
	contents := map[string][]byte{"truncated GeoIP2-City-Test": geoip2[:len(geoip2)/2]}
	for _, name := range broken {
		contents[name] = read(name)
	}
	for name, content := range contents {
		for _, byRename := range []bool{false, true} {
			n := failures()
			put(content, byRename)
			waitFor("rejection of "+name, func() bool { return failures() > n })
			if !isGeoLite2() {
				t.Fatalf("%s (rename %v) replaced the database in service", name, byRename)
			}
		}
	}
	if info := g.Files()[0]; info.LastReloadOK || !strings.HasPrefix(info.Version, "GeoLite2-City ") {
		t.Errorf("after broken files: %+v", info)
	}

	put(geoip2, true)
	waitFor("GeoIP2-City-Test back in service", func() bool { return !isGeoLite2() })

	stop.Store(true)
	wg.Wait()
	if n := g.LookupErrors(); n != 0 {
		t.Errorf("%d failed lookups", n)
	}
	if lookups.Load() == 0 {
		t.Error("no lookups ran")
	}
	t.Logf("%d lookups during %d reloads and %d rejected files", lookups.Load(), g.Files()[0].Reloads, failures())
}

// FuzzEnrich: whatever device.ip and device.ipv6 hold, Enrich does not
// panic and reports NoIP exactly when neither parses.
func FuzzEnrich(f *testing.F) {
	for _, seed := range [][2]string{
		{"81.2.69.160", ""}, {"", "2001:480:10::1"}, {"::ffff:81.2.69.160", ""}, {"2002:5102:45a0::", ""},
		{"1.2.3.4", "::1"}, {"81.2.69.999", "fe80::1%eth0"}, {"", ""}, {"0.0.0.0", "::"},
		{"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, {"01.2.3.4", "1::2::3"}, {"\x00", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	opts := allDBs
	opts.Block = []string{"public_proxy"}
	g, err := OpenGeo(opts)
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	f.Fuzz(func(t *testing.T, ip, ipv6 string) {
		dev := &openrtb2.Device{IP: ip, IPv6: ipv6}
		out := g.Enrich(&openrtb2.BidRequest{Device: dev})
		_, ok := deviceIP(&openrtb2.Device{IP: ip, IPv6: ipv6})
		if out.NoIP == ok {
			t.Errorf("ip %q ipv6 %q: NoIP %v", ip, ipv6, out.NoIP)
		}
		if dev.IP != ip || dev.IPv6 != ipv6 {
			t.Errorf("Enrich changed the IP: %q %q", dev.IP, dev.IPv6)
		}
		if dev.Geo != nil && len(dev.Geo.Country) != 3 {
			t.Errorf("ip %q ipv6 %q: country %q", ip, ipv6, dev.Geo.Country)
		}
	})
}

// treeDBs opens every valid test database, of every record size and IP
// version, as Enrich's mmdb.
func treeDBs(t testing.TB) []*mmdb {
	t.Helper()
	paths, err := filepath.Glob(td("*.mmdb"))
	if err != nil || len(paths) < 20 {
		t.Fatalf("testdata: %d databases, %v", len(paths), err)
	}
	var dbs []*mmdb
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := maxminddb.OpenBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		db, err := newMMDB(r, b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		dbs = append(dbs, db)
	}
	return dbs
}

// checkWalk compares walkTrees with Reader.Lookup for ip in every db, one
// db per slot at a time and all slots at once.
func checkWalk(t testing.TB, dbs []*mmdb, ip netip.Addr) {
	t.Helper()
	ip = ip.Unmap()
	want := func(db *mmdb) uint {
		res := db.Lookup(ip)
		if res.Err() != nil || !res.Found() {
			return notFound
		}
		return uint(res.Offset())
	}
	for i := 0; i < len(dbs); i += numSlots {
		var set [numSlots]*mmdb
		copy(set[:], dbs[i:])
		var got [numSlots]uint
		walkTrees(&set, ip, &got)
		for k, db := range set {
			if db == nil {
				if got[k] != notFound {
					t.Errorf("%s: empty slot %d found %d", ip, k, got[k])
				}
				continue
			}
			if w := want(db); got[k] != w {
				t.Errorf("%s in %s (record size %d, IPv%d): walk %d, Lookup %d", ip, db.Metadata.DatabaseType, db.Metadata.RecordSize, db.Metadata.IPVersion, got[k], w)
			}
		}
	}
}

// TestTreeWalk: Enrich's lockstep walk finds exactly what Reader.Lookup
// finds, for the first, last and a middle address of every network of
// every test database, and for the addresses of EXPECTED.md.
func TestTreeWalk(t *testing.T) {
	dbs := treeDBs(t)
	ips := []string{"81.2.69.160", "216.160.83.56", "2001:480:10::1", "::ffff:81.2.69.160", "2002:5102:45a0::", "1.2.3.4",
		"2001:480::52", "0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1.1.1.1", "1.1.1.1"}
	for _, db := range dbs {
		for res := range db.Networks(maxminddb.IncludeAliasedNetworks(), maxminddb.IncludeNetworksWithoutData()) {
			p := res.Prefix()
			first := p.Masked().Addr()
			last := netipx.PrefixLastIP(p)
			ips = append(ips, first.String(), last.String())
			if next := first.Next(); p.Contains(next) {
				ips = append(ips, next.String())
			}
		}
	}
	for _, s := range ips {
		checkWalk(t, dbs, netip.MustParseAddr(s))
	}
	t.Logf("%d addresses in %d databases", len(ips), len(dbs))
}

// FuzzTreeWalk: for any address, the walk agrees with Reader.Lookup.
func FuzzTreeWalk(f *testing.F) {
	f.Add([]byte{81, 2, 69, 160})
	f.Add([]byte{0x20, 0x01, 0x04, 0x80, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4})
	dbs := treeDBs(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		checkWalk(t, dbs, ip)
	})
}
