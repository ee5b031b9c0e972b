package devicedb

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// wurflCaps maps WURFL capability names onto the built-in ones; the other
// WURFL capabilities are kept as declared string capabilities.
var wurflCaps = map[string]string{
	"brand_name":              CapBrand,
	"model_name":              CapModel,
	"marketing_name":          CapMarketingName,
	"device_os":               CapOS,
	"device_os_version":       CapOSVersion,
	"mobile_browser":          CapBrowser,
	"resolution_width":        CapScreenWidth,
	"resolution_height":       CapScreenHeight,
	"density_class":           CapPixelRatio,
	"is_tablet":               CapIsTablet,
	"is_smarttv":              CapIsSmartTV,
	"is_bot":                  CapIsBot,
	"ajax_support_javascript": CapJS,
}

// wurflOS maps WURFL device_os values onto the fixed vocabulary.
var wurflOS = map[string]string{
	"iOS": "iOS", "iPadOS": "iPadOS", "Android": "Android", "Desktop": "", "Windows": "Windows",
	"Windows Phone OS": "Windows", "Mac OS X": "macOS", "macOS": "macOS", "Linux": "Linux",
	"Chrome OS": "Chrome OS", "tvOS": "tvOS", "watchOS": "watchOS", "Fire OS": "Fire OS",
	"Roku OS": "Roku OS", "Tizen": "Tizen", "webOS": "webOS", "Web OS": "webOS", "KaiOS": "KaiOS",
	"HarmonyOS": "HarmonyOS", "Orbis OS": "PlayStation", "Xbox OS": "Xbox",
}

type wurflFile struct {
	Version struct {
		Ver string `xml:"ver"`
	} `xml:"version"`
	Devices []struct {
		ID       string `xml:"id,attr"`
		UA       string `xml:"user_agent,attr"`
		FallBack string `xml:"fall_back,attr"`
		Groups   []struct {
			Caps []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"capability"`
		} `xml:"group"`
	} `xml:"devices>device"`
}

// ImportWURFL converts a file in WURFL's XML layout (<device id user_agent
// fall_back><group><capability name value/>) into a Source. Known
// capabilities map onto the built-ins (device_type is derived from
// is_tablet, is_smarttv, is_wireless_device and ux_full_desktop when the
// device sets them); the rest become string capabilities. The root
// "generic" gets a default for every built-in it lacks. WURFL's placeholder
// user agents ("DO_NOT_MATCH…", "") are dropped.
func ImportWURFL(r io.Reader) (*Source, error) {
	var f wurflFile
	dec := xml.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("cannot import WURFL XML: %w", err)
	}
	src := &Source{Format: FormatV1, Version: f.Version.Ver, Sources: "imported from a WURFL XML file"}
	if src.Version == "" {
		src.Version = "wurfl"
	}
	declared := map[string]bool{}
	for _, d := range f.Devices {
		dev := Device{ID: d.ID, FallBack: d.FallBack, Caps: map[string]string{}}
		if dev.FallBack == "root" {
			dev.FallBack = ""
		}
		if ua := strings.TrimSpace(d.UA); ua != "" && !strings.HasPrefix(ua, "DO_NOT_MATCH") {
			dev.UserAgents = []string{ua}
		}
		raw := map[string]string{}
		for _, g := range d.Groups {
			for _, c := range g.Caps {
				raw[c.Name] = c.Value
			}
		}
		for name, v := range raw {
			if b, ok := wurflCaps[name]; ok {
				switch b {
				case CapOS:
					v = wurflOS[v]
				case CapPixelRatio:
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						v = "0"
					}
				}
				dev.Caps[b] = v
				continue
			}
			if !declared[name] {
				declared[name] = true
				src.Capabilities = append(src.Capabilities, Capability{Name: "wurfl_" + name, Type: "string"})
			}
			dev.Caps["wurfl_"+name] = v
			if name == "model_extra_info" || name == "uaprof" {
				continue
			}
		}
		switch {
		case raw["is_tablet"] == "true":
			dev.Caps[CapDeviceType] = "5"
		case raw["is_smarttv"] == "true":
			dev.Caps[CapDeviceType] = "3"
		case raw["ux_full_desktop"] == "true":
			dev.Caps[CapDeviceType] = "2"
		case raw["is_wireless_device"] == "true":
			dev.Caps[CapDeviceType] = "4"
		}
		if dev.ID == GenericID {
			for _, c := range BuiltinCapabilities {
				if _, ok := dev.Caps[c.Name]; ok {
					continue
				}
				switch c.Type {
				case "bool":
					dev.Caps[c.Name] = "false"
				case "int", "float":
					dev.Caps[c.Name] = "0"
				default:
					dev.Caps[c.Name] = ""
				}
			}
			for name := range declared {
				if _, ok := dev.Caps["wurfl_"+name]; !ok {
					dev.Caps["wurfl_"+name] = ""
				}
			}
		}
		src.Devices = append(src.Devices, dev)
	}
	// Capabilities declared after generic was read still need a root value.
	for i := range src.Devices {
		if src.Devices[i].ID != GenericID {
			continue
		}
		for name := range declared {
			if _, ok := src.Devices[i].Caps["wurfl_"+name]; !ok {
				src.Devices[i].Caps["wurfl_"+name] = ""
			}
		}
	}
	return src, nil
}
