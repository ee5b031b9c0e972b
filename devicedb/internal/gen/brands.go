package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// brandKey folds a brand spelling for comparison: lower case, letters and
// digits only ("Sony Ericsson", "SonyEricsson" and "sony_ericsson" are
// one key).
func brandKey(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// canonicalBrands is the one spelling of each brand the sources spell in
// several ways (browscap "OPPO", Yauaa "Oppo", node-device-detector
// "oppo"), keyed by brandKey. Sub-brands sold under the maker's name
// fold into it (Redmi and POCO are Xiaomi's, Arnova Archos's); Honor has
// been its own maker
// since 2020 and keeps its name. A brand not listed keeps the spelling of
// the first source that names it (browscap, then Yauaa, then
// node-device-detector title-cased).
var canonicalBrands = map[string]string{
	"acer": "Acer", "alcatel": "Alcatel", "alldocube": "Cube", "cube": "Cube", "amazon": "Amazon",
	"apple": "Apple", "archos": "Archos", "arnova": "Archos", "asus": "ASUS", "blackberry": "BlackBerry", "rim": "BlackBerry",
	"blu": "BLU", "bq": "BQ", "cat": "Cat", "celkon": "Celkon", "coby": "Coby", "cobykyros": "Coby",
	"coolpad": "Coolpad", "doogee": "Doogee", "fairphone": "Fairphone", "fly": "Fly", "gionee": "Gionee",
	"google": "Google", "hisense": "Hisense", "hmd": "HMD", "hmdglobal": "HMD", "honor": "Honor", "htc": "HTC",
	"huawei": "Huawei", "imobile": "i-mobile", "infinix": "Infinix", "itel": "itel", "kyocera": "Kyocera",
	"lava": "Lava", "lenovo": "Lenovo", "lg": "LG", "lge": "LG", "meizu": "Meizu", "micromax": "Micromax",
	"microsoft": "Microsoft", "motorola": "Motorola", "nokia": "Nokia", "nothing": "Nothing",
	"nubia": "nubia", "nvidia": "NVIDIA", "oneplus": "OnePlus", "oppo": "OPPO", "oukitel": "Oukitel",
	"panasonic": "Panasonic", "pantech": "Pantech", "philips": "Philips", "pointofview": "Point of View",
	"poco": "Xiaomi", "pocophone": "Xiaomi", "prestigio": "Prestigio", "realme": "realme", "redmi": "Xiaomi",
	"samsung": "Samsung", "sharp": "Sharp", "sony": "Sony", "sonyericsson": "Sony Ericsson",
	"tcl": "TCL", "tecno": "Tecno", "tecnomobile": "Tecno", "ulefone": "Ulefone", "ulephone": "Ulefone",
	"umidigi": "UMIDIGI", "vivo": "vivo", "vodafone": "Vodafone", "wiko": "Wiko", "xiaomi": "Xiaomi",
	"xiaomitech": "Xiaomi", "zte": "ZTE", "blackview": "Blackview", "tmobile": "T-Mobile",
}

// brandNames resolves brand spellings to one per brand.
type brandNames struct {
	first map[string]string // brandKey → the first spelling seen
}

func newBrandNames() *brandNames { return &brandNames{first: map[string]string{}} }

// canon returns the one spelling of brand s ("" stays "").
func (b *brandNames) canon(s string) string {
	s = strings.TrimSpace(s)
	k := brandKey(s)
	if k == "" {
		return ""
	}
	if c, ok := canonicalBrands[k]; ok {
		return c
	}
	if c, ok := b.first[k]; ok {
		return c
	}
	b.first[k] = s
	return s
}

// titleCase capitalises node-device-detector's lower-cased names: words
// of one or two letters ("xl", "se", "tv") and words that start with a
// digit ("5g") are upper-cased, others get a capital first letter.
func titleCase(s string) string {
	words := strings.Fields(strings.ReplaceAll(s, "_", " "))
	for i, w := range words {
		letters := true
		for _, c := range w {
			if c < 'a' || c > 'z' {
				letters = false
			}
		}
		switch {
		case letters && len(w) <= 2, w[0] >= '0' && w[0] <= '9':
			words[i] = strings.ToUpper(w)
		default:
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// yauaaPrefixes reads Yauaa's MobileBrands.yaml: the MobileBrandPrefixes
// lookup (model-code prefix → brand) and the MobileBrands lookup (brand
// token → brand), which Yauaa loads into the same longest-prefix map.
// "<<<null>>>" means "no brand" and becomes "".
func yauaaPrefixes(path string, names *brandNames) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Config []struct {
			Lookup *struct {
				Name string            `yaml:"name"`
				Map  map[string]string `yaml:"map"`
			} `yaml:"lookup"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", path, err)
	}
	out := map[string]string{}
	for _, c := range doc.Config {
		if c.Lookup == nil || c.Lookup.Name != "MobileBrandPrefixes" && c.Lookup.Name != "MobileBrands" {
			continue
		}
		for _, k := range sortedKeys(c.Lookup.Map) {
			v := c.Lookup.Map[k]
			if v == "<<<null>>>" {
				v = ""
			}
			out[k] = names.canon(v)
		}
	}
	if len(out) < 500 {
		return nil, fmt.Errorf("%q: only %d brand prefixes", path, len(out))
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// productLines are the model-name prefixes of smaller makers' product
// lines, mostly tablets and phones of the 2010s that UAs still name
// without the maker ("NetTAB THOR", "OnePAD 730"): each is a line's public
// name or code scheme, long enough not to fire on another maker's model.
var productLines = map[string]string{
	"NetTAB": "iconBIT", "OnePAD": "Airis", "ImPAD": "Impression", "Cross A": "Evercoss", "GSmart": "Gigabyte",
	"BioniQ": "Arival", "NOVO7": "Ainol", "NovoCrystal": "Ainol", "PICOpad": "Axioo", "JOYPAD": "Kingcom",
	"Cloudfone": "Cloudfone", "CloudPad": "Cloudfone", "JAY-TECH": "Jaytech", "YPY": "Positivo", "PMID": "Polaroid",
	"TAC-": "Denver", "TAD-": "Denver", "FreeTAB": "Modecom", "NXM": "Nextbook", "Next7": "Nextbook",
	"ViewPad": "ViewSonic", "VSD2": "ViewSonic", "SKY IM-": "Pantech", "SKY_IM-": "Pantech", "IM-A": "Pantech",
	"Torque": "Kyocera", "Hydro": "Kyocera", "AQUILA": "CMX", "Clanga": "CMX", "Dslide": "Danew", "B-Tab": "Braun",
	"Iris ": "Lava", "AQUA ": "Intex", "Andi ": "iBall", "Cynus": "Mobistel", "GFIVE": "Gfive", "TCC8": "Telechips",
	"imx5": "Freescale", "INFOBAR": "KDDI", "KM-S": "KTtech", "PLT7": "Proscan", "PLT8": "Proscan",
}
