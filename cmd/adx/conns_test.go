package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/connlimit"
)

// limitsLine returns a hook for startAdxWatching that keeps adx's
// "public connection limits" line, and a function that returns it.
func limitsLine() (func([]byte), func() map[string]any) {
	got := make(chan map[string]any, 1)
	return func(line []byte) {
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "public connection limits" {
				got <- m
			}
		}, func() map[string]any {
			select {
			case m := <-got:
				return m
			case <-time.After(10 * time.Second):
				return nil
			}
		}
}

// TestConnectionLimits: adx holds at most -http.maxConnsPerIP connections
// from one address and -http.concurrency in all, answers the connections
// past them (429 in JSON; the shed status, here 503 in JSON) and exports
// what it refused; the limits are logged at start.
func TestConnectionLimits(t *testing.T) {
	onLine, limits := limitsLine()
	_, public, admin := startAdxWatching(t, adxBinary, nil, onLine, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0",
		"-http.maxConnsPerIP", "2", "-http.concurrency", "3", "-http.shedStatus", "503")
	if m := limits(); m == nil || m["max_conns"] != 3.0 || m["max_conns_per_ip"] != 2.0 || m["from"] != "http.concurrency" || m["idle_timeout"] != "15s" {
		t.Fatalf("start-up line: %v; want max_conns 3 from http.concurrency, max_conns_per_ip 2, idle_timeout 15s", m)
	}
	f := func(source string, wantStatus int, wantBody string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", public)
		if err != nil {
			t.Fatalf("cannot dial from %s: %s", source, err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET /openrtb2/auction HTTP/1.1\r\nHost: adx\r\n\r\n")); err != nil {
			t.Fatalf("from %s: cannot send: %s", source, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("from %s: no answer: %s", source, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus || !strings.Contains(string(body), wantBody) || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("from %s: %d %v %q; want %d with %q in JSON", source, resp.StatusCode, resp.Header, body, wantStatus, wantBody)
		}
	}
	f("127.0.0.2", 405, "use POST") // served, kept alive
	f("127.0.0.2", 405, "use POST")
	f("127.0.0.2", 429, "too many connections from this address")
	f("127.0.0.3", 405, "use POST")
	f("127.0.0.4", 503, "overloaded: 3 connections already open")

	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`adx_http_conns_refused_total{reason="per_ip"} 1`, `adx_http_conns_refused_total{reason="total"} 1`,
		"adx_http_conns_open 3", "adx_http_max_conns 3", "adx_http_max_conns_per_ip 2", "adx_http_server_errors_total 0",
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestConnectionLimitFromNofile: by default the total is the file
// descriptor limit minus the reserve, and the start-up line says so.
func TestConnectionLimitFromNofile(t *testing.T) {
	nofile, err := connlimit.Nofile()
	if err != nil {
		t.Skipf("skipping: %s", err)
	}
	onLine, limits := limitsLine()
	startAdxWatching(t, adxBinary, nil, onLine, "-http.listen", "127.0.0.1:0", "-admin.listen", "127.0.0.1:0")
	m := limits()
	if m == nil {
		t.Fatal("adx logged no connection limits")
	}
	want, reserve := connlimit.AutoMax(nofile, 0) // the embedded default has house demand only
	if m["from"] != "RLIMIT_NOFILE" || m["nofile"] != float64(nofile) || m["max_conns"] != float64(want) || m["reserve"] != float64(reserve) || m["max_conns_per_ip"] != 1024.0 {
		t.Errorf("start-up line: %v; want max_conns %d from RLIMIT_NOFILE %d, reserve %d, max_conns_per_ip 1024", m, want, nofile, reserve)
	}
}
