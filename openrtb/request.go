package openrtb

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// RequestError describes one client problem with an OpenRTB bid request: the
// body could not be decoded, or the decoded request breaks a rule of the
// OpenRTB 2.6 object model. A RequestError always means "invalid request"
// (HTTP 400, or a no-bid with nbr=2), never a server fault.
type RequestError struct {
	// Field is the offending field as an OpenRTB JSON path with indexes in
	// brackets, e.g. "imp[0].banner.format[1].w", "device.geo.accuracy" or
	// "regs.gdpr". It is "request" when the problem concerns the whole body.
	Field string
	// Problem says what is wrong with Field, e.g. "must not be negative".
	Problem string
}

// Error returns Field and Problem joined by a space, e.g.
// "imp[1].id is duplicated". It is written for the client, which the
// exchange answers with it as is: {"error":"imp[1].id is duplicated"}.
func (e *RequestError) Error() string {
	return e.Field + " " + e.Problem
}

// fieldRequest is the Field of a RequestError about the whole body.
const fieldRequest = "request"

func reqErr(field, problem string) *RequestError {
	return &RequestError{Field: field, Problem: problem}
}

// DecodeRequest decodes an OpenRTB 2.x bid request from a JSON body into req,
// which is reset first. Unknown fields and ext objects are accepted as they
// are. Every problem with the body (empty, not a JSON object, a syntax error,
// a value of the wrong type, data after the object, an id that is not
// UTF-8) is returned as a *RequestError. On error the contents of req are
// unspecified.
//
// An empty object for device, device.geo, user, regs or source ({}, or
// null) decodes as absent (nil), as OpenRTB gives it the same meaning.
//
// Bytes that are not UTF-8 become U+FFFD in decoded strings; that is
// accepted in free text but not in the request id, imp ids and deal ids,
// which the SSP matches against the response (see idcheck.go).
//
// The decoded request owns its memory: no string, slice or ext
// (json.RawMessage) of req points into body, so the caller may reuse or
// release body as soon as DecodeRequest returns. The server relies on it:
// fasthttp recycles a request's body buffer when the handler returns, while
// the goroutines of bidders still read the request.
//
// DecodeRequest only decodes; call ValidateRequest to check the request
// against the OpenRTB object model.
func DecodeRequest(body []byte, req *openrtb2.BidRequest) error {
	return DecodeRequestInto(body, req, nil)
}

// RequestRoom is memory a request is decoded into, lent by a caller that
// decodes many (the server keeps one per request in flight, in a pool,
// reused once every reader is done): the copy of the body the decoded
// strings point into, room for up to four imps and one currency, and room
// for the objects nearly every request has: device, device.geo, user,
// regs and source, and device.sua with up to four browsers of up to four
// version parts each (what a browser sending client hints sends), and
// for the values of their optional numbers (imp.secure, device.js,
// device.lmt, regs.gdpr, ...), which the object model holds as pointers.
// The codec gives a slice it allocates a capacity of four, so that
// without room a request with one imp costs three Imps of garbage (790
// bytes), and each object, slice or pointer costs an allocation. The
// zero RequestRoom is ready; Reset readies it for another request.
type RequestRoom struct {
	body   []byte
	imp    [roomImps]openrtb2.Imp
	cur    [1]string
	device openrtb2.Device
	sua    openrtb2.UserAgent
	brands [roomBrands]openrtb2.BrandVersion
	parts  [roomBrands][4]string // the brands' versions
	geo    openrtb2.Geo
	user   openrtb2.User
	regs   openrtb2.Regs
	source openrtb2.Source
	values roomValues
}

// roomValues are the values the optional numbers of the objects in a
// RequestRoom point to while a request is decoded (see unsetInt).
type roomValues struct {
	secure, clickBrowser           [roomImps]int8
	dnt, lmt, js, geoFetch, mobile int8
	connectionType                 adcom1.ConnectionType
	gdpr, fd                       int8
	lat, lon                       float64
}

// unsetInt and unsetFloat are what the room's optional numbers hold
// before a request is decoded into it: one that the body does not set
// keeps it, and is then set back to nil, as the codec leaves it without
// a room. The codec decodes an integer to unsetInt from the literal -128
// alone (not -128.0, not "-128", not -0128), so a body that has those
// four bytes anywhere is decoded with these pointers nil, and the codec
// allocates each it sets; no JSON number decodes to a NaN.
const unsetInt = -128

