package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
	"github.com/adx-exchange/adx/internal/waittest"
)

// startAdx runs the adx binary with args and returns its public and admin
// addresses, read from its startup log line.
func startAdx(t *testing.T, args ...string) (cmd *exec.Cmd, public, admin string) {
	t.Helper()
	return startAdxCommand(t, adxBinary, nil, append([]string{"-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0"}, args...)...)
}

// startAdxCommand runs name with args and env added to the environment;
// the command must end up running adx.
func startAdxCommand(t *testing.T, name string, env []string, args ...string) (cmd *exec.Cmd, public, admin string) {
	t.Helper()
	return startAdxWatching(t, name, env, nil, args...)
}

// startAdxWatching is startAdxCommand that also hands every log line adx
// writes to onLine (nil: none), from one goroutine.
func startAdxWatching(t *testing.T, name string, env []string, onLine func(line []byte), args ...string) (cmd *exec.Cmd, public, admin string) {
	t.Helper()
	cmd = exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), eventsEnv(t)), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if onLine != nil {
			onLine(lines.Bytes())
		}
		var l struct{ Msg, Public, Admin string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "adx serving" {
			go func() {
				for lines.Scan() {
					if onLine != nil {
						onLine(lines.Bytes())
					}
					if bytes.Contains(lines.Bytes(), []byte(`"outcome":"error"`)) || bytes.Contains(lines.Bytes(), []byte(`"outcome":"timeout"`)) {
						t.Logf("adx: %s", lines.Text())
					}
				}
			}()
			return cmd, l.Public, l.Admin
		}
	}
	t.Fatal("adx never logged that it was serving")
	return nil, "", ""
}

// configWithMockDSP starts a mock DSP on loopback for the test's lifetime
// and returns the path of an adx config that has it as its one demand
// partner.
func configWithMockDSP(t *testing.T, dspCfg bench.MockDSPConfig) string {
	t.Helper()
	dsp, err := bench.NewMockDSP(dspCfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go dsp.Serve(ln)
	t.Cleanup(func() { dsp.Close() })
	cfg := filepath.Join(t.TempDir(), "adx.yaml")
	if err := os.WriteFile(cfg, []byte("demand:\n  - {name: dsp, type: openrtb, endpoint: \"http://"+ln.Addr().String()+"/bid\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSIGTERMDrainsUnderLoad: on SIGTERM /readyz turns 503 at once, the
// public port keeps answering through the drain delay, every auction in
// flight when the listener closes completes, and adx exits 0.
func TestSIGTERMDrainsUnderLoad(t *testing.T) {
	cfg := configWithMockDSP(t, bench.MockDSPConfig{BidRate: 1, Price: 2, Latency: 150 * time.Millisecond})

	const drainDelay = 1500 * time.Millisecond
	cmd, public, admin := startAdx(t, "-config", cfg, "-shutdown.drainDelay", drainDelay.String(), "-shutdown.timeout", "5s", "-log.sampleRate", "1")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Warm up (first connections to the DSP, first use of the JSON codecs),
	// so that the load below measures the drain and nothing else.
	body := `{"id":"r","tmax":1000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`
	for range 3 {
		resp, err := http.Post("http://"+public+"/openrtb2/auction", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	var sigAt atomic.Int64 // unix nanos of SIGTERM; 0 before
	var ok, failedInDrain, refusedAfter atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the clients keep connections alive, half dial anew each time.
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: w%2 == 0}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				resp, err := c.Post("http://"+public+"/openrtb2/auction", "application/json", strings.NewReader(body))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				sent := sigAt.Load()
				inDrain := sent != 0 && start.UnixNano() < sent+int64(drainDelay)-int64(200*time.Millisecond)
				switch {
				case err == nil && resp.StatusCode == 200:
					ok.Add(1)
				case sent == 0 || inDrain:
					failedInDrain.Add(1)
					if err == nil {
						err = errors.New(resp.Status)
					}
					failures.Store(start.String(), err)
				default:
					refusedAfter.Add(1) // the listener closed: expected
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	// SIGTERM once the load is running: auctions are being answered.
	for deadline := time.Now().Add(30 * time.Second); ok.Load() < 8; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the load got %d answers in 30s", ok.Load())
		}
	}
	sigAt.Store(time.Now().UnixNano())
	cmd.Process.Signal(syscall.SIGTERM)

	// /readyz flips while the public port still serves.
	flipped := false
	for deadline := time.Unix(0, sigAt.Load()).Add(drainDelay); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 503 && strings.Contains(string(b), "draining") {
				flipped = true
				break
			}
		}
	}
	if !flipped {
		t.Errorf("/readyz did not turn 503 within the %v drain delay after SIGTERM", drainDelay)
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("adx exited with %v, want 0", err)
		}
	case <-time.After(drainDelay + 8*time.Second):
		t.Fatal("adx did not exit")
	}
	if took := time.Duration(time.Now().UnixNano() - sigAt.Load()); took < drainDelay {
		t.Errorf("adx exited %v after SIGTERM, before the %v drain delay", took, drainDelay)
	}
	close(stop)
	wg.Wait()
	failures.Range(func(k, v any) bool { t.Logf("failed at %v: %v", k, v); return true })
	if failedInDrain.Load() > 0 {
		t.Errorf("%d requests failed before or during the drain delay; want none", failedInDrain.Load())
	}
	if ok.Load() < 20 {
		t.Errorf("only %d requests answered 200; the load was too light to prove anything", ok.Load())
	}
	t.Logf("answered 200: %d; refused after the listener closed: %d", ok.Load(), refusedAfter.Load())
}

// TestSecondSIGTERMExitsAtOnce: a second signal during the drain delay
// ends the process without waiting.
func TestSecondSIGTERMExitsAtOnce(t *testing.T) {
	cmd, _, admin := startAdx(t, "-shutdown.drainDelay", "30s")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	cmd.Process.Signal(syscall.SIGTERM)
	// The first signal is handled once /readyz says draining.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 503 {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("adx ended on the first SIGTERM (%v) instead of draining", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 within 10s of SIGTERM")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited: // well before the 30s drain delay
	case <-time.After(15 * time.Second):
		t.Fatal("adx ignored the second SIGTERM")
	}
}

