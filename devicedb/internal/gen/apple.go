package main

import (
	"fmt"
	"math"
	"strings"
)

// appleDevice is one row of DeviceKit's table as extracted to
// apple-devices.json (sources/NOTE.md).
type appleDevice struct {
	Identifier string    `json:"identifier"`
	Name       string    `json:"name"`
	Diagonal   *float64  `json:"diagonal_in"`
	PPI        *float64  `json:"ppi"`
	Kind       string    `json:"kind"`
	Ratio      []float64 `json:"screen_ratio"`
}

// appleResolutions are the panel resolutions (portrait, physical pixels)
// Apple has shipped, by device kind: public specification facts.
var appleResolutions = map[string][][2]int{
	"iphone": {{320, 480}, {640, 960}, {640, 1136}, {750, 1334}, {1080, 1920}, {1125, 2436}, {1242, 2688}, {828, 1792},
		{1080, 2340}, {1170, 2532}, {1284, 2778}, {1179, 2556}, {1290, 2796}, {1206, 2622}, {1320, 2868}, {1260, 2736}},
	"ipod": {{320, 480}, {640, 960}, {640, 1136}},
	"ipad": {{768, 1024}, {1536, 2048}, {1668, 2224}, {1620, 2160}, {1640, 2360}, {1668, 2388}, {2048, 2732}, {1488, 2266},
		{1668, 2420}, {2064, 2752}},
	"watch": {{272, 340}, {312, 390}, {324, 394}, {368, 448}, {352, 430}, {396, 484}, {410, 502}, {374, 446}, {416, 496}, {422, 514}},
}

// appleScreen returns the resolution of a DeviceKit row, or 0, 0 when it
// cannot be told for sure. DeviceKit gives a diagonal, a density and
// either an aspect ratio or, for newer devices, the screen in points
// (or pixels): points times 1, 2 or 3 must then be a known resolution.
// Otherwise the resolution is the known one whose diagonal at that
// density is within 2% of DeviceKit's and whose aspect agrees within
// 1.5%, when it is the only one or three times nearer than the next.
func appleScreen(d appleDevice) (w, h int) {
	res := appleResolutions[d.Kind]
	if len(d.Ratio) == 2 && d.Ratio[0] > 20 && d.Ratio[1] > 20 {
		a, b := math.Min(d.Ratio[0], d.Ratio[1]), math.Max(d.Ratio[0], d.Ratio[1])
		for s := 1.0; s <= 3; s++ {
			for _, r := range res {
				if float64(r[0]) == a*s && float64(r[1]) == b*s {
					return r[0], r[1]
				}
			}
		}
		return 0, 0
	}
	if d.Diagonal == nil || d.PPI == nil || *d.Diagonal <= 0 || *d.PPI <= 0 {
		return 0, 0
	}
	best, second := math.Inf(1), math.Inf(1)
	for _, r := range res {
		if len(d.Ratio) == 2 && d.Ratio[0] > 0 && d.Ratio[1] > 0 {
			want := math.Min(d.Ratio[0], d.Ratio[1]) / math.Max(d.Ratio[0], d.Ratio[1])
			if math.Abs(float64(r[0])/float64(r[1])-want) > 0.015*want {
				continue
			}
		}
		e := math.Abs(math.Hypot(float64(r[0]), float64(r[1])) / *d.PPI - *d.Diagonal)
		if e > 0.02**d.Diagonal {
			continue
		}
		if e < best {
			best, second, w, h = e, best, r[0], r[1]
		} else if e < second {
			second = e
		}
	}
	if w > 0 && best*3 > second {
		return 0, 0 // two panels fit about as well
	}
	return w, h
}

// applePixelRatio is the CSS pixel ratio of an Apple panel: 1 below 200
// ppi, 3 for phones from 400 ppi (the Plus models scale 3× as well), else
// 2.
func applePixelRatio(kind string, ppi float64) float64 {
	switch {
	case ppi < 200:
		return 1
	case ppi >= 400 && kind == "iphone":
		return 3
	}
	return 2
}

// appleDevices turns DeviceKit's identifiers into devices: name, panel,
// density and pixel ratio; Apple TV has no panel of its own. The
// identifiers of one product join one device.
func appleDevices(path string) ([]*entry, error) {
	var rows []appleDevice
	if err := readJSON(path, &rows); err != nil {
		return nil, err
	}
	if len(rows) < 200 {
		return nil, fmt.Errorf("%q: only %d identifiers", path, len(rows))
	}
	byName := map[string]*entry{}
	var out []*entry
	for _, d := range rows {
		parent, typ := appleParent(d.Kind)
		if parent == "" {
			continue
		}
		if e := byName[d.Name]; e != nil {
			e.tokens = append(e.tokens, d.Identifier)
			continue
		}
		e := &entry{brand: "Apple", name: d.Name, model: d.Name, hwv: d.Identifier, typ: typ, parent: parent,
			tokens: []string{d.Identifier}, source: "DeviceKit"}
		if w, h := appleScreen(d); w > 0 {
			e.w, e.h = w, h
			e.ppi = int(math.Round(*d.PPI))
			e.dpr = applePixelRatio(d.Kind, *d.PPI)
		}
		byName[d.Name] = e
		out = append(out, e)
	}
	return out, nil
}

func appleParent(kind string) (string, int) {
	switch kind {
	case "iphone":
		return "apple_iphone", 4
	case "ipad":
		return "apple_ipad", 5
	case "ipod":
		return "apple_ipod", 4
	case "watch":
		return "apple_watch", 6
	case "tv":
		return "apple_tv", 3
	}
	return "", 0
}

// iosDevices reads ios-device-list (identifier → name) for identifiers
// DeviceKit lacks: a name, no screen.
func iosDevices(path string) ([]*entry, error) {
	var rows []struct{ Name, Model string }
	if err := readJSON(path, &rows); err != nil {
		return nil, err
	}
	var out []*entry
	for _, d := range rows {
		var kind string
		switch {
		case strings.HasPrefix(d.Model, "iPhone"):
			kind = "iphone"
		case strings.HasPrefix(d.Model, "iPad"):
			kind = "ipad"
		case strings.HasPrefix(d.Model, "iPod"):
			kind = "ipod"
		case strings.HasPrefix(d.Model, "AppleTV"):
			kind = "tv"
		case strings.HasPrefix(d.Model, "Watch"):
			kind = "watch"
		default:
			continue
		}
		parent, typ := appleParent(kind)
		out = append(out, &entry{brand: "Apple", name: d.Name, model: d.Name, hwv: d.Model, typ: typ, parent: parent,
			tokens: []string{d.Model}, source: "ios-device-list"})
	}
	return out, nil
}
