package auction

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// corpus reads a file of the project's OpenRTB corpus (testdata/openrtb).
func corpus(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "openrtb", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeTest[T any](t testing.TB, data string) *T {
	t.Helper()
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

// corpusBid returns bid i of seat s of a bid response of the corpus.
func corpusBid(t testing.TB, path string, s, i int) openrtb2.Bid {
	t.Helper()
	return decodeTest[openrtb2.BidResponse](t, string(corpus(t, path))).SeatBid[s].Bid[i]
}

// quoted returns s as a JSON string, to put a document inside another.
func quoted(t testing.TB, s []byte) string {
	t.Helper()
	q, err := json.Marshal(string(s))
	if err != nil {
		t.Fatal(err)
	}
	return string(q)
}

// checkF returns an f-test: bid (JSON) on the first imp of req passes
// checkCreative when want is "", or is dropped with the reason labelled want.
func checkF(t *testing.T) func(name string, req *openrtb2.BidRequest, bid, seat, want string) {
	return func(name string, req *openrtb2.BidRequest, bid, seat, want string) {
		t.Helper()
		b := decodeTest[openrtb2.Bid](t, bid)
		reason, ok := checkCreative(req, &req.Imp[0], b, seat)
		switch {
		case want == "" && !ok:
			t.Errorf("%s: dropped (%s), want it to pass", name, reason)
		case want != "" && ok:
			t.Errorf("%s: passes, want it dropped (%s)", name, want)
		case want != "" && reason.String() != want:
			t.Errorf("%s: dropped (%s), want %s", name, reason, want)
		}
	}
}

const banner320x50 = `"imp":[{"id":"1","banner":{"w":320,"h":50}}]`

func TestCheckCreativeCategory(t *testing.T) {
	f := checkF(t)
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"bcat":["IAB25","IAB7-39","IAB1"]}`)
	f("blocked tier 1", req, `{"cat":["IAB25"]}`, "", "blocked_category")
	f("subcategory of a blocked tier 1", req, `{"cat":["IAB3","IAB25-3"]}`, "", "blocked_category")
	f("blocked subcategory", req, `{"cat":["IAB7-39"]}`, "", "blocked_category")
	f("codes are case-insensitive", req, `{"cat":["iab25-3"]}`, "", "blocked_category")
	f("IAB1 blocks IAB1-2", req, `{"cat":["IAB1-2"]}`, "", "blocked_category")
	f("IAB1 leaves IAB10 and IAB11-2", req, `{"cat":["IAB10","IAB11-2","IAB1x"]}`, "", "")
	f("a blocked subcategory leaves its parent", req, `{"cat":["IAB7"]}`, "", "")
	f("another subcategory of its parent", req, `{"cat":["IAB7-3"]}`, "", "")
	f("no category", req, `{}`, "", "")
	f("another taxonomy is not compared", req, `{"cattax":6,"cat":["IAB25"]}`, "", "")
	f("cattax 1 stated", req, `{"cattax":1,"cat":["IAB25"]}`, "", "blocked_category")

	tax6 := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"cattax":6,"bcat":["483"]}`)
	f("taxonomy 2.2", tax6, `{"cattax":6,"cat":["483"]}`, "", "blocked_category")
	f("taxonomy 2.2, other code", tax6, `{"cattax":6,"cat":["4831"]}`, "", "")
	f("bid in taxonomy 1 against a 2.2 block list", tax6, `{"cat":["483"]}`, "", "")

	// The IAB's mobile example (§6.2.3) blocks IAB25, IAB7-39, IAB8-18...
	mobile := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/iab-openrtb2.6-spec/bidrequest-6.2.3-mobile.json")))
	f("IAB example, IAB8-5", mobile, `{"w":728,"h":90,"cat":["IAB8-5"]}`, "", "blocked_category")
	f("IAB example, IAB8-1", mobile, `{"w":728,"h":90,"cat":["IAB8-1"]}`, "", "")
}

