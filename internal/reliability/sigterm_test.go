package reliability

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// freshSources is how many loopback source addresses the fresh-connection
// load spreads over (127.0.0.2 upwards): several SSPs, and several times
// the ephemeral ports one address has.
const freshSources = 8

// freshRequest is a whole HTTP request for body that asks adx to close
// the connection after answering.
func freshRequest(body []byte) []byte {
	req := []byte("POST /openrtb2/auction HTTP/1.1\r\nHost: adx\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ")
	req = strconv.AppendInt(req, int64(len(body)), 10)
	req = append(req, "\r\n\r\n"...)
	return append(req, body...)
}

// freshSend sends one request on a new connection from source address
// 127.0.0.(2+n%freshSources) and says how it ended.
func freshSend(addr string, n int, req []byte, deadline time.Time) outcome {
	ip := net.IPv4(127, 0, 0, byte(2+n%freshSources))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Deadline: deadline}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return outcome{kind: "refused", err: err.Error()}
		}
		return errOutcome(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write(req); err != nil {
		return errOutcome(err)
	}
	return classify(bufio.NewReader(c))
}

// freshCapacity measures how many requests per second adx answers when
// each comes on a new connection: closed-loop, workers sending back to
// back for span.
func freshCapacity(a *adxProc, reqs [][]byte, span time.Duration) float64 {
	const workers = 32
	var done atomic.Int64
	end := time.Now().Add(span)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(end); i += workers {
				if o := freshSend(a.public, i, reqs[i%len(reqs)], time.Now().Add(2*time.Second)); o.kind == "answer" {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / span.Seconds()
}

// sent is one request of the open-loop fresh-connection load.
type sent struct {
	at time.Time // when it was dialed (its intended time, or later if the sender lagged)
	o  outcome
}

// testSIGTERMUnderLoad: at about adx's capacity, every request on a new
// connection, SIGTERM. Until the drain delay ends every request must be
// answered 200 or 204: no reset (a connection accepted into the kernel's
// queue and then closed unanswered), no refusal, no other status; adx
// must exit 0.
func testSIGTERMUnderLoad(t *testing.T) {
	sz := sizes()
	a := startLoadTarget(t, 1, "", "-shutdown.drainDelay", sz.drainDelay.String(), "-shutdown.timeout", "5s")
	tr := synthTraffic(t, 2000, defaultTmax)
	reqs := make([][]byte, len(tr.Bodies))
	for i, b := range tr.Bodies {
		reqs[i] = freshRequest(b)
	}
	rate := freshCapacity(a, reqs, 1500*time.Millisecond)
	if rate < 50 {
		t.Fatalf("adx answered only %.0f requests/s on fresh connections; too few to load it", rate)
	}

	// Open loop: each send is due at its time whatever the earlier ones do;
	// at most maxInFlight at once (the rest are dropped and counted). A
	// request counts as sent before the drain delay ended if it was dialed
	// before: on a busy machine the sender may lag its schedule, and a
	// request dialed after the listener closed is refused as it should be.
	const maxInFlight = 4096
	var (
		mu      sync.Mutex
		results []sent
		lag     []time.Duration // dial time behind the intended time
		dropped int
		sigAt   time.Time
		wg      sync.WaitGroup
	)
	inFlight := make(chan struct{}, maxInFlight)
	start := time.Now()
	hardStop := start.Add(sz.sigtermLoad + sz.drainDelay + 10*time.Second)
	var stopAt time.Time // once adx has exited, plus a little
	signalled := false
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			time.Sleep(d) // pacing the open-loop load
		}
		now := time.Now()
		if !signalled && now.Sub(start) >= sz.sigtermLoad {
			signalled = true
			sigAt = now
			if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		if stopAt.IsZero() {
			select {
			case <-a.exited:
				stopAt = now.Add(200 * time.Millisecond)
			default:
			}
		}
		if now.After(hardStop) || !stopAt.IsZero() && now.After(stopAt) {
			break
		}
		select {
		case inFlight <- struct{}{}:
		default:
			mu.Lock()
			dropped++
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dialed := time.Now()
			o := freshSend(a.public, i, reqs[i%len(reqs)], at.Add(2*time.Second))
			<-inFlight
			mu.Lock()
			results = append(results, sent{dialed, o})
			lag = append(lag, dialed.Sub(at))
			mu.Unlock()
		}()
	}
	wg.Wait()
	code := a.waitExit(10 * time.Second)

	drainEnd := sigAt.Add(sz.drainDelay)
	// A connection dialed just before the drain delay ends may reach adx's
	// accept queue just after: the client's clock and the kernel's final
	// ACK are apart by up to the machine's scheduling lag. Those dialed
	// within that lag of the end (at least 5ms) are tallied apart, not
	// judged.
	edge := max(5*time.Millisecond, percentile(lag, 0.99))
	before, during, atEnd, after := newTally(), newTally(), newTally(), newTally()
	var bad []sent
	for _, s := range results {
		switch {
		case s.at.Before(sigAt):
			before.add(s.o)
		case s.at.Before(drainEnd.Add(-edge)):
			during.add(s.o)
		case s.at.Before(drainEnd):
			atEnd.add(s.o)
			continue
		default:
			after.add(s.o)
			continue
		}
		if s.o.kind != "answer" || (s.o.status != 200 && s.o.status != 204) {
			bad = append(bad, s)
		}
	}
	resets := 0
	for _, s := range bad {
		if s.o.kind == "reset" || s.o.kind == "eof" {
			resets++
		}
	}
	figure(t, "sigterm", "rate", strconv.FormatFloat(rate, 'f', 0, 64)+"/s", "drain_delay", sz.drainDelay,
		"before_sigterm", before, "during_drain", during, "drain_end_edge", atEnd, "edge", ms(edge), "after_drain", after, "dropped", dropped,
		"resets_before_drain_end", resets, "bad_before_drain_end", len(bad), "exit", code,
		"send_lag_p99", ms(percentile(lag, 0.99)))
	if code != 0 {
		t.Errorf("adx exited with %d after SIGTERM, want 0", code)
	}
	if len(bad) > 0 {
		first := bad[0]
		t.Errorf("%d requests sent before the drain delay ended (less the edge) were not answered 200/204 (%d resets); first, %v after SIGTERM: %s %s",
			len(bad), resets, first.at.Sub(sigAt).Round(time.Millisecond), first.o.key(), first.o.err)
	}
	if dropped > 0 {
		t.Errorf("%d sends dropped at %d in flight: adx stopped answering under the load", dropped, maxInFlight)
	}
}
