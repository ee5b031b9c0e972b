package auction

import (
	"strings"

	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"
	"golang.org/x/net/publicsuffix"
)

// checkCreative returns ok false and the reason when bid breaks a rule of
// its request or imp; seat is the DSP's own seat for the bid, "" when
// unknown. The rules, in the order they are checked (OpenRTB 2.6 §3.2.1,
// §3.2.4, §3.2.6-§3.2.10, §4.3.3; AdCOM 1.0):
//
//   - mtype names a medium the imp offers (DropWrongMedia);
//   - seat is not in bseat, and in wseat when it is set (DropBlockedSeat);
//   - no adomain shares its registrable domain with a badv entry
//     (DropBlockedAdvertiser);
//   - no cat is in bcat, within the same taxonomy (DropBlockedCategory);
//   - bundle is not in bapp (DropBlockedApp);
//   - a stated language or langb is allowed by wlang/wlangb
//     (DropBlockedLanguage);
//   - no attr is in the battr of the bid's medium (DropBlockedAttribute);
//   - banner: w x h is one of the imp's sizes (DropWrongSize), and the
//     markup is of no type in btype (DropBlockedCreativeType);
//   - video and audio: dur fits the imp's durations (DropWrongDuration),
//     protocol is one of its protocols (DropWrongProtocol), and adm is
//     VAST (DropNotVAST);
//   - native: adm is a Native response holding every asset the imp's
//     Native request requires (DropNativeAssets).
//
// A rule applies only when both sides state what it compares: a bid with
// no w and h, dur, protocol or language passes the rule. The bid's medium
// is its mtype, else the imp's only medium, else what its markup looks
// like; a bid whose medium stays unknown meets the rules of no medium but
// battr, where every medium the imp offers applies.
//
// checkCreative runs on every bid: it allocates only to parse Native
// markup, and to look up the public suffix list for an advertiser domain
// that ends like a badv entry beyond the TLD (two .co.uk domains).
func checkCreative(req *openrtb2.BidRequest, imp *openrtb2.Imp, bid *openrtb2.Bid, seat string) (DropReason, bool) {
	offered := impMedia(imp)
	media := markupMedia(bid.MType)
	if media != 0 && offered&media == 0 {
		return DropWrongMedia, false
	}
	if seatBlocked(req, seat) {
		return DropBlockedSeat, false
	}
	if advertiserBlocked(req.BAdv, bid.ADomain) {
		return DropBlockedAdvertiser, false
	}
	if categoryBlocked(req, bid) {
		return DropBlockedCategory, false
	}
	if bid.Bundle != "" && containsFold(req.BApp, bid.Bundle) {
		return DropBlockedApp, false
	}
	if !languageAllowed(req, bid) {
		return DropBlockedLanguage, false
	}
	if media == 0 {
		media = guessMedia(offered, bid.AdM)
	}
	if attributeBlocked(imp, media, bid.Attr) {
		return DropBlockedAttribute, false
	}
	switch media {
	case mediaBanner:
		if !fitsBanner(imp.Banner, bid.W, bid.H) {
			return DropWrongSize, false
		}
		if typeBlocked(imp.Banner.BType, bid.AdM) {
			return DropBlockedCreativeType, false
		}
	case mediaVideo:
		v := imp.Video
		if !durationFits(bid.Dur, v.MinDuration, v.MaxDuration, v.RqdDurs) {
			return DropWrongDuration, false
		}
		if !protocolFits(bid.Protocol, v.Protocols, v.Protocol) {
			return DropWrongProtocol, false
		}
		if bid.AdM != "" && !strings.EqualFold(xmlRoot(bid.AdM), "VAST") {
			return DropNotVAST, false
		}
	case mediaAudio:
		a := imp.Audio
		if !durationFits(bid.Dur, a.MinDuration, a.MaxDuration, a.RqdDurs) {
			return DropWrongDuration, false
		}
		if !protocolFits(bid.Protocol, a.Protocols, 0) {
			return DropWrongProtocol, false
		}
		if bid.AdM != "" && !isVASTRoot(xmlRoot(bid.AdM)) {
			return DropNotVAST, false
		}
	case mediaNative:
		if bid.AdM != "" && !nativeComplete(imp.Native.Request, bid.AdM) {
			return DropNativeAssets, false
		}
	}
	return 0, true
}

