package events

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/adx-exchange/adx/currency"
)

// maxLine bounds one event line; a longer one is counted malformed and
// skipped, so a runaway file cannot take the reader's memory. A variable
// so that tests can lower it.
var maxLine = 64 << 20

// NotEligible is the no-bid reason of a demand partner the auction did
// not call (no imp it could serve); it was not asked.
const NotEligible = "not_eligible"

// Summary accumulates event files into the figures `adx events report`
// prints: counts per type, per demand partner and per supply partner, and
// revenue per currency. The zero Summary is ready; feed it with Summarize,
// once per file, then call Report, WriteText or WriteJSON. It is not safe
// for concurrent use.
//
// Events are deduplicated by ID across every input (delivery is at least
// once): a Summary remembers 16 bytes per distinct event.
type Summary struct {
	// Inputs counts the Summarize calls.
	Inputs int64
	// Lines counts the non-blank lines read; each is one of Events,
	// Duplicates or Malformed.
	Lines int64
	// Events counts the distinct events.
	Events int64
	// Duplicates counts lines whose event ID was seen before.
	Duplicates int64
	// Malformed counts lines that are not an event: not JSON, a field of
	// the wrong type, no type or no id, or longer than 64 MiB.
	Malformed int64
	// Tests counts the distinct events of test requests (test=1): counted
	// among Events and by type, left out of every partner and money figure.
	Tests int64

	seen     map[[16]byte]struct{}
	from, to time.Time
	types    map[Type]int64
	dsps     map[string]*dspStats
	ssps     map[string]*sspStats
	money    map[moneyKey]*tally
}

type dspStats struct {
	asked, bidAuctions    int64
	bids, won, lost, drop int64
	nobids                map[string]int64
	wins, bills, losses   int64
}

type sspStats struct {
	auctions, bids      int64
	wins, bills, losses int64
}

// moneyKey is the finest grain of the revenue sums.
type moneyKey struct{ ssp, dsp, cur string }

// tally sums billed CPMs, in micros, of one moneyKey. Bills and Gross
// count bills whose gross is in the key's currency; Net those whose net
// is; Margin and Cross split the bills of Gross by whether their net is in
// the same currency.
type tally struct {
	bills              int64
	gross, net, margin int64
	cross              int64
}

// Summarize reads one event file from r into s: JSON lines, or the same
// gzip-compressed (recognized by its magic bytes, whatever the file is
// called). Blank lines are skipped; a line that is not an event is
// counted in s.Malformed and skipped. The error is a read error (a
// truncated gzip stream, an I/O error); what was read before it stays in s.
func Summarize(r io.Reader, s *Summary) error {
	s.init()
	s.Inputs++
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("cannot read the gzip header: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	var line []byte
	for {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(br, line[:0])
		if tooLong {
			s.Lines++
			s.Malformed++
		} else {
			s.add(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read events: %w", err)
		}
	}
}

// readLine appends the next line of br to dst, without its limit; past
// maxLine it drops the line and reports tooLong.
func readLine(br *bufio.Reader, dst []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(dst)+len(chunk) > maxLine {
				tooLong, dst = true, dst[:0]
			} else {
				dst = append(dst, chunk...)
			}
		}
		if err != bufio.ErrBufferFull {
			return dst, tooLong, err
		}
	}
}

func (s *Summary) init() {
	if s.seen != nil {
		return
	}
	s.seen = map[[16]byte]struct{}{}
	s.types = map[Type]int64{}
	s.dsps = map[string]*dspStats{}
	s.ssps = map[string]*sspStats{}
	s.money = map[moneyKey]*tally{}
}

