package currency

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"time"
)

// MaxFileBytes bounds a rates file. The ECB's daily file is under 2 KB
// and a table of every ISO-4217 currency under 8 KB; anything near a
// megabyte is not a rates file.
const MaxFileBytes = 1 << 20

// ecbNamespace is the namespace of the ECB's gesmes:Envelope.
const ecbNamespace = "http://www.gesmes.org/xml/2002-08-01"

// LoadRates reads and parses the rates file at path (ParseRates). Its
// error names the file and the problem.
func LoadRates(path string) (*Rates, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load currency rates from %q: %w", path, err)
	}
	r, err := ParseRates(data)
	if err != nil {
		return nil, fmt.Errorf("cannot load currency rates from %q: %w", path, err)
	}
	return r, nil
}

// readFile reads the file at path, refusing one larger than MaxFileBytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes: not a rates file", MaxFileBytes)
	}
	return data, nil
}

// ParseRates parses a rates table in either format the package doc
// describes, told apart by its first character: '{' for JSON, '<' for the
// ECB's XML. It validates every field: ISO-4217 codes, positive rates
// within what a table holds, the base's own rate (1, or implied), a date.
// Its error names the field and the problem.
func ParseRates(data []byte) (*Rates, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty file")
	}
	switch trimmed[0] {
	case '{':
		return parseJSON(trimmed)
	case '<':
		return parseECB(trimmed)
	}
	return nil, errors.New(`neither JSON ({"base": ...}) nor the ECB's XML (<gesmes:Envelope ...>)`)
}

// jsonRates is the JSON format; rates are decoded token by token to keep
// each number's exact text and to catch a currency given twice.
type jsonRates struct {
	Base  string          `json:"base"`
	Date  string          `json:"date"`
	Rates json.RawMessage `json:"rates"`
}

func parseJSON(data []byte) (*Rates, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc jsonRates
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON rates document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a JSON rates document: data after the object")
	}
	if doc.Base == "" {
		return nil, errors.New("base: missing")
	}
	if !isCode(doc.Base) {
		return nil, fmt.Errorf("base: %q is not an ISO-4217 code (three capital letters)", doc.Base)
	}
	asOf, err := parseDate(doc.Date, true)
	if err != nil {
		return nil, fmt.Errorf("date: %w", err)
	}
	if len(doc.Rates) == 0 {
		return nil, errors.New("rates: missing")
	}
	rates := make(map[string]uint64)
	dec = json.NewDecoder(bytes.NewReader(doc.Rates))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("rates: want an object of currency codes to numbers")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("rates: %w", err)
		}
		code := t.(string) // an object key is always a string
		t, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("rates.%s: %w", code, err)
		}
		num, ok := t.(json.Number)
		if !ok {
			if d, isDelim := t.(json.Delim); isDelim {
				t = d.String() + "..."
			}
			return nil, fmt.Errorf("rates.%s: want a number, got %v", code, t)
		}
		if err := addRate(rates, code, string(num)); err != nil {
			return nil, fmt.Errorf("rates.%s: %w", code, err)
		}
	}
	return finish(doc.Base, asOf, rates, "rates")
}

// ecbEnvelope is the ECB's euro foreign exchange reference rates
// document (eurofxref-daily.xml): the rates of one day, against EUR.
type ecbEnvelope struct {
	XMLName xml.Name
	Cube    struct {
		Days []struct {
			Time  *string `xml:"time,attr"`
			Rates []struct {
				Currency string `xml:"currency,attr"`
				Rate     string `xml:"rate,attr"`
			} `xml:"Cube"`
		} `xml:"Cube"`
	} `xml:"Cube"`
}

func parseECB(data []byte) (*Rates, error) {
	var env ecbEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("not the ECB's XML: %w", err)
	}
	if env.XMLName.Local != "Envelope" || env.XMLName.Space != ecbNamespace {
		return nil, fmt.Errorf("not the ECB's XML: the root element is %s, want gesmes:Envelope of %s", xmlName(env.XMLName), ecbNamespace)
	}
	switch n := len(env.Cube.Days); {
	case n == 0:
		return nil, errors.New("ECB XML: no <Cube time=...> of rates")
	case n > 1:
		return nil, fmt.Errorf("ECB XML: %d days of rates; want the daily file (eurofxref-daily.xml), one day", n)
	}
	day := env.Cube.Days[0]
	if day.Time == nil {
		return nil, errors.New("ECB XML: Cube: the time attribute (the rates' date) is missing")
	}
	asOf, err := parseDate(*day.Time, false)
	if err != nil {
		return nil, fmt.Errorf("ECB XML: Cube time: %w", err)
	}
	rates := make(map[string]uint64, len(day.Rates)+1)
	for i, c := range day.Rates {
		if err := addRate(rates, c.Currency, c.Rate); err != nil {
			return nil, fmt.Errorf("ECB XML: Cube[%d] currency=%q rate=%q: %w", i, c.Currency, c.Rate, err)
		}
	}
	return finish("EUR", asOf, rates, "ECB XML")
}