// markupMedia returns the medium an mtype names, or 0.
func markupMedia(t openrtb2.MarkupType) mediaMask {
	switch t {
	case openrtb2.MarkupBanner:
		return mediaBanner
	case openrtb2.MarkupVideo:
		return mediaVideo
	case openrtb2.MarkupAudio:
		return mediaAudio
	case openrtb2.MarkupNative:
		return mediaNative
	}
	return 0
}

// guessMedia returns the medium of a bid without mtype: the imp's only
// medium, else what its markup looks like among those the imp offers (a
// JSON object is native, a VAST document video or audio, a DAAST one
// audio, other markup a banner), else 0.
func guessMedia(offered mediaMask, adm string) mediaMask {
	if offered&(offered-1) == 0 {
		return offered // one medium, or none
	}
	s := trimXMLSpace(strings.TrimPrefix(adm, "\uFEFF"))
	switch {
	case s == "":
		return 0
	case s[0] == '{':
		return offered & mediaNative
	case s[0] != '<':
		return 0
	}
	root := xmlRoot(s)
	vast, daast := strings.EqualFold(root, "VAST"), strings.EqualFold(root, "DAAST")
	switch {
	case vast && offered&mediaVideo != 0:
		return mediaVideo
	case (vast || daast) && offered&mediaAudio != 0:
		return mediaAudio
	case daast && offered&mediaVideo != 0:
		return mediaVideo // and so not VAST
	}
	return offered & mediaBanner
}

// isVASTRoot reports whether an XML root element makes a VAST document, or
// a DAAST one (audio, before VAST 4.1 took DAAST in).
func isVASTRoot(root string) bool {
	return strings.EqualFold(root, "VAST") || strings.EqualFold(root, "DAAST")
}

func seatBlocked(req *openrtb2.BidRequest, seat string) bool {
	if seat == "" {
		return false
	}
	for _, s := range req.BSeat {
		if s == seat {
			return true
		}
	}
	if len(req.WSeat) == 0 {
		return false
	}
	for _, s := range req.WSeat {
		if s == seat {
			return false
		}
	}
	return true
}

// categoryBlocked compares the bid's categories with bcat when both use
// the same taxonomy (cattax; absent, IAB Content Category 1.0). In that
// taxonomy a tier-1 block covers its subcategories: IAB1 blocks IAB1-2.
func categoryBlocked(req *openrtb2.BidRequest, bid *openrtb2.Bid) bool {
	if len(req.BCat) == 0 || len(bid.Cat) == 0 {
		return false
	}
	tax, bidTax := req.CatTax, bid.CatTax
	if tax == 0 {
		tax = adcom1.CatTaxIABContent10
	}
	if bidTax == 0 {
		bidTax = adcom1.CatTaxIABContent10
	}
	if tax != bidTax {
		return false
	}
	for _, c := range bid.Cat {
		for _, b := range req.BCat {
			if strings.EqualFold(c, b) || tax == adcom1.CatTaxIABContent10 && iabSubcategory(c, b) {
				return true
			}
		}
	}
	return false
}

