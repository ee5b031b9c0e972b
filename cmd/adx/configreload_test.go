package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/adx-exchange/adx/internal/waittest"
)

// reloadConfig is a config with house demand partners: each name bids
// cpm on a 300x250 banner; takeRate is the exchange's margin.
func reloadConfig(takeRate string, houses ...string) string {
	var b strings.Builder
	b.WriteString("auction:\n  take_rate: " + takeRate + "\ndemand:\n")
	for i := 0; i < len(houses); i += 2 {
		b.WriteString("  - name: " + houses[i] + "\n    type: house\n    line_items:\n      - id: " + houses[i] +
			"-li\n        cpm: " + houses[i+1] + "\n        sizes: [\"300x250\"]\n        formats: [banner]\n        adomain: [\"adx.example\"]\n        adm: '<a href=\"https://adx.example\">ad</a>'\n")
	}
	return b.String()
}

func sha(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// kubeConfigDir lays out dir as kubelet mounts a ConfigMap: adx.yaml ->
// ..data/adx.yaml, ..data -> a timestamped directory. It returns the
// config path and a function that publishes a new version as kubelet
// does: a new directory, and ..data swapped to it by rename.
func kubeConfigDir(t *testing.T, doc string) (path string, publish func(doc string)) {
	t.Helper()
	dir := t.TempDir()
	n := 0
	publish = func(doc string) {
		t.Helper()
		n++
		ts := "..2026_" + strconv.Itoa(n)
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ts, "adx.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(doc)
	path = filepath.Join(dir, "adx.yaml")
	if err := os.Symlink("..data/adx.yaml", path); err != nil {
		t.Fatal(err)
	}
	return path, publish
}

// adminJSON decodes the admin endpoint path's answer into v.
func adminJSON(t *testing.T, admin, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type configStatus struct {
	SHA256    string `json:"sha256"`
	Reloads   uint64 `json:"reloads"`
	Failures  uint64 `json:"failures"`
	LastError string `json:"last_error"`
}

func configInService(t *testing.T, admin string) configStatus {
	t.Helper()
	var v struct{ Config configStatus }
	adminJSON(t, admin, "/version", &v)
	return v.Config
}

// metricValue returns the value of the /metrics line that starts with
// series, or -1.
func metricValue(t *testing.T, admin, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return -1
}

// auctionWinner posts the banner example and returns the winning seat and
// price ("" without a bid) and the status.
func auctionWinner(t *testing.T, client *http.Client, public string, body []byte) (seat string, price float64, status int, err error) {
	resp, err := client.Post("http://"+public+"/openrtb2/auction", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", 0, 0, err
	}
	defer resp.Body.Close()
	var r struct {
		SeatBid []struct {
			Seat string
			Bid  []struct{ Price float64 }
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && json.Unmarshal(b, &r) == nil && len(r.SeatBid) > 0 && len(r.SeatBid[0].Bid) > 0 {
		return r.SeatBid[0].Seat, r.SeatBid[0].Bid[0].Price, resp.StatusCode, nil
	}
	return "", 0, resp.StatusCode, nil
}

// TestConfigReloadUnderLoad: a new config published the way kubelet
// updates a ConfigMap is put in service without a restart, with auctions
// running all along and none failing, and the next auctions use its
// demand list and margin.
func TestConfigReloadUnderLoad(t *testing.T) {
	v1 := reloadConfig("0", "h1", "1.00")
	path, publish := kubeConfigDir(t, v1)
	_, public, admin := startAdx(t, "-config", path)
	body, _ := os.ReadFile("../../examples/banner.json")
	client := &http.Client{}

	seat, price1, status, err := auctionWinner(t, client, public, body)
	if err != nil || status != 200 || seat != "h1" {
		t.Fatalf("before the reload: seat %q price %v status %d err %v, want h1's bid", seat, price1, status, err)
	}

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _, status, err := auctionWinner(t, client, public, body)
				sent.Add(1)
				if err != nil || (status != 200 && status != 204) {
					failed.Add(1)
					t.Errorf("an auction during the reload: status %d err %v", status, err)
				}
			}
		})
	}
	waittest.For(t, "auctions running", func() bool { return sent.Load() >= 20 })

	v2 := reloadConfig("0.5", "h1", "1.00", "h2", "2.00")
	publish(v2)
	waittest.For(t, "the new config in service", func() bool { return configInService(t, admin).SHA256 == sha(v2) })
	before := sent.Load()
	waittest.For(t, "auctions after the reload", func() bool { return sent.Load() >= before+20 })
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d auctions failed across the reload", n, sent.Load())
	}

	seat, price2, status, err := auctionWinner(t, client, public, body)
	if err != nil || status != 200 || seat != "h2" {
		t.Fatalf("after the reload: seat %q status %d err %v, want the added h2's bid", seat, status, err)
	}
	// The margin applies to h2's 2.00: half of it is kept.
	if !(price2 > 0 && price2 < 2.00*0.75) {
		t.Errorf("after the reload h2's price is %v, want 2.00 less the 50%% take rate (first price %v at 0%%)", price2, price1)
	}
	if got := metricValue(t, admin, `adx_config_reloads_total{result="success"}`); got != 1 {
		t.Errorf("adx_config_reloads_total{result=\"success\"} = %v, want 1", got)
	}
	if got := metricValue(t, admin, `adx_config_info{sha256="`+sha(v2)+`",source="`+path+`"}`); got != 1 {
		t.Errorf("adx_config_info of the new config = %v, want 1", got)
	}
	t.Logf("%d auctions, none failed, across the reload", sent.Load())
}

