package events

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/adx-exchange/adx/currency"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestReportGolden summarizes testdata/events.jsonl (every type, a
// duplicate auction and bill, malformed lines, two currencies and a bill
// whose SSP price is in another currency) and compares both outputs with
// testdata/report.txt and testdata/report.json (rewritten by -update).
func TestReportGolden(t *testing.T) {
	s := summarizeFile(t, filepath.Join("testdata", "events.jsonl"))
	var text, js bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "report.txt"), text.Bytes())
	golden(t, filepath.Join("testdata", "report.json"), js.Bytes())
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func summarizeFile(t *testing.T, path string) *Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s Summary
	if err := Summarize(f, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestReportFigures checks the golden file's figures by hand, so that a
// golden file regenerated with a wrong figure does not pass unseen.
func TestReportFigures(t *testing.T) {
	r := summarizeFile(t, filepath.Join("testdata", "events.jsonl")).Report()
	// One of the events, a bill, is of a test request: counted, and left
	// out of every partner and money figure below.
	if r.Lines != 17 || r.Events != 11 || r.Duplicates != 2 || r.Malformed != 4 || r.Tests != 1 {
		t.Errorf("lines %d events %d duplicates %d malformed %d tests %d, want 17, 11, 2, 4, 1", r.Lines, r.Events, r.Duplicates, r.Malformed, r.Tests)
	}
	if want := map[string]int64{"auction": 3, "win": 3, "bill": 4, "loss": 1}; !maps.Equal(r.Types, want) {
		t.Errorf("types %v, want %v", r.Types, want)
	}
	if r.From == nil || !r.From.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) || !r.To.Equal(time.Date(2026, 12, 1, 10, 4, 30, 0, time.UTC)) {
		t.Errorf("time range %v .. %v, want 10:00:00 .. 10:04:30", r.From, r.To)
	}
	dsps := map[string]DSPReport{}
	for _, d := range r.DSPs {
		dsps[d.DSP] = d
	}
	f := func(name string, asked, bidAuctions, bids, won, dropped, wins, bills, losses int64, bidRate, winRate, billedRate string) {
		t.Helper()
		d := dsps[name]
		got := []int64{d.Asked, d.BidAuctions, d.Bids, d.Won, d.Dropped, d.Wins, d.Bills, d.Losses}
		want := []int64{asked, bidAuctions, bids, won, dropped, wins, bills, losses}
		if !slices.Equal(got, want) {
			t.Errorf("%s: asked, bid, bids, won, dropped, wins, bills, losses = %v, want %v", name, got, want)
		}
		if g := []string{percent(d.BidRate), percent(d.WinRate), percent(d.BilledRate)}; g[0] != bidRate || g[1] != winRate || g[2] != billedRate {
			t.Errorf("%s: bid, win, billed rates %v, want %s %s %s", name, g, bidRate, winRate, billedRate)
		}
	}
	// dsp-z: not_eligible in auc-1 is not asked; its timeout in auc-2 is.
	f("dsp-x", 3, 2, 2, 1, 1, 2, 2, 0, "66.7%", "50.0%", "100.0%")
	f("dsp-y", 3, 2, 2, 1, 0, 1, 1, 1, "66.7%", "50.0%", "100.0%")
	f("dsp-z", 1, 0, 0, 0, 0, 0, 0, 0, "0.0%", "-", "-")

	// Gross USD: (2.512345 + 3.000000) CPM / 1000; net USD only the first
	// bill's 2.261110, the second's net is 2.430000 EUR; the EUR bill has
	// no SSP price, so its net is its clear price.
	want := []Revenue{
		{Cur: "EUR", Bills: 1, Gross: 2000, Net: 2430 + 1800, Margin: 200, GrossECPM: 2_000000},
		{Cur: "USD", Bills: 2, Gross: 5512, Net: 2261, Margin: 251, CrossCurrencyBills: 1, GrossECPM: 2_756173},
	}
	if !slices.Equal(r.Revenue, want) {
		t.Errorf("revenue %+v, want %+v", r.Revenue, want)
	}
	if len(r.Pairs) != 4 {
		t.Errorf("%d ssp x dsp rows, want 4: %+v", len(r.Pairs), r.Pairs)
	}
}

