package openrtb

import (
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func TestDecodeResponse(t *testing.T) {
	f := func(body string, wantErr bool) {
		t.Helper()
		resp := openrtb2.BidResponse{ID: "stale", Cur: "EUR", SeatBid: []openrtb2.SeatBid{{Seat: "old"}}}
		err := DecodeResponse([]byte(body), &resp)
		if (err != nil) != wantErr {
			t.Fatalf("%q: error %v, want an error: %v", body, err, wantErr)
		}
		if err == nil && (resp.Cur == "EUR" || len(resp.SeatBid) > 0 && resp.SeatBid[0].Seat == "old") {
			t.Errorf("%q: stale fields kept: %+v", body, resp)
		}
	}
	f(`{"id":"r"}`, false)
	f(`{"id":"r","seatbid":[{"bid":[{"id":"b","impid":"1","price":1}]}]}`, false)
	f(`{"id":"r","seatbid":[{"seat":"new"}],"nbr":2}`, false)
	f(``, true)
	f(`{"id":`, true)
	f(`{"id":"r","seatbid":{}}`, true)
	f(`{"id":"r"} x`, true)
	f(`{"seatbid":`+strings.Repeat("[", 100000)+`}`, true)
}

// EncodeResponse keeps creative markup as it is: escaping <, > and & only
// makes the wire bigger.
func TestEncodeResponseKeepsMarkup(t *testing.T) {
	resp := &openrtb2.BidResponse{ID: "r", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: 1.5, AdM: `<a href="x?a=1&b=2">ad</a>`}}}}}
	out, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"adm":"<a href=\"x?a=1&b=2\">ad</a>"`; !strings.Contains(string(out), want) {
		t.Errorf("got %s, want it to hold %s", out, want)
	}
}

// AppendRequest and AppendResponse write what EncodeRequest and
// EncodeResponse write, after what dst holds; AppendWithTMax gives the
// request its tmax and nothing else changes.
func TestAppendEncoders(t *testing.T) {
	n := 0
	for name, body := range corpusBodies(t, "bidrequest") {
		var req openrtb2.BidRequest
		if DecodeRequest(body, &req) != nil {
			continue
		}
		n++
		want, err := EncodeRequest(&req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := AppendRequest([]byte("prefix"), &req)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("%s: AppendRequest = %q, %v; want the prefix and %q", name, got, err, want)
		}
		noTMax := req
		noTMax.TMax = 0
		shared, err := AppendRequest(nil, &noTMax)
		if err != nil {
			t.Fatal(err)
		}
		var back openrtb2.BidRequest
		if err := DecodeRequest(AppendWithTMax(nil, shared, 87), &back); err != nil {
			t.Fatalf("%s: the request with tmax spliced in does not decode: %v", name, err)
		}
		withTMax := req
		withTMax.TMax = 87
		a, _ := EncodeRequest(&withTMax)
		b, _ := EncodeRequest(&back)
		if string(a) != string(b) {
			t.Errorf("%s: with tmax spliced in:\n%s\nwant\n%s", name, b, a)
		}
	}
	if n < 50 {
		t.Fatalf("only %d corpus requests decoded", n)
	}
	if got := string(AppendWithTMax(nil, []byte("{}"), 5)); got != `{"tmax":5}` {
		t.Errorf("AppendWithTMax of {} = %s", got)
	}
	for name, body := range corpusBodies(t, "bidresponse") {
		var resp openrtb2.BidResponse
		if DecodeResponse(body, &resp) != nil {
			continue
		}
		want, _ := EncodeResponse(&resp)
		got, err := AppendResponse(nil, &resp)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: AppendResponse = %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestDecodeRoom: a request's one imp is decoded into the room its caller
// gives, its strings point into the room's copy of the body, and a reset
// room keeps nothing of the request before; a one-seat, one-bid answer is
// decoded into room for one of each; what does not fit is decoded as
// before, every value in place.
func TestDecodeRoom(t *testing.T) {
	body := []byte(`{"id":"r","imp":[{"id":"1","tagid":"slot","banner":{"w":300,"h":250}}]}`)
	var req openrtb2.BidRequest
	var room RequestRoom
	if err := DecodeRequestInto(body, &req, &room); err != nil {
		t.Fatal(err)
	}
	if len(req.Imp) != 1 || &req.Imp[0] != &room.imp[0] || req.Imp[0].ID != "1" || req.Imp[0].Banner == nil {
		t.Errorf("one imp: %+v, not decoded into the room", req.Imp)
	}
	body[8] = 'Z' // the caller's body is not the copy
	if req.ID != "r" {
		t.Errorf("the id changed with the caller's body: %q", req.ID)
	}
	room.Poison()
	if req.Imp[0].TagID != "XXXX" {
		t.Errorf("after Poison, tagid %q: the strings do not point into the room", req.Imp[0].TagID)
	}
	room.Reset()
	two := []byte(`{"id":"s","imp":[{"id":"1","video":{"mimes":["video/mp4"]}},{"id":"2","banner":{"w":320,"h":50}}]}`)
	if err := DecodeRequestInto(two, &req, &room); err != nil {
		t.Fatal(err)
	}
	if len(req.Imp) != 2 || &req.Imp[1] != &room.imp[1] || req.Imp[0].ID != "1" || req.Imp[0].Video == nil || req.Imp[0].Banner != nil || req.Imp[0].TagID != "" ||
		req.Imp[1].ID != "2" || req.Imp[1].Banner == nil || req.ID != "s" {
		t.Errorf("two imps in a reset room: %+v, not decoded into the room as they were sent", req.Imp)
	}
	// More imps than the room holds, and more currencies, are decoded as
	// without room, every one in place; one currency is in the room.
	room.Reset()
	five := []byte(`{"id":"f","cur":["USD","EUR"],"imp":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4","tagid":"t4"},{"id":"5","bidfloor":2}]}`)
	if err := DecodeRequestInto(five, &req, &room); err != nil {
		t.Fatal(err)
	}
	if len(req.Imp) != 5 || &req.Imp[0] == &room.imp[0] || req.Imp[3].TagID != "t4" || req.Imp[4].BidFloor != 2 || len(req.Cur) != 2 || req.Cur[1] != "EUR" {
		t.Errorf("five imps and two currencies: imps %+v, cur %q", req.Imp, req.Cur)
	}
	room.Reset()
	if err := DecodeRequestInto([]byte(`{"id":"c","cur":["EUR"],"imp":[{"id":"1"}]}`), &req, &room); err != nil {
		t.Fatal(err)
	}
	if len(req.Cur) != 1 || &req.Cur[0] != &room.cur[0] || req.Cur[0] != "EUR" {
		t.Errorf("one currency %q, not decoded into the room", req.Cur)
	}
	// device.sua's browsers and their versions are in the room while they
	// fit; a fifth browser, and a fifth version part, as without room.
	room.Reset()
	sua := []byte(`{"id":"s","imp":[{"id":"1"}],"device":{"sua":{"browsers":[{"brand":"Chromium","version":["120","0","6099","71"]},{"brand":"Not_A Brand","version":["8"]},{"brand":"Google Chrome"}],"platform":{"brand":"Android","version":["14"]},"mobile":1}}}`)
	if err := DecodeRequestInto(sua, &req, &room); err != nil {
		t.Fatal(err)
	}
	if ua := req.Device.SUA; ua != &room.sua || len(ua.Browsers) != 3 || &ua.Browsers[0] != &room.brands[0] || &ua.Browsers[0].Version[0] != &room.parts[0][0] ||
		strings.Join(ua.Browsers[0].Version, ".") != "120.0.6099.71" || ua.Browsers[1].Version[0] != "8" || ua.Browsers[2].Brand != "Google Chrome" ||
		ua.Browsers[2].Version != nil || ua.Platform.Brand != "Android" || *ua.Mobile != 1 {
		t.Errorf("sua %+v: not decoded into the room as it was sent", req.Device.SUA)
	}
	room.Reset()
	sua5 := []byte(`{"id":"s","imp":[{"id":"1"}],"device":{"sua":{"browsers":[{"brand":"a"},{"brand":"b"},{"brand":"c"},{"brand":"d"},{"brand":"e","version":["1","2","3","4","5"]}]}}}`)
	if err := DecodeRequestInto(sua5, &req, &room); err != nil {
		t.Fatal(err)
	}
	if ua := req.Device.SUA; len(ua.Browsers) != 5 || ua.Browsers[0].Brand != "a" || ua.Browsers[3].Version != nil || ua.Browsers[4].Brand != "e" ||
		strings.Join(ua.Browsers[4].Version, ".") != "1.2.3.4.5" {
		t.Errorf("five browsers: %+v", req.Device.SUA)
	}

	for _, withRoom := range []bool{false, true} {
		room.Reset()
		body := []byte(`{"id":"e","cur":[],"imp":[{"id":"1"}]}`)
		var err error
		if withRoom {
			err = DecodeRequestInto(body, &req, &room)
		} else {
			err = DecodeRequest(body, &req)
		}
		if err != nil || req.Cur != nil {
			t.Errorf(`"cur":[] (room %v): cur %#v, %v; want nil, as absent`, withRoom, req.Cur, err)
		}
	}

	// The objects nearly every request has are decoded into the room, and
	// a request without them after one with them has none.
	room.Reset()
	full := []byte(`{"id":"t","imp":[{"id":"1"}],"device":{"ua":"UA","geo":{"country":"FRA"}},"user":{"id":"u"},"regs":{"coppa":1},"source":{"tid":"x"}}`)
	if err := DecodeRequestInto(full, &req, &room); err != nil {
		t.Fatal(err)
	}
	if req.Device != &room.device || req.Device.Geo != &room.geo || req.User != &room.user || req.Regs != &room.regs || req.Source != &room.source ||
		req.Device.UA != "UA" || req.Device.Geo.Country != "FRA" || req.User.ID != "u" || req.Regs.COPPA != 1 || req.Source.TID != "x" {
		t.Errorf("device %+v, user %+v, regs %+v, source %+v: not decoded into the room", req.Device, req.User, req.Regs, req.Source)
	}
	room.Reset()
	if err := DecodeRequestInto([]byte(`{"id":"u","imp":[{"id":"1"}]}`), &req, &room); err != nil {
		t.Fatal(err)
	}
	if req.Device != nil || req.User != nil || req.Regs != nil || req.Source != nil || req.Cur != nil {
		t.Errorf("a request without them after one with them: device %+v, user %+v, regs %+v, source %+v, cur %q", req.Device, req.User, req.Regs, req.Source, req.Cur)
	}

	answers := []struct {
		name, body string
		seats      []int // bids per seat
	}{
		{"one bid", `{"id":"r","seatbid":[{"seat":"s","bid":[{"id":"b","impid":"1","price":1}]}]}`, []int{1}},
		{"two bids", `{"id":"r","seatbid":[{"bid":[{"id":"b","impid":"1","price":1},{"id":"c","impid":"2","price":2}]}]}`, []int{2}},
		{"two seats", `{"id":"r","seatbid":[{"seat":"s","bid":[{"id":"b","impid":"1","price":1}]},{"seat":"t","bid":[{"id":"c","impid":"1","price":2}]}]}`, []int{1, 1}},
		{"no seatbid", `{"id":"r","nbr":2}`, nil},
		{"null seatbid", `{"id":"r","seatbid":null}`, nil},
		{"empty seat", `{"id":"r","seatbid":[{"seat":"s"}]}`, []int{0}},
	}
	for _, a := range answers {
		var resp openrtb2.BidResponse
		if err := DecodeResponse([]byte(a.body), &resp); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if len(resp.SeatBid) != len(a.seats) {
			t.Errorf("%s: %d seats, want %d", a.name, len(resp.SeatBid), len(a.seats))
			continue
		}
		for i, n := range a.seats {
			if len(resp.SeatBid[i].Bid) != n {
				t.Errorf("%s: seat %d has %d bids, want %d", a.name, i, len(resp.SeatBid[i].Bid), n)
			}
			for j, b := range resp.SeatBid[i].Bid {
				if b.ID == "" || b.Price == 0 {
					t.Errorf("%s: seat %d bid %d not decoded: %+v", a.name, i, j, b)
				}
			}
		}
	}
}