func TestCheckCreativeAdvertiser(t *testing.T) {
	f := checkF(t)
	badv := func(list string) *openrtb2.BidRequest {
		return decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"badv":`+list+`}`)
	}
	req := badv(`["example.com","example.co.uk","foo.blogspot.com","co.uk","Rival.NET"]`)
	f("the domain", req, `{"adomain":["example.com"]}`, "", "blocked_advertiser")
	f("a subdomain", req, `{"adomain":["ads.example.com"]}`, "", "blocked_advertiser")
	f("www", req, `{"adomain":["www.example.com"]}`, "", "blocked_advertiser")
	f("upper case", req, `{"adomain":["WWW.EXAMPLE.COM"]}`, "", "blocked_advertiser")
	f("an upper-case block", req, `{"adomain":["shop.rival.net"]}`, "", "blocked_advertiser")
	f("written as a URL", req, `{"adomain":["https://www.example.com/landing?utm=1"]}`, "", "blocked_advertiser")
	f("written as a relative URL", req, `{"adomain":["//ads.example.com/"]}`, "", "blocked_advertiser")
	f("with a port and the root's dot", req, `{"adomain":["example.com.:443"]}`, "", "blocked_advertiser")
	f("second of two domains", req, `{"adomain":["brand.example","ads.example.com"]}`, "", "blocked_advertiser")
	f("a longer name", req, `{"adomain":["notexample.com"]}`, "", "")
	f("another TLD", req, `{"adomain":["example.co","example.com.au"]}`, "", "")
	f("under a two-label suffix", req, `{"adomain":["shop.example.co.uk"]}`, "", "blocked_advertiser")
	f("another domain under the same suffix", req, `{"adomain":["other.co.uk"]}`, "", "")
	f("another site of a private suffix", req, `{"adomain":["bar.blogspot.com"]}`, "", "")
	f("under a blocked site of a private suffix", req, `{"adomain":["www.foo.blogspot.com"]}`, "", "blocked_advertiser")
	f("no adomain", req, `{}`, "", "")
	f("an empty adomain", req, `{"adomain":["", " "]}`, "", "")
	// The registrable domain names the advertiser: a block of one of its
	// hosts blocks the advertiser.
	f("blocked by a host of the same domain", badv(`["ads.example.com"]`), `{"adomain":["example.com"]}`, "", "blocked_advertiser")
	f("IP addresses", badv(`["192.0.2.1"]`), `{"adomain":["192.0.2.1","198.51.100.1","192.0.3.1"]}`, "", "blocked_advertiser")
	f("other IP addresses", badv(`["192.0.2.1"]`), `{"adomain":["198.51.100.1","192.0.3.1","10.2.0.1"]}`, "", "")
	f("single labels", badv(`["localhost"]`), `{"adomain":["ads.localhost"]}`, "", "")

	mobile := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/iab-openrtb2.6-spec/bidrequest-6.2.3-mobile.json")))
	f("IAB example blocks apple.com", mobile, `{"w":728,"h":90,"adomain":["itunes.apple.com"]}`, "", "blocked_advertiser")
	f("IAB example, another advertiser", mobile, `{"w":728,"h":90,"adomain":["ford.com"]}`, "", "")
}

func TestCheckCreativeApp(t *testing.T) {
	f := checkF(t)
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"bapp":["com.rival.reader","628677149"]}`)
	f("blocked bundle", req, `{"bundle":"com.rival.reader"}`, "", "blocked_app")
	f("blocked store id", req, `{"bundle":"628677149"}`, "", "blocked_app")
	f("case differs", req, `{"bundle":"com.Rival.Reader"}`, "", "blocked_app")
	f("another bundle", req, `{"bundle":"com.rival.reader.lite"}`, "", "")
	f("no bundle", req, `{}`, "", "")
}

