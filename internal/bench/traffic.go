package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// Traffic is a set of request bodies to replay, in order. Offsets, when not
// nil, holds each body's captured send time relative to the first, for
// replays that keep the captured timing.
type Traffic struct {
	Bodies  [][]byte
	Offsets []time.Duration
}

// maxJSONLLine bounds one JSONL line (one bid request).
const maxJSONLLine = 16 << 20

// ReadJSONL reads one JSON object per line. Blank lines are skipped; a line
// that is not a JSON object is an error naming its line number. The
// returned bodies do not alias each other. A capture timestamp that adx's
// request capture puts first in each line ({"@ts":UNIX_NANOS,...}) is
// removed from the body; ReadJSONLTimed returns it.
func ReadJSONL(r io.Reader) ([][]byte, error) {
	bodies, _, err := ReadJSONLTimed(r)
	return bodies, err
}

// captureTS is the key adx's request capture writes first in each line.
const captureTS = `{"@ts":`

// ReadJSONLTimed is ReadJSONL that also returns each line's capture time
// in Unix nanoseconds; ts is nil unless every line carries one.
func ReadJSONLTimed(r io.Reader) (bodies [][]byte, ts []int64, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	timed := true
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return nil, nil, fmt.Errorf("line %d is not a JSON object", n)
		}
		body, t, ok := splitCaptureTS(line)
		timed = timed && ok
		bodies = append(bodies, body)
		ts = append(ts, t)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("cannot read line %d: %w", n+1, err)
	}
	if !timed {
		ts = nil
	}
	return bodies, ts, nil
}

// splitCaptureTS removes a leading "@ts":N member from a JSON object line
// and returns a copy of the rest as the body; ok is false (and the body
// the whole line) when the line does not start with one.
func splitCaptureTS(line []byte) (body []byte, ts int64, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(captureTS))
	if !found {
		return bytes.Clone(line), 0, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' && i < 19 {
		ts = ts*10 + int64(rest[i]-'0')
		i++
	}
	if i == 0 || i >= len(rest) || (rest[i] != ',' && rest[i] != '}') {
		return bytes.Clone(line), 0, false
	}
	if rest[i] == '}' {
		return []byte("{}"), ts, true
	}
	body = make([]byte, 0, 1+len(rest)-i-1)
	body = append(body, '{')
	body = append(body, rest[i+1:]...)
	return body, ts, true
}

// LoadTraffic reads a traffic file: GoReplay (name ending .gor) or JSONL
// (any other name), either gzip-compressed when the name ends .gz. From a
// .gor file only POST requests with an uncompressed body are kept, with
// their captured timing; a JSONL file written by adx's request capture
// keeps its captured timing too.
func LoadTraffic(path string) (*Traffic, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open traffic file: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	name := path
	if n, ok := strings.CutSuffix(path, ".gz"); ok {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("cannot gunzip traffic file %q: %w", path, err)
		}
		defer zr.Close()
		r, name = zr, n
	}
	t := &Traffic{}
	if strings.HasSuffix(name, ".gor") {
		reqs, _, err := ReadGor(r)
		if err != nil {
			return nil, fmt.Errorf("cannot read %q: %w", path, err)
		}
		t.Offsets = make([]time.Duration, 0, len(reqs))
		for _, g := range reqs {
			if g.Method != "POST" || len(g.Body) == 0 || (g.ContentEncoding != "" && g.ContentEncoding != "identity") {
				continue
			}
			t.Bodies = append(t.Bodies, g.Body)
			t.Offsets = append(t.Offsets, time.Duration(g.TS-reqs[0].TS))
		}
	} else {
		bodies, ts, err := ReadJSONLTimed(r)
		if err != nil {
			return nil, fmt.Errorf("cannot read %q: %w", path, err)
		}
		t.Bodies = bodies
		if ts != nil {
			t.Offsets = jsonlOffsets(t.Bodies, ts)
		}
	}
	if len(t.Bodies) == 0 {
		return nil, errors.New("traffic file " + path + " holds no requests")
	}
	return t, nil
}

// jsonlOffsets orders captured bodies by capture time (the capture writer
// may interleave neighbours) and returns their offsets from the first.
func jsonlOffsets(bodies [][]byte, ts []int64) []time.Duration {
	idx := make([]int, len(bodies))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ts[idx[a]] < ts[idx[b]] })
	sorted := make([][]byte, len(bodies))
	offsets := make([]time.Duration, len(bodies))
	for k, i := range idx {
		sorted[k] = bodies[i]
		offsets[k] = time.Duration(ts[i] - ts[idx[0]])
	}
	copy(bodies, sorted)
	return offsets
}