// iabSubcategory reports whether c is a subcategory of b in IAB Content
// Category 1.0, whose codes say their parent: IAB1-2 is under IAB1.
func iabSubcategory(c, b string) bool {
	return b != "" && len(c) > len(b)+1 && c[len(b)] == '-' && strings.EqualFold(c[:len(b)], b)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// advertiserBlocked reports whether an advertiser domain shares its
// registrable domain (eTLD+1) with a badv entry: blocking example.com
// blocks ads.example.com, but example.co.uk leaves other.co.uk alone.
func advertiserBlocked(badv, adomain []string) bool {
	if len(badv) == 0 {
		return false
	}
	for _, a := range adomain {
		if a = hostOf(a); a != "" && hostBlocked(badv, a) {
			return true
		}
	}
	return false
}

// hostBlocked reports whether host shares its registrable domain with a
// badv entry. A registrable domain has two labels at least, so an entry
// that ends in fewer labels like host's is another advertiser: most
// entries are told apart without the public suffix list, whose look-up
// allocates. host's registrable domain is looked up at the first entry
// that ends like it (example.co.uk for shop.co.uk); an entry's only when
// it ends in that domain, which is all but a match.
func hostBlocked(badv []string, host string) bool {
	reg := ""
	for _, b := range badv {
		b = hostOf(b)
		switch {
		case b == "":
			continue
		case strings.EqualFold(b, host):
			return true
		case commonLabels(host, b) < 2:
			continue
		}
		if reg == "" {
			reg = registrable(host)
		}
		if strings.EqualFold(b, reg) || hasLabelSuffix(b, reg) && registrable(b) == reg {
			return true
		}
	}
	return false
}

// hasLabelSuffix reports whether host ends in the whole labels of suffix,
// ASCII case folded.
func hasLabelSuffix(host, suffix string) bool {
	n := len(host) - len(suffix)
	return n > 0 && host[n-1] == '.' && strings.EqualFold(host[n:], suffix)
}

// commonLabels counts the whole labels a and b end with, ASCII case
// folded: 2 for ads.example.com and www.example.com.
func commonLabels(a, b string) int {
	n := 0
	i, j := len(a), len(b)
	for i > 0 && j > 0 && lower(a[i-1]) == lower(b[j-1]) {
		i, j = i-1, j-1
		if a[i] == '.' {
			n++
		}
	}
	if i < len(a) && a[i] != '.' && (i == 0 || a[i-1] == '.') && (j == 0 || b[j-1] == '.') {
		n++ // the last label compared is whole in both
	}
	return n
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// registrable returns host's registrable domain, lower-cased, or the host
// itself when it has none (a public suffix, an IP address).
func registrable(host string) string {
	host = strings.ToLower(host)
	if r, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return r
	}
	return host
}

// hostOf returns the host name in an advertiser domain as DSPs and SSPs
// write it: example.com, but also https://www.example.com/path, with a
// port, or with the root's trailing dot.
func hostOf(d string) string {
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case ':', '/', '?', '#', ' ', '\t', '\n', '\r':
			return hostOfURL(d)
		}
	}
	return strings.Trim(d, ".") // the usual case, a bare host name
}

func hostOfURL(d string) string {
	d = strings.TrimSpace(d)
	if i := strings.Index(d, "://"); i >= 0 {
		d = d[i+3:]
	}
	d = strings.TrimPrefix(d, "//")
	if i := strings.IndexAny(d, "/?#"); i >= 0 {
		d = d[:i]
	}
	if i := strings.LastIndexByte(d, ':'); i >= 0 {
		d = d[:i]
	}
	return strings.Trim(d, ".")
}

// languageAllowed reports whether the bid's language and langb, when
// stated, match an entry of wlang or wlangb. Tags match when one is the
// other or a prefix of it ending at a subtag: en matches en-GB. The codes
// for no linguistic content (xx, as OpenRTB allows, and BCP 47's zxx) match
// any list.
func languageAllowed(req *openrtb2.BidRequest, bid *openrtb2.Bid) bool {
	if len(req.WLang) == 0 && len(req.WLangB) == 0 {
		return true
	}
	return langAllowed(req, bid.Language) && langAllowed(req, bid.LangB)
}

func langAllowed(req *openrtb2.BidRequest, tag string) bool {
	if tag == "" || strings.EqualFold(tag, "xx") || strings.EqualFold(tag, "zxx") {
		return true
	}
	for _, w := range req.WLang {
		if langMatch(tag, w) {
			return true
		}
	}
	for _, w := range req.WLangB {
		if langMatch(tag, w) {
			return true
		}
	}
	return false
}

func langMatch(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if a == "" || !strings.EqualFold(a, b[:len(a)]) {
		return false
	}
	return len(a) == len(b) || b[len(a)] == '-' || b[len(a)] == '_'
}

