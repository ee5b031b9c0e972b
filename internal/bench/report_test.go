package bench

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readReportFixtures(t *testing.T) (a, b *Result) {
	t.Helper()
	a, err := ReadResult(filepath.Join("testdata", "report", "a.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err = ReadResult(filepath.Join("testdata", "report", "b.json"))
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestReportGolden renders fixed result files (two real loopback runs:
// a mock DSP and the hello baseline) against testdata/report/*.html
// (regenerate with -update).
func TestReportGolden(t *testing.T) {
	a, b := readReportFixtures(t)
	f := func(name string, a, b *Result) {
		t.Helper()
		var got bytes.Buffer
		if err := WriteReport(&got, a, b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		golden := filepath.Join("testdata", "report", name)
		if *update {
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from the golden file (run with -update and review the diff)", name)
		}
	}
	f("ab.html", a, b)
	f("a.html", a, nil)
}

// TestReportSelfContained checks that the report references nothing on the
// network: no src/href/url() at all, and http(s):// only inside the targets
// printed as text.
func TestReportSelfContained(t *testing.T) {
	a, b := readReportFixtures(t)
	a.Target = "http://127.0.0.1:9/a?x=<y>"
	var buf bytes.Buffer
	if err := WriteReport(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe", "<object", "<embed"} {
		if strings.Contains(strings.ToLower(s), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	// Remove the allowed occurrences: the targets, escaped, inside <code>.
	for _, r := range []*Result{a, b} {
		s = strings.ReplaceAll(s, "<code>"+htmlEscape(r.Target)+"</code>", "")
	}
	if m := regexp.MustCompile(`(?i)https?://`).FindAllStringIndex(s, -1); len(m) > 0 {
		t.Errorf("report holds %d URLs outside the target text, first at %q", len(m), s[max(0, m[0][0]-40):min(len(s), m[0][1]+40)])
	}
	if strings.Contains(buf.String(), "<y>") {
		t.Error("target not HTML-escaped")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// TestReportEmpty renders a result without requests or histograms.
func TestReportEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, &Result{Version: ResultVersion}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no requests") {
		t.Error("empty status mix not reported")
	}
	if err := WriteReport(&buf, nil, nil); err == nil {
		t.Error("nil result accepted")
	}
	bad := &Result{Histogram: Histograms{Latency: "not base64!"}}
	if err := WriteReport(&buf, bad, nil); err == nil {
		t.Error("corrupt histogram accepted")
	}
}

// TestReportChromium renders the report in headless Chromium and checks
// the screenshot. Opt-in: set ADX_CHROMIUM_TEST=1 with chromium on PATH.
// With -update it also refreshes testdata/report/report.png.
func TestReportChromium(t *testing.T) {
	if os.Getenv("ADX_CHROMIUM_TEST") != "1" {
		t.Skip("skipping headless Chromium rendering: set ADX_CHROMIUM_TEST=1 (and have chromium on PATH) to run it")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("skipping headless Chromium rendering: chromium is not on PATH (apt-get install -y chromium)")
	}
	a, b := readReportFixtures(t)
	dir := t.TempDir()
	page, shot := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.png")
	var buf bytes.Buffer
	if err := WriteReport(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1200,2350", "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(raw) < 20<<10 {
		t.Errorf("screenshot is only %d bytes", len(raw))
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if colors := countColors(img, 50); colors < 10 {
		t.Errorf("screenshot has only %d colours: blank page?", colors)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "report", "report.png"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countColors counts distinct colours in img, stopping at limit.
func countColors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			seen[[4]uint32{c0, c1, c2, c3}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