func TestCheckCreativeAttribute(t *testing.T) {
	f := checkF(t)
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"battr":[1,3,8]}}]}`)
	f("blocked attribute", req, `{"attr":[2,3]}`, "", "blocked_attribute")
	f("other attributes", req, `{"attr":[2,4]}`, "", "")
	f("no attribute", req, `{}`, "", "")

	// battr belongs to a medium: on a multi-format imp it applies to the
	// bid's, or to every medium when the bid's is unknown.
	multi := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1",
		"banner":{"w":300,"h":250,"battr":[1]},
		"video":{"mimes":["video/mp4"],"battr":[14]},
		"native":{"request":"{\"assets\":[{\"id\":1,\"title\":{\"len\":90}}]}","battr":[6]}}]}`)
	f("video's battr leaves a banner", multi, `{"mtype":1,"attr":[14]}`, "", "")
	f("video's battr on video", multi, `{"mtype":2,"attr":[14]}`, "", "blocked_attribute")
	f("native's battr on native", multi, `{"mtype":4,"attr":[6]}`, "", "blocked_attribute")
	f("banner markup, banner's battr", multi, `{"adm":"<a href=\"https://brand.example\"><img src=\"x.png\"></a>","attr":[1]}`, "", "blocked_attribute")
	f("banner markup, video's battr", multi, `{"adm":"<a href=\"https://brand.example\"><img src=\"x.png\"></a>","attr":[14]}`, "", "")
	f("unknown medium, any battr", multi, `{"nurl":"https://dsp.example/win","attr":[14]}`, "", "blocked_attribute")

	// The 2.5 video example blocks 13 and 14 (§6.2.4).
	video := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/prebid-openrtb-2.5-spec-samples/bidrequest-video.json")))
	f("spec video example", video, `{"nurl":"https://dsp.example/win","attr":[13]}`, "", "blocked_attribute")
}

func TestCheckCreativeType(t *testing.T) {
	f := checkF(t)
	js := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"btype":[3]}}]}`)
	f("script", js, `{"adm":"<div><script src=\"https://cdn.dsp.example/tag.js\"></script></div>"}`, "", "blocked_creative_type")
	f("upper-case script", js, `{"adm":"<SCRIPT>document.write('x')</SCRIPT>"}`, "", "blocked_creative_type")
	f("image ad", js, `{"adm":"<a href=\"https://brand.example\"><img src=\"https://cdn.example/320x50.png\"></a>"}`, "", "")
	f("not a script element", js, `{"adm":"<scripted-ad></scripted-ad><p>no script here</p>"}`, "", "")
	f("iframe is not JS", js, `{"adm":"<iframe src=\"https://dsp.example/ad\"></iframe>"}`, "", "")
	f("markup unknown until the win", js, `{"nurl":"https://dsp.example/win"}`, "", "")
	f("video markup is no banner", decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"btype":[3]},"video":{"mimes":["video/mp4"]}}]}`),
		`{"mtype":2,"adm":"<VAST version=\"4.2\"><Ad><InLine><script/></InLine></Ad></VAST>"}`, "", "")
	f("text and XHTML banner types leave no mark", decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"btype":[1,2]}}]}`),
		`{"adm":"<script>x()</script>"}`, "", "")

	// The IAB's mobile example blocks iframes (btype 4); BSM's response
	// samples serve iframes.
	mobile := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/iab-openrtb2.6-spec/bidrequest-6.2.3-mobile.json")))
	for _, path := range []string{"valid/bsm-openrtb/bidresponse-single.json", "valid/bsm-openrtb/bidresponse-multi.json"} {
		b, err := json.Marshal(corpusBid(t, path, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		f(path+" on the IAB mobile example", mobile, string(b), "", "blocked_creative_type")
		f(path+" on a banner that takes iframes", js, string(b), "", "")
	}
}

func TestCheckCreativeSeat(t *testing.T) {
	f := checkF(t)
	// BSM's native example: wseat 771 and 772, bseat 800 and 773.
	req := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/bsm-openrtb/bidrequest-native.json")))
	f("allowed seat", req, `{}`, "772", "")
	f("blocked seat", req, `{}`, "800", "blocked_seat")
	f("seat outside wseat", req, `{}`, "999", "blocked_seat")
	f("seat unknown", req, `{}`, "", "")
	bseat := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"bseat":["800"]}`)
	f("bseat alone", bseat, `{}`, "801", "")
	f("bseat alone, blocked", bseat, `{}`, "800", "blocked_seat")
}

