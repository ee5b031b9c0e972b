package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/internal/waittest"
)

// billOnce runs one auction on adx and fires its billing notice as an SSP
// would; it returns the bill's event id once adx accepted it (204), or ""
// when adx did not.
func billOnce(public, id string) string {
	c := &http.Client{Timeout: 5 * time.Second}
	body := `{"id":"` + id + `","tmax":300,"imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"page":"https://news.example/"},"device":{"ua":"Mozilla/5.0","ip":"192.0.2.1"}}`
	resp, err := c.Post("http://"+public+"/openrtb2/auction", "application/json", strings.NewReader(body))
	if err != nil {
		return ""
	}
	var br struct {
		SeatBid []struct {
			Bid []struct{ BURL string }
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&br)
	resp.Body.Close()
	if err != nil || len(br.SeatBid) == 0 || len(br.SeatBid[0].Bid) == 0 {
		return ""
	}
	bid := br.SeatBid[0].Bid[0]
	resp, err = c.Get(strings.ReplaceAll(bid.BURL, "${AUCTION_PRICE}", "0.5"))
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return ""
	}
	return "b::" + id + ":1" // no supply list: no SSP name
}

// TestSpillSurvivesKill9 runs adx against a Kafka broker that is down, so
// that every event spills, fires billing notices at it without pause and
// kills it with SIGKILL in the middle. Restarted on the same spill with a
// working sink, adx delivers every bill it had accepted, exactly once.
func TestSpillSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String() // nobody listens there once closed
	ln.Close()
	spill := filepath.Join(dir, "spill")
	cfg := filepath.Join(dir, "adx.yaml")
	if err := os.WriteFile(cfg, []byte(`
events:
  sink: kafka
  spill_dir: `+spill+`
  sink_timeout: 200ms
  auction_sample: 1
  kafka:
    brokers: ["`+down+`"]
demand:
  - name: house
    type: house
    line_items:
      - id: house-display
        cpm: 0.50
        adm: '<a href="https://adx.example/"><img src="https://adx.example/1.png"></a>'
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, public, _ := startAdx(t, "-config", cfg)

	// Bills are fired without pause; adx is killed once 50 are in the
	// spill, while more are in flight.
	var (
		mu       sync.Mutex
		want     = map[string]bool{}
		flowing  = make(chan struct{})
		stop     = make(chan struct{})
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if id := billOnce(public, "kill9-"+strconv.Itoa(i)); id != "" {
				mu.Lock()
				want[id] = true
				if len(want) == 50 {
					close(flowing)
				}
				mu.Unlock()
			}
		}
	}()
	select {
	case <-flowing:
	case <-time.After(60 * time.Second):
		t.Fatal("adx did not accept 50 bills in 60s")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	<-finished

	file := filepath.Join(dir, "events.jsonl")
	startAdx(t, "-config", cfg, "-events.sink", "file", "-events.file", file)
	var got map[string]int
	waittest.For(t, "every bill accepted before the kill, in the event file after the restart", func() bool {
		got = bills(t, file)
		for id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	for id, n := range got {
		if n > 1 {
			t.Errorf("bill %s delivered %d times", id, n)
		}
	}
	t.Logf("%d bills accepted before SIGKILL, all delivered after the restart", len(want))
}

// bills counts the bill events in the event file, by id.
func bills(t *testing.T, path string) map[string]int {
	t.Helper()
	n := map[string]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return n
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var e events.Event
		if json.Unmarshal(lines.Bytes(), &e) == nil && e.Type == events.Bill {
			n[e.ID]++
		}
	}
	return n
}
