// Package netstat reads the kernel's listen-queue counters (TcpExt
// ListenOverflows and ListenDrops) from /proc/net/netstat and exports them
// as Prometheus counters, so an overflowing accept queue is an alert rather
// than a silent wave of refused connections.
//
// The counters belong to the network namespace of the reading process. In
// Kubernetes that is the pod: they include every listening socket in the pod
// (sidecars too), and they survive container restarts inside the same pod.
package netstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPath is where Linux exposes the extended TCP/IP counters of the
// reading process's network namespace.
const DefaultPath = "/proc/net/netstat"

// ListenStats holds the listen-queue counters of the TcpExt section of
// /proc/net/netstat. Both are monotonic kernel counters for the whole
// network namespace since it was created.
type ListenStats struct {
	// ListenOverflows counts connections dropped because a listening
	// socket's accept queue was full (the backlog passed to listen(2),
	// capped by net.core.somaxconn).
	ListenOverflows uint64
	// ListenDrops counts every connection attempt dropped by a listening
	// socket. It includes ListenOverflows plus other reasons such as
	// memory pressure, so ListenDrops >= ListenOverflows.
	ListenDrops uint64
}

// ReadListenStats reads the file at path, normally DefaultPath, and returns
// its TcpExt ListenOverflows and ListenDrops. Columns are found by name, so
// any kernel version's layout works. The error names path and the problem:
// the file cannot be read, the TcpExt section or a column is missing, the
// header and values lines disagree in length, or a value is not a number.
func ReadListenStats(path string) (ListenStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ListenStats{}, fmt.Errorf("cannot read %q: %w", path, err)
	}
	st, err := parseListenStats(data)
	if err != nil {
		return ListenStats{}, fmt.Errorf("cannot parse %q: %w", path, err)
	}
	return st, nil
}

// tcpExtPrefix starts both the header line and the values line of the
// section we read. Matching whole fields keeps "MPTcpExt:" from matching.
const tcpExtPrefix = "TcpExt:"

// parseListenStats parses the contents of /proc/net/netstat. The file is a
// sequence of line pairs: a header line "Prefix: Name1 Name2 ..." followed
// by a values line "Prefix: v1 v2 ..." with the same prefix. Kernels add
// columns over time, so columns are looked up by name, never by position.
func parseListenStats(data []byte) (ListenStats, error) {
	header, values, err := findSection(data, tcpExtPrefix)
	if err != nil {
		return ListenStats{}, err
	}
	if len(header) != len(values) {
		return ListenStats{}, fmt.Errorf("%s header line has %d columns but the values line has %d", tcpExtPrefix, len(header), len(values))
	}
	var st ListenStats
	for _, c := range []struct {
		name string
		dst  *uint64
	}{
		{"ListenOverflows", &st.ListenOverflows},
		{"ListenDrops", &st.ListenDrops},
	} {
		i := fieldIndex(header, c.name)
		if i < 0 {
			return ListenStats{}, fmt.Errorf("missing %s column %q", tcpExtPrefix, c.name)
		}
		v, err := strconv.ParseUint(string(values[i]), 10, 64)
		if err != nil {
			return ListenStats{}, fmt.Errorf("cannot parse %s %s value %q: %w", tcpExtPrefix, c.name, values[i], err)
		}
		*c.dst = v
	}
	return st, nil
}

// findSection returns the fields after prefix of the first line starting
// with prefix and of the line right after it, which must carry the same
// prefix.
func findSection(data []byte, prefix string) (header, values [][]byte, err error) {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		fields := bytes.Fields(line)
		if len(fields) == 0 || string(fields[0]) != prefix {
			continue
		}
		next, _, _ := bytes.Cut(data, []byte{'\n'})
		nextFields := bytes.Fields(next)
		if len(nextFields) == 0 || string(nextFields[0]) != prefix {
			return nil, nil, fmt.Errorf("%s header line is not followed by a %s values line", prefix, prefix)
		}
		return fields[1:], nextFields[1:], nil
	}
	return nil, nil, fmt.Errorf("missing %s section", prefix)
}

