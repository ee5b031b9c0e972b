package devicedb

import (
	"bufio"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Floors for the labelled screens set (testdata/tv/screens.tsv): the
// device type of TVs, set-top boxes, consoles, wearables and cars. The
// held-out part was set aside before the rules were written.
const (
	floorScreensHeldOut = 0.85
	floorScreensTrain   = 0.95
)

type screenRow struct {
	devType int8
	make    string
	ua      string
}

func readScreens(t *testing.T) []screenRow {
	t.Helper()
	f, err := os.Open("testdata/tv/screens.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []screenRow
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.SplitN(line, "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("screens.tsv:%d: want 3 tab-separated columns", n)
		}
		typ, err := strconv.Atoi(cols[0])
		if err != nil || typ < 1 || typ > 7 {
			t.Fatalf("screens.tsv:%d: bad device type %q", n, cols[0])
		}
		rows = append(rows, screenRow{int8(typ), cols[1], cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// screensHeldOut reports whether a labelled UA belongs to the held-out part: a
// deterministic split by the FNV-1a hash of the UA.
func screensHeldOut(ua string) bool {
	h := fnv.New32a()
	h.Write([]byte(ua))
	return h.Sum32()%10 < 3
}

// TestScreensDeviceType measures the device type (and the make, where
// labelled) on the labelled screens set, separately on the part the rules
// were written against and on the held-out part.
func TestScreensDeviceType(t *testing.T) {
	db := defaultDB(t)
	rows := readScreens(t)
	var train, held, makes share
	for _, r := range rows {
		res := db.Lookup(Evidence{UA: r.ua})
		ok := res.DeviceType == r.devType
		s, part := &train, "train"
		if screensHeldOut(r.ua) {
			s, part = &held, "held out"
		}
		s.add(ok)
		if !ok {
			t.Logf("%s: type %d, want %d (id %s): %s", part, res.DeviceType, r.devType, res.ID, r.ua)
		}
		if r.make != "" {
			makes.add(res.Make == r.make)
			if res.Make != r.make {
				t.Logf("%s: make %q, want %q: %s", part, res.Make, r.make, r.ua)
			}
		}
	}
	t.Logf("device type: train %.3f (%d/%d), held out %.3f (%d/%d); make %.3f (%d/%d)",
		train.rate(), train.ok, train.n, held.rate(), held.ok, held.n, makes.rate(), makes.ok, makes.n)
	if held.n < 30 || train.n < 100 {
		t.Fatalf("only %d held-out and %d training rows: the test data shrank", held.n, train.n)
	}
	if held.rate() < floorScreensHeldOut {
		t.Errorf("held-out device type accuracy %.3f below %.2f", held.rate(), floorScreensHeldOut)
	}
	if train.rate() < floorScreensTrain {
		t.Errorf("training device type accuracy %.3f below %.2f", train.rate(), floorScreensTrain)
	}
}