func (s *Summary) add(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	s.Lines++
	var e Event
	if err := json.Unmarshal(line, &e); err != nil || e.ID == "" || e.Type == "" {
		s.Malformed++
		return
	}
	// A 128-bit digest of the id: collisions are out of reach, and the
	// set costs the same whatever the ids' length.
	sum := sha256.Sum256([]byte(e.ID))
	key := [16]byte(sum[:16])
	if _, ok := s.seen[key]; ok {
		s.Duplicates++
		return
	}
	s.seen[key] = struct{}{}
	s.Events++
	s.types[e.Type]++
	if !e.Time.IsZero() {
		if s.from.IsZero() || e.Time.Before(s.from) {
			s.from = e.Time
		}
		if e.Time.After(s.to) {
			s.to = e.Time
		}
	}
	if e.Test {
		s.Tests++
		return
	}
	switch e.Type {
	case Auction:
		s.addAuction(&e)
	case Win:
		s.dsp(e.DSP).wins++
		s.ssp(e.SSP).wins++
	case Loss:
		s.dsp(e.DSP).losses++
		s.ssp(e.SSP).losses++
	case Bill:
		s.dsp(e.DSP).bills++
		s.ssp(e.SSP).bills++
		s.addBill(&e)
	}
}

func (s *Summary) addAuction(e *Event) {
	ss := s.ssp(e.SSP)
	ss.auctions++
	ss.bids += int64(len(e.Bids))
	var bidders, asked []string
	for _, b := range e.Bids {
		d := s.dsp(b.DSP)
		d.bids++
		switch b.Status {
		case BidWon:
			d.won++
		case BidLost:
			d.lost++
		default:
			d.drop++
		}
		if !slices.Contains(bidders, b.DSP) {
			bidders = append(bidders, b.DSP)
		}
	}
	for _, nb := range e.NoBids {
		d := s.dsp(nb.DSP)
		d.nobids[nb.Reason]++
		if nb.Reason != NotEligible && !slices.Contains(bidders, nb.DSP) && !slices.Contains(asked, nb.DSP) {
			asked = append(asked, nb.DSP)
		}
	}
	for _, name := range bidders {
		d := s.dsps[name]
		d.asked++
		d.bidAuctions++
	}
	for _, name := range asked {
		s.dsps[name].asked++
	}
}

// addBill adds one bill's gross (what the DSP is billed: dsp_price_micros,
// else charge_micros, in cur) and net (what the SSP pays out:
// ssp_price_micros in ssp_cur when the SSP reported a price, else
// clear_micros in cur).
func (s *Summary) addBill(e *Event) {
	gross := e.DSPPrice
	if gross <= 0 {
		gross = e.Charge
	}
	net, netCur := e.Clear, e.Currency
	if e.SSPPrice > 0 && e.SSPCurrency != "" {
		net, netCur = e.SSPPrice, e.SSPCurrency
	}
	g := s.tally(moneyKey{e.SSP, e.DSP, e.Currency})
	g.bills++
	g.gross += int64(gross)
	s.tally(moneyKey{e.SSP, e.DSP, netCur}).net += int64(net)
	if netCur == e.Currency {
		g.margin += int64(gross - net)
	} else {
		g.cross++
	}
}

func (s *Summary) dsp(name string) *dspStats {
	d := s.dsps[name]
	if d == nil {
		d = &dspStats{nobids: map[string]int64{}}
		s.dsps[name] = d
	}
	return d
}

func (s *Summary) ssp(name string) *sspStats {
	p := s.ssps[name]
	if p == nil {
		p = &sspStats{}
		s.ssps[name] = p
	}
	return p
}

func (s *Summary) tally(k moneyKey) *tally {
	t := s.money[k]
	if t == nil {
		t = &tally{}
		s.money[k] = t
	}
	return t
}

// Report is a Summary's figures, the document `adx events report -json`
// prints. Its fields and their JSON names are stable: new fields may be
// added, none renamed or removed. Lists are sorted by name, then currency.
type Report struct {
	// Inputs is the number of files read; Lines the non-blank lines in
	// them, each one of Events (distinct), Duplicates (an id seen before)
	// or Malformed (not an event).
	Inputs     int64 `json:"inputs"`
	Lines      int64 `json:"lines"`
	Events     int64 `json:"events"`
	Duplicates int64 `json:"duplicates"`
	Malformed  int64 `json:"malformed"`
	// Tests is the events of test requests among Events, left out of the
	// partner and money figures.
	Tests int64 `json:"tests"`
	// From and To are the earliest and latest event times; absent when no
	// event has one.
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
	// Types counts the distinct events per type; the four known types are
	// always present.
	Types map[string]int64 `json:"types"`
	// DSPs and SSPs are the figures per demand and supply partner ("" when
	// an event names none).
	DSPs []DSPReport `json:"dsps"`
	SSPs []SSPReport `json:"ssps"`
	// Revenue is the total per currency, and Pairs the revenue per supply
	// and demand partner pair.
	Revenue []Revenue     `json:"revenue"`
	Pairs   []PairRevenue `json:"ssp_dsp"`
}

