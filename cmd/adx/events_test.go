package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEventsReport runs `adx events report` on the events package's
// golden event file: text and -json must match the package's golden
// outputs, a gzip copy read from stdin must give the same report, and a
// missing file still prints the report of the others and exits 1.
func TestEventsReport(t *testing.T) {
	dir := filepath.Join("..", "..", "events", "testdata")
	in := filepath.Join(dir, "events.jsonl")
	f := func(args []string, stdin []byte, wantCode int, wantFile, wantStderr string) {
		t.Helper()
		cmd := exec.Command(adxBinary, append([]string{"events", "report"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		code := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			code = ee.ExitCode()
		}
		if code != wantCode || !strings.Contains(e.String(), wantStderr) {
			t.Fatalf("adx events report %v: exit %d, stderr %q; want %d and %q", args, code, e.String(), wantCode, wantStderr)
		}
		if wantFile == "" {
			return
		}
		want, err := os.ReadFile(filepath.Join(dir, wantFile))
		if err != nil {
			t.Fatal(err)
		}
		if o.String() != string(want) {
			t.Errorf("adx events report %v: stdout differs from %s:\n got:\n%s\nwant:\n%s", args, wantFile, o.String(), want)
		}
	}
	f([]string{in}, nil, 0, "report.txt", "")
	f([]string{"-json", in}, nil, 0, "report.json", "")

	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	f([]string{"-json", "-"}, gz.Bytes(), 0, "report.json", "")
	gzFile := filepath.Join(t.TempDir(), "events.jsonl.gz")
	if err := os.WriteFile(gzFile, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{gzFile}, nil, 0, "report.txt", "")

	// The same events twice over: every one a duplicate the second time.
	out, _, code := runAdx(t, nil, "events", "report", in, gzFile)
	if code != 0 || !strings.Contains(out, "inputs 2, lines 34: events 11, duplicates 15, malformed 8") {
		t.Errorf("two copies: exit %d, report starts %q", code, strings.SplitN(out, "\n", 2)[0])
	}

	missing := filepath.Join(t.TempDir(), "missing.jsonl")
	f([]string{"-json", missing, in}, nil, 1, "report.json", "missing.jsonl")
	f(nil, nil, 2, "", "Usage: adx events report")
	f([]string{"-nosuchflag", in}, nil, 2, "", "-nosuchflag")
	_, stderr, code := runAdx(t, nil, "events")
	if code != 2 || !strings.Contains(stderr, "adx events report") {
		t.Errorf("adx events: exit %d stderr %q, want 2 and the usage", code, stderr)
	}
}
