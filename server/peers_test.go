package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/signalcorpus"
	"github.com/adx-exchange/adx/privacy"
)

// The whole-server benchmark and allocation test run the server's peers,
// the SSP's client and the DSPs, in a child process (this test binary,
// started again with peersEnv set), so that every allocation the test
// process counts (runtime.MemStats, b.ReportAllocs) is the server's. Go
// cannot tell one goroutine's allocations from another's: in the same
// process, the client's and the DSPs' (about 1.1 KB and 9 objects per
// auction and DSP, BenchmarkAuction's peer-B/op and peer-allocs/op) would
// be counted as the server's. The child talks to the test over its stdin
// and stdout, one line a message:
//
//	child:  dsps URL...        the fake DSPs' base URLs, once started
//	parent: target URL         the auction URL to send requests to
//	child:  ok
//	parent: corpus KIND        send the corpus as it is (as), stripped of
//	                           privacy signals (none), with every one
//	                           (every) or with their bytes but no
//	                           signal (carried; see signalcorpus)
//	child:  ok
//	parent: run N              send N requests, peerConns at a time
//	child:  done N200 N204 B A how many got each status, and the bytes
//	                           and objects the child allocated meanwhile
//	child:  fail MESSAGE       a request failed or got another status
//
// The child exits when its stdin closes.
const peersEnv = "ADX_SERVER_TEST_PEERS"

// peerConns is how many keep-alive connections, each with one request at
// a time, the client keeps to the server: enough to keep two cores busy.
const peerConns = 8

// peerDSPPrice is the CPM of the fake DSPs' bids (raised to the floor
// where one is higher).
const peerDSPPrice = 1.5

