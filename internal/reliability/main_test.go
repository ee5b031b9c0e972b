package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

var long = flag.Bool("reliability.long", false, "run the long variants: longer loads, more connections, more requests")

var (
	adxBinary string
	// printedConfig is `adx config print` of the binary under test: it
	// says which settings this build knows.
	printedConfig string
)

// TestMain builds the adx binary once, without the race detector, so that
// every scenario runs it as a real process, the way an operator does.
func TestMain(m *testing.M) {
	if spec := os.Getenv(probeEnv); spec != "" {
		runLivezProbe(spec)
		return
	}
	flag.Parse()
	if raceEnabled || testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "adx-reliability")
	if err != nil {
		panic(err)
	}
	adxBinary = filepath.Join(dir, "adx")
	build := exec.Command("go", "build", "-o", adxBinary, "github.com/adx-exchange/adx/cmd/adx")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("cannot build adx: " + err.Error())
	}
	out, err := exec.Command(adxBinary, "config", "print").Output()
	if err != nil {
		panic("cannot run adx config print: " + err.Error())
	}
	printedConfig = string(out)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestReliability runs every scenario against the real binary, one after
// the other: they measure load, so they never run in parallel.
func TestReliability(t *testing.T) {
	if raceEnabled {
		t.Skip("load scenarios do not run under the race detector; CI runs them in their own line without -race")
	}
	if testing.Short() {
		t.Skip("load scenarios take minutes; not in -short")
	}
	t.Run("hostile", testHostileClients)
	t.Run("tmax", testOddTmax)
	t.Run("imps", testManyImpsAndBids)
	t.Run("overload", func(t *testing.T) { testOverload(t, *overloadDSPs) })
	t.Run("overload_fanout", func(t *testing.T) { testOverload(t, fanoutDSPs) })
	t.Run("sigterm", testSIGTERMUnderLoad)
	t.Run("dspfaults", testDSPFaults)
}

// hasSetting reports whether the binary under test knows the YAML key
// (a setting another part of the tree may not have yet).
func hasSetting(key string) bool {
	return strings.Contains(printedConfig, " "+key+":") || strings.Contains(printedConfig, "\n"+key+":")
}

// figure logs one greppable line: FIGURE name: k=v k=v ...
func figure(t testing.TB, name string, kv ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("FIGURE " + name + ":")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	t.Log(b.String())
}

// houseDemand is a demand list entry that bids on every banner.
const houseDemand = `  - name: house
    type: house
    line_items:
      - {id: house-display, cpm: 0.5, formats: [banner], adomain: [adx.example], adm: "<a href='https://adx.example'>house</a>"}
`

// writeConfig writes an adx config file and returns its path.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "adx.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDSP serves a mock DSP on loopback for the test's lifetime and
// returns it with its bid URL.
func startDSP(t testing.TB, cfg bench.MockDSPConfig) (*bench.MockDSP, string) {
	t.Helper()
	dsp, err := bench.NewMockDSP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go dsp.Serve(ln)
	t.Cleanup(func() { dsp.Close() })
	return dsp, "http://" + ln.Addr().String() + "/bid"
}

// adxProc is one running adx.
type adxProc struct {
	cmd           *exec.Cmd
	public, admin string
	exited        chan struct{} // closed once the process has exited
	exitErr       error         // valid once exited is closed

	mu       sync.Mutex
	problems []string // the first ten warning and error log lines
}

// startAdx runs adx with the config file and args, env added to the
// environment, and returns once it logs that it is serving. The test's
// cleanup kills it if it still runs, and logs its warnings and errors if
// the test failed.
func startAdx(t testing.TB, env []string, config string, args ...string) *adxProc {
	t.Helper()
	return startAdxBinary(t, adxBinary, env, config, args...)
}