func TestCheckCreativeLanguage(t *testing.T) {
	f := checkF(t)
	wlang := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"wlang":["en","de"]}`)
	f("allowed", wlang, `{"language":"de"}`, "", "")
	f("case differs", wlang, `{"language":"EN"}`, "", "")
	f("not allowed", wlang, `{"language":"fr"}`, "", "blocked_language")
	f("no linguistic content", wlang, `{"language":"xx"}`, "", "")
	f("unstated", wlang, `{}`, "", "")
	f("BCP 47 tag in an allowed language", wlang, `{"langb":"en-GB"}`, "", "")
	f("BCP 47 tag in another language", wlang, `{"langb":"fr-CA"}`, "", "blocked_language")
	f("a prefix is no language", wlang, `{"langb":"enx"}`, "", "blocked_language")
	wlangb := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`,"wlangb":["zh-Hant","en-US"]}`)
	f("wlangb, a narrower tag", wlangb, `{"langb":"zh-Hant-TW"}`, "", "")
	f("wlangb, another script", wlangb, `{"langb":"zh-Hans"}`, "", "blocked_language")
	f("wlangb, the language alone", wlangb, `{"language":"en"}`, "", "")
	f("wlangb, another language", wlangb, `{"language":"fr"}`, "", "blocked_language")
	f("wlangb, zxx", wlangb, `{"langb":"zxx"}`, "", "")
}

func TestCheckCreativeMediaAndSize(t *testing.T) {
	f := checkF(t)
	slot := decodeTest[openrtb2.BidRequest](t, `{"id":"r",`+banner320x50+`}`)
	f("300x250 in a 320x50 slot", slot, `{"mtype":1,"w":300,"h":250}`, "", "wrong_size")
	f("320x50 in a 320x50 slot", slot, `{"mtype":1,"w":320,"h":50}`, "", "")
	f("no size, no mtype", slot, `{"adm":"<img src=\"x.png\">"}`, "", "")
	f("only a width", slot, `{"w":300}`, "", "")
	f("video on a banner imp", slot, `{"mtype":2,"adm":"<VAST version=\"4.0\"/>"}`, "", "wrong_media")
	f("native on a banner imp", slot, `{"mtype":4}`, "", "wrong_media")
	f("mtype outside the list", slot, `{"mtype":9,"w":320,"h":50}`, "", "")

	formats := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":728,"h":90},{"w":970,"h":250}]}}]}`)
	f("a format", formats, `{"w":970,"h":250}`, "", "")
	f("no format", formats, `{"w":300,"h":250}`, "", "wrong_size")
	flex := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"format":[{"wratio":2,"hratio":1,"wmin":300},{"w":300,"h":250}]}}]}`)
	f("flexible, at wmin", flex, `{"w":300,"h":150}`, "", "")
	f("flexible, wider", flex, `{"w":640,"h":320}`, "", "")
	f("flexible, below wmin", flex, `{"w":200,"h":100}`, "", "wrong_size")
	f("flexible, other ratio", flex, `{"w":640,"h":321}`, "", "wrong_size")
	f("flexible list's fixed size", flex, `{"w":300,"h":250}`, "", "")
	f("flexible, huge", flex, `{"w":9223372036854775807,"h":4611686018427387903}`, "", "wrong_size")
	ranges := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250,"wmin":300,"hmin":250,"wmax":336,"hmax":280}}]}`)
	f("within 2.5 ranges", ranges, `{"w":336,"h":280}`, "", "")
	f("outside 2.5 ranges", ranges, `{"w":728,"h":90}`, "", "wrong_size")
	instl := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","instl":1,"banner":{"w":0,"h":0}}]}`)
	f("interstitial without sizes", instl, `{"w":320,"h":480}`, "", "")

	multi := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250},"video":{"mimes":["video/mp4"],"w":640,"h":360}}]}`)
	f("video bid with the player's size", multi, `{"mtype":2,"w":640,"h":360,"adm":"<VAST version=\"3.0\"/>"}`, "", "")
	f("banner bid of the player's size", multi, `{"mtype":1,"w":640,"h":360}`, "", "wrong_size")
	f("audio on banner and video", multi, `{"mtype":3}`, "", "wrong_media")
	f("unknown medium, banner markup", multi, `{"w":728,"h":90,"adm":"<div>ad</div>"}`, "", "wrong_size")
	f("unknown medium, DAAST markup", multi, `{"adm":"<DAAST version=\"1.0\"/>"}`, "", "not_vast")
	f("unknown medium, DAAST markup, audio offered", decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","video":{"mimes":["video/mp4"]},"audio":{"mimes":["audio/mp4"]}}]}`),
		`{"adm":"<DAAST version=\"1.0\"/>"}`, "", "")
	f("unknown medium, VAST markup", multi, `{"w":728,"h":90,"adm":"<VAST version=\"3.0\"/>"}`, "", "")
}

