package rotate

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// record is the i-th test record: a line of size bytes ending in '\n'.
func record(i, size int) []byte {
	p := []byte(strconv.Itoa(i) + ":")
	for len(p) < size-1 {
		p = append(p, 'x')
	}
	return append(p, '\n')
}

// readRecords returns the records of path's files, oldest first, failing
// on a record split across files.
func readRecords(t *testing.T, path string) []int {
	t.Helper()
	files := Files(path)
	slices.Reverse(files)
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("%s ends mid-record: %q", f, b[max(0, len(b)-20):])
		}
		for line := range bytes.Lines(b) {
			n, err := strconv.Atoi(string(line[:bytes.IndexByte(line, ':')]))
			if err != nil {
				t.Fatalf("%s: bad record %q", f, line)
			}
			out = append(out, n)
		}
	}
	return out
}

func TestRotateBySize(t *testing.T) {
	f := func(keep, buffer int, wantFiles int) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "sub", "dir", "events.jsonl")
		r, err := Open(Options{Path: path, MaxBytes: 1000, Keep: keep, BufferBytes: buffer})
		if err != nil {
			t.Fatal(err)
		}
		const n = 130 // 100-byte records: 10 a file, 13 files in all
		for i := range n {
			if err := r.Write(record(i, 100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		files := Files(path)
		if len(files) != wantFiles || files[0] != path {
			t.Fatalf("keep %d: files %v, want the live file and %d rotated ones", keep, files, wantFiles-1)
		}
		for i, f := range files[1:] {
			if want := path + "." + strconv.Itoa(i+1); f != want {
				t.Fatalf("keep %d: file %d is %s, want %s", keep, i+1, f, want)
			}
		}
		for _, f := range files {
			if st, _ := os.Stat(f); st.Size() > 1000 {
				t.Errorf("%s is %d bytes, past MaxBytes", f, st.Size())
			}
		}
		got := readRecords(t, path)
		first := n - 10*wantFiles
		if first < 0 {
			first = 0
		}
		for i, v := range got {
			if v != first+i {
				t.Fatalf("keep %d: record %d is %d, want %d (records %v)", keep, i, v, first+i, got)
			}
		}
		if len(got) != n-first {
			t.Fatalf("keep %d: %d records kept, want %d", keep, len(got), n-first)
		}
	}
	f(KeepAll, 0, 13)
	f(KeepAll, 250, 13)
	f(3, 0, 4)
	f(3, 4096, 4)
	f(0, 0, 1)
}

func TestRotateByAge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.jsonl")
	r, err := Open(Options{Path: path, MaxAge: time.Nanosecond, Keep: KeepAll})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := r.Write(record(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	if files := Files(path); len(files) != 3 {
		t.Fatalf("files %v, want one record a file", files)
	}
	if got := readRecords(t, path); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("records %v", got)
	}

	// A file nobody wrote to for MaxAge is rotated when opened; a fresh
	// one is appended to.
	os.Chtimes(path, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour))
	r, err = Open(Options{Path: path, MaxAge: time.Hour, Keep: KeepAll})
	if err != nil {
		t.Fatal(err)
	}
	r.Write(record(3, 10))
	r.Close()
	r, err = Open(Options{Path: path, MaxAge: time.Hour, Keep: KeepAll})
	if err != nil {
		t.Fatal(err)
	}
	r.Write(record(4, 10))
	r.Close()
	if files := Files(path); len(files) != 4 {
		t.Fatalf("files %v, want the stale file rotated and the fresh one kept", files)
	}
	if got := readRecords(t, path); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("records %v", got)
	}
}

func TestBufferedWritesWaitForFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.jsonl")
	r, err := Open(Options{Path: path, BufferBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Write(record(0, 10))
	if b, _ := os.ReadFile(path); len(b) != 0 || r.Size() != 10 {
		t.Fatalf("file holds %q, size %d before Flush; want nothing written, 10 buffered", b, r.Size())
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 10 {
		t.Fatalf("file holds %q after Flush", b)
	}
	r.Write(record(1, 2000)) // larger than the buffer: written at once
	if b, _ := os.ReadFile(path); len(b) != 2010 {
		t.Fatalf("file holds %d bytes, want 2010", len(b))
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if _, err := Open(Options{Path: filepath.Join(blocker, "sub", "e.jsonl")}); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("Open under a file: %v, want an error naming the path", err)
	}
	if _, err := Open(Options{}); err == nil {
		t.Error("Open without a path accepted")
	}
	if _, err := Open(Options{Path: filepath.Join(dir, "x"), Keep: -2}); err == nil {
		t.Error("Open with keep -2 accepted")
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	r, err := Open(Options{Path: "/dev/full"})
	if err != nil {
		t.Skip("cannot open /dev/full: ", err)
	}
	defer r.Close()
	if err := r.Write(record(0, 10)); err == nil || !strings.Contains(err.Error(), "/dev/full") {
		t.Errorf("write to a full device: %v, want an error naming it", err)
	}
}

func TestFilesOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a[1].jsonl")
	for _, name := range []string{"a[1].jsonl", "a[1].jsonl.10", "a[1].jsonl.2", "a[1].jsonl.1", "a[1].jsonl.tmp", "a[1].jsonl.0", "other.1"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	want := []string{path, path + ".1", path + ".2", path + ".10"}
	if got := Files(path); !slices.Equal(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
}