var unsetFloat = math.NaN()

// unsetLiteral is the only JSON text that decodes to unsetInt.
var unsetLiteral = []byte("-128")

// roomImps is how many imps a RequestRoom holds: as many as the codec
// gives a slice it allocates room for, so that a request with more
// imps costs what it would without a room.
const roomImps = 4

// roomBrands is how many device.sua.browsers a RequestRoom holds.
const roomBrands = 4

// maxRoomBody bounds the body copy a RequestRoom keeps across Reset: a
// rare large request does not make every room keep its size.
const maxRoomBody = 64 << 10

// Reset readies r for another request: the request decoded into it must
// be read no more. It keeps the body's buffer, up to maxRoomBody.
func (r *RequestRoom) Reset() {
	r.imp, r.cur = [roomImps]openrtb2.Imp{}, [1]string{}
	r.sua, r.brands, r.parts = openrtb2.UserAgent{}, [roomBrands]openrtb2.BrandVersion{}, [roomBrands][4]string{}
	r.device, r.geo, r.user, r.regs, r.source = openrtb2.Device{}, openrtb2.Geo{}, openrtb2.User{}, openrtb2.Regs{}, openrtb2.Source{}
	r.values = roomValues{}
	if cap(r.body) > maxRoomBody {
		r.body = nil
	}
	r.body = r.body[:0]
}

// Poison overwrites the body copy the last request decoded into r points
// into, so that a test finds out a reader that outlives the request: its
// strings read as runs of 'X'.
func (r *RequestRoom) Poison() {
	b := r.body[:cap(r.body)]
	for i := range b {
		b[i] = 'X'
	}
}

// DecodeRequestInto is DecodeRequest into room (nil: none): the body is
// copied into room's buffer, and the imps, the currencies, device,
// device.geo, device.sua with its browsers, user, regs and source, and
// their optional numbers, are decoded into its room while they fit, so
// that a request with up to four imps and one currency allocates none of
// them. req points into room until room is Reset.
func DecodeRequestInto(body []byte, req *openrtb2.BidRequest, room *RequestRoom) error {
	*req = openrtb2.BidRequest{}
	if err := checkObject(body); err != nil {
		return err
	}
	values := false
	if room != nil {
		// The codec decodes an object into the one a pointer already
		// points to; an object the body does not have is left empty and
		// dropped by dropEmpty below. A number is decoded the same way:
		// one the body does not have keeps its unset value, and
		// dropUnset sets its pointer back to nil.
		req.Imp, req.Cur = room.imp[:0], room.cur[:0]
		room.device.Geo, room.device.SUA = &room.geo, &room.sua
		room.sua.Browsers = room.brands[:0]
		for i := range room.brands {
			room.brands[i].Version = room.parts[i][:0]
		}
		req.Device, req.User, req.Regs, req.Source = &room.device, &room.user, &room.regs, &room.source
		if values = !bytes.Contains(body, unsetLiteral); values {
			room.pointValues()
		}
	}
	var buf *[]byte
	if room != nil {
		buf = &room.body
	}
	err := unmarshalJSONInto(buf, body, req)
	if values {
		dropUnset(req) // before any return: the request is read as it is
	}
	if err != nil {
		return decodeError(err)
	}
	dropEmpty(req)
	if err := checkIDEncoding(body, req); err != nil {
		return err
	}
	return nil
}

// pointValues points the optional numbers of r's objects at r's values,
// each unset.
func (r *RequestRoom) pointValues() {
	v := &r.values
	for i := range r.imp {
		v.secure[i], v.clickBrowser[i] = unsetInt, unsetInt
		r.imp[i].Secure, r.imp[i].ClickBrowser = &v.secure[i], &v.clickBrowser[i]
	}
	v.dnt, v.lmt, v.js, v.geoFetch, v.mobile = unsetInt, unsetInt, unsetInt, unsetInt, unsetInt
	v.connectionType, v.gdpr, v.fd = unsetInt, unsetInt, unsetInt
	v.lat, v.lon = unsetFloat, unsetFloat
	d := &r.device
	d.DNT, d.Lmt, d.JS, d.GeoFetch, d.ConnectionType = &v.dnt, &v.lmt, &v.js, &v.geoFetch, &v.connectionType
	r.sua.Mobile = &v.mobile
	r.geo.Lat, r.geo.Lon = &v.lat, &v.lon
	r.regs.GDPR = &v.gdpr
	r.source.FD = &v.fd
}