func TestCheckCreativeVideoAndAudio(t *testing.T) {
	f := checkF(t)
	// The 2.5 video example: 5-30 s, VAST 2.0 and 3.0 (protocols 2 and 3).
	video := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/prebid-openrtb-2.5-spec-samples/bidrequest-video.json")))
	vast := corpusBid(t, "valid/prebid-openrtb-2.5-spec-samples/bidresponse-vast-xml-document-returned-inline.json", 0, 0)
	vastBid, err := json.Marshal(vast)
	if err != nil {
		t.Fatal(err)
	}
	f("the spec's inline VAST", video, string(vastBid), "", "")
	withDur := func(extra string) string { return strings.Replace(string(vastBid), "{", "{"+extra+",", 1) }
	f("the spec's VAST, 30 s, VAST 2.0", video, withDur(`"dur":30,"protocol":2`), "", "")
	f("31 s", video, withDur(`"dur":31`), "", "wrong_duration")
	f("4 s", video, withDur(`"dur":4`), "", "wrong_duration")
	f("VAST 4.0 where 2.0 and 3.0 play", video, withDur(`"protocol":7`), "", "wrong_protocol")
	f("HTML", video, `{"adm":"<div><img src=\"x.png\"></div>"}`, "", "not_vast")
	f("HTML with mtype 2", video, `{"mtype":2,"adm":"<html><body>ad</body></html>"}`, "", "not_vast")
	f("native JSON", video, `{"adm":"{\"native\":{\"assets\":[]}}"}`, "", "not_vast")
	f("a VAST tag URL", video, `{"adm":"https://dsp.example/vast.xml"}`, "", "not_vast")
	f("unclosed root", video, `{"adm":"<VAST"}`, "", "not_vast")
	f("VASTX", video, `{"adm":"<VASTX version=\"4.0\"></VASTX>"}`, "", "not_vast")
	f("escaped VAST", video, `{"adm":"&lt;VAST version=\"4.0\"&gt;"}`, "", "not_vast")
	f("nurl alone", video, `{"nurl":"https://dsp.example/win?p=${AUCTION_PRICE}"}`, "", "")
	f("declaration, comment, BOM, white space", video,
		`{"adm":"\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- served by dsp.example -->\r\n\t<VAST version=\"4.2\" xmlns=\"http://www.iab.com/VAST\"><Ad id=\"1\"/></VAST>"}`, "", "")
	f("doctype", video, `{"adm":"<!DOCTYPE VAST><VAST version=\"2.0\"></VAST>"}`, "", "")
	f("doctype with an internal subset", video, `{"adm":"<!DOCTYPE VAST [<!ENTITY brand \"Brand\">]>\n<VAST version=\"2.0\"></VAST>"}`, "", "")
	f("empty VAST", video, `{"adm":"<VAST version=\"4.2\"/>"}`, "", "")

	rqd := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","video":{"mimes":["video/mp4"],"rqddurs":[15,30],"protocols":[3,6]}}]}`)
	f("a required duration", rqd, `{"dur":15,"protocol":6,"nurl":"https://dsp.example/win"}`, "", "")
	f("not a required duration", rqd, `{"dur":20,"nurl":"https://dsp.example/win"}`, "", "wrong_duration")
	// The DOOH example wants exactly 20 s (§7.9.6.3).
	dooh := decodeTest[openrtb2.BidRequest](t, string(corpus(t, "valid/iab-openrtb2.6-implementation-dooh/7.9.6.3-dooh-video-bid-request.json")))
	f("DOOH, 15 s", dooh, withDur(`"dur":15`), "", "wrong_duration")
	f("DOOH, 20 s", dooh, withDur(`"dur":20`), "", "")

	audio := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","audio":{"mimes":["audio/mp4"],"minduration":10,"maxduration":30,"protocols":[9,10,11,12]}}]}`)
	f("audio VAST", audio, `{"dur":30,"protocol":11,"adm":"<VAST version=\"4.1\"><Ad/></VAST>"}`, "", "")
	f("audio DAAST", audio, `{"adm":"<?xml version=\"1.0\"?><DAAST version=\"1.0\"></DAAST>"}`, "", "")
	f("audio too long", audio, `{"dur":60,"adm":"<VAST version=\"4.1\"/>"}`, "", "wrong_duration")
	f("audio, VAST 2.0 where DAAST and VAST 4.1 play", audio, `{"protocol":2,"adm":"<VAST version=\"2.0\"/>"}`, "", "wrong_protocol")
	f("audio HTML", audio, `{"adm":"<div>ad</div>"}`, "", "not_vast")
}

