package events

import (
	"bytes"
	"encoding/json"
)

// An event travels as one line: the JSON object AppendJSON writes, which
// never holds a raw newline (encoding escapes it), then '\n' on disk. The
// spill stores exactly that, so a spill segment reads like the event file.
// A sink's Record key, the auction id, is recovered from the line itself:
// AppendJSON always writes the auction_id member, fourth, after type, id
// and ts, so the first `,"auction_id":"` in a line is that member (inside a
// JSON string a quote is always escaped, so `,"` cannot occur there).

var auctionIDMember = []byte(`,"auction_id":"`)

// auctionKey returns the auction id of an event line written by
// AppendJSON: a slice of line, or, when the id holds an escape (a control
// character, a quote, ...), a new decoded copy. It reports false for a line
// AppendJSON did not write.
func auctionKey(line []byte) ([]byte, bool) {
	i := bytes.Index(line, auctionIDMember)
	if i < 0 {
		return nil, false
	}
	start := i + len(auctionIDMember)
	v := line[start:]
	escaped := false
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			if !escaped {
				return v[:j:j], true
			}
			var s string
			if err := json.Unmarshal(line[start-1:start+j+1], &s); err != nil {
				return nil, false
			}
			return []byte(s), true
		}
	}
	return nil, false
}

// typeOf returns the typeNames index of an event line's type, "other" for
// a line that does not start with a type AppendJSON wrote.
func typeOf(line []byte) int {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return typeIndex("")
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return typeIndex("")
	}
	switch string(rest[:end]) {
	case string(Auction):
		return typeIndex(Auction)
	case string(Win):
		return typeIndex(Win)
	case string(Bill):
		return typeIndex(Bill)
	case string(Loss):
		return typeIndex(Loss)
	}
	return typeIndex("")
}

// lineKey returns the Record key of a line (without its newline) read
// back from the spill, and false for a line that is not an event
// AppendJSON wrote, which is skipped as torn.
func lineKey(line []byte) ([]byte, bool) {
	if len(line) < 2 || line[len(line)-1] != '}' || !bytes.HasPrefix(line, []byte(`{"type":"`)) {
		return nil, false
	}
	return auctionKey(line)
}
