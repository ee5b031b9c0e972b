package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCompareGolden compares two fixed results against
// testdata/compare/ab.txt (regenerate with -update).
func TestCompareGolden(t *testing.T) {
	a := &Result{RequestedRate: 1000, AchievedRate: 999.5, Sent: 5000, Errors: 2,
		LatencyMS: Percentiles{P50: 1.5, P90: 3, P99: 12, P999: 40, Max: 210},
		ServiceMS: Percentiles{P50: 1.2, P90: 2, P99: 5, P999: 9, Max: 200}}
	b := &Result{RequestedRate: 1000, AchievedRate: 1000, Sent: 5000,
		LatencyMS: Percentiles{P50: 0.5, P90: 1, P99: 2, P999: 4, Max: 8},
		ServiceMS: Percentiles{P50: 0.4, P90: 0.9, P99: 1.9, P999: 3.5, Max: 7}}
	var got bytes.Buffer
	if err := Compare(&got, a, b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "compare", "ab.txt")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("got\n%s\nwant\n%s", got.Bytes(), want)
	}
}