// TestConfigReloadRejectsBadFiles: a file that does not parse, then one
// with a bad value, leave the config in service, each logged and counted;
// a good file after them is put in service. A change that needs a restart
// is logged by key and the rest applied.
func TestConfigReloadRejectsBadFiles(t *testing.T) {
	v1 := reloadConfig("0", "h1", "1.00")
	path := filepath.Join(t.TempDir(), "adx.yaml")
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs bytes.Buffer
	_, public, admin := startAdxWatching(t, adxBinary, nil, func(line []byte) {
		mu.Lock()
		logs.Write(line)
		logs.WriteByte('\n')
		mu.Unlock()
	}, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0", "-config", path)
	logged := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), s)
	}
	write := func(doc string) {
		t.Helper()
		// A rename, so that adx never reads a partial file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	f := func(doc string, failures float64, wantErr string) {
		t.Helper()
		write(doc)
		waittest.For(t, "the rejection of "+strconv.Quote(doc), func() bool {
			return metricValue(t, admin, `adx_config_reloads_total{result="failure"}`) == failures
		})
		st := configInService(t, admin)
		if st.SHA256 != sha(v1) || !strings.Contains(st.LastError, wantErr) || !strings.Contains(st.LastError, path) {
			t.Errorf("after %q: config %+v, want %s in service and the error naming the file and %q", doc, st, sha(v1), wantErr)
		}
		waittest.For(t, "the rejection logged", func() bool { return logged(wantErr) })
		if got := metricValue(t, admin, "adx_config_last_reload_successful"); got != 0 {
			t.Errorf("adx_config_last_reload_successful = %v after a rejection, want 0", got)
		}
		if seat, _, status, err := auctionWinner(t, http.DefaultClient, public, mustRead(t, "../../examples/banner.json")); err != nil || seat != "h1" {
			t.Errorf("with a rejected file: seat %q status %d err %v, want the config in service to bid", seat, status, err)
		}
	}
	f("demand: [\n", 1, "yaml")
	f(strings.Replace(v1, "take_rate: 0", "take_rate: 2", 1), 2, "auction.take_rate")

	v2 := reloadConfig("0", "h2", "1.00") + "http:\n  max_inflight: 7\n"
	write(v2)
	waittest.For(t, "the good file in service", func() bool { return configInService(t, admin).SHA256 == sha(v2) })
	if got := metricValue(t, admin, "adx_config_last_reload_successful"); got != 1 {
		t.Errorf("adx_config_last_reload_successful = %v after a good file, want 1", got)
	}
	waittest.For(t, "the restart setting logged", func() bool { return logged("need a restart") && logged("http.max_inflight") })
	if seat, _, status, err := auctionWinner(t, http.DefaultClient, public, mustRead(t, "../../examples/banner.json")); err != nil || seat != "h2" {
		t.Errorf("after the good file: seat %q status %d err %v, want h2", seat, status, err)
	}
}