// startAdxBinary is startAdx for another adx binary.
func startAdxBinary(t testing.TB, binary string, env []string, config string, args ...string) *adxProc {
	t.Helper()
	all := []string{"-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0"}
	if config != "" {
		all = append(all, "-config", config)
	}
	a := &adxProc{cmd: exec.Command(binary, append(all, args...)...), exited: make(chan struct{})}
	a.cmd.Env = append(append(os.Environ(), "ADX_EVENTS_FILE="+filepath.Join(t.TempDir(), "events", "events.jsonl")), env...)
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.cmd.Stderr = os.Stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.exitErr = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-a.exited:
		default:
			a.cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			a.mu.Lock()
			for _, l := range a.problems {
				t.Logf("adx: %s", l)
			}
			a.mu.Unlock()
		}
	})
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for lines.Scan() {
		var l struct{ Msg, Public, Admin string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "adx serving" {
			a.public, a.admin = l.Public, l.Admin
			break
		}
	}
	if a.public == "" {
		t.Fatal("adx never logged that it was serving")
	}
	// Keep reading: a full pipe would block adx's logger.
	go func() {
		for lines.Scan() {
			if l := lines.Bytes(); bytes.Contains(l, []byte(`"level":"WARN"`)) || bytes.Contains(l, []byte(`"level":"ERROR"`)) {
				a.mu.Lock()
				if len(a.problems) < 10 {
					a.problems = append(a.problems, string(l))
				}
				a.mu.Unlock()
			}
		}
	}()
	return a
}

func (a *adxProc) pid() int { return a.cmd.Process.Pid }

func (a *adxProc) auctionURL() string { return "http://" + a.public + "/openrtb2/auction" }

// waitExit waits up to d for the process to exit and returns its exit
// code, or -1 if it did not.
func (a *adxProc) waitExit(d time.Duration) int {
	select {
	case <-a.exited:
		var ee *exec.ExitError
		if errors.As(a.exitErr, &ee) {
			return ee.ExitCode()
		}
		if a.exitErr != nil {
			return -2
		}
		return 0
	case <-time.After(d):
		return -1
	}
}

// sample is one Prometheus series and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metricSet is a scrape of /metrics.
type metricSet []sample

// scrape reads the admin /metrics.
func (a *adxProc) scrape(t testing.TB) metricSet {
	t.Helper()
	m, err := a.tryScrape()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tryScrape is scrape for goroutines other than the test's.
func (a *adxProc) tryScrape() (metricSet, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + a.admin + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("cannot scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("cannot scrape /metrics: status %d, %v", resp.StatusCode, err)
	}
	return parseMetrics(body), nil
}

// parseMetrics reads the Prometheus text format: enough of it for the
// counters and gauges adx exports (no escaped quotes in label values).
func parseMetrics(body []byte) metricSet {
	var set metricSet
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		var s sample
		rest := line
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			s.name = line[:i]
			end := strings.LastIndexByte(line, '}')
			if end < i {
				continue
			}
			s.labels = map[string]string{}
			for _, kv := range splitLabels(line[i+1 : end]) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
			rest = line[end+1:]
		} else if i >= 0 {
			s.name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		set = append(set, s)
	}
	return set
}

// splitLabels splits a="x",b="y" at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// has reports whether any series of the metric is present.
func (m metricSet) has(name string) bool {
	return slices.ContainsFunc(m, func(s sample) bool { return s.name == name })
}

// sum adds the series of the metric whose labels include match (given as
// key, value pairs).
func (m metricSet) sum(name string, match ...string) float64 {
	total := 0.0
outer:
	for _, s := range m {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(match); i += 2 {
			if s.labels[match[i]] != match[i+1] {
				continue outer
			}
		}
		total += s.value
	}
	return total
}