// nativeRequestImp returns a request with one native imp whose Native
// request is the corpus file path.
func nativeRequestImp(t *testing.T, path string) *openrtb2.BidRequest {
	t.Helper()
	return decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","native":{"ver":"1.1","request":`+quoted(t, corpus(t, path))+`}}]}`)
}

func TestCheckCreativeNative(t *testing.T) {
	f := checkF(t)
	admBid := func(adm []byte) string { return `{"adm":` + quoted(t, adm) + `}` }
	// The Native 1.1 content example requires assets 123, 124, 126 and
	// 127; Prebid's response examples carry them.
	req := nativeRequestImp(t, "valid/prebid-openrtb-native1/native-request-v1.1-content-context.json")
	for _, path := range []string{
		"valid/prebid-openrtb-native1/native-response-v1.1-clickout.json",
		"valid/prebid-openrtb-native1/native-response-v1.1-video.json",
		"valid/prebid-openrtb-native1/native-response-v1.2-video.json",
		"valid/prebid-openrtb-native1/native-response-v1.2-third-party.json",
	} {
		resp := corpus(t, path)
		f(path, req, admBid(resp), "", "")
		f(path+", Native 1.0 wrapper", req, admBid([]byte(`{"native":`+string(resp)+`}`)), "", "")
		f(path+", mtype 4", req, `{"mtype":4,"adm":`+quoted(t, resp)+`}`, "", "")
	}
	clickout := decodeTest[map[string]any](t, string(corpus(t, "valid/prebid-openrtb-native1/native-response-v1.1-clickout.json")))
	(*clickout)["assets"] = (*clickout)["assets"].([]any)[:4] // drop asset 127
	short, err := json.Marshal(clickout)
	if err != nil {
		t.Fatal(err)
	}
	f("a required asset missing", req, admBid(short), "", "native_assets")
	f("no assets", req, `{"adm":"{\"link\":{\"url\":\"https://brand.example\"}}"}`, "", "native_assets")
	f("assets from assetsurl", req, `{"adm":"{\"native\":{\"assetsurl\":\"https://dsp.example/assets/1\",\"link\":{\"url\":\"https://brand.example\"}}}"}`, "", "")
	f("assets from dcourl", req, `{"adm":"{\"dcourl\":\"https://dsp.example/dco/1\"}"}`, "", "")
	f("an asset id as a string", req, `{"adm":"{\"assets\":[{\"id\":\"123\"}]}"}`, "", "native_assets")
	f("HTML", req, `{"adm":"<div>ad</div>"}`, "", "native_assets")
	f("an object that is no Native response", req, `{"adm":"{\"ad\":\"x\"}"}`, "", "native_assets")
	f("JSON null", req, `{"adm":"null"}`, "", "native_assets")
	f("nurl alone", req, `{"nurl":"https://dsp.example/win"}`, "", "")
	// The OpenRTB 2.6 example's markup (§6.3.4) has "{ ... }" where its
	// objects go: it is no JSON, so no Native response.
	spec := corpusBid(t, "valid/iab-openrtb2.6-spec/bidresponse-6.3.4-native-markup-returned-inline.json", 0, 0)
	f("OpenRTB 2.6 example markup", req, admBid([]byte(spec.AdM)), "", "native_assets")

	wrapped := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","native":{"request":"{\"native\":{\"ver\":\"1.0\",\"assets\":[{\"id\":0,\"required\":1,\"title\":{\"len\":25}},{\"id\":1,\"img\":{\"type\":3}}]}}"}}]}`)
	f("1.0 request, asset 0 present", wrapped, `{"adm":"{\"native\":{\"assets\":[{\"id\":0,\"title\":{\"text\":\"t\"}}],\"link\":{\"url\":\"u\"}}}"}`, "", "")
	f("1.0 request, asset 0 missing", wrapped, `{"adm":"{\"native\":{\"assets\":[{\"id\":1,\"img\":{\"url\":\"u\"}}],\"link\":{\"url\":\"u\"}}}"}`, "", "native_assets")
	noIDs := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"required\":1,\"title\":{\"len\":25}}]}"}}]}`)
	f("required assets without ids", noIDs, `{"adm":"{\"assets\":[],\"link\":{\"url\":\"u\"}}"}`, "", "")

	// The house native ad of the embedded config fills the app example.
	app := decodeTest[openrtb2.BidRequest](t, string(mustRead(t, "../examples/app-native.json")))
	f("house native on the app example", app,
		`{"mtype":4,"adm":"{\"native\":{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"title\":{\"text\":\"adx house ad\"}}],\"link\":{\"url\":\"https://adx.example/house\"}}}"}`, "", "")
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCheckCreativeFirstReason: a bid breaking several rules is dropped for
// the first, in the documented order.
func TestCheckCreativeFirstReason(t *testing.T) {
	f := checkF(t)
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"battr":[1]}}],
		"bcat":["IAB25"],"badv":["example.com"],"bapp":["com.rival"],"wlang":["en"],"bseat":["9"]}`)
	bid := `{"mtype":1,"w":300,"h":250,"attr":[1],"language":"fr","bundle":"com.rival","cat":["IAB25"],"adomain":["example.com"]}`
	f("all", req, bid, "9", "blocked_seat")
	f("but seat", req, bid, "8", "blocked_advertiser")
	f("mtype first", req, strings.Replace(bid, `"mtype":1`, `"mtype":2`, 1), "9", "wrong_media")
}

// TestDropReasonNames: every reason has its own snake_case metric label.
func TestDropReasonNames(t *testing.T) {
	label := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	seen := map[string]DropReason{}
	for r := range numDropReasons {
		name := r.String()
		if !label.MatchString(name) {
			t.Errorf("reason %d: label %q is not snake_case", r, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("reasons %d and %d share the label %q", prev, r, name)
		}
		seen[name] = r
	}
}

// TestAuctionDropsWrongCreative runs the checks inside an auction: the
// dearer bid breaks a rule and the cheaper one wins.
func TestAuctionDropsWrongCreative(t *testing.T) {
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50}}],"badv":["rival.example"]}`)
	big := &staticBidder{name: "big", bids: []openrtb2.Bid{
		{ID: "a", ImpID: "1", Price: 3, AdM: "<img>", CrID: "c", MType: openrtb2.MarkupBanner, W: 300, H: 250},
		{ID: "b", ImpID: "1", Price: 2, AdM: "<img>", CrID: "c", MType: openrtb2.MarkupBanner, W: 320, H: 50, ADomain: []string{"ads.rival.example"}},
	}}
	fit := &staticBidder{name: "fit", bids: []openrtb2.Bid{
		{ID: "c", ImpID: "1", Price: 1, AdM: "<img>", CrID: "c", MType: openrtb2.MarkupBanner, W: 320, H: 50, ADomain: []string{"brand.example"}},
	}}
	res := New([]Bidder{big, fit}, Rules{Currency: "USD"}, nil).Run(req, time.Now().Add(time.Second))
	if len(res.Winners) != 1 || res.Winners[0].Bid.ID != "c" {
		t.Fatalf("winners %+v, want bid c alone", res.Winners)
	}
	if d := res.Bidders[0].Dropped; d[DropWrongSize] != 1 || d[DropBlockedAdvertiser] != 1 {
		t.Errorf("big: dropped %v, want one wrong_size and one blocked_advertiser", d)
	}
}