// TestConfigReloadOnSIGHUP: with the watch and polling off, SIGHUP alone
// puts a changed file in service.
func TestConfigReloadOnSIGHUP(t *testing.T) {
	v1 := reloadConfig("0", "h1", "1.00")
	path := filepath.Join(t.TempDir(), "adx.yaml")
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, public, admin := startAdx(t, "-config", path, "-reload.watch=false", "-reload.interval", "0")
	v2 := reloadConfig("0", "h2", "1.00")
	if err := os.WriteFile(path, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "the file in service after SIGHUP", func() bool { return configInService(t, admin).SHA256 == sha(v2) })
	if seat, _, status, err := auctionWinner(t, http.DefaultClient, public, mustRead(t, "../../examples/banner.json")); err != nil || seat != "h2" {
		t.Errorf("after SIGHUP: seat %q status %d err %v, want h2", seat, status, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConfigReloadKeepsDemandControls: a DSP that stays through a reload
// keeps its open breaker (it is not called again), while a reload that
// changes its breaker settings starts it closed (it is called again).
func TestConfigReloadKeepsDemandControls(t *testing.T) {
	var calls atomic.Int64
	dsp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer dsp.Close()
	doc := func(takeRate, openFor string) string {
		return "auction:\n  take_rate: " + takeRate + "\ndemand:\n  - name: dsp\n    type: openrtb\n    endpoint: \"" + dsp.URL + "/bid\"\n" +
			"    breaker: {failure_ratio: 0.5, min_requests: 2, open_for: " + openFor + "}\n"
	}
	v1 := doc("0", "1h")
	path := filepath.Join(t.TempDir(), "adx.yaml")
	write := func(doc string) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(v1)
	_, public, admin := startAdx(t, "-config", path)
	body := mustRead(t, "../../examples/banner.json")
	auction := func() {
		t.Helper()
		if _, _, status, err := auctionWinner(t, http.DefaultClient, public, body); err != nil || status != 204 {
			t.Fatalf("auction: status %d err %v, want 204", status, err)
		}
	}
	const state = `adx_demand_breaker_state{demand="dsp"}`
	auction()
	auction()
	waittest.For(t, "the breaker open", func() bool { return metricValue(t, admin, state) == 2 })

	v2 := doc("0.1", "1h")
	write(v2)
	waittest.For(t, "the new take rate in service", func() bool { return configInService(t, admin).SHA256 == sha(v2) })
	before := calls.Load()
	auction()
	if got := metricValue(t, admin, state); got != 2 {
		t.Errorf("after a reload that keeps the breaker settings: breaker state %v, want 2 (open)", got)
	}
	if got := metricValue(t, admin, `adx_demand_filtered_total{demand="dsp",reason="breaker_open"}`); got < 1 {
		t.Errorf("after the reload: %v requests filtered by the open breaker, want 1", got)
	}

	v3 := doc("0.1", "30m")
	write(v3)
	waittest.For(t, "the new breaker in service", func() bool { return configInService(t, admin).SHA256 == sha(v3) })
	auction()
	waittest.For(t, "the DSP called again under a new breaker", func() bool { return calls.Load() > before })
	if got := calls.Load(); got != before+1 {
		t.Errorf("the DSP got %d calls across the reloads, want 1, after the breaker changed", got-before)
	}
}