// TestSummarizeInputs feeds the golden file in the ways an operator can:
// gzip-compressed, split in two inputs (duplicates are found across
// them), in one-byte reads, with CRLF line ends; the figures must not move.
func TestSummarizeInputs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := summarizeFile(t, filepath.Join("testdata", "events.jsonl")).Report()
	f := func(name string, inputs ...io.Reader) {
		t.Helper()
		var s Summary
		for _, in := range inputs {
			if err := Summarize(in, &s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		got := s.Report()
		if got.Events != want.Events || got.Duplicates != want.Duplicates || got.Malformed != want.Malformed || !slices.Equal(got.Revenue, want.Revenue) {
			t.Errorf("%s: events %d dup %d malformed %d revenue %+v, want %d %d %d %+v",
				name, got.Events, got.Duplicates, got.Malformed, got.Revenue, want.Events, want.Duplicates, want.Malformed, want.Revenue)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	f("gzip", bytes.NewReader(gz.Bytes()))
	half := bytes.Index(raw, []byte("this line is not JSON"))
	f("two inputs", bytes.NewReader(raw[:half]), bytes.NewReader(raw[half:]))
	f("one byte at a time", iotest.OneByteReader(bytes.NewReader(raw)))
	f("CRLF", bytes.NewReader(bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))))
}

// TestSummarizeBadInput: garbage is counted, never fatal; a truncated
// gzip stream is a read error, and what came before it is kept.
func TestSummarizeBadInput(t *testing.T) {
	f := func(name, in string, lines, malformed int64) {
		t.Helper()
		var s Summary
		if err := Summarize(strings.NewReader(in), &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Lines != lines || s.Malformed != malformed || s.Events+s.Duplicates+s.Malformed != s.Lines {
			t.Errorf("%s: lines %d malformed %d (events %d, duplicates %d), want %d and %d", name, s.Lines, s.Malformed, s.Events, s.Duplicates, lines, malformed)
		}
	}
	f("empty", "", 0, 0)
	f("blank lines", "\n\n  \r\n", 0, 0)
	f("null", "null\n", 1, 1)
	f("array", "[1,2]\n", 1, 1)
	f("no type", `{"id":"x"}`+"\n", 1, 1)
	f("bad time", `{"type":"win","id":"x","ts":"yesterday"}`+"\n", 1, 1)
	f("unknown type counts", `{"type":"click","id":"c:1"}`+"\n", 1, 0)
	f("binary", "\x00\xff\xfe{\n", 1, 1)
	f("no final newline", `{"type":"win","id":"w:1","dsp":"d"}`, 1, 0)

	defer func(n int) { maxLine = n }(maxLine)
	maxLine = 100 << 10 // past the reader's 64 KiB buffer
	var s Summary
	if err := Summarize(strings.NewReader(strings.Repeat("x", maxLine+10)+"\n"+`{"type":"win","id":"w:1"}`+"\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Lines != 2 || s.Malformed != 1 || s.Events != 1 {
		t.Errorf("an over-long line: lines %d malformed %d events %d, want 2, 1, 1", s.Lines, s.Malformed, s.Events)
	}
	s = Summary{}
	long := `{"type":"win","id":"w:2","seat":"` + strings.Repeat("s", 90<<10) + `"}` + "\n"
	if err := Summarize(strings.NewReader(long), &s); err != nil || s.Events != 1 || s.Malformed != 0 {
		t.Errorf("a 90 KiB event under the limit: events %d malformed %d (%v), want 1 and 0", s.Events, s.Malformed, err)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"type":"win","id":"w:1"}` + "\n" + `{"type":"loss","id":"l:1"}` + "\n"))
	zw.Close()
	s = Summary{}
	err := Summarize(bytes.NewReader(gz.Bytes()[:gz.Len()-6]), &s)
	if err == nil {
		t.Errorf("a truncated gzip stream read without error")
	}
	if s.Inputs != 1 || s.Lines == 0 {
		t.Errorf("a truncated gzip stream: %d inputs, %d lines kept, want 1 and some", s.Inputs, s.Lines)
	}
	s = Summary{}
	if err := Summarize(bytes.NewReader([]byte{0x1f, 0x8b, 0}), &s); err == nil {
		t.Errorf("a broken gzip header read without error")
	}
}

// TestPerImpression: a sum of CPMs becomes money at /1000, and a mean
// CPM is rounded, half away from zero.
func TestPerImpression(t *testing.T) {
	f := func(cpm int64, want currency.Micros) {
		t.Helper()
		if got := perImpression(cpm); got != want {
			t.Errorf("perImpression(%d) = %d, want %d", cpm, got, want)
		}
	}
	f(0, 0)
	f(499, 0)
	f(500, 1)
	f(2512345, 2512)
	f(2512500, 2513)
	f(-500, -1)
	f(-499, 0)
	f(-9223372036854775808, -9223372036854776)
	if got := divRound(5512345, 2); got != 2756173 {
		t.Errorf("divRound(5512345, 2) = %d, want 2756173", got)
	}
}

// FuzzSummarize: any input is summarized without a panic, each line is
// counted once, and the report renders.
func FuzzSummarize(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "events.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"type":"bill","id":"b","cur":"USD","dsp_price_micros":-9223372036854775808}`))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		var s Summary
		_ = Summarize(bytes.NewReader(in), &s)
		if s.Events+s.Duplicates+s.Malformed != s.Lines {
			t.Fatalf("lines %d != events %d + duplicates %d + malformed %d", s.Lines, s.Events, s.Duplicates, s.Malformed)
		}
		if err := s.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteJSON(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