// FuzzCheckCreative feeds markup to the checks of every medium: parsing
// VAST and Native markup never panics, and markup that passes as VAST
// starts with its root element.
func FuzzCheckCreative(f *testing.F) {
	for _, path := range []string{
		"valid/prebid-openrtb-2.5-spec-samples/bidresponse-vast-xml-document-returned-inline.json",
		"valid/iab-openrtb2.6-spec/bidresponse-6.3.4-native-markup-returned-inline.json",
		"valid/bsm-openrtb/bidresponse-single.json",
	} {
		f.Add(corpusBid(f, path, 0, 0).AdM)
	}
	f.Add(string(corpus(f, "valid/prebid-openrtb-native1/native-response-v1.2-video.json")))
	f.Add(`{"native":{"assets":[{"id":1,"required":1}],"link":{"url":"u"}}}`)
	f.Add(`<?xml version="1.0"?><!-- c --><VAST version="4.2"/>`)
	f.Add(`<!DOCTYPE x [<!ENTITY a "b">]><VAST>`)
	f.Add(`<script>x</script><iframe/>`)
	reqs := []*openrtb2.BidRequest{
		decodeTest[openrtb2.BidRequest](f, `{"id":"r","imp":[{"id":"1","video":{"mimes":["video/mp4"]}}]}`),
		decodeTest[openrtb2.BidRequest](f, `{"id":"r","imp":[{"id":"1","audio":{"mimes":["audio/mp4"]}}]}`),
		decodeTest[openrtb2.BidRequest](f, `{"id":"r","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"id\":1,\"required\":1,\"title\":{\"len\":9}}]}"}}]}`),
		decodeTest[openrtb2.BidRequest](f, `{"id":"r","imp":[{"id":"1","banner":{"w":320,"h":50,"btype":[3,4]},
			"video":{"mimes":["video/mp4"],"battr":[1]},"native":{"request":"{\"native\":{\"assets\":[{\"id\":2,\"required\":1,\"img\":{}}]}}"}}]}`),
	}
	f.Fuzz(func(t *testing.T, adm string) {
		for _, req := range reqs {
			bid := openrtb2.Bid{AdM: adm}
			checkCreative(req, &req.Imp[0], &bid, "")
		}
		// Native markup that passes is a JSON object to the standard
		// library's parser too.
		bid := openrtb2.Bid{AdM: adm, MType: openrtb2.MarkupNative}
		if _, ok := checkCreative(reqs[2], &reqs[2].Imp[0], &bid, ""); ok && adm != "" && !json.Valid([]byte(adm)) {
			t.Fatalf("%q passes as Native markup, but is not JSON", adm)
		}
		if root := xmlRoot(adm); root != "" && !strings.Contains(adm, "<"+root) {
			t.Fatalf("%q: root %q is not in the markup", adm, root)
		}
	})
}