// DSPReport is one demand partner's figures. Asked, BidAuctions, Bids,
// Won, Lost, Dropped and NoBids come from the sampled auction events only;
// Wins, Bills and Losses count every notice.
type DSPReport struct {
	DSP string `json:"dsp"`
	// Asked counts the auctions that list the partner in bids, or in
	// nobids with a reason other than not_eligible; BidAuctions those in
	// which it bid.
	Asked       int64 `json:"asked"`
	BidAuctions int64 `json:"bid_auctions"`
	// Bids counts its bids; Won, Lost and Dropped split them by status
	// (dropped: any status but won and lost, a drop reason).
	Bids    int64 `json:"bids"`
	Won     int64 `json:"won"`
	Lost    int64 `json:"lost"`
	Dropped int64 `json:"dropped"`
	// NoBids counts its no-bid entries per reason (nobid, timeout, error,
	// not_eligible...).
	NoBids map[string]int64 `json:"nobids"`
	// Wins, Bills and Losses count its win, bill and loss events.
	Wins   int64 `json:"wins"`
	Bills  int64 `json:"bills"`
	Losses int64 `json:"losses"`
	// BidRate is BidAuctions/Asked, WinRate Won/Bids, BilledRate
	// Bills/Wins; null when the denominator is 0.
	BidRate    *float64 `json:"bid_rate"`
	WinRate    *float64 `json:"win_rate"`
	BilledRate *float64 `json:"billed_rate"`
	// Revenue is its revenue per currency.
	Revenue []Revenue `json:"revenue"`
}

// SSPReport is one supply partner's figures. Auctions and Bids come from
// the sampled auction events only.
type SSPReport struct {
	SSP      string    `json:"ssp"`
	Auctions int64     `json:"auctions"`
	Bids     int64     `json:"bids"`
	Wins     int64     `json:"wins"`
	Bills    int64     `json:"bills"`
	Losses   int64     `json:"losses"`
	Revenue  []Revenue `json:"revenue"`
}

// PairRevenue is the revenue of one supply and demand partner pair.
type PairRevenue struct {
	SSP string `json:"ssp"`
	DSP string `json:"dsp"`
	Revenue
}

// Revenue is the money of bill events in one currency. Each bill is one
// impression, and its prices are CPMs, so an amount is the sum of the
// bills' CPMs / 1000, in micros of Cur, rounded to the micro.
type Revenue struct {
	Cur string `json:"cur"`
	// Bills counts the bills whose gross is in Cur.
	Bills int64 `json:"bills"`
	// Gross is what the demand partners are billed: dsp_price_micros
	// (charge_micros when absent), in the event's cur.
	Gross currency.Micros `json:"gross_micros"`
	// Net is what goes to the supply partners: ssp_price_micros in
	// ssp_cur when the SSP reported a price, else clear_micros in cur.
	Net currency.Micros `json:"net_micros"`
	// Margin is gross − net over the bills of Bills whose net is in Cur
	// too; CrossCurrencyBills counts the others, left out of it.
	Margin             currency.Micros `json:"margin_micros"`
	CrossCurrencyBills int64           `json:"cross_currency_bills"`
	// GrossECPM is the mean gross CPM of the bills, in micros of Cur; 0
	// without bills.
	GrossECPM currency.Micros `json:"gross_ecpm_micros"`
}

