package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var adxBinary string

// TestMain builds the adx binary once, so that the tests below run it as a
// real process, the way an operator does.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "adx-cmd-test")
	if err != nil {
		panic(err)
	}
	adxBinary = filepath.Join(dir, "adx")
	build := exec.Command("go", "build", "-o", adxBinary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("cannot build adx: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runAdx(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(adxBinary, args...)
	cmd.Env = append(append(os.Environ(), eventsEnv(t)), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// TestServeDefaultsAndSIGTERM starts `adx` with no config, posts every
// example request, and stops it with SIGTERM.
func TestServeDefaultsAndSIGTERM(t *testing.T) {
	cmd := exec.Command(adxBinary, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0", "-shutdown.drainDelay", "100ms")
	cmd.Env = append(os.Environ(), eventsEnv(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var started struct{ Msg, Public, Admin string }
	for lines.Scan() {
		if err := json.Unmarshal(lines.Bytes(), &started); err != nil {
			t.Fatalf("log line %q is not JSON: %v", lines.Text(), err)
		}
		if started.Msg == "adx serving" {
			break
		}
	}
	if started.Public == "" {
		t.Fatal("adx never logged that it was serving")
	}
	go io.Copy(io.Discard, stdout)

	examples, _ := filepath.Glob("../../examples/*.json")
	for _, f := range examples {
		body, _ := os.ReadFile(f)
		resp, err := http.Post("http://"+started.Public+"/openrtb2/auction", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"seat":"house"`)) {
			t.Errorf("%s: status %d body %s, want a house bid", f, resp.StatusCode, b)
		}
	}
	for _, path := range []string{"/livez", "/readyz", "/version", "/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1", "/debug/pprof/cmdline"} {
		resp, err := http.Get("http://" + started.Admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("admin %s: status %d, %d bytes; want 200 with a body", path, resp.StatusCode, len(body))
		}
		if path == "/version" && (!bytes.Contains(body, []byte(`"sha256"`)) || !bytes.Contains(body, []byte(`"go_version"`))) {
			t.Errorf("/version lacks the config hash or build info:\n%s", body)
		}
	}
	resp, err := http.Get("http://" + started.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		"adx_http_requests_total{endpoint=\"auction\",status=\"200\"}", "adx_auction_duration_seconds_bucket",
		"adx_demand_requests_total{demand=\"house\",outcome=\"bid\"}", "adx_demand_requests_total{demand=\"house\",outcome=\"timeout\"}",
		"adx_demand_bids_total", "adx_bids_dropped_total", "adx_demand_latency_seconds_bucket",
		"adx_auctions_inflight", "adx_http_shed_total", "adx_go_gc_cpu_fraction", "adx_go_memory_used_bytes",
		"adx_memory_limit_bytes", "adx_gomaxprocs", "adx_http_listen_backlog", "adx_tcp_listen_overflows_total",
		"adx_tcp_listen_drops_total", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !bytes.Contains(metrics, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("adx exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("adx did not exit after SIGTERM")
	}
}

func TestConfigCommands(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("demand:\n  - name: dsp-a\n    type: openrtb\n    endpoint: \"http://127.0.0.1:9001/bid\"\n    timeout: 120\n"), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("demand:\n  - {name: dsp-a, type: openrtb, endpoint: \"http://127.0.0.1:9001/bid\", headers: {Authorization: \"Bearer tok-123\"}}\n"), 0o644)

	_, stderr, code := runAdx(t, nil, "config", "check", bad)
	if code != 1 || !strings.Contains(stderr, "demand[0].timeout") || !strings.Contains(stderr, "bad.yaml") {
		t.Errorf("config check bad.yaml: exit %d stderr %q, want 1 naming the file and demand[0].timeout", code, stderr)
	}
	stdout, stderr, code := runAdx(t, nil, "config", "check", good)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("config check good.yaml: exit %d %q %q", code, stdout, stderr)
	}
	stdout, _, code = runAdx(t, []string{"ADX_AUCTION_DEFAULTTMAX=90ms", "ADX_CONFIG=" + good}, "config", "print", "-http.listen", ":7777")
	for _, want := range []string{"listen: :7777", "default_tmax: 90ms", "dsp-a", "<redacted>"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("config print: exit %d, output lacks %q:\n%s", code, want, stdout)
		}
	}
	if strings.Contains(stdout, "tok-123") {
		t.Errorf("config print leaked a secret:\n%s", stdout)
	}
	_, stderr, code = runAdx(t, nil, "-config", bad, "-http.listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "demand[0].timeout") {
		t.Errorf("serve with a bad config: exit %d stderr %q, want 1 naming the key", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	stdout, _, code := runAdx(t, nil, "-h")
	if code != 0 || !strings.Contains(stdout, "mockdsp") || !strings.Contains(stdout, "config") {
		t.Errorf("adx -h: exit %d\n%s", code, stdout)
	}
	_, stderr, code := runAdx(t, nil, "serve", "-h")
	if code != 0 || !strings.Contains(stderr, "-http.listen") || !strings.Contains(stderr, "ADX_HTTP_LISTEN") {
		t.Errorf("adx serve -h: exit %d\n%s", code, stderr)
	}
	stdout, _, code = runAdx(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "adx ") {
		t.Errorf("adx version: exit %d %q", code, stdout)
	}
	_, _, code = runAdx(t, nil, "nonsense")
	if code != 2 {
		t.Errorf("adx nonsense: exit %d, want 2", code)
	}
}

// eventsEnv returns the environment setting that puts the event file, and
// the spill beside it, in a directory of the test's own: each adx process
// needs its own spill.
func eventsEnv(t testing.TB) string {
	return "ADX_EVENTS_FILE=" + filepath.Join(t.TempDir(), "events", "events.jsonl")
}
