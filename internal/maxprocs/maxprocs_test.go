package maxprocs

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// keepGOMAXPROCS restores GOMAXPROCS when t ends.
func keepGOMAXPROCS(t *testing.T) {
	t.Helper()
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// TestApplyEnvWins checks that GOMAXPROCS in the environment is left alone,
// whatever the cgroup says, and that Apply logs one JSON line.
func TestApplyEnvWins(t *testing.T) {
	keepGOMAXPROCS(t)
	t.Setenv("GOMAXPROCS", "3") // the runtime read it at start; Apply must not act on the quota
	before := runtime.GOMAXPROCS(0)
	var logs bytes.Buffer

	procs, err := Apply(slog.New(slog.NewJSONHandler(&logs, nil)))

	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if procs != before || runtime.GOMAXPROCS(0) != before {
		t.Errorf("Apply() = %d, GOMAXPROCS now %d, want both unchanged at %d", procs, runtime.GOMAXPROCS(0), before)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := `"automaxprocs":"maxprocs: Honoring GOMAXPROCS=\"3\" as set in environment"`
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Fatalf("logged %q, want one line containing %s", logs.String(), want)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Errorf("log line %q is not JSON: %s", lines[0], err)
	}
}

func TestCollector(t *testing.T) {
	f := func(procs int, golden string) {
		t.Helper()
		keepGOMAXPROCS(t)
		runtime.GOMAXPROCS(procs)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewCollector())
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("scrape: %s", err)
		}
		var got bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&got, mf); err != nil {
				t.Fatalf("cannot format %s: %s", mf.GetName(), err)
			}
		}
		path := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatalf("cannot update %q: %s", path, err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("cannot read %q (run go test -update to create it): %s", path, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("scrape differs from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got.Bytes(), want)
		}
	}
	f(1, "collector-1.golden")
	f(3, "collector-3.golden")
}