// dropUnset sets the optional numbers that pointValues pointed and the
// body did not set back to nil. The body has no -128 (unsetLiteral), so a
// value of -128 is one that was never set, wherever it is.
func dropUnset(req *openrtb2.BidRequest) {
	for i := range req.Imp {
		imp := &req.Imp[i]
		imp.Secure, imp.ClickBrowser = setOrNil(imp.Secure), setOrNil(imp.ClickBrowser)
	}
	if d := req.Device; d != nil {
		d.DNT, d.Lmt, d.JS, d.GeoFetch = setOrNil(d.DNT), setOrNil(d.Lmt), setOrNil(d.JS), setOrNil(d.GeoFetch)
		d.ConnectionType = setOrNil(d.ConnectionType)
		if d.SUA != nil {
			d.SUA.Mobile = setOrNil(d.SUA.Mobile)
		}
		if g := d.Geo; g != nil {
			if g.Lat != nil && math.IsNaN(*g.Lat) {
				g.Lat = nil
			}
			if g.Lon != nil && math.IsNaN(*g.Lon) {
				g.Lon = nil
			}
		}
	}
	if req.Regs != nil {
		req.Regs.GDPR = setOrNil(req.Regs.GDPR)
	}
	if req.Source != nil {
		req.Source.FD = setOrNil(req.Source.FD)
	}
}

// setOrNil is p, or nil where it points to unsetInt.
func setOrNil[T ~int8](p *T) *T {
	if p != nil && *p == unsetInt {
		return nil
	}
	return p
}

// dropEmpty sets device, device.geo, device.sua, user, regs and source to
// nil where they are empty objects: absent from the body, or sent as {},
// which OpenRTB gives the same meaning (every field of these objects is
// optional, and an absent field says nothing); and imp, cur, sua.browsers
// and each browser's version where they have none, absent or sent as [].
// Every decode does it, with room or without, so that a request is the
// same either way.
func dropEmpty(req *openrtb2.BidRequest) {
	if len(req.Imp) == 0 {
		req.Imp = nil
	}
	if len(req.Cur) == 0 {
		req.Cur = nil
	}
	if d := req.Device; d != nil {
		if d.Geo != nil && isZero(d.Geo) {
			d.Geo = nil
		}
		if ua := d.SUA; ua != nil {
			for i := range ua.Browsers {
				if len(ua.Browsers[i].Version) == 0 {
					ua.Browsers[i].Version = nil
				}
			}
			if len(ua.Browsers) == 0 {
				ua.Browsers = nil
			}
			if isZero(ua) {
				d.SUA = nil
			}
		}
		if isZero(d) {
			req.Device = nil
		}
	}
	if req.User != nil && isZero(req.User) {
		req.User = nil
	}
	if req.Regs != nil && isZero(req.Regs) {
		req.Regs = nil
	}
	if req.Source != nil && isZero(req.Source) {
		req.Source = nil
	}
}

// isZero reports whether *v is its type's zero value, every byte zero, as
// the codec leaves an object the body does not have.
func isZero[T any](v *T) bool {
	for _, b := range unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)) {
		if b != 0 {
			return false
		}
	}
	return true
}

// unmarshalJSON decodes through decodeJSON (codec.go, the package's one use
// of the JSON codec) and turns a panic inside the codec into an error: no
// body, a client's or a demand partner's, may crash the caller.
func unmarshalJSON(body []byte, v any) error { return unmarshalJSONInto(nil, body, v) }

// unmarshalJSONInto is unmarshalJSON with the copy of body made into *buf
// (decodeJSONInto); nil: a copy of its own (decodeJSON).
func unmarshalJSONInto(buf *[]byte, body []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errCodecPanic
		}
	}()
	if buf == nil {
		return decodeJSON(body, v)
	}
	return decodeJSONInto(buf, body, v)
}

var errCodecPanic = errors.New("the JSON decoder failed on this body")

