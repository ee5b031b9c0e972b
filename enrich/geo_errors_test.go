package enrich

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLookupErrorsCounted: a City database whose first probeRecords
// networks decode, so that it loads, but with a record of another schema
// past them (a latitude that is a string) fails that lookup, which
// adx_geo_lookup_errors_total{file="geo.city"} counts.
func TestLookupErrorsCounted(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", Description: map[string]string{"en": "bad record past the probe"}})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(cidr string, rec mmdbtype.Map) {
		t.Helper()
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatal(err)
		}
	}
	// 1.0.0.0/24 to 1.16.0.0/24 come before 81.2.69.0/24 in the tree, so
	// the loader's probe decodes only good records.
	for i := range probeRecords + 1 {
		insert("1."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&0xff)+".0/24", mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("SE")},
			"city":    mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Town " + strconv.Itoa(i))}},
		})
	}
	insert("81.2.69.0/24", mmdbtype.Map{
		"country":  mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
		"location": mmdbtype.Map{"latitude": mmdbtype.String("51.5")},
	})
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g := openGeo(t, GeoOptions{City: path, ReloadInterval: -1})
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)

	counted := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "adx_geo_lookup_errors_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if l := m.GetLabel(); len(l) == 1 && l[0].GetName() == "file" && l[0].GetValue() == "geo.city" {
					return m.GetCounter().GetValue()
				}
			}
		}
		t.Fatal(`no adx_geo_lookup_errors_total{file="geo.city"} series`)
		return 0
	}
	f := func(ip, wantCountry string, wantErrors float64) {
		t.Helper()
		dev := &openrtb2.Device{IP: ip}
		g.Enrich(&openrtb2.BidRequest{Device: dev})
		country := ""
		if dev.Geo != nil {
			country = dev.Geo.Country
		}
		if country != wantCountry {
			t.Errorf("%s: country %q, want %q", ip, country, wantCountry)
		}
		if got := counted(); got != wantErrors {
			t.Errorf("after %s: adx_geo_lookup_errors_total = %v, want %v", ip, got, wantErrors)
		}
	}
	f("1.0.0.1", "SWE", 0)
	f("81.2.69.160", "", 1)
	f("81.2.69.161", "", 2)
	f("1.16.0.1", "SWE", 2)
	if n := g.LookupErrors(); n != 2 {
		t.Errorf("LookupErrors() = %d, want 2", n)
	}
}
