package devicedb

import (
	"fmt"
	"strconv"
	"strings"
)

// CapType is the type of a capability's value.
type CapType uint8

// The capability types of the source format (FORMAT.md).
const (
	TypeString CapType = iota + 1
	TypeBool
	TypeInt
	TypeFloat
	TypeEnum
)

// String returns the type's name as written in the source format.
func (t CapType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeBool:
		return "bool"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeEnum:
		return "enum"
	}
	return "invalid"
}

func parseCapType(s string) (CapType, bool) {
	for t := TypeString; t <= TypeEnum; t++ {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// Capability declares one capability: its name, type and, for enums, the
// allowed values; Min and Max bound ints when Max > Min.
type Capability struct {
	Name   string   `yaml:"name"`
	Type   string   `yaml:"type"`
	Values []string `yaml:"values,omitempty"`
	Min    float64  `yaml:"min,omitempty"`
	Max    float64  `yaml:"max,omitempty"`
}

// The built-in capability names. Every database defines them; sources may
// declare more (FORMAT.md).
const (
	CapBrand         = "brand"
	CapModel         = "model"
	CapMarketingName = "marketing_name"
	CapHWV           = "hardware_version"
	CapDeviceType    = "device_type"
	CapOS            = "os"
	CapOSVersion     = "os_version"
	CapBrowser       = "browser"
	CapScreenWidth   = "screen_width"
	CapScreenHeight  = "screen_height"
	CapPixelRatio    = "pixel_ratio"
	CapPPI           = "ppi"
	CapIsBot         = "is_bot"
	CapIsTablet      = "is_tablet"
	CapIsSmartTV     = "is_smarttv"
	CapJS            = "js"
)

// OSNames is the fixed vocabulary of the os capability and of Result.OS
// (documented in FORMAT.md); "" means unknown.
var OSNames = []string{"iOS", "iPadOS", "Android", "Windows", "macOS", "Linux", "Chrome OS", "tvOS", "watchOS",
	"Fire OS", "Roku OS", "Tizen", "webOS", "PlayStation", "Xbox", "KaiOS", "HarmonyOS"}

// BuiltinCapabilities lists the built-in capabilities in snapshot order.
// Callers must not modify it.
var BuiltinCapabilities = []Capability{
	{Name: CapBrand, Type: "string"},
	{Name: CapModel, Type: "string"},
	{Name: CapMarketingName, Type: "string"},
	{Name: CapHWV, Type: "string"},
	{Name: CapDeviceType, Type: "int", Min: 0, Max: 7},
	{Name: CapOS, Type: "enum", Values: append([]string{""}, OSNames...)},
	{Name: CapOSVersion, Type: "string"},
	{Name: CapBrowser, Type: "string"},
	{Name: CapScreenWidth, Type: "int", Min: 0, Max: 100000},
	{Name: CapScreenHeight, Type: "int", Min: 0, Max: 100000},
	{Name: CapPixelRatio, Type: "float", Min: 0, Max: 20},
	{Name: CapPPI, Type: "int", Min: 0, Max: 10000},
	{Name: CapIsBot, Type: "bool"},
	{Name: CapIsTablet, Type: "bool"},
	{Name: CapIsSmartTV, Type: "bool"},
	{Name: CapJS, Type: "bool"},
}

// checkValue reports whether v parses as c's type and lies in its range,
// returning the canonical text form of the value.
func checkValue(c *Capability, v string) (string, error) {
	t, _ := parseCapType(c.Type)
	switch t {
	case TypeString:
		return v, nil
	case TypeBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("%q is not a bool", v)
		}
		return strconv.FormatBool(b), nil
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not an int", v)
		}
		if c.Max > c.Min && (float64(n) < c.Min || float64(n) > c.Max) {
			return "", fmt.Errorf("%d is outside [%g, %g]", n, c.Min, c.Max)
		}
		return strconv.FormatInt(n, 10), nil
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f {
			return "", fmt.Errorf("%q is not a float", v)
		}
		if c.Max > c.Min && (f < c.Min || f > c.Max) {
			return "", fmt.Errorf("%g is outside [%g, %g]", f, c.Min, c.Max)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case TypeEnum:
		for _, a := range c.Values {
			if a == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("%q is not one of %q", v, c.Values)
	}
	return "", fmt.Errorf("capability has invalid type %q", c.Type)
}
