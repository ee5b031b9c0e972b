package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadyzWaitsForDataFiles: adx starts with a configured geo database
// that is not there yet and another that is rejected, serves, and keeps
// /readyz at 503 naming them until good files arrive; a bad file after that
// is rejected and counted, and adx stays ready on the version it has.
func TestReadyzWaitsForDataFiles(t *testing.T) {
	testdata, err := filepath.Abs("../../enrich/testdata")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	city, isp := filepath.Join(dir, "GeoIP2-City.mmdb"), filepath.Join(dir, "GeoIP2-ISP.mmdb")
	// put installs a file the way geoipupdate does: written beside it,
	// then renamed over it.
	put := func(path string, content []byte) {
		t.Helper()
		if err := os.WriteFile(path+".tmp", content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put(isp, read("GeoIP2-Connection-Type-Test.mmdb")) // a real database of the wrong type for its slot
	cfg := filepath.Join(dir, "adx.yaml")
	if err := os.WriteFile(cfg, []byte("geo:\n  city: "+city+"\n  isp: "+isp+"\n  reload_interval: 200ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, admin := startAdx(t, "-config", cfg)

	get := func(path string) (int, string) {
		t.Helper()
		return adminGet(t, admin, path)
	}
	// waitReady polls /readyz until cond holds of its answer.
	waitReady := func(what string, cond func(code int, reasons string) bool) {
		t.Helper()
		var (
			code int
			body string
		)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			code, body = get("/readyz")
			var doc struct{ Reasons []string }
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("/readyz body is not JSON: %v\n%s", err, body)
			}
			if cond(code, strings.Join(doc.Reasons, "\n")) {
				return
			}
		}
		t.Fatalf("%s: /readyz still answers %d %s", what, code, body)
	}

	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with no city database and a rejected isp database: %d %s, want 503", code, body)
	}
	for _, want := range []string{"geo.city", city, "no such file", "geo.isp", isp, "does not fit slot isp"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body does not name %q:\n%s", want, body)
		}
	}
	if code, body := get("/livez"); code != http.StatusOK {
		t.Errorf("/livez while data loads: %d %s, want 200", code, body)
	}

	put(city, read("GeoIP2-City-Test.mmdb"))
	waitReady("city database written", func(code int, reasons string) bool {
		return code == http.StatusServiceUnavailable && !strings.Contains(reasons, "geo.city") && strings.Contains(reasons, "geo.isp")
	})
	put(isp, read("GeoIP2-ISP-Test.mmdb"))
	waitReady("isp database written", func(code int, _ string) bool { return code == http.StatusOK })

	// A broken replacement: rejected and counted (the event waited for),
	// while the version in service keeps adx ready.
	failures := func() string {
		t.Helper()
		_, metrics := get("/metrics")
		for line := range strings.Lines(metrics) {
			if strings.HasPrefix(line, `adx_data_reload_failures_total{file="geo.city"} `) {
				return strings.TrimSpace(line)
			}
		}
		t.Fatalf("/metrics has no adx_data_reload_failures_total for geo.city:\n%s", metrics)
		return ""
	}
	before := failures()
	put(city, read("GeoIP2-City-Test.mmdb")[:1000])
	for deadline := time.Now().Add(30 * time.Second); failures() == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the truncated city database was never rejected: %s", before)
		}
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after a rejected reload: %d %s, want 200 on the version in service", code, body)
	}
	_, metrics := get("/metrics")
	if !strings.Contains(metrics, `adx_geo_lookup_errors_total{file="geo.city"} 0`) {
		t.Errorf("/metrics lacks adx_geo_lookup_errors_total for geo.city")
	}
}

// adminGet fetches path from the admin listener and returns its status
// and body.
func adminGet(t *testing.T, admin, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