// fieldIndex returns the index of the first field equal to name, or -1.
func fieldIndex(fields [][]byte, name string) int {
	for i, f := range fields {
		if string(f) == name {
			return i
		}
	}
	return -1
}

// Metric names exported by the collector returned by NewCollector.
const (
	overflowsName  = "adx_tcp_listen_overflows_total"
	dropsName      = "adx_tcp_listen_drops_total"
	readErrorsName = "adx_tcp_netstat_read_errors_total"
)

// Values of the "kind" label of adx_tcp_netstat_read_errors_total.
const (
	errKindRead  = "read"
	errKindParse = "parse"
)

// NewCollector returns a Prometheus collector that reads the file at path
// (normally DefaultPath) at every scrape and exports:
//
//   - adx_tcp_listen_overflows_total: TcpExt ListenOverflows;
//   - adx_tcp_listen_drops_total: TcpExt ListenDrops;
//   - adx_tcp_netstat_read_errors_total{kind="read"|"parse"}: scrapes at
//     which the file could not be read or parsed.
//
// When the file cannot be read or parsed, the collector exports only the
// error counter instead of failing the scrape. An invalid-metric error
// would make promhttp's default handler answer 500 for every metric of the
// process (and /proc/net/netstat is absent on developer laptops), so the
// failure is a counter to alert on, and the listen counters go absent.
// The counter carries no error text: call ReadListenStats (for example at
// startup) to log why the file cannot be used.
//
// The returned collector is safe for concurrent scrapes and holds no open
// file between them. Register it once per registry.
func NewCollector(path string) prometheus.Collector {
	c := &collector{
		path: path,
		overflows: prometheus.NewDesc(overflowsName,
			"Connections dropped because a listening socket's accept queue was full "+
				"(TcpExt ListenOverflows in /proc/net/netstat, for the whole network namespace, i.e. the pod, sidecars included). "+
				"Any increase means clients were refused before accept(2): raise net.core.somaxconn and the listen backlog, or add capacity.",
			nil, nil),
		drops: prometheus.NewDesc(dropsName,
			"Connection attempts dropped by listening sockets for any reason, overflows included "+
				"(TcpExt ListenDrops in /proc/net/netstat, for the whole network namespace, i.e. the pod, sidecars included). "+
				"An increase means connections were dropped before accept(2): raise net.core.somaxconn and the listen backlog, or add capacity.",
			nil, nil),
		readErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: readErrorsName,
			Help: "Scrapes at which /proc/net/netstat could not be read (kind=read) or parsed (kind=parse); " +
				"while this increases, adx_tcp_listen_overflows_total and adx_tcp_listen_drops_total are absent.",
		}, []string{"kind"}),
	}
	// Export both kinds from the start so that rate() and alerts see 0,
	// not an absent series.
	c.readErrors.WithLabelValues(errKindRead)
	c.readErrors.WithLabelValues(errKindParse)
	return c
}

// collector implements prometheus.Collector for NewCollector.
type collector struct {
	path       string
	overflows  *prometheus.Desc
	drops      *prometheus.Desc
	readErrors *prometheus.CounterVec
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.overflows
	ch <- c.drops
	c.readErrors.Describe(ch)
}

// Collect implements prometheus.Collector. It reads the file on every call.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	data, err := os.ReadFile(c.path)
	if err != nil {
		c.readErrors.WithLabelValues(errKindRead).Inc()
	} else if st, err := parseListenStats(data); err != nil {
		c.readErrors.WithLabelValues(errKindParse).Inc()
	} else {
		ch <- prometheus.MustNewConstMetric(c.overflows, prometheus.CounterValue, float64(st.ListenOverflows))
		ch <- prometheus.MustNewConstMetric(c.drops, prometheus.CounterValue, float64(st.ListenDrops))
	}
	c.readErrors.Collect(ch)
}
