package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gorGolden is the golden view of one .gor file: bodies as text.
type gorGolden struct {
	Stats    GorStats       `json:"stats"`
	Requests []gorGoldenReq `json:"requests"`
}

type gorGoldenReq struct {
	ID, Method, URI, Body string
	TS, Latency           int64
	ContentType           string `json:",omitempty"`
	ContentEncoding       string `json:",omitempty"`
}

// TestReadGorGolden reads every testdata/gor/*.gor[.gz] file and compares
// the result with NAME.golden.json (regenerate with -update). The files
// cover: request and response records, 3- and 4-field meta, chunked bodies,
// malformed meta and HTTP, out-of-order and equal timestamps, gzip, and a
// truncated last record.
func TestReadGorGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "gor", "*.gor*"))
	if len(files) < 4 {
		t.Fatalf("found only %d .gor files under testdata/gor", len(files))
	}
	for _, path := range files {
		if strings.HasSuffix(path, ".json") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var r io.Reader = f
			if strings.HasSuffix(path, ".gz") {
				zr, err := gzip.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			reqs, st, err := ReadGor(r)
			if err != nil {
				t.Fatal(err)
			}
			g := gorGolden{Stats: st, Requests: []gorGoldenReq{}}
			for _, q := range reqs {
				g.Requests = append(g.Requests, gorGoldenReq{ID: q.ID, Method: q.Method, URI: q.URI, Body: string(q.Body),
					TS: q.TS, Latency: q.Latency, ContentType: q.ContentType, ContentEncoding: q.ContentEncoding})
			}
			got, _ := json.MarshalIndent(g, "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(path, ".gz") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: got\n%s\nwant (%s)\n%s", path, got, golden, want)
			}
			for i := 1; i < len(reqs); i++ {
				if reqs[i].TS < reqs[i-1].TS {
					t.Errorf("requests not sorted by ts at %d", i)
				}
			}
		})
	}
}

func TestLoadTraffic(t *testing.T) {
	f := func(path string, wantBodies int, wantOffsets []time.Duration) {
		t.Helper()
		tr, err := LoadTraffic(path)
		if err != nil {
			t.Fatalf("LoadTraffic(%q): %v", path, err)
		}
		if len(tr.Bodies) != wantBodies {
			t.Errorf("LoadTraffic(%q): %d bodies, want %d", path, len(tr.Bodies), wantBodies)
		}
		if wantOffsets != nil && !equalDurations(tr.Offsets, wantOffsets) {
			t.Errorf("LoadTraffic(%q): offsets %v, want %v", path, tr.Offsets, wantOffsets)
		}
	}
	ms := time.Millisecond
	// basic.gor: the GET, the responses and the malformed records drop out.
	f(filepath.Join("testdata", "gor", "basic.gor"), 3, []time.Duration{0, 10 * ms, 40 * ms})
	f(filepath.Join("testdata", "gor", "basic.gor.gz"), 3, nil)
	f(filepath.Join("testdata", "gor", "outoforder.gor.gz"), 5, []time.Duration{0, 100 * ms, 100 * ms, 200 * ms, 300 * ms})
	f(filepath.Join("testdata", "synth", "seed1-first5.jsonl"), 5, nil)

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"id\":\"1\"}\n\n[1,2]\n"), 0o644)
	if _, err := LoadTraffic(bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("LoadTraffic of a bad line: err %v, want one naming line 3", err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	if _, err := LoadTraffic(empty); err == nil {
		t.Error("LoadTraffic of an empty file: no error")
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte("{\"id\":\"1\"}\n{\"id\":\"2\",\"imp\":[]}\n"))
	f.Add([]byte("\n\n{}\r\n"))
	f.Add([]byte("{\"a\":\"\\u12\"}\n"))
	f.Add([]byte("[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bodies, err := ReadJSONL(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, b := range bodies {
			if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
				t.Fatalf("ReadJSONL returned a body that is not a JSON object: %q", b)
			}
		}
	})
}

func FuzzReadGor(f *testing.F) {
	for _, name := range []string{"basic.gor", "outoforder.gor", "truncated.gor"} {
		b, err := os.ReadFile(filepath.Join("testdata", "gor", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("1 a 1\n\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, st, err := ReadGor(bytes.NewReader(data))
		if err != nil {
			return
		}
		if st.Requests != len(reqs) {
			t.Fatalf("stats say %d requests, got %d", st.Requests, len(reqs))
		}
		for i := range reqs {
			if reqs[i].ID == "" || reqs[i].Method == "" {
				t.Fatalf("request %d lacks id or method: %+v", i, reqs[i])
			}
			if i > 0 && reqs[i].TS < reqs[i-1].TS {
				t.Fatalf("not sorted at %d", i)
			}
		}
	})
}