// TestMain runs the tests, or, in a child started by startPeers, the peers.
func TestMain(m *testing.M) {
	if n := os.Getenv(peersEnv); n != "" {
		if err := runPeers(n, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "server test peers:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// peers is the test's end of a child process running the server's peers.
type peers struct {
	dsps []string // the fake DSPs' base URLs
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startPeers starts a child running dsps fake DSPs (zero latency, a bid on
// every imp) and a client; it ends with the test.
func startPeers(tb testing.TB, dsps int) *peers {
	tb.Helper()
	return startPeersWith(tb, dsps, (*exec.Cmd).Start)
}

// startPeersWith is startPeers with the child started by start, which may
// e.g. bind it to some CPUs first.
func startPeersWith(tb testing.TB, dsps int, start func(*exec.Cmd) error) *peers {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), peersEnv+"="+strconv.Itoa(dsps))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := start(cmd); err != nil {
		tb.Fatalf("cannot start the peers: %v", err)
	}
	tb.Cleanup(func() {
		in.Close() // the child exits at EOF
		if err := cmd.Wait(); err != nil {
			tb.Errorf("peers: %v", err)
		}
	})
	p := &peers{in: in, out: bufio.NewScanner(out)}
	urls, ok := strings.CutPrefix(p.read(tb), "dsps ")
	if !ok {
		tb.Fatalf("peers: want the DSPs' URLs first")
	}
	p.dsps = strings.Fields(urls)
	return p
}

// read returns the child's next line; a "fail" line fails the test.
func (p *peers) read(tb testing.TB) string {
	tb.Helper()
	if !p.out.Scan() {
		tb.Fatalf("peers ended: %v", p.out.Err())
	}
	line := p.out.Text()
	if msg, ok := strings.CutPrefix(line, "fail "); ok {
		tb.Fatalf("peers: %s", msg)
	}
	return line
}

func (p *peers) send(tb testing.TB, line string) {
	tb.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		tb.Fatalf("cannot write to the peers: %v", err)
	}
}

// demandConfig is a config document with the fake DSPs as demand.
func (p *peers) demandConfig() string {
	var b strings.Builder
	b.WriteString("demand:\n")
	for i, u := range p.dsps {
		fmt.Fprintf(&b, "  - {name: dsp-%d, type: openrtb, endpoint: %q}\n", i+1, u+"/bid")
	}
	return b.String()
}

// demandConfigGVL is demandConfig with each DSP's gvl_id, its position
// from 1 (dsp-1 is vendor 1): the vendors the corpus with every signal
// grants consent to.
func (p *peers) demandConfigGVL() string {
	var b strings.Builder
	b.WriteString("demand:\n")
	for i, u := range p.dsps {
		fmt.Fprintf(&b, "  - {name: dsp-%d, type: openrtb, endpoint: %q, gvl_id: %d}\n", i+1, u+"/bid", i+1)
	}
	return b.String()
}

// corpus has the client send the corpus as it is ("as"), stripped of
// privacy signals ("none"), with every one ("every") or with their bytes
// but no signal ("carried"): see signalcorpus.
func (p *peers) corpus(tb testing.TB, kind string) {
	tb.Helper()
	p.send(tb, "corpus "+kind)
	if line := p.read(tb); line != "ok" {
		tb.Fatalf("peers: %q, want ok", line)
	}
}

// dspNames returns the demand partners' names in demandConfig.
func (p *peers) dspNames() []string {
	names := make([]string, len(p.dsps))
	for i := range names {
		names[i] = fmt.Sprintf("dsp-%d", i+1)
	}
	return names
}

// target points the client at an auction URL.
func (p *peers) target(tb testing.TB, url string) {
	tb.Helper()
	p.send(tb, "target "+url)
	if line := p.read(tb); line != "ok" {
		tb.Fatalf("peers: %q, want ok", line)
	}
}

// runResult is what one run of the client saw.
type runResult struct {
	bids, noBids          int    // answers 200 and 204
	peerBytes, peerAllocs uint64 // heap bytes and objects the child allocated
}

// run sends n requests; any answer but 200 or 204 fails the test.
func (p *peers) run(tb testing.TB, n int) runResult {
	tb.Helper()
	p.send(tb, "run "+strconv.Itoa(n))
	line := p.read(tb)
	var r runResult
	if _, err := fmt.Sscanf(line, "done %d %d %d %d", &r.bids, &r.noBids, &r.peerBytes, &r.peerAllocs); err != nil || r.bids+r.noBids != n {
		tb.Fatalf("peers: %q, want done and two counts adding up to %d", line, n)
	}
	return r
}

// runPeers is the child: dsps fake DSPs, then a client driven by the
// commands on in.
func runPeers(dsps string, in io.Reader, out io.Writer) error {
	n, err := strconv.Atoi(dsps)
	if err != nil || n < 1 {
		return fmt.Errorf("%s=%q: want a DSP count", peersEnv, dsps)
	}
	corpus, err := corpusBidRequests()
	if err != nil {
		return err
	}
	corpora := map[string][][]byte{"as": corpus}
	if corpora["none"], corpora["every"], corpora["carried"], err = signalcorpus.Corpora(corpus, gvlIDs(n)); err != nil {
		return err
	}
	bodies := corpus
	urls := make([]string, n)
	for i := range urls {
		d, u, err := listenFakeDSP(dspConfig{Price: peerDSPPrice})
		if err != nil {
			return err
		}
		defer d.close()
		urls[i] = u
	}
	fmt.Fprintln(out, "dsps", strings.Join(urls, " "))
	client := &fasthttp.Client{MaxConnsPerHost: peerConns, ReadBufferSize: 16 << 10}
	var target string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "target":
			target = arg
			fmt.Fprintln(out, "ok")
		case "corpus":
			if corpora[arg] == nil {
				return fmt.Errorf("bad command %q", sc.Text())
			}
			bodies = corpora[arg]
			fmt.Fprintln(out, "ok")
		case "run":
			count, err := strconv.Atoi(arg)
			if err != nil || target == "" {
				return fmt.Errorf("bad command %q", sc.Text())
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			bids, noBids, err := drive(client, target, bodies, count)
			runtime.ReadMemStats(&after)
			if err != nil {
				fmt.Fprintln(out, "fail", err)
				continue
			}
			fmt.Fprintln(out, "done", bids, noBids, after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return sc.Err()
}

// drive posts n requests to url over peerConns keep-alive connections,
// taking bodies in turn, and counts the 200 and 204 answers.
func drive(client *fasthttp.Client, url string, bodies [][]byte, n int) (bids, noBids int, err error) {
	var next, ok200, ok204 atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range peerConns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(url)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				body := bodies[i%int64(len(bodies))]
				req.SetBodyRaw(body)
				if e := client.DoTimeout(req, resp, 5*time.Second); e != nil {
					once.Do(func() { err = fmt.Errorf("request %d: %w", i, e) })
					return
				}
				switch resp.StatusCode() {
				case fasthttp.StatusOK:
					ok200.Add(1)
				case fasthttp.StatusNoContent:
					ok204.Add(1)
				default:
					once.Do(func() { err = fmt.Errorf("request %d: status %d: %s", i, resp.StatusCode(), resp.Body()) })
					return
				}
			}
		})
	}
	wg.Wait()
	return int(ok200.Load()), int(ok204.Load()), err
}