// checkObject rejects bodies whose first value is not a JSON object, so that
// e.g. "null" does not decode silently into an empty request.
func checkObject(body []byte) *RequestError {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return nil
		default:
			return reqErr(fieldRequest, "body must be a JSON object")
		}
	}
	return reqErr(fieldRequest, "body is empty")
}

// decodeError maps a codec error to a *RequestError. It knows the error types
// of github.com/goccy/go-json; a change of codec must update it (the tests
// pin its messages). An unknown error still becomes a RequestError.
func decodeError(err error) *RequestError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return reqErr(fieldRequest, "body is not valid JSON: "+syn.Error()+" at offset "+strconv.FormatInt(syn.Offset, 10))
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return reqErr(fieldRequest, "body must be a JSON object")
		}
		return reqErr(jsonPath(typ.Field), typeProblem(typ))
	}
	return reqErr(fieldRequest, "body is not a valid bid request: "+err.Error())
}

// jsonPath turns the decoder's field path "imp.1.banner.format.0.w" into
// "imp[1].banner.format[0].w".
func jsonPath(p string) string {
	var b strings.Builder
	b.Grow(len(p) + 4)
	for i, seg := range strings.Split(p, ".") {
		if isIndex(seg) {
			b.WriteByte('[')
			b.WriteString(seg)
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// typeProblem words a type mismatch in JSON terms, e.g. "must be an integer,
// not a string" or "is out of range: 300". It runs on the error path only.
func typeProblem(e *json.UnmarshalTypeError) string {
	want, isInt := jsonKind(e.Type)
	got := e.Value
	if lit, ok := strings.CutPrefix(got, "number "); ok {
		if isInt && strings.ContainsAny(lit, ".eE") {
			return "must be an integer, not " + lit
		}
		return "is out of range: " + lit
	}
	switch got {
	case "string":
		got = "a string"
	case "number":
		got = "a number"
	case "bool":
		got = "a boolean"
	case "array":
		got = "an array"
	case "object":
		got = "an object"
	}
	return "must be " + want + ", not " + got
}

// jsonKind names the JSON type that a Go type decodes from.
func jsonKind(t reflect.Type) (name string, isInt bool) {
	if t == nil {
		return "another type", false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string", false
	case reflect.Bool:
		return "a boolean", false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer", true
	case reflect.Float32, reflect.Float64:
		return "a number", false
	case reflect.Slice, reflect.Array:
		return "an array", false
	case reflect.Struct, reflect.Map:
		return "an object", false
	}
	return "another type", false
}

// Problem texts shared by several rules.
const (
	probRequired    = "is required"
	probEmpty       = "must not be empty"
	probNegative    = "must not be negative"
	probNotFinite   = "must be a finite number"
	probZeroOrOne   = "must be 0 or 1"
	probCurrency    = "must be a 3-letter upper-case currency code"
	probPositive    = "must be greater than 0"
	probDuplicateID = "is duplicated"
)

// Limits are the exchange's own bounds on a request, beyond what the
// object model requires. The zero value sets none.
type Limits struct {
	// MaxImps is the most imps a request may hold; 0 sets no bound.
	MaxImps int
}

// ValidateRequest checks a decoded bid request against the OpenRTB 2.6 object
// model, and against limits, and returns the first problem found as a
// *RequestError, or nil.
//
// It enforces what the object model requires: request and imp ids (unique),
// at least one imp with a media object, banner sizes and format entries,
// video/audio mimes, the native request (a Native 1.0-1.2 request object,
// see native.go), deal ids, source.schain and device.sua
// required fields, 0/1 flags (regs.gdpr, regs.coppa, schain complete/hp), at
// most one of site/app/dooh, currency codes, and non-negative sizes,
// durations, bitrates, counts and floors. It does not enforce what the
// specification merely recommends (e.g. one of site/app/dooh), does not check
// lat/lon ranges or user.eids (prebid-server accepts those, dropping bad eids
// with a warning), and does not inspect ext objects. The 2.5 forms that
// 2.6 moved out of ext (regs.ext.gdpr, source.ext.schain, user.ext.eids)
// are ext content, accepted as they are.
//
// A valid request costs no allocation (TestValidateRequestNoAllocs).
func ValidateRequest(req *openrtb2.BidRequest, limits Limits) error {
	if err := validateRequest(req, limits.MaxImps); err != nil {
		return err
	}
	return nil
}

// validateRequest checks req; maxImps > 0 bounds its imp count.
func validateRequest(req *openrtb2.BidRequest, maxImps int) *RequestError {
	if req == nil {
		return reqErr(fieldRequest, "is missing")
	}
	if req.ID == "" {
		return reqErr("id", probRequired)
	}
	if req.TMax < 0 {
		return reqErr("tmax", probNegative)
	}
	if len(req.Imp) == 0 { // absent, null or []: one message for all
		return reqErr("imp", probRequired)
	}
	if maxImps > 0 && len(req.Imp) > maxImps {
		return reqErr("imp", "has "+strconv.Itoa(len(req.Imp))+" imps; at most "+strconv.Itoa(maxImps)+" are allowed")
	}
	for i, c := range req.Cur {
		if !isCurrency(c) {
			return reqErr(indexed("cur", i, ""), probCurrency)
		}
	}
	if err := validateChannel(req); err != nil {
		return err
	}
	if err := validateImps(req.Imp); err != nil {
		return err
	}
	if err := validateDevice(req.Device); err != nil {
		return err
	}
	if req.User != nil {
		if err := validateGeo(req.User.Geo, "user.geo"); err != nil {
			return err
		}
	}
	if err := validateRegs(req.Regs); err != nil {
		return err
	}
	if req.Source != nil {
		if err := validateSChain(req.Source.SChain, "source.schain"); err != nil {
			return err
		}
	}
	return nil
}

// validateChannel allows at most one of site, app and dooh. None at all is
// accepted: the specification only recommends one.
func validateChannel(req *openrtb2.BidRequest) *RequestError {
	switch {
	case req.Site != nil && req.App != nil:
		return reqErr("app", "must not be set together with site")
	case req.Site != nil && req.DOOH != nil:
		return reqErr("dooh", "must not be set together with site")
	case req.App != nil && req.DOOH != nil:
		return reqErr("dooh", "must not be set together with app")
	}
	return nil
}

// dupScanLimit is the imp count up to which duplicate ids are found by a
// quadratic scan instead of a map, which would allocate.
const dupScanLimit = 16

func validateImps(imps []openrtb2.Imp) *RequestError {
	var seen map[string]struct{}
	if len(imps) > dupScanLimit {
		seen = make(map[string]struct{}, len(imps))
	}
	for i := range imps {
		imp := &imps[i]
		if imp.ID == "" {
			return reqErr(indexed("imp", i, ".id"), probRequired)
		}
		if seen != nil {
			if _, dup := seen[imp.ID]; dup {
				return reqErr(indexed("imp", i, ".id"), probDuplicateID)
			}
			seen[imp.ID] = struct{}{}
		} else {
			for j := 0; j < i; j++ {
				if imps[j].ID == imp.ID {
					return reqErr(indexed("imp", i, ".id"), probDuplicateID)
				}
			}
		}
		if err := validateImp(imp, i); err != nil {
			return err
		}
	}
	return nil
}

func validateImp(imp *openrtb2.Imp, i int) *RequestError {
	if imp.Banner == nil && imp.Video == nil && imp.Audio == nil && imp.Native == nil {
		return reqErr(indexed("imp", i, ""), "must contain at least one of banner, video, audio or native")
	}
	if bad(imp.BidFloor) {
		return reqErr(indexed("imp", i, ".bidfloor"), floatProblem(imp.BidFloor))
	}
	if imp.BidFloorCur != "" && !isCurrency(imp.BidFloorCur) {
		return reqErr(indexed("imp", i, ".bidfloorcur"), probCurrency)
	}
	for j := range imp.Metric {
		m := &imp.Metric[j]
		if m.Type == "" {
			return reqErr(indexed2("imp", i, ".metric", j, ".type"), probRequired)
		}
		if bad(m.Value) {
			return reqErr(indexed2("imp", i, ".metric", j, ".value"), floatProblem(m.Value))
		}
	}
	if imp.Qty != nil && bad(imp.Qty.Multiplier) {
		return reqErr(indexed("imp", i, ".qty.multiplier"), floatProblem(imp.Qty.Multiplier))
	}
	if imp.Banner != nil {
		if err := validateBanner(imp.Banner, i, imp.Instl == 1); err != nil {
			return err
		}
	}
	if imp.Video != nil {
		if err := validateVideo(imp.Video, i); err != nil {
			return err
		}
	}
	if imp.Audio != nil {
		if err := validateAudio(imp.Audio, i); err != nil {
			return err
		}
	}
	if imp.Native != nil {
		if imp.Native.Request == "" {
			return reqErr(indexed("imp", i, ".native.request"), probRequired)
		}
		if err := validateNative(imp.Native.Request, i); err != nil {
			return err
		}
	}
	if imp.PMP != nil {
		if err := validateDeals(imp.PMP.Deals, i); err != nil {
			return err
		}
	}
	return nil
}

func validateBanner(b *openrtb2.Banner, i int, interstitial bool) *RequestError {
	switch {
	case b.W != nil && *b.W < 0:
		return reqErr(indexed("imp", i, ".banner.w"), probNegative)
	case b.H != nil && *b.H < 0:
		return reqErr(indexed("imp", i, ".banner.h"), probNegative)
	case b.WMax < 0:
		return reqErr(indexed("imp", i, ".banner.wmax"), probNegative)
	case b.HMax < 0:
		return reqErr(indexed("imp", i, ".banner.hmax"), probNegative)
	case b.WMin < 0:
		return reqErr(indexed("imp", i, ".banner.wmin"), probNegative)
	case b.HMin < 0:
		return reqErr(indexed("imp", i, ".banner.hmin"), probNegative)
	}
	hasSize := b.W != nil && b.H != nil && *b.W > 0 && *b.H > 0
	if !hasSize && len(b.Format) == 0 && !interstitial {
		return reqErr(indexed("imp", i, ".banner"), "has no sizes")
	}
	for j := range b.Format {
		if err := validateFormat(&b.Format[j], i, j); err != nil {
			return err
		}
	}
	return nil
}

// validateFormat follows prebid-server: an entry is either a fixed size
// {w, h} or a flexible one {wratio, hratio, wmin}, never both.
func validateFormat(f *openrtb2.Format, i, j int) *RequestError {
	field := func(name string) string { return indexed2("imp", i, ".banner.format", j, name) }
	switch {
	case f.W < 0:
		return reqErr(field(".w"), probNegative)
	case f.H < 0:
		return reqErr(field(".h"), probNegative)
	case f.WRatio < 0:
		return reqErr(field(".wratio"), probNegative)
	case f.HRatio < 0:
		return reqErr(field(".hratio"), probNegative)
	case f.WMin < 0:
		return reqErr(field(".wmin"), probNegative)
	}
	fixed := f.W != 0 || f.H != 0
	flexible := f.WRatio != 0 || f.HRatio != 0 || f.WMin != 0
	switch {
	case fixed && flexible:
		return reqErr(field(""), "must not mix w/h with wratio/hratio/wmin")
	case !fixed && !flexible:
		return reqErr(field(""), "must define either w and h, or wratio, hratio and wmin")
	case fixed && f.W == 0:
		return reqErr(field(".w"), probPositive)
	case fixed && f.H == 0:
		return reqErr(field(".h"), probPositive)
	case flexible && f.WRatio == 0:
		return reqErr(field(".wratio"), probPositive)
	case flexible && f.HRatio == 0:
		return reqErr(field(".hratio"), probPositive)
	case flexible && f.WMin == 0:
		return reqErr(field(".wmin"), probPositive)
	}
	return nil
}

func validateVideo(v *openrtb2.Video, i int) *RequestError {
	field := func(name string) string { return indexed("imp", i, ".video"+name) }
	if len(v.MIMEs) == 0 {
		return reqErr(field(".mimes"), probEmpty)
	}
	switch {
	case v.W != nil && *v.W < 0:
		return reqErr(field(".w"), probNegative)
	case v.H != nil && *v.H < 0:
		return reqErr(field(".h"), probNegative)
	case v.SkipMin < 0:
		return reqErr(field(".skipmin"), probNegative)
	case v.SkipAfter < 0:
		return reqErr(field(".skipafter"), probNegative)
	}
	return validateTimed(&timed{
		minDur: v.MinDuration, maxDur: v.MaxDuration, podDur: v.PodDur,
		seq: int64(v.Sequence), maxSeq: v.MaxSeq, maxExt: v.MaxExtended,
		minBR: v.MinBitRate, maxBR: v.MaxBitRate, minCPM: v.MinCPMPerSec,
		startDelay: v.StartDelay, rqdDurs: v.RqdDurs, durFloors: v.DurFloors,
	}, i, ".video")
}

func validateAudio(a *openrtb2.Audio, i int) *RequestError {
	if len(a.MIMEs) == 0 {
		return reqErr(indexed("imp", i, ".audio.mimes"), probEmpty)
	}
	return validateTimed(&timed{
		minDur: a.MinDuration, maxDur: a.MaxDuration, podDur: a.PodDur,
		seq: a.Sequence, maxSeq: a.MaxSeq, maxExt: a.MaxExtended,
		minBR: a.MinBitrate, maxBR: a.MaxBitrate, minCPM: a.MinCPMPerSec,
		startDelay: a.StartDelay, rqdDurs: a.RqdDurs, durFloors: a.DurFloors,
	}, i, ".audio")
}

// timed holds what the video and audio objects share (OpenRTB 2.6 §3.2.7,
// §3.2.8): durations, start delay, pods, bitrates and duration floors,
// which are validated alike.
type timed struct {
	minDur, maxDur, podDur, seq, maxSeq, maxExt, minBR, maxBR int64
	minCPM                                                    float64
	startDelay                                                *adcom1.StartDelay
	rqdDurs                                                   []int64
	durFloors                                                 []openrtb2.DurFloors
}

// validateTimed checks imp[i].video or imp[i].audio (kind) past its mimes.
func validateTimed(m *timed, i int, kind string) *RequestError {
	field := func(name string) string { return indexed("imp", i, kind+name) }
	switch {
	case m.minDur < 0:
		return reqErr(field(".minduration"), probNegative)
	case m.maxDur < 0:
		return reqErr(field(".maxduration"), probNegative)
	case m.maxDur > 0 && m.minDur > m.maxDur:
		return reqErr(field(".minduration"), "must not be greater than maxduration")
	case m.startDelay != nil && *m.startDelay < -2:
		return reqErr(field(".startdelay"), "must not be less than -2")
	case m.maxSeq < 0:
		return reqErr(field(".maxseq"), probNegative)
	case m.podDur < 0:
		return reqErr(field(".poddur"), probNegative)
	case m.seq < 0:
		return reqErr(field(".sequence"), probNegative)
	case m.maxExt < -1: // -1 means "extension allowed without limit"
		return reqErr(field(".maxextended"), "must not be less than -1")
	case m.minBR < 0:
		return reqErr(field(".minbitrate"), probNegative)
	case m.maxBR < 0:
		return reqErr(field(".maxbitrate"), probNegative)
	case bad(m.minCPM):
		return reqErr(field(".mincpmpersec"), floatProblem(m.minCPM))
	}
	for j, d := range m.rqdDurs {
		if d < 0 {
			return reqErr(indexed2("imp", i, kind+".rqddurs", j, ""), probNegative)
		}
	}
	return validateDurFloors(m.durFloors, i, kind+".durfloors")
}

func validateDurFloors(fs []openrtb2.DurFloors, i int, path string) *RequestError {
	for j := range fs {
		f := &fs[j]
		switch {
		case f.MinDur < 0:
			return reqErr(indexed2("imp", i, path, j, ".mindur"), probNegative)
		case f.MaxDur < 0:
			return reqErr(indexed2("imp", i, path, j, ".maxdur"), probNegative)
		case bad(f.BidFloor):
			return reqErr(indexed2("imp", i, path, j, ".bidfloor"), floatProblem(f.BidFloor))
		}
	}
	return nil
}

func validateDeals(deals []openrtb2.Deal, i int) *RequestError {
	for j := range deals {
		d := &deals[j]
		switch {
		case d.ID == "":
			return reqErr(indexed2("imp", i, ".pmp.deals", j, ".id"), probRequired)
		case bad(d.BidFloor):
			return reqErr(indexed2("imp", i, ".pmp.deals", j, ".bidfloor"), floatProblem(d.BidFloor))
		case d.BidFloorCur != "" && !isCurrency(d.BidFloorCur):
			return reqErr(indexed2("imp", i, ".pmp.deals", j, ".bidfloorcur"), probCurrency)
		case bad(d.MinCPMPerSec):
			return reqErr(indexed2("imp", i, ".pmp.deals", j, ".mincpmpersec"), floatProblem(d.MinCPMPerSec))
		}
		if len(d.DurFloors) > 0 {
			if err := validateDurFloors(d.DurFloors, i, ".pmp.deals["+strconv.Itoa(j)+"].durfloors"); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateDevice(d *openrtb2.Device) *RequestError {
	if d == nil {
		return nil
	}
	switch {
	case d.W < 0:
		return reqErr("device.w", probNegative)
	case d.H < 0:
		return reqErr("device.h", probNegative)
	case d.PPI < 0:
		return reqErr("device.ppi", probNegative)
	case bad(d.PxRatio):
		return reqErr("device.pxratio", floatProblem(d.PxRatio))
	}
	if err := validateGeo(d.Geo, "device.geo"); err != nil {
		return err
	}
	if d.SUA != nil {
		for j := range d.SUA.Browsers {
			if d.SUA.Browsers[j].Brand == "" {
				return reqErr(indexed("device.sua.browsers", j, ".brand"), probRequired)
			}
		}
		if d.SUA.Platform != nil && d.SUA.Platform.Brand == "" {
			return reqErr("device.sua.platform.brand", probRequired)
		}
	}
	return nil
}

func validateGeo(g *openrtb2.Geo, path string) *RequestError {
	if g == nil {
		return nil
	}
	if g.Accuracy < 0 {
		return reqErr(path+".accuracy", probNegative)
	}
	// lat/lon are not range-checked: prebid-server accepts out-of-range
	// values (see testdata exemplary__device-sua.json, lat 123.456), so a
	// bad position is the buyer's to ignore, not a reason to reject.
	return nil
}

// validateRegs checks the OpenRTB 2.6 regs fields. The 2.5 form under
// regs.ext (e.g. regs.ext.gdpr) is ext content and is not inspected.
func validateRegs(r *openrtb2.Regs) *RequestError {
	if r == nil {
		return nil
	}
	if r.GDPR != nil && *r.GDPR != 0 && *r.GDPR != 1 {
		return reqErr("regs.gdpr", probZeroOrOne)
	}
	if r.COPPA != 0 && r.COPPA != 1 {
		return reqErr("regs.coppa", probZeroOrOne)
	}
	return nil
}

func validateSChain(s *openrtb2.SupplyChain, path string) *RequestError {
	if s == nil {
		return nil
	}
	switch {
	case s.Complete != 0 && s.Complete != 1:
		return reqErr(path+".complete", probZeroOrOne)
	case s.Ver == "":
		return reqErr(path+".ver", probRequired)
	case s.Nodes == nil:
		return reqErr(path+".nodes", probRequired)
	}
	for j := range s.Nodes {
		n := &s.Nodes[j]
		switch {
		case n.ASI == "":
			return reqErr(indexed(path+".nodes", j, ".asi"), probRequired)
		case n.SID == "":
			return reqErr(indexed(path+".nodes", j, ".sid"), probRequired)
		case n.HP != nil && *n.HP != 0 && *n.HP != 1:
			return reqErr(indexed(path+".nodes", j, ".hp"), probZeroOrOne)
		}
	}
	return nil
}

// isCurrency reports whether c looks like an ISO-4217 alpha code.
func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// bad reports whether a price-like float is negative, NaN or infinite.
func bad(f float64) bool {
	return f < 0 || math.IsNaN(f) || math.IsInf(f, 0)
}

func floatProblem(f float64) string {
	if f < 0 && !math.IsInf(f, -1) {
		return probNegative
	}
	return probNotFinite
}

// indexed builds "name[i]rest"; it runs on the error path only.
func indexed(name string, i int, rest string) string {
	return name + "[" + strconv.Itoa(i) + "]" + rest
}

// indexed2 builds "name[i]mid[j]rest"; it runs on the error path only.
func indexed2(name string, i int, mid string, j int, rest string) string {
	return name + "[" + strconv.Itoa(i) + "]" + mid + "[" + strconv.Itoa(j) + "]" + rest
}
