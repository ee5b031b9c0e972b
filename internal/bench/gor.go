package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// GorRequest is one request record (type 1) of a GoReplay .gor file.
type GorRequest struct {
	// ID is the record id, lowercase hex; a request and its responses share it.
	ID string `json:"id"`
	// TS is when the request started, in Unix nanoseconds.
	TS int64 `json:"ts"`
	// Latency is the capture's latency field in nanoseconds; -1 when it is
	// unknown or absent (old files have only three meta fields).
	Latency int64 `json:"latency"`
	// Method, URI and Body come from the captured HTTP/1.x request; a
	// chunked body is decoded.
	Method string `json:"method"`
	URI    string `json:"uri"`
	Body   []byte `json:"body"`
	// ContentType and ContentEncoding are the request's headers of those
	// names, so a replay can send the body as it was captured.
	ContentType     string `json:"content_type,omitempty"`
	ContentEncoding string `json:"content_encoding,omitempty"`
}

// GorStats counts what ReadGor skipped.
type GorStats struct {
	Requests  int `json:"requests"`  // request records returned
	Responses int `json:"responses"` // response records (types 2 and 3), skipped
	Malformed int `json:"malformed"` // records with bad meta or HTTP, skipped
	Truncated int `json:"truncated"` // trailing bytes without a final separator, skipped
}

// gorSeparator ends every record: "\n🐵🙈🙉\n". The reader sees it as a line
// of its own after the record's last LF.
var gorSeparatorLine = []byte("\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n")

// maxGorRecord bounds one record, so a file without separators cannot make
// the reader hold all of it.
const maxGorRecord = 64 << 20

// ReadGor reads a GoReplay file (already decompressed) and returns its
// request records sorted by TS (GoReplay does not write them in order),
// equal timestamps keeping file order. It follows GoReplay's reader: a line
// equal to the separator's emoji line ends a record, the record's first
// line is its meta "TYPE ID TS [LAT]", and records with fewer than three
// meta fields are skipped. See ../shared/reference/gor-format.md. It
// returns an error only when reading fails or a record exceeds 64 MiB.
func ReadGor(r io.Reader) ([]GorRequest, GorStats, error) {
	var (
		st   GorStats
		out  []GorRequest
		rec  []byte
		br   = bufio.NewReaderSize(r, 64<<10)
		line []byte
	)
	for {
		var err error
		line, err = br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			rec = append(rec, line...)
			if len(rec) > maxGorRecord {
				return nil, st, fmt.Errorf("gor record %d is larger than %d bytes", len(out)+st.Responses+st.Malformed+1, maxGorRecord)
			}
			line, err = br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, st, fmt.Errorf("cannot read gor file: %w", err)
		}
		if bytes.Equal(line, gorSeparatorLine) {
			if len(rec) > 0 {
				rec = rec[:len(rec)-1] // the separator's leading LF
			}
			if g, kind := parseGorRecord(rec); kind == gorRequest {
				out = append(out, g)
			} else if kind == gorResponse {
				st.Responses++
			} else {
				st.Malformed++
			}
			rec = rec[:0]
		} else {
			rec = append(rec, line...)
			if len(rec) > maxGorRecord {
				return nil, st, fmt.Errorf("gor record %d is larger than %d bytes", len(out)+st.Responses+st.Malformed+1, maxGorRecord)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(bytes.TrimSpace(rec)) > 0 {
		st.Truncated++
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TS < out[j].TS })
	st.Requests = len(out)
	return out, st, nil
}

type gorKind uint8

const (
	gorMalformed gorKind = iota
	gorRequest
	gorResponse
)

func parseGorRecord(rec []byte) (GorRequest, gorKind) {
	var g GorRequest
	nl := bytes.IndexByte(rec, '\n')
	if nl < 0 {
		return g, gorMalformed
	}
	meta, payload := rec[:nl], rec[nl+1:]
	f := bytes.Split(meta, []byte{' '})
	if len(f) < 3 {
		return g, gorMalformed
	}
	switch string(f[0]) {
	case "1":
	case "2", "3":
		return g, gorResponse
	default:
		return g, gorMalformed
	}
	ts, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil || len(f[1]) == 0 {
		return g, gorMalformed
	}
	g.ID, g.TS, g.Latency = string(f[1]), ts, -1
	if len(f) >= 4 {
		if lat, err := strconv.ParseInt(string(f[3]), 10, 64); err == nil {
			g.Latency = lat
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(payload)))
	if err != nil {
		return g, gorMalformed
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxGorRecord))
	if err != nil {
		return g, gorMalformed
	}
	g.Method, g.URI, g.Body = req.Method, req.RequestURI, body
	g.ContentType = req.Header.Get("Content-Type")
	g.ContentEncoding = req.Header.Get("Content-Encoding")
	return g, gorRequest
}