// corpusBidRequests returns the valid bid requests of the OpenRTB corpus in
// testdata/openrtb (IAB spec, Prebid Server and openrtb library examples:
// banner, video, native, app, DOOH, deals, several imps), as sent.
func corpusBidRequests() ([][]byte, error) {
	const dir = "../testdata/openrtb"
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("cannot read the corpus manifest: %w", err)
	}
	var manifest []struct {
		File  string `json:"file"`
		Kind  string `json:"kind"`
		Valid *bool  `json:"valid"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("cannot decode the corpus manifest: %w", err)
	}
	var bodies [][]byte
	for _, m := range manifest {
		if m.Kind != "bidrequest" || m.Valid == nil || !*m.Valid || corpusNativePlaceholders[m.File] {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.File)))
		if errors.Is(err, os.ErrNotExist) {
			continue // not copied into the project
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read a corpus request: %w", err)
		}
		if keptFromDemand(body) {
			continue
		}
		bodies = append(bodies, body)
	}
	if len(bodies) < 20 {
		return nil, fmt.Errorf("only %d valid bid requests in %s", len(bodies), dir)
	}
	return bodies, nil
}

// keptFromDemand reports whether the privacy signals of the request body
// keep a demand partner without a vendor id from being called (GDPR with
// a consent string that grants it nothing, say): such a request never
// takes the whole path to a DSP.
func keptFromDemand(body []byte) bool {
	var req openrtb2.BidRequest
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	var s privacy.Signals
	s.Parse(&req)
	defer s.Release()
	pol := privacy.PolicyFromConfig(&config.Defaults().Privacy)
	return !s.Decide(&pol, &privacy.Partner{}).Called()
}

// gvlIDs are the vendor ids of n fake DSPs: 1 to n (demandConfigGVL).
func gvlIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// TestSignalCorpus checks the corpora of BenchmarkPrivacyCost: with every
// signal, each request's signals parse, let vendor 1 be called and sent
// everything, and keep out a vendor the consent does not name; without,
// no request holds a signal; carried is every's length, without a signal,
// and differs from none in user.ext.carried alone.
func TestSignalCorpus(t *testing.T) {
	corpus, err := corpusBidRequests()
	if err != nil {
		t.Fatal(err)
	}
	none, every, carried, err := signalcorpus.Corpora(corpus, gvlIDs(1))
	if err != nil {
		t.Fatal(err)
	}
	pol := privacy.PolicyFromConfig(&config.Defaults().Privacy)
	for name, bodies := range map[string][][]byte{"none": none, "every": every, "carried": carried} {
		for i, body := range bodies {
			var req openrtb2.BidRequest
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("%s, request %d: %v", name, i, err)
			}
			var s privacy.Signals
			s.Parse(&req)
			d, other := s.Decide(&pol, &privacy.Partner{GVLID: 1}), s.Decide(&pol, &privacy.Partner{GVLID: 2})
			malformed := s.MalformedConsent() || s.MalformedGPP() || s.MalformedUSPrivacy()
			active := s.Active()
			s.Release()
			switch {
			case malformed:
				t.Errorf("%s, request %d: a malformed signal", name, i)
			case active != (name == "every"):
				t.Errorf("%s, request %d: signals active %v", name, i, active)
			case !d.IsZero():
				t.Errorf("%s, request %d: vendor 1 gets %+v, want called with everything", name, i, d)
			case name == "every" && other.Called():
				t.Errorf("%s, request %d: vendor 2, without consent, is called", name, i)
			}
		}
	}
	for i, body := range carried {
		var req, want openrtb2.BidRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("carried, request %d: %v", i, err)
		}
		if len(body) != len(every[i]) {
			t.Errorf("carried, request %d: %d bytes, every %d", i, len(body), len(every[i]))
		}
		json.Unmarshal(none[i], &want)
		if req.User.Ext, err = signalcorpus.SetExtKey(req.User.Ext, "carried", nil); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&req, &want) {
			t.Errorf("carried, request %d: differs from none beyond user.ext.carried", i)
		}
	}
}
