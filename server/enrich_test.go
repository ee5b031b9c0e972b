package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/adx-exchange/adx/enrich"
)

// The MaxMind test databases copied into enrich/testdata (with their
// licences); the facts used here are listed in its EXPECTED.md.
const mmdb = "../enrich/testdata/"

func openTestGeo(t *testing.T) *enrich.Geo {
	t.Helper()
	g, err := enrich.OpenGeo(enrich.GeoOptions{
		City:           mmdb + "GeoIP2-City-Test.mmdb",
		ISP:            mmdb + "GeoIP2-ISP-Test.mmdb",
		ConnectionType: mmdb + "GeoIP2-Connection-Type-Test.mmdb",
		AnonymousIP:    mmdb + "GeoIP2-Anonymous-IP-Test.mmdb",
		Block:          []string{"hosting_provider", "public_proxy", "tor_exit_node"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func openTestDevices(t *testing.T) *enrich.Devices {
	t.Helper()
	d, err := enrich.OpenDevices(enrich.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestEnrichmentDrivesTargeting: house line items target country and
// device type, which only enrichment fills in; the request carries an IP
// and a UA alone.
func TestEnrichmentDrivesTargeting(t *testing.T) {
	url := startPublicWith(t, `
demand:
  - name: house
    type: house
    line_items:
      - {id: us-phone, cpm: 3, countries: [USA], device_types: [4], adm: "<us-phone/>"}
      - {id: gb-desktop, cpm: 2, countries: [GBR], device_types: [2], adm: "<gb-desktop/>"}
      - {id: anywhere, cpm: 0.1, adm: "<any/>"}
`, Options{Geo: openTestGeo(t), Devices: openTestDevices(t)})
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	const windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	f := func(name, ip, ua, wantAdID string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"id":     "r",
			"imp":    []any{map[string]any{"id": "1", "banner": map[string]any{"w": 300, "h": 250}}},
			"device": map[string]any{"ip": ip, "ua": ua},
		})
		resp := decodeResponse(t, post(t, url, body, nil))
		if got := resp.SeatBid[0].Bid[0].AdID; got != wantAdID {
			t.Errorf("%s: won by %q, want %q", name, got, wantAdID)
		}
	}
	f("US iPhone (216.160.83.56 is Milton, WA)", "216.160.83.56", iphone, "us-phone")
	f("GB desktop (2.125.160.216 is Boxford, ENG)", "2.125.160.216", windows, "gb-desktop")
	f("US desktop matches neither", "216.160.83.56", windows, "anywhere")
	f("no IP: country unknown, so targeting admits it", "", iphone, "us-phone")
}

func TestInvalidTrafficIsNotSentToDemand(t *testing.T) {
	url := startPublicWith(t, "", Options{Geo: openTestGeo(t), Devices: openTestDevices(t)})
	f := func(name, device string, want int) {
		t.Helper()
		a := post(t, url, []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"device":`+device+`}`), nil)
		if a.status != want {
			t.Errorf("%s: status %d, want %d (%s)", name, a.status, want, a.body)
		}
	}
	f("hosting provider", `{"ip":"71.160.223.9"}`, 204)
	f("public proxy over IPv6", `{"ipv6":"abcd:1000::1"}`, 204)
	f("tor exit", `{"ip":"1.124.213.1"}`, 204)
	f("residential proxy is not blocked by default", `{"ip":"6.1.0.4"}`, 200)
	f("clean address", `{"ip":"216.160.83.56"}`, 200)
	f("known crawler", `{"ip":"216.160.83.56","ua":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}`, 204)
}

// TestDSPSeesEnrichedAndTruncatedRequest: what a DSP receives carries the
// enrichment, and under COPPA a /24 IP.
func TestDSPSeesEnrichedAndTruncatedRequest(t *testing.T) {
	got := make(chan []byte, 1)
	dsp := startRecordingDSP(t, got)
	url := startPublicWith(t, `
demand: [{name: dsp, type: openrtb, endpoint: "`+dsp+`"}]
`, Options{Geo: openTestGeo(t), Devices: openTestDevices(t)})
	const reduced = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	post(t, url, []byte(`{"id":"r","tmax":1000,"regs":{"coppa":1},"imp":[{"id":"1","banner":{"w":300,"h":250}}],
		"device":{"ip":"149.101.100.5","ua":"`+reduced+`","sua":{"platform":{"brand":"Android","version":["14"]},"mobile":1,"model":"SM-S918B"}}}`), nil)
	var sent struct {
		TMax   int64 `json:"tmax"`
		Device struct {
			IP             string `json:"ip"`
			Make           string `json:"make"`
			Model          string `json:"model"`
			OS             string `json:"os"`
			DeviceType     int    `json:"devicetype"`
			Carrier        string `json:"carrier"`
			MCCMNC         string `json:"mccmnc"`
			ConnectionType int    `json:"connectiontype"`
			Geo            struct {
				Country string `json:"country"`
			} `json:"geo"`
		} `json:"device"`
	}
	var body []byte
	select {
	case body = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the DSP was never called")
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	d := sent.Device
	if d.IP != "149.101.100.0" {
		t.Errorf("DSP saw IP %q, want 149.101.100.0 (COPPA: /24)", d.IP)
	}
	if d.Make != "Samsung" || d.Model != "SM-S918B" || d.OS != "Android" || d.DeviceType != 4 {
		t.Errorf("DSP saw make %q model %q os %q devicetype %d, want Samsung SM-S918B Android 4", d.Make, d.Model, d.OS, d.DeviceType)
	}
	if d.Carrier != "Verizon Wireless" || d.MCCMNC != "310-004" {
		t.Errorf("DSP saw carrier %q mccmnc %q, want Verizon Wireless 310-004", d.Carrier, d.MCCMNC)
	}
	if sent.TMax <= 0 || sent.TMax >= 1000 {
		t.Errorf("DSP saw tmax %d, want the time left (under the request's 1000ms)", sent.TMax)
	}
}

// startRecordingDSP runs a real HTTP DSP on loopback that hands every
// request body it receives to got and answers no-bid.
func startRecordingDSP(t *testing.T, got chan<- []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/bid"
}
