package server

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/adx-exchange/adx/auction"
)

// wantsDebug reports whether a request's ext asks for debugging:
// "debug": 1 (spaces allowed around the colon). It scans the raw ext
// without decoding it, and only for a supply partner with debug on.
func wantsDebug(ext []byte) bool {
	for len(ext) > 0 {
		i := bytes.Index(ext, []byte(`"debug"`))
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(ext[i+len(`"debug"`):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			if len(rest) > 0 && rest[0] == '1' && (len(rest) == 1 || !isDigitOrDot(rest[1])) {
				return true
			}
		}
		ext = ext[i+len(`"debug"`):]
	}
	return false
}

func isDigitOrDot(c byte) bool { return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' }

// debugDemand is one demand partner's part of a debugging response's
// ext.debug.demand.
type debugDemand struct {
	Name      string         `json:"name"`
	Outcome   string         `json:"outcome"`
	Error     string         `json:"error,omitempty"`
	LatencyMS float64        `json:"latency_ms"`
	Bids      int            `json:"bids"`
	Dropped   map[string]int `json:"dropped,omitempty"`
	// The HTTP call, for a DSP that answered before the deadline.
	Request      string `json:"request,omitempty"`
	RequestBytes int    `json:"request_bytes,omitempty"`
	Status       int    `json:"status,omitempty"`
	Answer       string `json:"answer,omitempty"`
	AnswerBytes  int    `json:"answer_bytes,omitempty"`
}

// debugExt returns the response ext of a debugging request: under
// "debug", each demand partner's outcome and call. It runs only for such
// requests, so it may allocate and reflect.
func debugExt(res *auction.Result, tr *auction.Trace) json.RawMessage {
	demand := make([]debugDemand, len(res.Bidders))
	for i := range res.Bidders {
		b := &res.Bidders[i]
		d := debugDemand{Name: b.Name, Outcome: b.Outcome.String(), LatencyMS: float64(b.Latency) / float64(time.Millisecond),
			Bids: len(b.Bids)}
		if b.Err != nil {
			d.Error = b.Err.Error()
		}
		for r, n := range b.Dropped {
			if n > 0 {
				if d.Dropped == nil {
					d.Dropped = map[string]int{}
				}
				d.Dropped[auction.DropReason(r).String()] = n
			}
		}
		if i < len(tr.Calls) {
			c := &tr.Calls[i]
			d.Request, d.RequestBytes, d.Status = string(c.Request), c.RequestBytes, c.Status
			d.Answer, d.AnswerBytes = string(c.Answer), c.AnswerBytes
		}
		demand[i] = d
	}
	out, err := json.Marshal(map[string]any{"debug": map[string]any{"demand": demand}})
	if err != nil { // strings, numbers and maps of them always encode
		panic("BUG: cannot encode the debug trace: " + err.Error())
	}
	return out
}
