// Package listener opens adx's TCP listeners with an explicit listen(2)
// backlog and reports what the kernel will really use.
//
// Why: completed connections wait in a listening socket's accept queue
// until the server calls accept(2). Its length is the backlog passed to
// listen(2), silently capped by the net.core.somaxconn sysctl. When it is
// full, Linux drops new connections and counts TcpExt ListenOverflows;
// clients see timeouts, and load balancers turn them into 503s, with nothing
// in the server's own logs. A JVM predecessor of adx lost 80% of requests
// this way on Kubernetes. Listen therefore makes the backlog explicit, and
// Info.Warning says when the kernel will cap it; package netstat exports
// the overflow counter.
package listener

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/valyala/tcplisten"
)

// somaxconnPath is the kernel's net.core.somaxconn for the network namespace
// of the reading process (the pod, on Kubernetes).
const somaxconnPath = "/proc/sys/net/core/somaxconn"

// FallbackBacklog is the backlog Listen requests when Config.Backlog is 0
// and net.core.somaxconn cannot be read. It equals the kernel's default
// somaxconn since Linux 5.4.
const FallbackBacklog = 4096

// Somaxconn returns net.core.somaxconn, the kernel's upper bound on any
// listen(2) backlog in this network namespace, read from
// /proc/sys/net/core/somaxconn. It fails on systems without that file
// (non-Linux, or /proc not mounted).
func Somaxconn() (int, error) {
	return readSomaxconn(somaxconnPath)
}

// readSomaxconn parses the sysctl file at path: one non-negative decimal
// integer and a newline.
func readSomaxconn(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read net.core.somaxconn: %w", err)
	}
	s := strings.TrimSpace(string(data))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("cannot parse net.core.somaxconn %q from %q: %w", s, path, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("cannot use net.core.somaxconn %d from %q: it must not be negative", n, path)
	}
	return n, nil
}

// Config says how to open a listener.
type Config struct {
	// Addr is "host:port". An empty host or 0.0.0.0 listens on all IPv4
	// addresses; an IPv6 literal such as "[::1]:0" or "[::]:8080" opens an
	// IPv6 socket; a host name is resolved once, preferring IPv4.
	// ":8080" is IPv4 only, not dual-stack: tcplisten does not clear
	// IPV6_V6ONLY, so an IPv6 wildcard socket would be dual-stack only
	// where net.ipv6.bindv6only=0, and fails in pods with IPv6 disabled.
	// "[::]:8080" is dual-stack where net.ipv6.bindv6only=0 (the Linux
	// default).
	Addr string
	// Backlog is the accept-queue length to request from listen(2).
	// 0 requests net.core.somaxconn, or FallbackBacklog if that cannot be
	// read. Negative values and values above math.MaxInt32 are rejected.
	Backlog int
	// ReusePort sets SO_REUSEPORT, so several listeners (processes or
	// goroutines) may bind the same address and the kernel spreads new
	// connections over them, each with its own accept queue.
	ReusePort bool
}

// Info describes the listener Listen opened. It is a plain value, safe to
// keep and log after the listener closes.
type Info struct {
	// Network is "tcp4" or "tcp6".
	Network string
	// Addr is the bound address, with the real port when Config.Addr
	// asked for port 0.
	Addr net.Addr
	// Requested is the backlog passed to listen(2): Config.Backlog, or the
	// default chosen for 0.
	Requested int
	// Somaxconn is net.core.somaxconn at listen time, or 0 if it could not
	// be read (then SomaxconnErr says why).
	Somaxconn int
	// SomaxconnErr is why net.core.somaxconn could not be read, or nil.
	SomaxconnErr error
	// Effective is the accept-queue length the kernel uses:
	// min(Requested, Somaxconn), since listen(2) caps silently. When
	// Somaxconn is unknown it is Requested, unverified. Linux queues up to
	// Effective+1 connections before it drops.
	Effective int
	// Capped reports Requested > Somaxconn, i.e. the kernel shortened the
	// queue below what was asked for.
	Capped bool
}

