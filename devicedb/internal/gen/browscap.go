package main

import (
	"fmt"
	"strings"
)

// browscapDevice is one object of browscap's resources/devices/**/*.json,
// combined into one array (sources/NOTE.md).
type browscapDevice struct {
	Key        string `json:"key"`
	Type       string `json:"type"`
	Properties struct {
		Name  string `json:"Device_Name"`
		Code  string `json:"Device_Code_Name"`
		Brand string `json:"Device_Brand_Name"`
	} `json:"properties"`
}

// browscapType maps browscap's device class to an AdCOM device type and
// the family device a model of that class falls back to.
func browscapType(class string) (typ int, parent string, ok bool) {
	switch class {
	case "mobile-phone":
		return 4, "generic_phone", true
	case "tablet", "ebook-reader":
		return 5, "generic_tablet", true
	case "tv":
		return 3, "generic_smarttv", true
	case "console", "mobile-console", "car-entertainment-system", "digital-camera":
		return 6, "generic_connected", true
	case "mobile-device":
		return 1, "generic_mobile", true
	}
	return 0, "", false // desktop and unknown: no model token to match
}

// browscapDevices turns browscap's device list into devices keyed by their
// code name (Device_Code_Name, the model as UAs carry it). Generic
// entries ("general Mobile Phone"), codes shorter than four characters
// and codes browscap gives to two brands are left out: they would name
// the wrong device more often than the right one. Apple's devices come
// from DeviceKit ("iPhone" is no model code).
func browscapDevices(path string, names *brandNames) ([]*entry, error) {
	var rows []browscapDevice
	if err := readJSON(path, &rows); err != nil {
		return nil, err
	}
	if len(rows) < 4000 {
		return nil, fmt.Errorf("%q: only %d devices", path, len(rows))
	}
	brands := map[string]map[string]bool{} // code → brands
	for _, r := range rows {
		k := strings.ToUpper(strings.TrimSpace(r.Properties.Code))
		if brands[k] == nil {
			brands[k] = map[string]bool{}
		}
		brands[k][names.canon(r.Properties.Brand)] = true
	}
	var out []*entry
	for _, r := range rows {
		p := r.Properties
		code := strings.TrimSpace(p.Code)
		brand := names.canon(p.Brand)
		typ, parent, ok := browscapType(r.Type)
		switch {
		case !ok, brand == "", brand == "Apple", brandKey(brand) == "unknown", strings.HasPrefix(strings.ToLower(r.Key), "general"),
			len(code) < 4, len(brands[strings.ToUpper(code)]) > 1, isNumber(code) && len(code) < 5:
			continue
		}
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name = code
		}
		out = append(out, &entry{
			brand: brand, name: name, model: code, typ: typ, parent: parent,
			tokens: []string{code}, source: "browscap",
		})
	}
	return out, nil
}

func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
