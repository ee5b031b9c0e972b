package enrich

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/devicedb"
)

const reducedAndroid = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

func TestDeviceEnrichmentFromEmbeddedDB(t *testing.T) {
	d, err := OpenDevices(DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	// Chrome's reduced UA hides the model; sua.model (client hints) names it.
	req := &openrtb2.BidRequest{Device: &openrtb2.Device{UA: reducedAndroid, SUA: &openrtb2.UserAgent{Model: "SM-S918B", Mobile: ptr[int8](1), Platform: &openrtb2.BrandVersion{Brand: "Android", Version: []string{"14"}}}}}
	out := d.Enrich(req)
	dev := req.Device
	if out.Bot || out.Match != devicedb.MatchToken {
		t.Errorf("outcome %+v, want a token match", out)
	}
	if dev.Make != "Samsung" || dev.Model != "SM-S918B" || dev.OS != "Android" || dev.OSV != "14" || dev.DeviceType != 4 {
		t.Errorf("device %q %q %q %q type %d, want Samsung SM-S918B Android 14 type 4", dev.Make, dev.Model, dev.OS, dev.OSV, dev.DeviceType)
	}
	if dev.W == 0 || dev.H == 0 || dev.PxRatio == 0 || dev.JS == nil {
		t.Errorf("screen %dx%d pxratio %v js %v: want them filled", dev.W, dev.H, dev.PxRatio, dev.JS)
	}

	// SSP values are kept unless overridden.
	req = &openrtb2.BidRequest{Device: &openrtb2.Device{UA: reducedAndroid, SUA: &openrtb2.UserAgent{Model: "SM-S918B"}, Make: "SSP-Make", DeviceType: 1}}
	d.Enrich(req)
	if req.Device.Make != "SSP-Make" || req.Device.DeviceType != 1 || req.Device.Model != "SM-S918B" {
		t.Errorf("kept fields: make %q type %d model %q", req.Device.Make, req.Device.DeviceType, req.Device.Model)
	}
	over, _ := OpenDevices(DeviceOptions{Override: map[string]bool{"make": true, "devicetype": true}})
	req = &openrtb2.BidRequest{Device: &openrtb2.Device{UA: reducedAndroid, SUA: &openrtb2.UserAgent{Model: "SM-S918B"}, Make: "SSP-Make", DeviceType: 1}}
	over.Enrich(req)
	if req.Device.Make != "Samsung" || req.Device.DeviceType != 4 {
		t.Errorf("overridden fields: make %q type %d, want Samsung 4", req.Device.Make, req.Device.DeviceType)
	}

	// An iPad asking for the desktop site: a Mac UA, told apart by the
	// screen the SSP sent, which stays as sent.
	mac := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	req = &openrtb2.BidRequest{Device: &openrtb2.Device{UA: mac, W: 820, H: 1180}}
	d.Enrich(req)
	if dev := req.Device; dev.Make != "Apple" || dev.OS != "iPadOS" || dev.OSV != "17.4" || dev.DeviceType != 5 || dev.W != 820 || dev.H != 1180 {
		t.Errorf("iPad desktop site: %q %q %q type %d %dx%d, want Apple iPadOS 17.4 type 5 820x1180", dev.Make, dev.OS, dev.OSV, dev.DeviceType, dev.W, dev.H)
	}
	req = &openrtb2.BidRequest{Device: &openrtb2.Device{UA: mac, W: 1512, H: 982}}
	d.Enrich(req)
	if dev := req.Device; dev.OS != "macOS" || dev.DeviceType != 2 {
		t.Errorf("Mac: %q type %d, want macOS type 2", dev.OS, dev.DeviceType)
	}

	if out := d.Enrich(&openrtb2.BidRequest{Device: &openrtb2.Device{UA: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"}}); !out.Bot {
		t.Error("bingbot not flagged as a bot")
	}
	if out := d.Enrich(&openrtb2.BidRequest{}); !out.NoUA {
		t.Error("a request without device is not reported as NoUA")
	}
}

// TestDeviceNoInventedScreen: a device the database knows only by its
// brand, or not at all, gets make and model but no screen facts, and the
// SSP's own screen stays even when the screen fields are overridden.
func TestDeviceNoInventedScreen(t *testing.T) {
	all := map[string]bool{}
	for _, f := range DeviceOverrideFields {
		all[f] = true
	}
	for _, override := range []map[string]bool{nil, all} {
		d, err := OpenDevices(DeviceOptions{Override: override})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ model, make string }{{"SM-X999Z", "Samsung"}, {"ZZ-9000", ""}} {
			ua := "Mozilla/5.0 (Linux; Android 13; " + c.model + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
			req := &openrtb2.BidRequest{Device: &openrtb2.Device{UA: ua}}
			d.Enrich(req)
			if dev := req.Device; dev.Make != c.make || dev.W != 0 || dev.H != 0 || dev.PPI != 0 || dev.PxRatio != 0 || dev.DeviceType != 4 {
				t.Errorf("%s (override %v): make %q, %dx%d, %d ppi, ratio %v, type %d: want make %q, no screen, type 4",
					c.model, override != nil, dev.Make, dev.W, dev.H, dev.PPI, dev.PxRatio, dev.DeviceType, c.make)
			}
			req = &openrtb2.BidRequest{Device: &openrtb2.Device{UA: ua, W: 1080, H: 2400, PPI: 400, PxRatio: 2.625}}
			d.Enrich(req)
			if dev := req.Device; dev.W != 1080 || dev.H != 2400 || dev.PPI != 400 || dev.PxRatio != 2.625 {
				t.Errorf("%s (override %v): the SSP's screen became %dx%d, %d ppi, ratio %v", c.model, override != nil, dev.W, dev.H, dev.PPI, dev.PxRatio)
			}
		}
		d.Close()
	}
}

const tinyDB = `format: adx-devicedb/1
version: %s
devices:
  - id: generic
    caps: {brand: "", model: "", marketing_name: "", hardware_version: "", device_type: 0, os: "", os_version: "",
      browser: "", screen_width: 0, screen_height: 0, pixel_ratio: 0, ppi: 0, is_bot: false, is_tablet: false,
      is_smarttv: false, js: true}
  - id: acme
    fall_back: generic
    tokens: [ACME-1]
    caps: {brand: %s, device_type: 5}
`

// TestDeviceDBHotReload swaps the database file under concurrent lookups:
// answers change with a good file, stay with a broken one, and no lookup
// ever fails.
func TestDeviceDBHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "devices.yaml")
	write := func(content string) {
		t.Helper()
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	src := func(version, brand string) string {
		return strings.Replace(strings.Replace(tinyDB, "%s", version, 1), "%s", brand, 1)
	}
	write(src("v1", "AcmeOne"))
	d, err := OpenDevices(DeviceOptions{File: path, ReloadInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	var stop atomic.Bool
	var lookups, bad atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req := &openrtb2.BidRequest{Device: &openrtb2.Device{UA: "Mozilla/5.0 (Linux; Android 13; ACME-1) Mobile"}}
				d.Enrich(req)
				lookups.Add(1)
				if m := req.Device.Make; m != "AcmeOne" && m != "AcmeTwo" {
					bad.Add(1)
				}
			}
		}()
	}
	waitMake := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			req := &openrtb2.BidRequest{Device: &openrtb2.Device{UA: "Mozilla/5.0 (Linux; Android 13; ACME-1) Mobile"}}
			d.Enrich(req)
			if req.Device.Make == want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("make never became %q", want)
	}
	waitMake("AcmeOne")
	write(src("v2", "AcmeTwo"))
	waitMake("AcmeTwo")
	if v := d.Version(); v != "v2" {
		t.Errorf("version in service %q, want v2", v)
	}
	for i, broken := range []string{"format: adx-devicedb/1\ndevices: [", "not yaml at all: [[[", src("v3", "AcmeThree")[:40]} {
		// The watcher rejects the broken file; examining it again now
		// (as the next event would) reports the rejection again, naming
		// the file, without counting it twice.
		failures := d.Files()[0].Failures
		write(broken)
		for deadline := time.Now().Add(10 * time.Second); d.Files()[0].Failures == failures; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("broken file %d: no rejection counted in 10s", i)
			}
		}
		if err := d.file.Reload(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("broken file %d: Reload = %v, want an error naming %s", i, err, path)
		}
		if v := d.Version(); v != "v2" {
			t.Errorf("after broken file %d the version in service is %q, want v2 kept", i, v)
		}
	}
	info := d.Files()[0]
	if info.Failures != 3 || info.LastReloadOK || !strings.Contains(info.LastError, path) {
		t.Errorf("info %+v: want 3 failures counted, one a broken file, the last reload marked failed and its error naming %s", info, path)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 || lookups.Load() == 0 {
		t.Errorf("%d of %d lookups gave a wrong make", bad.Load(), lookups.Load())
	}
}