// attributeBlocked reports whether an attribute of the bid is in the battr
// of its medium; of any medium the imp offers when the bid's is unknown.
func attributeBlocked(imp *openrtb2.Imp, media mediaMask, attrs []adcom1.CreativeAttribute) bool {
	if len(attrs) == 0 {
		return false
	}
	if imp.Banner != nil && media&^mediaBanner == 0 && anyIn(attrs, imp.Banner.BAttr) {
		return true
	}
	if imp.Video != nil && media&^mediaVideo == 0 && anyIn(attrs, imp.Video.BAttr) {
		return true
	}
	if imp.Audio != nil && media&^mediaAudio == 0 && anyIn(attrs, imp.Audio.BAttr) {
		return true
	}
	return imp.Native != nil && media&^mediaNative == 0 && anyIn(attrs, imp.Native.BAttr)
}

func anyIn(attrs, blocked []adcom1.CreativeAttribute) bool {
	for _, a := range attrs {
		for _, b := range blocked {
			if a == b {
				return true
			}
		}
	}
	return false
}

// maxSide bounds the sizes and ratios compared by cross-multiplying, so
// that a hostile value cannot overflow into a match.
const maxSide = 1 << 30

// fitsBanner reports whether a w x h creative fits the banner: its w and
// h, a format's w and h, or a flexible format's ratio at wmin or wider
// (§3.2.10); the deprecated wmin..wmax and hmin..hmax ranges, when the
// banner has them, admit the sizes within. A bid or banner without a size
// fits.
func fitsBanner(b *openrtb2.Banner, w, h int64) bool {
	if w <= 0 || h <= 0 {
		return true
	}
	sized := false
	if b.W != nil && b.H != nil && *b.W > 0 && *b.H > 0 {
		if *b.W == w && *b.H == h {
			return true
		}
		sized = true
	}
	for i := range b.Format {
		f := &b.Format[i]
		switch {
		case f.W > 0 && f.H > 0:
			if f.W == w && f.H == h {
				return true
			}
			sized = true
		case f.WRatio > 0 && f.HRatio > 0:
			if w < maxSide && h < maxSide && f.WRatio < maxSide && f.HRatio < maxSide &&
				w*f.HRatio == h*f.WRatio && w >= f.WMin {
				return true
			}
			sized = true
		}
	}
	if b.WMax > 0 || b.HMax > 0 {
		if w >= b.WMin && h >= b.HMin && (b.WMax == 0 || w <= b.WMax) && (b.HMax == 0 || h <= b.HMax) {
			return true
		}
		sized = true
	}
	return !sized
}

// typeBlocked reports whether banner markup is of a type in btype, on the
// evidence of its tags: a script element makes a JavaScript ad (3), an
// iframe element an iframe ad (4). Text and XHTML banner ads (1, 2) leave
// no such mark and are never blocked; nor is a bid without adm.
func typeBlocked(btype []openrtb2.BannerAdType, adm string) bool {
	var script, iframe bool
	for _, t := range btype {
		script = script || t == openrtb2.BannerAdTypeJavaScriptAd
		iframe = iframe || t == openrtb2.BannerAdTypeIframe
	}
	if !script && !iframe {
		return false
	}
	for i := 0; ; {
		k := strings.IndexByte(adm[i:], '<')
		if k < 0 {
			return false
		}
		i += k + 1
		if script && startsTag(adm[i:], "script") || iframe && startsTag(adm[i:], "iframe") {
			return true
		}
	}
}

// startsTag reports whether s, the markup after a '<', starts the tag
// name, ASCII case folded; name is lower-case.
func startsTag(s, name string) bool {
	if len(s) <= len(name) || !strings.EqualFold(s[:len(name)], name) {
		return false
	}
	switch s[len(name)] {
	case ' ', '\t', '\n', '\r', '\f', '>', '/':
		return true
	}
	return false
}

// durationFits reports whether a creative of dur seconds fits an imp's
// required durations, or its minduration and maxduration. An unstated
// duration or bound admits any.
func durationFits(dur, minDur, maxDur int64, rqd []int64) bool {
	if dur <= 0 {
		return true
	}
	if len(rqd) > 0 {
		for _, d := range rqd {
			if d == dur {
				return true
			}
		}
		return false
	}
	return (minDur <= 0 || dur >= minDur) && (maxDur <= 0 || dur <= maxDur)
}

