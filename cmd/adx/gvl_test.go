package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adx-exchange/adx/internal/waittest"
)

// TestGVLFile: a configured Global Vendor List that is not there yet keeps
// /readyz at 503 naming it; once it arrives adx is ready, /version lists
// it, and adx_privacy_gvl_version is its vendorListVersion.
func TestGVLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vendor-list.json")
	_, _, admin := startAdx(t, "-privacy.gvlFile", path)
	if code, body := adminGet(t, admin, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "gvl") {
		t.Fatalf("/readyz without the vendor list: %d %s, want 503 naming gvl", code, body)
	}
	if v := metricValue(t, admin, "adx_privacy_gvl_version"); v != 0 {
		t.Errorf("adx_privacy_gvl_version = %v before the list loaded, want 0", v)
	}
	list, err := os.ReadFile("../../privacy/testdata/gvl/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", list, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "/readyz 200 after the vendor list arrived", func() bool {
		code, _ := adminGet(t, admin, "/readyz")
		return code == http.StatusOK
	})
	if v := metricValue(t, admin, "adx_privacy_gvl_version"); v != 131 {
		t.Errorf("adx_privacy_gvl_version = %v, want 131, the list's vendorListVersion", v)
	}
	if _, version := adminGet(t, admin, "/version"); !strings.Contains(version, `"gvl"`) || !strings.Contains(version, `"131"`) {
		t.Errorf("/version does not list the vendor list:\n%s", version)
	}
}
