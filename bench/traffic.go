package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
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
// returned bodies do not alias each other.
func ReadJSONL(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	var out [][]byte
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return nil, fmt.Errorf("line %d is not a JSON object", n)
		}
		out = append(out, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read line %d: %w", n+1, err)
	}
	return out, nil
}

// LoadTraffic reads a traffic file: GoReplay (name ending .gor) or JSONL
// (any other name), either gzip-compressed when the name ends .gz. From a
// .gor file only POST requests with an uncompressed body are kept, with
// their captured timing.
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
	} else if t.Bodies, err = ReadJSONL(r); err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	if len(t.Bodies) == 0 {
		return nil, errors.New("traffic file " + path + " holds no requests")
	}
	return t, nil
}
