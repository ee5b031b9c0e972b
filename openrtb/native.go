package openrtb

import (
	"errors"
	"strconv"

	json "github.com/goccy/go-json"
)

// imp.native.request is a string holding a JSON OpenRTB Native request:
// the request object itself (Native 1.1, 1.2) or the Native 1.0 form that
// wraps it, {"native": {...}}. validateNative checks it against the
// Native 1.2 object model (§4), as Prebid Server does, so that a demand
// partner is never sent an imp whose native request it cannot read:
//
//   - context, contextsubtype and plcmttype, when set, are values of their
//     lists (§7.1-§7.3) or exchange-specific (500+), and a subtype belongs
//     to its context (10-15 content, 20-22 social, 30-32 product);
//   - assets holds at least one asset, each with exactly one of title, img,
//     video or data; a title has a positive len; img sizes are not
//     negative and its type is 1-3 (or 500+); a video asset has mimes,
//     minduration, maxduration and protocols (1-14, or 500+); a data asset
//     has a type 1-12 (or 500+);
//   - asset ids, when the caller sets any, are unique. The specification
//     requires ids, but Prebid Server numbers assets that have none and
//     real traffic relies on it, so an id-less request is accepted;
//   - each event tracker has an event 1-4 (or 500+) and methods 1-2 (or
//     500+).

// nativeRequest is the part of a Native request object that validation
// reads; the decoder skips the other members.
type nativeRequest struct {
	Context        int64           `json:"context"`
	ContextSubType int64           `json:"contextsubtype"`
	PlcmtType      int64           `json:"plcmttype"`
	Assets         []nativeAsset   `json:"assets"`
	EventTrackers  []nativeTracker `json:"eventtrackers"`
	// Native is the Native 1.0 wrapper object.
	Native *nativeRequest `json:"native"`
}

type nativeAsset struct {
	ID    int64        `json:"id"`
	Title *nativeTitle `json:"title"`
	Img   *nativeImage `json:"img"`
	Video *nativeVideo `json:"video"`
	Data  *nativeData  `json:"data"`
}

type nativeTitle struct {
	Len int64 `json:"len"`
}

type nativeImage struct {
	Type int64 `json:"type"`
	W    int64 `json:"w"`
	H    int64 `json:"h"`
	WMin int64 `json:"wmin"`
	HMin int64 `json:"hmin"`
}

type nativeVideo struct {
	MIMEs       []string `json:"mimes"`
	MinDuration *int64   `json:"minduration"`
	MaxDuration *int64   `json:"maxduration"`
	Protocols   []int64  `json:"protocols"`
}

type nativeData struct {
	Type int64 `json:"type"`
}

type nativeTracker struct {
	Event   int64   `json:"event"`
	Methods []int64 `json:"methods"`
}

// nativeExchangeSpecific is where the exchange-specific values of every
// Native list begin.
const nativeExchangeSpecific = 500

// inList reports whether v is in lo..hi or exchange-specific.
func inList(v, lo, hi int64) bool {
	return v >= lo && v <= hi || v >= nativeExchangeSpecific
}

// nativeField builds the path of a field inside imp[i].native.request;
// it runs on the error path only.
type nativeField struct {
	imp     int
	wrapped bool // the Native 1.0 form: the object sits under "native"
}

func (f nativeField) at(rest string) string {
	p := indexed("imp", f.imp, ".native.request")
	if f.wrapped {
		p += ".native"
	}
	return p + rest
}

func (f nativeField) list(name string, j int, rest string) string {
	return f.at("." + name + "[" + strconv.Itoa(j) + "]" + rest)
}

// validateNative checks the Native request of imp i; raw is not empty.
func validateNative(raw string, i int) *RequestError {
	f := nativeField{imp: i}
	body := []byte(raw)
	if checkObject(body) != nil {
		return reqErr(f.at(""), "must hold a JSON Native request object")
	}
	var nr nativeRequest
	if err := unmarshalJSON(body, &nr); err != nil {
		return nativeDecodeError(f, err)
	}
	req := &nr
	if nr.Native != nil {
		req, f.wrapped = nr.Native, true
	}
	if err := validateNativeContext(req, f); err != nil {
		return err
	}
	if req.PlcmtType != 0 && !inList(req.PlcmtType, 1, 4) {
		return reqErr(f.at(".plcmttype"), "is not a Native placement type (1-4, or 500 and above)")
	}
	if len(req.Assets) == 0 {
		return reqErr(f.at(".assets"), "must hold at least one asset")
	}
	for j := range req.Assets {
		if err := validateNativeAsset(&req.Assets[j], f, j); err != nil {
			return err
		}
	}
	if err := validateAssetIDs(req.Assets, f); err != nil {
		return err
	}
	for j := range req.EventTrackers {
		t := &req.EventTrackers[j]
		switch {
		case t.Event == 0:
			return reqErr(f.list("eventtrackers", j, ".event"), probRequired)
		case !inList(t.Event, 1, 4):
			return reqErr(f.list("eventtrackers", j, ".event"), "is not a Native event type (1-4, or 500 and above)")
		case len(t.Methods) == 0:
			return reqErr(f.list("eventtrackers", j, ".methods"), probEmpty)
		}
		for k, m := range t.Methods {
			if !inList(m, 1, 2) {
				return reqErr(f.list("eventtrackers", j, ".methods["+strconv.Itoa(k)+"]"), "is not a Native event tracking method (1-2, or 500 and above)")
			}
		}
	}
	return nil
}