func xmlName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Local + " of " + n.Space
}

// addRate checks code and rate and adds them to rates.
func addRate(rates map[string]uint64, code, rate string) error {
	if !isCode(code) {
		return fmt.Errorf("%q is not an ISO-4217 code (three capital letters)", code)
	}
	if _, dup := rates[code]; dup {
		return errors.New("the currency is given twice")
	}
	v, err := parseRate(rate)
	if err != nil {
		return err
	}
	rates[code] = v
	return nil
}

// finish checks the base's rate (exactly 1, or absent and implied) and
// that the table holds another currency, and builds it. field names the
// rates in errors.
func finish(base string, asOf time.Time, rates map[string]uint64, field string) (*Rates, error) {
	if v, ok := rates[base]; ok && v != rateUnit {
		return nil, fmt.Errorf("%s: the base currency %s must have rate 1, got %s", field, base, formatRate(v))
	}
	rates[base] = rateUnit
	if len(rates) < 2 {
		return nil, fmt.Errorf("%s: no currency besides the base %s", field, base)
	}
	return newRates(base, asOf, rates), nil
}

func formatRate(v uint64) string {
	r := Rates{rates: map[string]uint64{"": v}}
	s, _ := r.Rate("")
	return s
}

// parseDate parses a rates file's date: YYYY-MM-DD (the start of that day,
// UTC) or, when withTime, an RFC 3339 instant.
func parseDate(s string, withTime bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if withTime {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
}

// isCode tells whether s has the form of an ISO-4217 alphabetic code.
func isCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// parseRate parses a decimal rate (digits, an optional fraction, an
// optional exponent: JSON's number syntax without a sign) into 1e-12
// units, rounded half up at the twelfth decimal place. It works on the
// digits as text, so no float rounding ever enters a rate. The rate must
// be positive and at most maxRate, and must not round to zero.
func parseRate(s string) (uint64, error) {
	bad := func() (uint64, error) { return 0, fmt.Errorf("%q is not a decimal number", s) }
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%s is not a positive rate", s)
	}
	i := 0
	digits := func() string {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return s[start:i]
	}
	intPart := digits()
	if intPart == "" {
		return bad()
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		if frac = digits(); frac == "" {
			return bad()
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		sign := 1
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			if s[i] == '-' {
				sign = -1
			}
			i++
		}
		e := digits()
		if e == "" {
			return bad()
		}
		e = strings.TrimLeft(e, "0")
		if len(e) > 6 {
			return 0, fmt.Errorf("%s is out of range", s)
		}
		n, _ := strconv.Atoi(e) // at most 6 digits: cannot fail
		exp = sign * n
	}
	if i != len(s) {
		return bad()
	}
	// value = 0.D × 10^point, D the significant digits.
	all := intPart + frac
	d := strings.TrimLeft(all, "0")
	if d == "" {
		return 0, fmt.Errorf("%s is not a positive rate", s)
	}
	point := len(intPart) - (len(all) - len(d)) + exp
	// In 1e-12 units the point moves ratePrecision places right: the
	// integer part is D's first q digits, and the next digit rounds.
	q := point + ratePrecision
	if q > 20 { // ≥ 1e20 units, past any uint64
		return 0, fmt.Errorf("%s is above %d, the largest rate held", s, maxRate)
	}
	var v uint64
	for k := 0; k < q; k++ {
		c := byte('0')
		if k < len(d) {
			c = d[k]
		}
		hi, lo := bits.Mul64(v, 10)
		v = lo + uint64(c-'0')
		if hi != 0 || v < lo {
			return 0, fmt.Errorf("%s is above %d, the largest rate held", s, maxRate)
		}
	}
	if q >= 0 && q < len(d) && d[q] >= '5' && v < maxRate*rateUnit+1 {
		v++
	}
	switch {
	case v == 0:
		return 0, fmt.Errorf("%s is below 0.000000000001, the smallest rate held", s)
	case v > maxRate*rateUnit:
		return 0, fmt.Errorf("%s is above %d, the largest rate held", s, maxRate)
	}
	return v, nil
}