// Report returns s's figures.
func (s *Summary) Report() Report {
	s.init()
	r := Report{
		Inputs: s.Inputs, Lines: s.Lines, Events: s.Events,
		Duplicates: s.Duplicates, Malformed: s.Malformed, Tests: s.Tests,
		Types:   map[string]int64{string(Auction): 0, string(Win): 0, string(Bill): 0, string(Loss): 0},
		DSPs:    []DSPReport{},
		SSPs:    []SSPReport{},
		Revenue: []Revenue{},
		Pairs:   []PairRevenue{},
	}
	if !s.from.IsZero() {
		from, to := s.from.UTC(), s.to.UTC()
		r.From, r.To = &from, &to
	}
	for t, n := range s.types {
		r.Types[string(t)] = n
	}
	byDSP := map[string]map[string]*tally{}
	bySSP := map[string]map[string]*tally{}
	total := map[string]*tally{}
	pairs := make([]moneyKey, 0, len(s.money))
	for k, t := range s.money {
		pairs = append(pairs, k)
		if byDSP[k.dsp] == nil {
			byDSP[k.dsp] = map[string]*tally{}
		}
		if bySSP[k.ssp] == nil {
			bySSP[k.ssp] = map[string]*tally{}
		}
		addTally(byDSP[k.dsp], k.cur, t)
		addTally(bySSP[k.ssp], k.cur, t)
		addTally(total, k.cur, t)
	}
	for _, name := range sortedKeys(s.dsps) {
		d := s.dsps[name]
		r.DSPs = append(r.DSPs, DSPReport{
			DSP: name, Asked: d.asked, BidAuctions: d.bidAuctions,
			Bids: d.bids, Won: d.won, Lost: d.lost, Dropped: d.drop, NoBids: d.nobids,
			Wins: d.wins, Bills: d.bills, Losses: d.losses,
			BidRate: ratio(d.bidAuctions, d.asked), WinRate: ratio(d.won, d.bids), BilledRate: ratio(d.bills, d.wins),
			Revenue: revenues(byDSP[name]),
		})
	}
	for _, name := range sortedKeys(s.ssps) {
		p := s.ssps[name]
		r.SSPs = append(r.SSPs, SSPReport{
			SSP: name, Auctions: p.auctions, Bids: p.bids,
			Wins: p.wins, Bills: p.bills, Losses: p.losses,
			Revenue: revenues(bySSP[name]),
		})
	}
	r.Revenue = revenues(total)
	slices.SortFunc(pairs, func(a, b moneyKey) int {
		return strings.Compare(a.ssp+"\x00"+a.dsp+"\x00"+a.cur, b.ssp+"\x00"+b.dsp+"\x00"+b.cur)
	})
	for _, k := range pairs {
		r.Pairs = append(r.Pairs, PairRevenue{SSP: k.ssp, DSP: k.dsp, Revenue: s.money[k].revenue(k.cur)})
	}
	return r
}

// addTally adds t to byCur's sum for cur.
func addTally(byCur map[string]*tally, cur string, t *tally) {
	sum := byCur[cur]
	if sum == nil {
		sum = &tally{}
		byCur[cur] = sum
	}
	sum.bills += t.bills
	sum.gross += t.gross
	sum.net += t.net
	sum.margin += t.margin
	sum.cross += t.cross
}

func revenues(byCur map[string]*tally) []Revenue {
	out := []Revenue{}
	for _, cur := range sortedKeys(byCur) {
		out = append(out, byCur[cur].revenue(cur))
	}
	return out
}

func (t *tally) revenue(cur string) Revenue {
	r := Revenue{
		Cur: cur, Bills: t.bills,
		Gross: perImpression(t.gross), Net: perImpression(t.net), Margin: perImpression(t.margin),
		CrossCurrencyBills: t.cross,
	}
	if t.bills > 0 {
		r.GrossECPM = divRound(t.gross, t.bills)
	}
	return r
}

// perImpression turns a sum of CPMs into money: /1000, rounded half away
// from zero to the micro.
func perImpression(cpm int64) currency.Micros { return divRound(cpm, 1000) }

// divRound is n/d (d > 0) rounded half away from zero, without overflow.
func divRound(n, d int64) currency.Micros {
	q, r := n/d, n%d
	switch {
	case r >= d-r:
		q++
	case -r >= d+r:
		q--
	}
	return currency.Micros(q)
}

func ratio(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WriteJSON writes s's Report to w as one indented JSON document.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.Report()); err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	return nil
}