// newInfo computes the backlog fields of Info from Config.Backlog and the
// result of reading net.core.somaxconn.
func newInfo(backlog, somaxconn int, somaxconnErr error) Info {
	info := Info{Requested: backlog}
	if somaxconnErr != nil {
		info.SomaxconnErr = somaxconnErr
		if info.Requested == 0 {
			info.Requested = FallbackBacklog
		}
		info.Effective = info.Requested
		return info
	}
	info.Somaxconn = somaxconn
	if info.Requested == 0 {
		info.Requested = somaxconn
	}
	info.Effective = min(info.Requested, somaxconn)
	info.Capped = info.Requested > somaxconn
	return info
}

// Warning returns a sentence for the operator when the accept queue is not
// what was asked for: the requested backlog exceeds net.core.somaxconn, or
// somaxconn could not be read, so a cap could not be ruled out. It returns
// "" when the backlog is in force as requested.
//
// net.core.somaxconn is per network namespace: on Kubernetes, set it in the
// pod's securityContext.sysctls; it is not in Kubernetes' "safe" set, so
// the kubelet must allow it (--allowed-unsafe-sysctls).
func (i Info) Warning() string {
	switch {
	case i.SomaxconnErr != nil:
		return fmt.Sprintf("cannot check the listen backlog %d against net.core.somaxconn (%s); the kernel caps it silently at somaxconn", i.Requested, i.SomaxconnErr)
	case i.Capped:
		return fmt.Sprintf("requested backlog %d exceeds net.core.somaxconn %d; the kernel caps it: raise net.core.somaxconn (a sysctl in the pod spec)", i.Requested, i.Somaxconn)
	}
	return ""
}

// LogValue implements slog.LogValuer, so Info logs as a group of its fields.
func (i Info) LogValue() slog.Value {
	addr := ""
	if i.Addr != nil {
		addr = i.Addr.String()
	}
	attrs := []slog.Attr{
		slog.String("network", i.Network),
		slog.String("addr", addr),
		slog.Int("backlog_requested", i.Requested),
		slog.Int("somaxconn", i.Somaxconn),
		slog.Int("backlog_effective", i.Effective),
		slog.Bool("backlog_capped", i.Capped),
	}
	if i.SomaxconnErr != nil {
		attrs = append(attrs, slog.String("somaxconn_error", i.SomaxconnErr.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Listen opens a TCP listener on cfg.Addr with the backlog cfg.Backlog (see
// Config) via github.com/valyala/tcplisten, which also sets SO_REUSEADDR
// and TCP_NODELAY on accepted connections. Info tells what the kernel will
// use; log Info.Warning when it is not empty. The caller owns the listener
// and must Close it.
func Listen(cfg Config) (net.Listener, Info, error) {
	return listen(cfg, somaxconnPath)
}

// listen is Listen reading net.core.somaxconn from the given path.
func listen(cfg Config, somaxconnPath string) (net.Listener, Info, error) {
	if cfg.Backlog < 0 || cfg.Backlog > math.MaxInt32 {
		return nil, Info{}, fmt.Errorf("cannot listen on %q: backlog %d is outside [0, %d]", cfg.Addr, cfg.Backlog, math.MaxInt32)
	}
	network, addr, err := resolve(cfg.Addr)
	if err != nil {
		return nil, Info{}, err
	}
	somaxconn, err := readSomaxconn(somaxconnPath)
	info := newInfo(cfg.Backlog, somaxconn, err)
	info.Network = network

	tc := tcplisten.Config{ReusePort: cfg.ReusePort, Backlog: info.Requested}
	ln, err := tc.NewListener(network, addr)
	if err != nil {
		return nil, Info{}, fmt.Errorf("cannot listen on %q (%s, backlog %d): %w", cfg.Addr, network, info.Requested, err)
	}
	info.Addr = ln.Addr()
	return ln, info, nil
}

// resolve picks the tcplisten network for addr and returns the address to
// pass along with it. tcplisten accepts only "tcp4" and "tcp6".
func resolve(addr string) (network, resolved string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("cannot parse listen address %q: %w", addr, err)
	}
	if host == "" {
		// IPv4 wildcard: see Config.Addr for why not dual-stack.
		return "tcp4", addr, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Unmap().Is4() {
			return "tcp4", addr, nil
		}
		return "tcp6", addr, nil
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return "", "", fmt.Errorf("cannot resolve listen address %q: %w", addr, err)
	}
	if ta.IP.To4() != nil {
		return "tcp4", ta.String(), nil
	}
	return "tcp6", ta.String(), nil
}
