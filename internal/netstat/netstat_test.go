package netstat

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestReadListenStatsFixtures(t *testing.T) {
	f := func(name string, want ListenStats, wantErr string) {
		t.Helper()
		path := filepath.Join("testdata", name)
		got, err := ReadListenStats(path)
		if wantErr != "" {
			if err == nil {
				t.Fatalf("%s: got %+v, want error containing %q", name, got, wantErr)
			}
			// The error must name the file and the problem.
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("%s: error %q must contain %q and %q", name, err, path, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: unexpected error: %s", name, err)
		}
		if got != want {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
	}

	// Copy of /proc/net/netstat of a 6.18 kernel (TcpExt, IpExt, MPTcpExt).
	f("netstat-linux-6.18-real.txt", ListenStats{ListenOverflows: 0, ListenDrops: 0}, "")
	// Hand-made, 3.10-era layout (CentOS 7): 102 TcpExt columns including
	// TCPPrequeued and friends, ListenOverflows at column 20, no MPTcpExt.
	f("netstat-linux-3.10.txt", ListenStats{ListenOverflows: 48213, ListenDrops: 48390}, "")
	// Hand-made, 6.x layout: 135 TcpExt columns, ListenOverflows at column
	// 23, MPTcpExt section present, ListenDrops beyond 32 bits.
	f("netstat-linux-6.x.txt", ListenStats{ListenOverflows: 912345, ListenDrops: 5000000123}, "")

	// Broken files.
	f("netstat-truncated.txt", ListenStats{}, "header line has 102 columns but the values line has 48")
	f("netstat-missing-values.txt", ListenStats{}, "TcpExt: header line is not followed by a TcpExt: values line")
	f("netstat-non-numeric.txt", ListenStats{}, `cannot parse TcpExt: ListenOverflows value "n/a"`)
	f("netstat-missing-tcpext.txt", ListenStats{}, "missing TcpExt: section")
	f("netstat-missing-column.txt", ListenStats{}, `missing TcpExt: column "ListenDrops"`)
	f("netstat-empty.txt", ListenStats{}, "missing TcpExt: section")
	f("no-such-file.txt", ListenStats{}, "cannot read")
}

func TestReadListenStatsMissingFileIsNotExist(t *testing.T) {
	_, err := ReadListenStats(filepath.Join(t.TempDir(), "netstat"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestParseListenStats(t *testing.T) {
	f := func(data string, want ListenStats, wantErr string) {
		t.Helper()
		got, err := parseListenStats([]byte(data))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("parse(%q): got (%+v, %v), want error containing %q", data, got, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("parse(%q): unexpected error: %s", data, err)
		}
		if got != want {
			t.Fatalf("parse(%q): got %+v, want %+v", data, got, want)
		}
	}

	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2\n", ListenStats{1, 2}, "")
	// Columns by name: order and neighbours do not matter.
	f("TcpExt: A ListenDrops B ListenOverflows\nTcpExt: 9 2 9 1\n", ListenStats{1, 2}, "")
	// No trailing newline, extra blanks.
	f("TcpExt:  ListenOverflows\tListenDrops \nTcpExt: 3  4", ListenStats{3, 4}, "")
	// MPTcpExt must not be mistaken for TcpExt, wherever it is.
	f("MPTcpExt: ListenOverflows ListenDrops\nMPTcpExt: 7 7\nTcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2\n", ListenStats{1, 2}, "")
	// Largest value the kernel can print.
	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: 18446744073709551615 0\n", ListenStats{18446744073709551615, 0}, "")

	f("", ListenStats{}, "missing TcpExt: section")
	f("TcpExt: ListenOverflows ListenDrops\n", ListenStats{}, "not followed by a TcpExt: values line")
	f("TcpExt: ListenOverflows ListenDrops\n\nTcpExt: 1 2\n", ListenStats{}, "not followed by a TcpExt: values line")
	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1\n", ListenStats{}, "header line has 2 columns but the values line has 1")
	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2 3\n", ListenStats{}, "header line has 2 columns but the values line has 3")
	f("TcpExt: ListenOverflows\nTcpExt: 1\n", ListenStats{}, `missing TcpExt: column "ListenDrops"`)
	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: -1 2\n", ListenStats{}, `ListenOverflows value "-1"`)
	f("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 18446744073709551616\n", ListenStats{}, `ListenDrops value "18446744073709551616"`)
}

func TestReadListenStatsRealProc(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skipf("skipping: %s is not available on this system: %s", DefaultPath, err)
	}
	st, err := ReadListenStats(DefaultPath)
	if err != nil {
		t.Fatalf("cannot read the real %s: %s", DefaultPath, err)
	}
	t.Logf("%s: %+v", DefaultPath, st)
}

func TestCollector(t *testing.T) {
	f := func(fixture, golden string, scrapes int) {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewCollector(filepath.Join("testdata", fixture)))
		var got bytes.Buffer
		for i := 0; i < scrapes; i++ {
			got.Reset()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("%s: cannot gather: %s", fixture, err)
			}
			problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
			if err != nil {
				t.Fatalf("%s: cannot lint: %s", fixture, err)
			}
			for _, p := range problems {
				t.Errorf("%s: lint: %s: %s", fixture, p.Metric, p.Text)
			}
			for _, mf := range mfs {
				if _, err := expfmt.MetricFamilyToText(&got, mf); err != nil {
					t.Fatalf("%s: cannot encode: %s", fixture, err)
				}
			}
		}
		goldenPath := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(goldenPath, got.Bytes(), 0o644); err != nil {
				t.Fatalf("cannot update %q: %s", goldenPath, err)
			}
		}
		want, err := os.ReadFile(goldenPath)
		if err != nil {
			t.Fatalf("cannot read %q (run go test -update to create it): %s", goldenPath, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%s: scrape differs from %s (run go test -update after checking):\ngot:\n%s\nwant:\n%s", fixture, goldenPath, got.Bytes(), want)
		}
	}

	// A good file exports both counters and zero read errors.
	f("netstat-linux-6.x.txt", "collector-6.x.golden", 1)
	f("netstat-linux-3.10.txt", "collector-3.10.golden", 1)
	// Unreadable and unparsable files export only the error counter, which
	// counts every failed scrape.
	f("no-such-file.txt", "collector-missing-file.golden", 3)
	f("netstat-non-numeric.txt", "collector-non-numeric.golden", 2)
}

func FuzzReadListenStats(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatalf("cannot read testdata: %s", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "netstat-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatalf("cannot read seed %q: %s", e.Name(), err)
		}
		f.Add(data)
	}
	f.Add([]byte("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2\n"))
	f.Add([]byte("MPTcpExt: ListenOverflows\nMPTcpExt: 1\nTcpExt: ListenDrops ListenOverflows\nTcpExt: 2 1"))

	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseListenStats(data)
		if err != nil {
			if st != (ListenStats{}) {
				t.Fatalf("error %q with non-zero stats %+v", err, st)
			}
			return
		}
		// Whatever parsed must have come from a TcpExt pair naming both
		// columns.
		if !bytes.Contains(data, []byte("ListenOverflows")) || !bytes.Contains(data, []byte("ListenDrops")) {
			t.Fatalf("parsed %+v from input without both column names: %q", st, data)
		}
	})
}