// deltaBy lists how much each value of a metric's label grew between two
// scrapes, e.g. privacy:812,shaped:0 (values that did not grow are left
// out).
func deltaBy(before, after metricSet, name, label string) string {
	var values []string
	for _, s := range after {
		if v, ok := s.labels[label]; ok && s.name == name && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	var parts []string
	for _, v := range values {
		if n := after.sum(name, label, v) - before.sum(name, label, v); n != 0 {
			parts = append(parts, v+":"+strconv.FormatFloat(n, 'f', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// status5xx counts the 5xx answers adx says it gave.
func (m metricSet) status5xx() float64 {
	total := 0.0
	for _, s := range m {
		if s.name == "adx_http_requests_total" && strings.HasPrefix(s.labels["status"], "5") {
			total += s.value
		}
	}
	return total
}

// rss returns the process's resident set size from /proc/PID/status.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("cannot read the RSS of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				t.Fatalf("cannot parse %q", line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// rssPeak samples a process's RSS every 100 ms until stopped.
type rssPeak struct {
	stop chan struct{}
	done chan int64
}

func watchRSS(t *testing.T, pid int) *rssPeak {
	p := &rssPeak{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		peak := int64(0)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
						if f := strings.Fields(rest); len(f) == 2 {
							kb, _ := strconv.ParseInt(f[0], 10, 64)
							peak = max(peak, kb<<10)
						}
					}
				}
			}
			select {
			case <-p.stop:
				p.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// end stops the sampler and returns the highest RSS it saw.
func (p *rssPeak) end() int64 {
	close(p.stop)
	return <-p.done
}

// cpuTime returns the CPU time (user + system) a process has used, from
// /proc/PID/stat, or -1.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// machineBusy returns the CPU time all CPUs have spent not idle, from
// /proc/stat, or -1.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// cpuMeter measures, over a span, the CPU adx used, the test process used
// (generator and mock DSP) and everything else on the machine used.
type cpuMeter struct {
	pid              int
	start            time.Time
	adx, self, total time.Duration
}

func startCPU(pid int) *cpuMeter {
	return &cpuMeter{pid: pid, start: time.Now(), adx: cpuTime(pid), self: cpuTime(os.Getpid()), total: machineBusy()}
}

// cores returns the CPUs used on average since start: by adx, by the test
// process, and by the rest of the machine.
func (c *cpuMeter) cores() (adx, self, others float64) {
	wall := time.Since(c.start).Seconds()
	a := (cpuTime(c.pid) - c.adx).Seconds() / wall
	s := (cpuTime(os.Getpid()) - c.self).Seconds() / wall
	tot := (machineBusy() - c.total).Seconds() / wall
	return a, s, max(tot-a-s, 0)
}

// clientFrom returns an HTTP client whose connections come from the
// loopback source address ip (any 127.0.0.0/8 address works on Linux), so
// that adx sees a distinct client.
func clientFrom(ip string, keepAlive bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: timeout}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: d.DialContext, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64,
	}}
}

// answer is one HTTP answer as a client saw it.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
	err    error // transport error: no answer
}

func postJSON(c *http.Client, url, body string) answer {
	start := time.Now()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err, took: time.Since(start)}
}

// jsonError returns the "error" of a JSON error body, or "".
func jsonError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error
}

// bannerRequest is a valid one-imp request with the given tmax JSON value
// ("" leaves tmax out).
func bannerRequest(id, tmax string) string {
	t := ""
	if tmax != "" {
		t = `"tmax":` + tmax + `,`
	}
	return `{"id":"` + id + `",` + t + `"imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"page":"https://pub.example/"}}`
}

// percentile returns the q-quantile (0..1) of d, sorting it.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// ms formats a duration in milliseconds with a unit.
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }

// mb formats bytes in MiB with a unit.
func mb(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MB" }

// scale sizes the scenarios: small enough by default for CI on a loaded
// 2-core machine, larger with -reliability.long.
type scale struct {
	slowConns, idleConns int           // hostile connections from one IP
	otherIPRequests      int           // requests from the second IP meanwhile
	repeats              int           // header floods and 413s per case
	rampStep             time.Duration // each capacity step
	overload             time.Duration // the 3x window
	recovery             time.Duration // the 50% window after it
	sigtermLoad          time.Duration // load before SIGTERM
	drainDelay           time.Duration // shutdown.drain_delay under SIGTERM
	faultRequests        int           // requests per DSP fault mode
}

func sizes() scale {
	if *long {
		return scale{slowConns: 10000, idleConns: 10000, otherIPRequests: 500, repeats: 100,
			rampStep: 5 * time.Second, overload: 60 * time.Second, recovery: 15 * time.Second,
			sigtermLoad: 5 * time.Second, drainDelay: 5 * time.Second, faultRequests: 200}
	}
	return scale{slowConns: 2000, idleConns: 2000, otherIPRequests: 100, repeats: 10,
		rampStep: 2 * time.Second, overload: 10 * time.Second, recovery: 8 * time.Second,
		sigtermLoad: 2 * time.Second, drainDelay: 2 * time.Second, faultRequests: 20}
}
