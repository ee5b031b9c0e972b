package privacy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

// IDSet is a set of purpose, special purpose, feature or special feature
// IDs (1 to 31) as a bitmask: bit id is set for each member, so that a
// check is one AND.
type IDSet uint32

// Has reports whether id is in s.
func (s IDSet) Has(id int) bool { return id >= 1 && id <= 31 && s&(1<<id) != 0 }

// IDs lists the members of s in ascending order.
func (s IDSet) IDs() []int {
	var ids []int
	for id := 1; id <= 31; id++ {
		if s.Has(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Vendor is a vendor's declarations in the Global Vendor List: the
// purposes it processes on consent (Purposes) or on legitimate interest
// (LegIntPurposes), those of either it lets a publisher restriction switch
// to the other basis (FlexiblePurposes), and its special purposes, features
// and special features.
type Vendor struct {
	ID               int
	Name             string
	Purposes         IDSet
	LegIntPurposes   IDSet
	FlexiblePurposes IDSet
	SpecialPurposes  IDSet
	Features         IDSet
	SpecialFeatures  IDSet
	// DeletedDate is when the vendor was deleted from the list, zero while
	// it is active. The list keeps deleted vendors (their IDs are never
	// reused), so that a TC string older than the deletion still resolves.
	DeletedDate time.Time
}

// Deleted reports whether the vendor has left the list.
func (v *Vendor) Deleted() bool { return !v.DeletedDate.IsZero() }

// GVL is a parsed and validated Global Vendor List (vendor-list.json,
// gvlSpecificationVersion 3, TCF v2.2). It is immutable: build it off the
// request path with ParseGVL or LoadGVL and share it (an atomic.Pointer
// swap on reload).
type GVL struct {
	version       int
	policyVersion int
	lastUpdated   time.Time
	vendors       []Vendor // indexed by ID; ID 0 marks a hole
	count         int
}

// Close does nothing: a GVL is plain memory, freed by the GC. It lets a
// GVL be a watched, reloaded data file (internal/reload).
func (g *GVL) Close() error { return nil }

// Version is the list's vendorListVersion.
func (g *GVL) Version() int { return g.version }

// PolicyVersion is the list's tcfPolicyVersion.
func (g *GVL) PolicyVersion() int { return g.policyVersion }

// LastUpdated is the list's lastUpdated, zero when it has none.
func (g *GVL) LastUpdated() time.Time { return g.lastUpdated }

// Len is the number of vendors in the list, deleted ones included.
func (g *GVL) Len() int { return g.count }

// Vendor returns vendor id's declarations. ok is false when the list does
// not know id; a deleted vendor is returned with its DeletedDate set.
func (g *GVL) Vendor(id int) (Vendor, bool) {
	if id < 1 || id >= len(g.vendors) || g.vendors[id].ID == 0 {
		return Vendor{}, false
	}
	return g.vendors[id], true
}

// gvlJSON is the part of vendor-list.json the exchange reads.
type gvlJSON struct {
	GVLSpecificationVersion *int                       `json:"gvlSpecificationVersion"`
	VendorListVersion       *int                       `json:"vendorListVersion"`
	TCFPolicyVersion        *int                       `json:"tcfPolicyVersion"`
	LastUpdated             string                     `json:"lastUpdated"`
	Purposes                map[string]json.RawMessage `json:"purposes"`
	SpecialPurposes         map[string]json.RawMessage `json:"specialPurposes"`
	Features                map[string]json.RawMessage `json:"features"`
	SpecialFeatures         map[string]json.RawMessage `json:"specialFeatures"`
	Vendors                 map[string]gvlVendorJSON   `json:"vendors"`
}

type gvlVendorJSON struct {
	ID               *int   `json:"id"`
	Name             string `json:"name"`
	Purposes         []int  `json:"purposes"`
	LegIntPurposes   []int  `json:"legIntPurposes"`
	FlexiblePurposes []int  `json:"flexiblePurposes"`
	SpecialPurposes  []int  `json:"specialPurposes"`
	Features         []int  `json:"features"`
	SpecialFeatures  []int  `json:"specialFeatures"`
	DeletedDate      string `json:"deletedDate"`
}

// maxGVLVendorID bounds vendor IDs: a TC string's vendor fields are 16 bits.
const maxGVLVendorID = 0xffff

// ParseGVL parses and validates a vendor-list.json of
// gvlSpecificationVersion 3. The error names the first problem found: a
// missing or out-of-range version, a vendor whose key and id differ, an
// unknown or out-of-range purpose, feature or special feature ID, a purpose
// declared on both consent and legitimate interest, a flexible purpose
// declared on neither, or a date that is not RFC 3339.
func ParseGVL(b []byte) (*GVL, error) {
	var raw gvlJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cannot parse the vendor list JSON: %w", err)
	}
	switch {
	case raw.GVLSpecificationVersion == nil:
		return nil, errors.New("gvlSpecificationVersion is missing")
	case *raw.GVLSpecificationVersion != 3:
		return nil, fmt.Errorf("gvlSpecificationVersion is %d; only 3 (TCF v2.2) is supported", *raw.GVLSpecificationVersion)
	case raw.VendorListVersion == nil || *raw.VendorListVersion < 1:
		return nil, errors.New("vendorListVersion is missing or below 1")
	case raw.TCFPolicyVersion == nil || *raw.TCFPolicyVersion < 1:
		return nil, errors.New("tcfPolicyVersion is missing or below 1")
	case len(raw.Vendors) == 0:
		return nil, errors.New("vendors is missing or empty")
	}
	g := &GVL{version: *raw.VendorListVersion, policyVersion: *raw.TCFPolicyVersion}
	if raw.LastUpdated != "" {
		t, err := time.Parse(time.RFC3339, raw.LastUpdated)
		if err != nil {
			return nil, fmt.Errorf("lastUpdated %q is not an RFC 3339 time", raw.LastUpdated)
		}
		g.lastUpdated = t
	}
	// The top-level definitions, when present, are what vendors may refer
	// to.
	declared := [4]IDSet{}
	for i, defs := range []struct {
		name string
		m    map[string]json.RawMessage
	}{
		{"purposes", raw.Purposes},
		{"specialPurposes", raw.SpecialPurposes},
		{"features", raw.Features},
		{"specialFeatures", raw.SpecialFeatures},
	} {
		for k := range defs.m {
			id, err := strconv.Atoi(k)
			if err != nil || id < 1 || id > 31 {
				return nil, fmt.Errorf("%s has key %q, not an ID from 1 to 31", defs.name, k)
			}
			declared[i] |= 1 << id
		}
		if len(defs.m) == 0 {
			declared[i] = ^IDSet(0)
		}
	}

	keys := make([]string, 0, len(raw.Vendors))
	maxID := 0
	for k, v := range raw.Vendors {
		keys = append(keys, k)
		if v.ID != nil {
			maxID = max(maxID, *v.ID)
		}
	}
	slices.Sort(keys) // the first error reported does not depend on map order
	if maxID > maxGVLVendorID {
		maxID = maxGVLVendorID
	}
	g.vendors = make([]Vendor, maxID+1)
	for _, k := range keys {
		v, err := parseGVLVendor(k, raw.Vendors[k], declared)
		if err != nil {
			return nil, err
		}
		g.vendors[v.ID] = v
		g.count++
	}
	return g, nil
}

func parseGVLVendor(key string, raw gvlVendorJSON, declared [4]IDSet) (Vendor, error) {
	switch {
	case raw.ID == nil:
		return Vendor{}, fmt.Errorf("vendor %q has no id", key)
	case *raw.ID < 1 || *raw.ID > maxGVLVendorID:
		return Vendor{}, fmt.Errorf("vendor %q has id %d, outside 1 to %d", key, *raw.ID, maxGVLVendorID)
	case strconv.Itoa(*raw.ID) != key:
		return Vendor{}, fmt.Errorf("vendor %q has id %d; the key and the id must match", key, *raw.ID)
	case raw.Name == "":
		return Vendor{}, fmt.Errorf("vendor %d has no name", *raw.ID)
	}
	v := Vendor{ID: *raw.ID, Name: raw.Name}
	for _, f := range []struct {
		name string
		ids  []int
		dst  *IDSet
		decl IDSet
	}{
		{"purposes", raw.Purposes, &v.Purposes, declared[0]},
		{"legIntPurposes", raw.LegIntPurposes, &v.LegIntPurposes, declared[0]},
		{"flexiblePurposes", raw.FlexiblePurposes, &v.FlexiblePurposes, declared[0]},
		{"specialPurposes", raw.SpecialPurposes, &v.SpecialPurposes, declared[1]},
		{"features", raw.Features, &v.Features, declared[2]},
		{"specialFeatures", raw.SpecialFeatures, &v.SpecialFeatures, declared[3]},
	} {
		for _, id := range f.ids {
			if id < 1 || id > 31 || !f.decl.Has(id) {
				return Vendor{}, fmt.Errorf("vendor %d: %s holds %d, which the list does not define", v.ID, f.name, id)
			}
			*f.dst |= 1 << id
		}
	}
	if both := v.Purposes & v.LegIntPurposes; both != 0 {
		return Vendor{}, fmt.Errorf("vendor %d: purposes %v are in both purposes and legIntPurposes", v.ID, both.IDs())
	}
	if stray := v.FlexiblePurposes &^ (v.Purposes | v.LegIntPurposes); stray != 0 {
		return Vendor{}, fmt.Errorf("vendor %d: flexiblePurposes %v are in neither purposes nor legIntPurposes", v.ID, stray.IDs())
	}
	if raw.DeletedDate != "" {
		t, err := time.Parse(time.RFC3339, raw.DeletedDate)
		if err != nil {
			return Vendor{}, fmt.Errorf("vendor %d: deletedDate %q is not an RFC 3339 time", v.ID, raw.DeletedDate)
		}
		v.DeletedDate = t
	}
	return v, nil
}

// LoadGVL reads and parses the vendor list at path; its errors name the
// file.
func LoadGVL(path string) (*GVL, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load the vendor list: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("cannot load the vendor list %q: the file is empty", path)
	}
	g, err := ParseGVL(b)
	if err != nil {
		return nil, fmt.Errorf("cannot load the vendor list %q: %w", path, err)
	}
	return g, nil
}