// reportHeader states what each figure of the text report means.
const reportHeader = `How to read this report:
  Events are deduplicated by id. Each bill is one impression.
  Sampled: asked, bid, bids, won, dropped, timeouts, errors and the SSPs'
  auctions come from the sampled auction events only (events.auction_sample
  of all auctions); wins, bills and losses count every notice.
  asked     auctions that list the DSP in bids, or in nobids with a reason
            other than not_eligible
  bid rate  auctions in which it bid / auctions it was asked
  win rate  its bids with status "won" / its bids
  billed    bill events / win events
  gross     what the DSPs are billed: sum of dsp_price_micros (charge_micros
            when absent) / 1000, in cur
  net       what goes to the SSPs: sum of ssp_price_micros in ssp_cur (when
            the SSP reported a price, else clear_micros in cur) / 1000
  margin    gross - net over the bills whose net is in the same currency;
            "+N": N more bills left out, their net in another currency
  eCPM      mean gross CPM of the bills
`

// WriteText writes s as aligned text tables for an operator, with a
// header that defines every rate and amount.
func (s *Summary) WriteText(w io.Writer) error {
	r := s.Report()
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "inputs %d, lines %d: events %d, duplicates %d, malformed %d\n", r.Inputs, r.Lines, r.Events, r.Duplicates, r.Malformed)
	if r.Tests > 0 {
		fmt.Fprintf(ew, "test events %d: of test requests, left out of the figures below\n", r.Tests)
	}
	if r.From != nil {
		fmt.Fprintf(ew, "time range: %s .. %s (%s)\n", r.From.Format(time.RFC3339Nano), r.To.Format(time.RFC3339Nano), r.To.Sub(*r.From))
	} else {
		fmt.Fprintf(ew, "time range: none\n")
	}
	fmt.Fprintf(ew, "\n%s\n", reportHeader)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TYPE\tEVENTS\n")
	for _, t := range sortedKeys(r.Types) {
		fmt.Fprintf(tw, "%s\t%d\n", t, r.Types[t])
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nPer DSP\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "DSP\tASKED\tBID\tBID RATE\tBIDS\tWON\tWIN RATE\tDROPPED\tTIMEOUTS\tERRORS\tWINS\tBILLS\tBILLED\tLOSSES\n")
	for _, d := range r.DSPs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n", name(d.DSP),
			d.Asked, d.BidAuctions, percent(d.BidRate), d.Bids, d.Won, percent(d.WinRate), d.Dropped,
			d.NoBids["timeout"], d.NoBids["error"], d.Wins, d.Bills, percent(d.BilledRate), d.Losses)
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nPer SSP\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SSP\tAUCTIONS\tBIDS\tWINS\tBILLS\tLOSSES\n")
	for _, p := range r.SSPs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", name(p.SSP), p.Auctions, p.Bids, p.Wins, p.Bills, p.Losses)
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nRevenue\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "OF\tBILLS\tGROSS\tNET\tMARGIN\tECPM\n")
	for _, m := range r.Revenue {
		fmt.Fprintf(tw, "total\t%s\n", money(m))
	}
	for _, d := range r.DSPs {
		for _, m := range d.Revenue {
			fmt.Fprintf(tw, "dsp %s\t%s\n", name(d.DSP), money(m))
		}
	}
	for _, p := range r.SSPs {
		for _, m := range p.Revenue {
			fmt.Fprintf(tw, "ssp %s\t%s\n", name(p.SSP), money(m))
		}
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nPer SSP x DSP\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SSP\tDSP\tBILLS\tGROSS\tNET\tMARGIN\tECPM\n")
	for _, p := range r.Pairs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name(p.SSP), name(p.DSP), money(p.Revenue))
	}
	tw.Flush()
	if ew.err != nil {
		return fmt.Errorf("cannot write the report: %w", ew.err)
	}
	return nil
}

// money formats one revenue row's cells: bills, gross, net, margin, eCPM.
func money(m Revenue) string {
	cur := m.Cur
	if cur == "" {
		cur = "(no cur)"
	}
	margin := m.Margin.String() + " " + cur
	if m.CrossCurrencyBills > 0 {
		margin += fmt.Sprintf(" +%d", m.CrossCurrencyBills)
	}
	ecpm := "-"
	if m.Bills > 0 {
		ecpm = m.GrossECPM.String() + " " + cur
	}
	return fmt.Sprintf("%d\t%s %s\t%s %s\t%s\t%s", m.Bills, m.Gross, cur, m.Net, cur, margin, ecpm)
}

func name(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func percent(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

// errWriter keeps the first write error, so that the report's many small
// writes are checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
