package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeviceDBCLI(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "db.snap")
	f := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != wantCode {
			t.Fatalf("adx %q: exit %d, want %d; stderr: %s", args, code, wantCode, stderr.String())
		}
		if !strings.Contains(stdout.String()+stderr.String(), wantOut) {
			t.Fatalf("adx %q: output %q lacks %q", args, stdout.String()+stderr.String(), wantOut)
		}
		return stdout.String()
	}
	f(0, "devices", "devicedb", "compile", "-importPlay", "../../devicedb/testdata/play/android-supported-devices.json.gz", "-o", snap, "../../devicedb/default.yaml")
	f(0, ": ok,", "devicedb", "check", snap)
	f(0, ": ok,", "devicedb", "check", "../../devicedb/testdata/wurfl/mini.xml")
	out := f(0, `"match": "token"`, "devicedb", "lookup", "-sua", `{"model":"SM-S918B"}`,
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36")
	var r struct{ Make, Model string }
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Make != "Samsung" || r.Model != "SM-S918B" {
		t.Fatalf("lookup printed %s (%v)", out, err)
	}
	// A Play-only model resolves with the compiled DB, not with the embedded one.
	f(0, `"make": "Samsung"`, "devicedb", "lookup", "-db", snap, "Mozilla/5.0 (Linux; Android 9; SM-G960F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36")
	bad := filepath.Join(dir, "bad.snap")
	data, _ := os.ReadFile(snap)
	os.WriteFile(bad, data[:len(data)/2], 0o644)
	f(1, "truncated", "devicedb", "check", bad)
	src := filepath.Join(dir, "bad.yaml")
	os.WriteFile(src, []byte("format: adx-devicedb/1\nversion: x\ndevices:\n  - id: generic\n  - id: a\n    fall_back: b\n"), 0o644)
	f(1, `device "a": fall_back: no device "b"`, "devicedb", "compile", "-o", filepath.Join(dir, "x"), src)
	f(2, "need -o", "devicedb", "compile", src)
	f(2, "unknown command", "devicedb", "frob")
}