// TestSIGTERMResetsNoQueuedConnection: a connection whose handshake the
// kernel completed before the drain delay ended is served, never reset,
// even if it still waits in the accept queue when the delay ends. Clients
// open a fresh connection per request (as many SSP stacks do) in a closed
// loop, so adx runs at its capacity; then adx is stopped (SIGSTOP, as a
// CPU-starved pod is) across the end of the drain delay while more
// connections arrive, so that the queue surely holds connections when the
// delay ends: /proc/net/tcp shows how many, the positive control.
func TestSIGTERMResetsNoQueuedConnection(t *testing.T) {
	const (
		drainDelay = 1500 * time.Millisecond
		workers    = 32 // closed-loop clients, a fresh connection per request
		burst      = 64 // connections dialed while adx is stopped
	)
	var drainLog sync.Map // adx's lines about the drain, to explain a failure
	cmd, public, _ := startAdxWatching(t, adxBinary, nil, func(line []byte) {
		if bytes.Contains(line, []byte("drain")) || bytes.Contains(line, []byte("queue")) || bytes.Contains(line, []byte(`"level":"WARN"`)) {
			drainLog.Store(string(line), true)
		}
	}, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0", "-shutdown.drainDelay", drainDelay.String(), "-shutdown.timeout", "10s")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	_, port, _ := net.SplitHostPort(public)

	body := `{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`
	request := []byte("POST /openrtb2/auction HTTP/1.1\r\nHost: adx\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)

	var sigAt atomic.Int64 // unix nanos of SIGTERM; 0 before
	var servedBefore, servedAfter, failedBefore, failedAfter atomic.Int64
	var failures sync.Map
	// post sends one request on a fresh connection and reads the answer. It
	// returns false once the listener refuses connections after SIGTERM.
	post := func() bool {
		c, err := net.DialTimeout("tcp", public, 10*time.Second)
		dialed := time.Now()
		sent := sigAt.Load()
		before := sent == 0 || dialed.UnixNano() < sent+int64(drainDelay)
		if err == nil {
			c.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err = c.Write(request); err == nil {
				var resp *http.Response
				if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					if err == nil && resp.StatusCode != 200 {
						err = errors.New(resp.Status)
					}
				}
			}
			c.Close()
		}
		switch {
		case err == nil && before:
			servedBefore.Add(1)
		case err == nil:
			servedAfter.Add(1)
		case before:
			failedBefore.Add(1)
			failures.Store(time.Duration(sent+int64(drainDelay)-dialed.UnixNano()).String(), err)
		default:
			failedAfter.Add(1) // after the drain delay: the listener may close
			if errors.Is(err, syscall.ECONNREFUSED) {
				return false
			}
		}
		return true
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for post() {
			}
		}()
	}
	waittest.For(t, "requests served before SIGTERM", func() bool { return servedBefore.Load() >= 100 })

	sigAt.Store(time.Now().UnixNano())
	cmd.Process.Signal(syscall.SIGTERM)
	// Halfway through the delay adx stops running; the kernel keeps
	// completing handshakes into the accept queue.
	time.Sleep(drainDelay / 2)
	cmd.Process.Signal(syscall.SIGSTOP)
	waittest.For(t, "adx to stop", func() bool { return processState(t, cmd.Process.Pid) == "T" })
	for range burst {
		wg.Add(1)
		go func() { defer wg.Done(); post() }()
	}
	queued := 0
	waittest.For(t, "the burst in the accept queue", func() bool {
		queued = acceptQueueLen(t, port)
		return queued >= burst
	})
	end := time.Unix(0, sigAt.Load()).Add(drainDelay)
	time.Sleep(time.Until(end.Add(100 * time.Millisecond))) // resume after the delay ended
	if q := acceptQueueLen(t, port); q > queued {
		queued = q
	}
	cmd.Process.Signal(syscall.SIGCONT)

	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("adx exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("adx did not exit")
	}
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Logf("dialed %v before the drain delay ended: %v", k, v)
		return true
	})
	drainLog.Range(func(k, _ any) bool { t.Logf("adx: %s", k); return true })
	t.Logf("accept queue when the drain delay ended: %d; dialed before it ended: %d served, %d failed; after: %d served, %d failed",
		queued, servedBefore.Load(), failedBefore.Load(), servedAfter.Load(), failedAfter.Load())
	if n := failedBefore.Load(); n > 0 {
		t.Errorf("%d connections dialed before the drain delay ended were reset or not answered 200; want none", n)
	}
}

// acceptQueueLen returns how many connections wait in the accept queue of
// the IPv4 socket listening on port, from /proc/net/tcp: for a listening
// socket its rx_queue column is the accept queue's length.
func acceptQueueLen(t *testing.T, port string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("skipping: cannot read the accept queue: %v", err)
	}
	p, _ := strconv.Atoi(port)
	suffix := fmt.Sprintf(":%04X", p)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], suffix) || f[3] != "0A" {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseInt(rx, 16, 64)
		if err != nil {
			t.Fatalf("cannot parse /proc/net/tcp line %q: %v", line, err)
		}
		return int(n)
	}
	t.Fatalf("no socket listening on port %s in /proc/net/tcp", port)
	return 0
}

// processState returns the state letter of process pid from
// /proc/PID/stat: "T" once it is stopped.
func processState(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("skipping: cannot read the process state: %v", err)
	}
	// pid (comm) state ...: comm may hold spaces, so cut at its last ')'.
	_, rest, _ := strings.Cut(string(data[bytes.LastIndexByte(data, ')'):]), ") ")
	state, _, _ := strings.Cut(rest, " ")
	return state
}