// TestDeviceDBStartPending: a configured file that is not there yet opens
// as pending when asked: requests pass with nothing filled, and the first
// good file is put in service.
func TestDeviceDBStartPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devices.yaml")
	if _, err := OpenDevices(DeviceOptions{File: path}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenDevices of a missing file = %v, want an error naming it", err)
	}
	d, err := OpenDevices(DeviceOptions{File: path, ReloadInterval: 20 * time.Millisecond, StartPending: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	enrich := func() (*openrtb2.Device, DeviceOutcome) {
		req := &openrtb2.BidRequest{Device: &openrtb2.Device{UA: "Mozilla/5.0 (Linux; Android 13; ACME-1) Mobile"}}
		return req.Device, d.Enrich(req)
	}
	if dev, out := enrich(); out != (DeviceOutcome{Match: devicedb.MatchGeneric}) || dev.Make != "" || dev.DeviceType != 0 || dev.JS != nil {
		t.Errorf("pending: outcome %+v device %+v, want nothing filled", out, dev)
	}
	if r := d.Lookup(&openrtb2.Device{UA: "ACME-1"}); r.Match != devicedb.MatchGeneric || r.Make != "" {
		t.Errorf("pending Lookup = %+v, want the zero result", r)
	}
	if info := d.Files()[0]; !info.LoadedAt.IsZero() || !strings.Contains(info.LastError, path) {
		t.Errorf("pending info %+v", info)
	}

	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Replace(strings.Replace(tinyDB, "%s", "v1", 1), "%s", "AcmeOne", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if dev, out := enrich(); dev.Make == "AcmeOne" && out.Match == devicedb.MatchToken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the device database never loaded: %+v", d.Files()[0])
		}
	}
	if v := d.Version(); v != "v1" {
		t.Errorf("version %q, want v1", v)
	}
}