// An empty device, device.geo, user, regs or source decodes as absent,
// with room or without; one with any field set, even to its zero, stays.
func TestDecodeEmptyObjects(t *testing.T) {
	cases := []struct {
		name, objects string
		device, geo   bool
		user, regs    bool
		source        bool
	}{
		{"absent", ``, false, false, false, false, false},
		{"empty", `,"device":{},"user":{},"regs":{},"source":{}`, false, false, false, false, false},
		{"null", `,"device":null,"user":null,"regs":null,"source":null`, false, false, false, false, false},
		{"empty geo", `,"device":{"geo":{}}`, false, false, false, false, false},
		{"geo", `,"device":{"geo":{"country":"FRA"}}`, true, true, false, false, false},
		{"device without geo", `,"device":{"ua":"UA","geo":{}}`, true, false, false, false, false},
		{"gdpr 0", `,"regs":{"gdpr":0}`, false, false, false, true, false},
		{"coppa 0", `,"regs":{"coppa":0}`, false, false, false, false, false},
		{"empty ext", `,"user":{"ext":{}},"source":{"ext":{}}`, false, false, true, false, true},
		{"lmt 0", `,"device":{"lmt":0}`, true, false, false, false, false},
		{"empty sua", `,"device":{"sua":{"browsers":[]}}`, false, false, false, false, false},
		{"sua platform", `,"device":{"sua":{"platform":{}}}`, true, false, false, false, false},
	}
	var room RequestRoom
	for _, c := range cases {
		body := []byte(`{"id":"r","imp":[{"id":"1"}]` + c.objects + `}`)
		for _, withRoom := range []bool{false, true} {
			var req openrtb2.BidRequest
			var err error
			if withRoom {
				room.Reset()
				err = DecodeRequestInto(body, &req, &room)
			} else {
				err = DecodeRequest(body, &req)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			geo := req.Device != nil && req.Device.Geo != nil
			if got := [5]bool{req.Device != nil, geo, req.User != nil, req.Regs != nil, req.Source != nil}; got != [5]bool{c.device, c.geo, c.user, c.regs, c.source} {
				t.Errorf("%s (room %v): device, geo, user, regs, source present %v, want %v", c.name, withRoom, got, [5]bool{c.device, c.geo, c.user, c.regs, c.source})
			}
		}
	}
}

// The optional numbers of the objects in a room (imp.secure, device.lmt,
// device.geo.lat, regs.gdpr, ...) are decoded into the room's values when
// the body sets them, and are nil when it does not, or sends null: the
// request is the one decoded without a room, whatever the room held.
func TestDecodeRoomValues(t *testing.T) {
	const all = `{"id":"a","imp":[{"id":"1","secure":1,"clickbrowser":0}],"device":{"dnt":0,"lmt":1,"js":1,"geofetch":0,` +
		`"connectiontype":2,"geo":{"lat":48.85,"lon":-2.35},"sua":{"mobile":0}},"regs":{"gdpr":1},"source":{"fd":1}}`
	cases := []struct {
		name, body string
		inRoom     bool // the values set point into the room
	}{
		{"all set", all, true},
		{"absent", `{"id":"a","imp":[{"id":"1"}],"device":{"ua":"UA","geo":{"country":"FRA"},"sua":{"source":1}},"regs":{"coppa":1},"source":{"tid":"t"}}`, true},
		{"null", `{"id":"a","imp":[{"id":"1","secure":null}],"device":{"lmt":null,"js":null,"connectiontype":null,"geo":{"lat":null,"country":"FRA"}},"regs":{"gdpr":null}}`, true},
		{"some", `{"id":"a","imp":[{"id":"1"},{"id":"2","secure":0}],"device":{"js":0,"geo":{"lon":0}},"regs":{"gdpr":0}}`, true},
		{"five imps", `{"id":"a","imp":[{"id":"1","secure":1},{"id":"2"},{"id":"3","secure":0},{"id":"4"},{"id":"5","secure":1}]}`, true},
		// -128 is the room's unset value: a body that has it is decoded
		// as without a room, wherever it is.
		{"-128 set", `{"id":"a","imp":[{"id":"1","secure":-128}],"device":{"lmt":-128,"connectiontype":-128},"regs":{"gdpr":-128}}`, false},
		{"-128 elsewhere", `{"id":"a","imp":[{"id":"1","tagid":"-128","secure":1}],"device":{"js":1}}`, false},
		{"-128.5", `{"id":"a","imp":[{"id":"1","bidfloor":-128.5}],"device":{"geo":{"lat":-128.5}}}`, false},
	}
	var room RequestRoom
	for _, c := range cases {
		var want, got openrtb2.BidRequest
		if err := DecodeRequest([]byte(c.body), &want); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		room.Reset() // a room that held every value
		if err := DecodeRequestInto([]byte(all), &got, &room); err != nil {
			t.Fatal(err)
		}
		room.Reset()
		if err := DecodeRequestInto([]byte(c.body), &got, &room); err != nil {
			t.Fatalf("%s, into a room: %v", c.name, err)
		}
		w, _ := AppendRequest(nil, &want)
		g, _ := AppendRequest(nil, &got)
		if string(g) != string(w) {
			t.Errorf("%s: into a room %s, without %s", c.name, g, w)
		}
		if s := got.Imp[0].Secure; s != nil && (s == &room.values.secure[0]) != c.inRoom {
			t.Errorf("%s: imp.secure in the room %v, want %v", c.name, s == &room.values.secure[0], c.inRoom)
		}
	}
	// Every value in the room, after the all-set body.
	var req openrtb2.BidRequest
	room.Reset()
	if err := DecodeRequestInto([]byte(all), &req, &room); err != nil {
		t.Fatal(err)
	}
	v := &room.values
	d := req.Device
	if req.Imp[0].Secure != &v.secure[0] || req.Imp[0].ClickBrowser != &v.clickBrowser[0] || d.DNT != &v.dnt || d.Lmt != &v.lmt ||
		d.JS != &v.js || d.GeoFetch != &v.geoFetch || d.ConnectionType != &v.connectionType || d.SUA.Mobile != &v.mobile ||
		d.Geo.Lat != &v.lat || d.Geo.Lon != &v.lon || req.Regs.GDPR != &v.gdpr || req.Source.FD != &v.fd {
		t.Errorf("the values set do not all point into the room: %+v", req)
	}
	if *d.Lmt != 1 || *d.ConnectionType != 2 || *d.Geo.Lon != -2.35 || *req.Regs.GDPR != 1 {
		t.Errorf("values decoded wrong: lmt %d, connectiontype %d, lon %v, gdpr %d", *d.Lmt, *d.ConnectionType, *d.Geo.Lon, *req.Regs.GDPR)
	}
	// A body the codec rejects halfway leaves no unset value behind.
	room.Reset()
	if err := DecodeRequestInto([]byte(`{"id":"a","imp":[{"id":"1"}],"device":{"js":1,"lmt":"x"}}`), &req, &room); err == nil {
		t.Fatal(`"lmt":"x" decoded`)
	}
	if req.Imp[0].Secure != nil || req.Device.DNT != nil || req.Regs.GDPR != nil {
		t.Errorf("after an error, unset values left: secure %v, dnt %v, gdpr %v", req.Imp[0].Secure, req.Device.DNT, req.Regs.GDPR)
	}
}
