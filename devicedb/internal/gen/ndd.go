package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nddDevices reads node-device-detector's device.yml: per brand, spec
// rows ("galaxy s8": "DS=5.8;RS=1440x2960;OI=1;…") and alias rows
// ("sm-g950f": "->galaxy s8"). Each spec row becomes a device whose tokens
// are the row's own key and its aliases (the model codes UAs carry),
// with the screen it gives: RS (resolution, made portrait), DS (diagonal,
// inches) for the ppi unless DP gives it, DR for the pixel ratio when
// present. OI=1 rows fall back to generic_android, others to
// generic_mobile; iOS rows (OI=2) are left to DeviceKit.
func nddDevices(path string, names *brandNames) ([]*entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	var doc map[string]map[string]string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", path, err)
	}
	// A key under two brands ("note 3", "x10") names neither.
	brandsOf := map[string]int{}
	for _, rows := range doc {
		for k := range rows {
			brandsOf[k]++
		}
	}
	var out []*entry
	for _, b := range sortedKeys(doc) {
		rows := doc[b]
		if len(rows) == 0 {
			continue
		}
		brand := names.canon(titleCase(b))
		if brand == "Apple" {
			continue
		}
		aliases := map[string][]string{} // spec key → alias keys
		for _, k := range sortedKeys(rows) {
			v := rows[k]
			if !strings.HasPrefix(v, "->") {
				continue
			}
			target := strings.TrimPrefix(v, "->")
			for i := 0; i < 3; i++ { // an alias of an alias
				next, ok := rows[target]
				if !ok || !strings.HasPrefix(next, "->") {
					break
				}
				target = strings.TrimPrefix(next, "->")
			}
			aliases[target] = append(aliases[target], k)
		}
		for _, k := range sortedKeys(rows) {
			spec := rows[k]
			if strings.HasPrefix(spec, "->") {
				continue
			}
			kv := parseSpec(spec)
			if kv["OI"] == "2" {
				continue
			}
			e := &entry{brand: brand, name: titleCase(k), parent: "generic_mobile", source: "node-device-detector"}
			if kv["OI"] == "1" {
				e.parent = "generic_android"
			}
			for _, t := range append([]string{k}, aliases[k]...) {
				if tok := nddToken(t); tok != "" && brandsOf[t] == 1 {
					e.tokens = append(e.tokens, tok)
				}
			}
			if len(e.tokens) == 0 {
				continue
			}
			e.model = e.tokens[0]
			for _, t := range e.tokens {
				if !strings.Contains(t, " ") {
					e.model = t // a model code reads better than a name
					break
				}
			}
			e.w, e.h, e.ppi, e.dpr = nddScreen(kv)
			out = append(out, e)
		}
	}
	if len(out) < 1500 {
		return nil, fmt.Errorf("%q: only %d devices", path, len(out))
	}
	return out, nil
}

// nddToken spells a lower-cased key as UAs do: codes upper-cased
// ("sm-g950f" → "SM-G950F"), names title-cased ("redmi note 8 pro" →
// "Redmi Note 8 Pro"). Keys shorter than four characters, bare numbers
// shorter than five and names that start with a digit ("7 pro", a name
// only beside the brand) are dropped: too many makers share them.
func nddToken(k string) string {
	k = strings.TrimSpace(strings.ReplaceAll(k, "_", " "))
	if len(k) < 4 || isNumber(k) && len(k) < 5 || strings.Contains(k, " ") && k[0] >= '0' && k[0] <= '9' {
		return ""
	}
	if strings.Contains(k, " ") {
		return titleCase(k)
	}
	return strings.ToUpper(k)
}

func parseSpec(s string) map[string]string {
	kv := map[string]string{}
	for _, f := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv
}

// nddScreen returns the portrait resolution, the ppi (DP, else computed
// from RS and DS) and the pixel ratio (DR, else 0) of a spec row.
func nddScreen(kv map[string]string) (w, h, ppi int, dpr float64) {
	ws, hs, ok := strings.Cut(kv["RS"], "x")
	if !ok {
		return 0, 0, 0, 0
	}
	w, _ = strconv.Atoi(strings.TrimSpace(ws))
	h, _ = strconv.Atoi(strings.TrimSpace(hs))
	if w <= 0 || h <= 0 {
		return 0, 0, 0, 0
	}
	if w > h {
		w, h = h, w
	}
	if dp, err := strconv.Atoi(kv["DP"]); err == nil && dp > 0 {
		ppi = dp
	} else if ds, err := strconv.ParseFloat(kv["DS"], 64); err == nil && ds > 0 {
		ppi = int(math.Round(math.Hypot(float64(w), float64(h)) / ds))
	}
	if r, err := strconv.ParseFloat(kv["DR"], 64); err == nil && r > 0 && r < 8 {
		dpr = r
	}
	return w, h, ppi, dpr
}
