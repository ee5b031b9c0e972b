package events

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/rotate"
	"github.com/adx-exchange/adx/internal/waittest"
)

// readEventFiles returns the events in path's files, oldest first.
func readEventFiles(t *testing.T, path string) []Record {
	t.Helper()
	files := rotate.Files(path)
	slices.Reverse(files)
	var out []Record
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: line %q: %v", name, sc.Text(), err)
			}
			out = append(out, Record{Key: []byte(e.AuctionID), Value: slices.Clone(sc.Bytes())})
		}
		f.Close()
	}
	return out
}

func TestFileSinkRotatesAndKeepsEveryEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "adx-events", "events.jsonl")
	sink, err := OpenFile(FileOptions{Path: path, MaxBytes: 4 << 10, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var batch []Record
	for i := range 200 {
		v := recorded(i).AppendJSON(nil)
		k, _ := auctionKey(v)
		batch = append(batch, Record{Key: k, Value: v})
		if len(batch) == 16 || i == 199 {
			if err := sink.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	// Write returns once the lines are in the file, before Close.
	if got := readEventFiles(t, path); len(got) != 200 {
		t.Fatalf("%d events in the files before Close, want 200", len(got))
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	files := rotate.Files(path)
	if len(files) < 5 {
		t.Fatalf("files %v: want rotations at 4 KiB, all kept (keep 0)", files)
	}
	for _, f := range files {
		if st, _ := os.Stat(f); st.Size() > 4<<10 {
			t.Errorf("%s is %d bytes, past MaxBytes", f, st.Size())
		}
	}
	checkStream(t, readEventFiles(t, path), 0, 200)
}

func TestFileSinkKeepAndAge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	sink, err := OpenFile(FileOptions{Path: path, MaxAge: time.Nanosecond, Keep: 2, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		v := recorded(i).AppendJSON(nil)
		if err := sink.Write(context.Background(), []Record{{Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	sink.Close()
	if files := rotate.Files(path); !slices.Equal(files, []string{path, path + ".1", path + ".2"}) {
		t.Fatalf("files %v, want the live file and 2 kept", files)
	}
	got := readEventFiles(t, path)
	if len(got) != 3 || !strings.Contains(string(got[0].Value), `"w:2"`) {
		t.Fatalf("kept %d events starting %s, want the last 3", len(got), got[0].Value)
	}
}

func TestFileSinkRefuses(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	if _, err := OpenFile(FileOptions{Path: filepath.Join(blocker, "events.jsonl")}); err == nil {
		t.Error("OpenFile under a file accepted")
	}
	if _, err := OpenFile(FileOptions{Path: filepath.Join(t.TempDir(), "e"), Keep: -1}); err == nil {
		t.Error("OpenFile with keep -1 accepted")
	}
	sink, err := OpenFile(FileOptions{Path: filepath.Join(t.TempDir(), "e")})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sink.Write(ctx, []Record{{Value: []byte("{}")}}); err == nil {
		t.Error("Write with an ended context succeeded")
	}
}

// TestStreamToFile runs the whole way: a Stream over a FileSink, emitted
// and recorded events, Close, and every event in the files.
func TestStreamToFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events", "events.jsonl")
	sink, err := OpenFile(FileOptions{Path: path, MaxBytes: 64 << 10, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := openStream(t, filepath.Join(dir, "spill"), sink, 1<<12, 5*time.Second)
	const emits, records = 1000, 200
	for i := range emits {
		s.Emit(emitted(i))
		if i < records {
			if err := s.Record(recorded(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The buffer holds every emitted event: none may drop.
	waittest.For(t, "every event delivered", func() bool {
		return s.count(Auction, delivered) == emits && s.count(Win, delivered) == records
	})
	closeStream(t, s, 10*time.Second)
	checkStream(t, readEventFiles(t, path), emits, records)
}