// protocolFits reports whether protocol is among an imp's protocols (and
// the deprecated single protocol of OpenRTB 2.2, when set). An unstated
// protocol, or an imp that lists none, admits any.
func protocolFits(p adcom1.MediaCreativeSubtype, protocols []adcom1.MediaCreativeSubtype, single adcom1.MediaCreativeSubtype) bool {
	if p == 0 || len(protocols) == 0 && single == 0 {
		return true
	}
	if p == single {
		return true
	}
	for _, q := range protocols {
		if q == p {
			return true
		}
	}
	return false
}

// xmlRoot returns the name of the root element of an XML document, after
// a byte order mark, the XML declaration, processing instructions,
// comments, a doctype and white space; "" when markup starts otherwise.
func xmlRoot(markup string) string {
	s := strings.TrimPrefix(markup, "\uFEFF")
	for {
		s = trimXMLSpace(s)
		var end string
		switch {
		case strings.HasPrefix(s, "<?"):
			end = "?>"
		case strings.HasPrefix(s, "<!--"):
			s, end = s[4:], "-->"
		case strings.HasPrefix(s, "<!"): // a doctype, maybe with its internal subset
			end = ">"
			if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, '>'); i >= 0 && i < j {
				s, end = s[i:], "]"
			}
		case strings.HasPrefix(s, "<"):
			name := s[1:]
			for i := 0; i < len(name); i++ {
				switch name[i] {
				case ' ', '\t', '\n', '\r', '>', '/':
					return name[:i]
				}
			}
			return "" // no end to the tag
		default:
			return ""
		}
		i := strings.Index(s, end)
		if i < 0 {
			return ""
		}
		s = s[i+len(end):]
		if end == "]" { // the rest of the doctype
			if i = strings.IndexByte(s, '>'); i < 0 {
				return ""
			}
			s = s[i+1:]
		}
	}
}

func trimXMLSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}

// nativeDoc is what checkCreative reads of a Native request (imp.native.
// request) and of a Native response (the bid's adm): both come as the
// object itself (Native 1.2) or wrapped in {"native": {...}} (1.0, 1.1).
type nativeDoc struct {
	Native    *nativeDoc      `json:"native"`
	Assets    []nativeAssetID `json:"assets"`
	Link      json.RawMessage `json:"link"`
	AssetsURL string          `json:"assetsurl"`
	DCOURL    string          `json:"dcourl"`
}

type nativeAssetID struct {
	ID       *int64 `json:"id"`
	Required int64  `json:"required"`
}

// nativeComplete reports whether adm is a Native response (Native 1.2
// §5) that holds, by id, every asset the Native request marks required.
// A response whose assets come from assetsurl or dcourl passes, as do the
// required assets the request gives no id; an unreadable request requires
// nothing (request validation rejects those).
func nativeComplete(request, adm string) bool {
	var resp nativeDoc
	if !decodeNative(adm, &resp) {
		return false
	}
	r := &resp
	switch {
	case resp.Native != nil:
		r = resp.Native
	case resp.Assets == nil && (resp.Link == nil || string(resp.Link) == "null") && resp.AssetsURL == "" && resp.DCOURL == "":
		return false // a JSON object, but no Native response
	}
	if r.AssetsURL != "" || r.DCOURL != "" {
		return true
	}
	var nr nativeDoc
	if !decodeNative(request, &nr) {
		return true
	}
	q := &nr
	if nr.Native != nil {
		q = nr.Native
	}
	for _, want := range q.Assets {
		if want.Required != 1 || want.ID == nil {
			continue
		}
		if !hasAsset(r.Assets, *want.ID) {
			return false
		}
	}
	return true
}

func hasAsset(assets []nativeAssetID, id int64) bool {
	for _, a := range assets {
		if a.ID != nil && *a.ID == id {
			return true
		}
	}
	return false
}

// decodeNative decodes a JSON object into doc. A panic of the codec is a
// failure to decode: no partner's markup may crash the exchange.
func decodeNative(s string, doc *nativeDoc) (ok bool) {
	if t := trimXMLSpace(s); t == "" || t[0] != '{' {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return json.Unmarshal([]byte(s), doc) == nil
}