// nativeContextNames name the contexts 1-3, for messages.
var nativeContextNames = [4]string{1: "content", 2: "social", 3: "product"}

func validateNativeContext(req *nativeRequest, f nativeField) *RequestError {
	c, sub := req.Context, req.ContextSubType
	if c != 0 && !inList(c, 1, 3) {
		return reqErr(f.at(".context"), "is not a Native context type (1-3, or 500 and above)")
	}
	if sub == 0 || sub >= nativeExchangeSpecific {
		return nil
	}
	group := sub / 10 // 10-15 content, 20-22 social, 30-32 product
	if !(inList(sub, 10, 15) || inList(sub, 20, 22) || inList(sub, 30, 32)) {
		return reqErr(f.at(".contextsubtype"), "is not a Native context subtype (10-15, 20-22, 30-32, or 500 and above)")
	}
	if c >= 1 && c <= 3 && group != c {
		return reqErr(f.at(".contextsubtype"), "is a "+nativeContextNames[group]+" subtype, but context is "+
			strconv.FormatInt(c, 10)+" ("+nativeContextNames[c]+")")
	}
	return nil
}

func validateNativeAsset(a *nativeAsset, f nativeField, j int) *RequestError {
	kinds := 0
	for _, present := range [...]bool{a.Title != nil, a.Img != nil, a.Video != nil, a.Data != nil} {
		if present {
			kinds++
		}
	}
	if kinds != 1 {
		return reqErr(f.list("assets", j, ""), "must hold exactly one of title, img, video or data")
	}
	field := func(rest string) string { return f.list("assets", j, rest) }
	switch {
	case a.Title != nil:
		if a.Title.Len <= 0 {
			return reqErr(field(".title.len"), probPositive)
		}
	case a.Img != nil:
		img := a.Img
		switch {
		case img.W < 0:
			return reqErr(field(".img.w"), probNegative)
		case img.H < 0:
			return reqErr(field(".img.h"), probNegative)
		case img.WMin < 0:
			return reqErr(field(".img.wmin"), probNegative)
		case img.HMin < 0:
			return reqErr(field(".img.hmin"), probNegative)
		case img.Type != 0 && !inList(img.Type, 1, 3):
			return reqErr(field(".img.type"), "is not a Native image type (1-3, or 500 and above)")
		}
	case a.Video != nil:
		v := a.Video
		switch {
		case len(v.MIMEs) == 0:
			return reqErr(field(".video.mimes"), probEmpty)
		case v.MinDuration == nil:
			return reqErr(field(".video.minduration"), probRequired)
		case *v.MinDuration < 0:
			return reqErr(field(".video.minduration"), probNegative)
		case v.MaxDuration == nil:
			return reqErr(field(".video.maxduration"), probRequired)
		case *v.MaxDuration <= 0:
			return reqErr(field(".video.maxduration"), probPositive)
		case *v.MinDuration > *v.MaxDuration:
			return reqErr(field(".video.minduration"), "must not be greater than maxduration")
		case len(v.Protocols) == 0:
			return reqErr(field(".video.protocols"), probEmpty)
		}
		for k, p := range v.Protocols {
			if !inList(p, 1, 14) {
				return reqErr(field(".video.protocols["+strconv.Itoa(k)+"]"), "is not a video protocol (1-14, or 500 and above)")
			}
		}
	case a.Data != nil:
		switch {
		case a.Data.Type == 0:
			return reqErr(field(".data.type"), probRequired)
		case !inList(a.Data.Type, 1, 12):
			return reqErr(field(".data.type"), "is not a Native data asset type (1-12, or 500 and above)")
		}
	}
	return nil
}

// validateAssetIDs requires unique asset ids once any asset has one (an id
// of 0 is no id), as Prebid Server does.
func validateAssetIDs(assets []nativeAsset, f nativeField) *RequestError {
	someID := false
	for j := range assets {
		someID = someID || assets[j].ID != 0
	}
	if !someID {
		return nil
	}
	var seen map[int64]struct{}
	if len(assets) > dupScanLimit {
		seen = make(map[int64]struct{}, len(assets))
	}
	for j := range assets {
		id := assets[j].ID
		if seen != nil {
			if _, dup := seen[id]; dup {
				return reqErr(f.list("assets", j, ".id"), probDuplicateID)
			}
			seen[id] = struct{}{}
			continue
		}
		for k := 0; k < j; k++ {
			if assets[k].ID == id {
				return reqErr(f.list("assets", j, ".id"), probDuplicateID)
			}
		}
	}
	return nil
}

// nativeDecodeError words a decoding error of imp i's Native request.
func nativeDecodeError(f nativeField, err error) *RequestError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return reqErr(f.at(""), "is not valid JSON: "+syn.Error()+" at offset "+strconv.FormatInt(syn.Offset, 10))
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return reqErr(f.at("."+jsonPath(typ.Field)), typeProblem(typ))
	}
	return reqErr(f.at(""), "is not a valid Native request: "+err.Error())
}
