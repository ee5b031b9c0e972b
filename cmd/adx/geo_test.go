package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeoLookup(t *testing.T) {
	dir, _ := filepath.Abs("../../enrich/testdata")
	cfg := filepath.Join(t.TempDir(), "geo.yaml")
	os.WriteFile(cfg, []byte("geo:\n  city: "+dir+"/GeoIP2-City-Test.mmdb\n  isp: "+dir+"/GeoIP2-ISP-Test.mmdb\n  anonymous_ip: "+dir+"/GeoIP2-Anonymous-IP-Test.mmdb\n"), 0o644)
	stdout, stderr, code := runAdx(t, nil, "geo", "lookup", "-config", cfg, "216.160.83.56", "2001:480:10::1", "71.160.223.9")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	type answer struct {
		IP      string `json:"ip"`
		Blocked string `json:"blocked"`
		Device  struct {
			Geo struct {
				Country, Region, City string
			} `json:"geo"`
		} `json:"device"`
	}
	var got []answer
	for dec.More() {
		var r answer
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("%d answers, want 3:\n%s", len(got), stdout)
	}
	if g := got[0].Device.Geo; g.Country != "USA" || g.Region != "WA" || g.City != "Milton" {
		t.Errorf("216.160.83.56: %+v, want USA/WA/Milton", g)
	}
	if g := got[1].Device.Geo; g.Country != "USA" || g.City != "San Diego" {
		t.Errorf("2001:480:10::1: %+v, want USA/San Diego", g)
	}
	if got[2].Blocked != "hosting_provider" {
		t.Errorf("71.160.223.9: blocked %q, want hosting_provider", got[2].Blocked)
	}

	_, stderr, code = runAdx(t, nil, "geo", "lookup", "-config", cfg, "not-an-ip")
	if code != 1 || !strings.Contains(stderr, "not-an-ip") {
		t.Errorf("bad IP: exit %d stderr %q", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("geo:\n  city: "+dir+"/GeoIP2-ISP-Test.mmdb\n"), 0o644)
	_, stderr, code = runAdx(t, nil, "geo", "lookup", "-config", bad, "1.2.3.4")
	if code != 1 || !strings.Contains(stderr, "GeoIP2-ISP") {
		t.Errorf("wrong database type in the city slot: exit %d stderr %q, want 1 naming the type", code, stderr)
	}
}
