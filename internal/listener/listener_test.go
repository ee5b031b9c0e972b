package listener

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/netstat"
)

func TestReadSomaxconn(t *testing.T) {
	f := func(fixture string, want int, wantErr string) {
		t.Helper()
		got, err := readSomaxconn(filepath.Join("testdata", fixture))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("%s: got (%d, %v), want error containing %q", fixture, got, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: unexpected error: %s", fixture, err)
		}
		if got != want {
			t.Fatalf("%s: got %d, want %d", fixture, got, want)
		}
	}
	f("somaxconn-4096", 4096, "")
	f("somaxconn-128", 128, "")
	f("somaxconn-65535-no-newline", 65535, "")
	f("somaxconn-non-numeric", 0, `cannot parse net.core.somaxconn "lots"`)
	f("somaxconn-empty", 0, `cannot parse net.core.somaxconn ""`)
	f("somaxconn-negative", 0, "must not be negative")
	f("no-such-file", 0, "cannot read net.core.somaxconn")
}

func TestReadSomaxconnMissingIsNotExist(t *testing.T) {
	_, err := readSomaxconn(filepath.Join(t.TempDir(), "somaxconn"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestSomaxconnReal(t *testing.T) {
	n, err := Somaxconn()
	if err != nil {
		t.Skipf("skipping: %s", err)
	}
	if n <= 0 {
		t.Fatalf("Somaxconn() = %d, want > 0", n)
	}
	t.Logf("net.core.somaxconn = %d", n)
}

func TestNewInfoAndWarning(t *testing.T) {
	errUnreadable := errors.New("cannot read net.core.somaxconn: no such file")
	f := func(backlog, somaxconn int, somaxconnErr error, wantRequested, wantEffective int, wantCapped bool, wantWarning string) {
		t.Helper()
		info := newInfo(backlog, somaxconn, somaxconnErr)
		if info.Requested != wantRequested || info.Effective != wantEffective || info.Capped != wantCapped {
			t.Fatalf("newInfo(%d, %d, %v): got requested=%d effective=%d capped=%v, want %d, %d, %v",
				backlog, somaxconn, somaxconnErr, info.Requested, info.Effective, info.Capped, wantRequested, wantEffective, wantCapped)
		}
		if got := info.Warning(); got != wantWarning {
			t.Fatalf("newInfo(%d, %d, %v).Warning():\ngot  %q\nwant %q", backlog, somaxconn, somaxconnErr, got, wantWarning)
		}
	}

	// Within somaxconn: in force as requested.
	f(16, 4096, nil, 16, 16, false, "")
	f(4096, 4096, nil, 4096, 4096, false, "")
	// 0 means somaxconn.
	f(0, 4096, nil, 4096, 4096, false, "")
	f(0, 128, nil, 128, 128, false, "")
	// Above somaxconn: the kernel caps silently, so we warn.
	f(65535, 4096, nil, 65535, 4096, true,
		"requested backlog 65535 exceeds net.core.somaxconn 4096; the kernel caps it: raise net.core.somaxconn (a sysctl in the pod spec)")
	f(4097, 4096, nil, 4097, 4096, true,
		"requested backlog 4097 exceeds net.core.somaxconn 4096; the kernel caps it: raise net.core.somaxconn (a sysctl in the pod spec)")
	// Pre-5.4 kernel default.
	f(1024, 128, nil, 1024, 128, true,
		"requested backlog 1024 exceeds net.core.somaxconn 128; the kernel caps it: raise net.core.somaxconn (a sysctl in the pod spec)")
	// somaxconn unreadable: 0 falls back to 4096; either way we cannot rule
	// out a cap, so we say so.
	f(0, 0, errUnreadable, FallbackBacklog, FallbackBacklog, false,
		"cannot check the listen backlog 4096 against net.core.somaxconn (cannot read net.core.somaxconn: no such file); the kernel caps it silently at somaxconn")
	f(100, 0, errUnreadable, 100, 100, false,
		"cannot check the listen backlog 100 against net.core.somaxconn (cannot read net.core.somaxconn: no such file); the kernel caps it silently at somaxconn")
}

func TestResolve(t *testing.T) {
	f := func(addr, wantNetwork, wantAddr, wantErr string) {
		t.Helper()
		network, resolved, err := resolve(addr)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("resolve(%q): got (%q, %q, %v), want error containing %q", addr, network, resolved, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("resolve(%q): unexpected error: %s", addr, err)
		}
		if network != wantNetwork || resolved != wantAddr {
			t.Fatalf("resolve(%q) = (%q, %q), want (%q, %q)", addr, network, resolved, wantNetwork, wantAddr)
		}
	}
	f(":8080", "tcp4", ":8080", "")
	f("0.0.0.0:8080", "tcp4", "0.0.0.0:8080", "")
	f("127.0.0.1:0", "tcp4", "127.0.0.1:0", "")
	f("[::ffff:127.0.0.1]:0", "tcp4", "[::ffff:127.0.0.1]:0", "")
	f("[::1]:0", "tcp6", "[::1]:0", "")
	f("[::]:8080", "tcp6", "[::]:8080", "")
	f("[fe80::1%lo]:0", "tcp6", "[fe80::1%lo]:0", "")
	f("8080", "", "", `cannot parse listen address "8080"`)
	f("", "", "", `cannot parse listen address ""`)
	f("no-such-host.invalid:80", "", "", `cannot resolve listen address "no-such-host.invalid:80"`)
}

// ipv6Loopback skips the test when this machine cannot listen on [::1].
func ipv6Loopback(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("skipping: IPv6 loopback is not available: %s", err)
	}
	ln.Close()
}

func TestListenAccepts(t *testing.T) {
	somaxconn, somaxconnErr := Somaxconn()
	f := func(addr, dialHost, wantNetwork string) {
		t.Helper()
		ln, info, err := Listen(Config{Addr: addr, Backlog: 16})
		if err != nil {
			t.Fatalf("Listen(%q): %s", addr, err)
		}
		defer ln.Close()

		if info.Network != wantNetwork {
			t.Fatalf("Listen(%q): network %q, want %q", addr, info.Network, wantNetwork)
		}
		if info.Addr.String() != ln.Addr().String() {
			t.Fatalf("Listen(%q): Info.Addr %s, listener %s", addr, info.Addr, ln.Addr())
		}
		if info.Requested != 16 {
			t.Fatalf("Listen(%q): requested %d, want 16", addr, info.Requested)
		}
		if somaxconnErr == nil && (info.Somaxconn != somaxconn || info.Effective != min(16, somaxconn)) {
			t.Fatalf("Listen(%q): somaxconn %d effective %d, want %d and %d", addr, info.Somaxconn, info.Effective, somaxconn, min(16, somaxconn))
		}
		port := info.Addr.(*net.TCPAddr).Port
		if port == 0 {
			t.Fatalf("Listen(%q): bound port is 0", addr)
		}

		// A round trip through Accept proves the listener works.
		accepted := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return
			}
			defer c.Close()
			_, err = io.Copy(c, io.LimitReader(c, 4))
			accepted <- err
		}()
		c, err := net.DialTimeout("tcp", net.JoinHostPort(dialHost, strconv.Itoa(port)), time.Second)
		if err != nil {
			t.Fatalf("Listen(%q): cannot dial: %s", addr, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatalf("Listen(%q): cannot write: %s", addr, err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("Listen(%q): echo got %q, %v", addr, buf, err)
		}
		if err := <-accepted; err != nil {
			t.Fatalf("Listen(%q): server side: %s", addr, err)
		}
	}

	f("127.0.0.1:0", "127.0.0.1", "tcp4")
	f(":0", "127.0.0.1", "tcp4")
	f("[::ffff:127.0.0.1]:0", "127.0.0.1", "tcp4")
	t.Run("ipv6", func(t *testing.T) {
		ipv6Loopback(t)
		f("[::1]:0", "::1", "tcp6")
	})
	// tcplisten leaves IPV6_V6ONLY alone, so "[::]" takes IPv4 too exactly
	// when net.ipv6.bindv6only is 0, the Linux default. See Config.Addr.
	t.Run("ipv6-wildcard-dual-stack", func(t *testing.T) {
		ipv6Loopback(t)
		b, err := os.ReadFile("/proc/sys/net/ipv6/bindv6only")
		if err != nil || strings.TrimSpace(string(b)) != "0" {
			t.Skipf("skipping: net.ipv6.bindv6only is not 0 (%q, %v)", b, err)
		}
		f("[::]:0", "127.0.0.1", "tcp6")
		f("[::]:0", "::1", "tcp6")
	})
}

func TestListenDefaultBacklog(t *testing.T) {
	f := func(somaxconnFixture string, wantRequested int, wantErr bool) {
		t.Helper()
		ln, info, err := listen(Config{Addr: "127.0.0.1:0"}, filepath.Join("testdata", somaxconnFixture))
		if err != nil {
			t.Fatalf("%s: %s", somaxconnFixture, err)
		}
		ln.Close()
		if info.Requested != wantRequested || info.Effective != wantRequested || info.Capped {
			t.Fatalf("%s: got %+v, want requested = effective = %d, not capped", somaxconnFixture, info, wantRequested)
		}
		if (info.SomaxconnErr != nil) != wantErr || (info.Warning() != "") != wantErr {
			t.Fatalf("%s: SomaxconnErr %v, Warning %q; want an error and a warning: %v", somaxconnFixture, info.SomaxconnErr, info.Warning(), wantErr)
		}
	}
	f("somaxconn-128", 128, false)
	f("somaxconn-4096", 4096, false)
	f("no-such-file", FallbackBacklog, true)
	f("somaxconn-non-numeric", FallbackBacklog, true)
}

func TestListenErrors(t *testing.T) {
	f := func(cfg Config, wantErr string) {
		t.Helper()
		ln, _, err := Listen(cfg)
		if err == nil {
			ln.Close()
			t.Fatalf("Listen(%+v): no error, want one containing %q", cfg, wantErr)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Listen(%+v): error %q, want it to contain %q", cfg, err, wantErr)
		}
	}
	f(Config{Addr: "127.0.0.1:0", Backlog: -1}, `cannot listen on "127.0.0.1:0": backlog -1 is outside`)
	f(Config{Addr: "127.0.0.1:0", Backlog: 1 << 31}, "backlog 2147483648 is outside")
	f(Config{Addr: "127.0.0.1"}, `cannot parse listen address "127.0.0.1"`)
	f(Config{Addr: "127.0.0.1:99999"}, `cannot listen on "127.0.0.1:99999"`)

	// A port in use, without SO_REUSEPORT.
	ln, info, err := Listen(Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	defer ln.Close()
	f(Config{Addr: info.Addr.String()}, "cannot listen on "+`"`+info.Addr.String()+`"`)
}

func TestListenReusePort(t *testing.T) {
	ln1, info, err := Listen(Config{Addr: "127.0.0.1:0", ReusePort: true})
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	defer ln1.Close()
	ln2, _, err := Listen(Config{Addr: info.Addr.String(), ReusePort: true})
	if err != nil {
		t.Fatalf("second listener on %s with ReusePort: %s", info.Addr, err)
	}
	ln2.Close()
}

// TestBacklogIsReal shows that the backlog passed to listen(2) is the
// accept queue: with nobody calling Accept, the kernel completes handshakes
// for about Backlog connections, then drops SYNs (dials stall) and counts
// TcpExt ListenOverflows, which package netstat exports.
func TestBacklogIsReal(t *testing.T) {
	const backlog = 4
	// Linux queues backlog+1 connections; a few more must stall.
	const dials = backlog + 1 + 3
	const dialTimeout = 150 * time.Millisecond

	ln, info, err := Listen(Config{Addr: "127.0.0.1:0", Backlog: backlog})
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	defer ln.Close()
	if info.Effective != backlog {
		t.Skipf("skipping: effective backlog is %d, not %d (net.core.somaxconn %d)", info.Effective, backlog, info.Somaxconn)
	}

	before, statsErr := netstat.ReadListenStats(netstat.DefaultPath)

	start := time.Now()
	var connected, stalled int
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{Timeout: dialTimeout}
	for i := 0; i < dials; i++ {
		c, err := d.Dial("tcp4", info.Addr.String())
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("dial %d: want success or a timeout, got %s", i, err)
			}
			stalled++
			continue
		}
		connected++
		conns = append(conns, c)
	}
	elapsed := time.Since(start)

	var overflows uint64
	if statsErr == nil {
		after, err := netstat.ReadListenStats(netstat.DefaultPath)
		if err != nil {
			t.Fatalf("cannot read %s after dialing: %s", netstat.DefaultPath, err)
		}
		overflows = after.ListenOverflows - before.ListenOverflows
	}
	t.Logf("backlog %d: %d dials connected, %d stalled (%s timeout each), ListenOverflows +%d (netstat error: %v), %s",
		backlog, connected, stalled, dialTimeout, overflows, statsErr, elapsed)

	if stalled == 0 && overflows == 0 {
		t.Skipf("skipping: this environment shows no accept-queue limit (all %d dials to a backlog-%d listener connected, no ListenOverflows); a user-space network stack such as gVisor may hide it", dials, backlog)
	}
	if connected < backlog {
		t.Fatalf("only %d of %d dials connected; the accept queue should hold at least the backlog %d", connected, dials, backlog)
	}
	if stalled > 0 && connected > backlog+1 {
		t.Fatalf("%d dials connected, more than backlog+1 = %d, yet %d stalled", connected, backlog+1, stalled)
	}
	// Each stalled dial is a SYN the kernel dropped and counted; other
	// sockets in this network namespace can only add to the count.
	if statsErr == nil && uint64(stalled) > overflows {
		t.Fatalf("%d dials stalled but ListenOverflows rose by only %d", stalled, overflows)
	}
	if elapsed > 3*time.Second {
		t.Fatalf("took %s, want under 3s", elapsed)
	}

	// Accepting drains the queue: every connected dial is waiting there.
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		t.Fatalf("listener is %T, want *net.TCPListener", ln)
	}
	tl.SetDeadline(time.Now().Add(time.Second))
	for i := 0; i < connected; i++ {
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("accept %d of %d queued connections: %s", i+1, connected, err)
		}
		c.Close()
	}
}

func TestInfoLogValue(t *testing.T) {
	f := func(info Info, want string) {
		t.Helper()
		if got := info.LogValue().String(); got != want {
			t.Fatalf("LogValue:\ngot  %s\nwant %s", got, want)
		}
	}
	f(Info{}, "[network= addr= backlog_requested=0 somaxconn=0 backlog_effective=0 backlog_capped=false]")
	f(Info{Network: "tcp4", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, Requested: 65535, Somaxconn: 4096, Effective: 4096, Capped: true},
		"[network=tcp4 addr=127.0.0.1:8080 backlog_requested=65535 somaxconn=4096 backlog_effective=4096 backlog_capped=true]")
	f(Info{Network: "tcp6", Requested: 4096, Effective: 4096, SomaxconnErr: errors.New("boom")},
		"[network=tcp6 addr= backlog_requested=4096 somaxconn=0 backlog_effective=4096 backlog_capped=false somaxconn_error=boom]")
}
