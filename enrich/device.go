package enrich

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/devicedb"
	"github.com/adx-exchange/adx/internal/reload"
)

// DeviceOptions configure device enrichment.
type DeviceOptions struct {
	// File is a device database (compiled snapshot or source); empty uses
	// the embedded default database.
	File string
	// ReloadInterval is the polling fallback for File.
	ReloadInterval time.Duration
	// Override makes the database's value replace the SSP's for these
	// device fields: devicetype, make, model, os, osv, hwv, w, h, ppi,
	// pxratio, js. Without it SSP-sent values are kept.
	Override map[string]bool
	// CacheSize bounds the lookup cache, in entries; the caller gives it
	// (devicedb.cache_size), and devicedb.NewCache rounds it up to at
	// least 64.
	CacheSize int
	// Logger and Metrics serve the file's reloads.
	Logger  *slog.Logger
	Metrics *reload.Metrics
	// StartPending opens a File that cannot be loaded yet (missing or
	// rejected) as pending rather than failing OpenDevices: devices are
	// not enriched until a version loads (reload.Options.StartPending),
	// and reload.CheckLoaded of Files names it meanwhile.
	StartPending bool
}

// DeviceOverrideFields are the names DeviceOptions.Override takes.
var DeviceOverrideFields = []string{"devicetype", "make", "model", "os", "osv", "hwv", "w", "h", "ppi", "pxratio", "js"}

// Devices fills device facts from the device database. Build it with
// OpenDevices; it is safe for concurrent use until Close.
type Devices struct {
	file     *reload.File[dbHandle] // nil: the embedded default
	fixed    *devicedb.DB
	cache    *devicedb.Cache
	override map[string]bool
}

// dbHandle lets an immutable *devicedb.DB live in a reload.File: it holds
// no file or mapping, so closing it is nothing.
type dbHandle struct{ db *devicedb.DB }

func (dbHandle) Close() error { return nil }

// DeviceOutcome is what device enrichment found.
type DeviceOutcome struct {
	// Bot is set for a known crawler or bot device.
	Bot bool
	// Match says how the device was matched (exact, token, brand,
	// fallback, generic), or is generic when there was no UA.
	Match devicedb.MatchType
	// NoUA: the request carried neither device.ua nor device.sua.
	NoUA bool
}

// OpenDevices opens the configured device database, or the embedded one.
func OpenDevices(opts DeviceOptions) (*Devices, error) {
	d := &Devices{cache: devicedb.NewCache(opts.CacheSize), override: opts.Override}
	if opts.File == "" {
		db, err := devicedb.Default()
		if err != nil {
			return nil, fmt.Errorf("cannot load the embedded device database: %w", err)
		}
		d.fixed = db
		return d, nil
	}
	f, err := reload.Open("devicedb", opts.File, func(path string) (dbHandle, error) {
		db, err := devicedb.OpenFile(path)
		if err != nil {
			return dbHandle{}, err
		}
		return dbHandle{db}, nil
	}, reload.Options[dbHandle]{
		Interval:   opts.ReloadInterval,
		Logger:     opts.Logger,
		Metrics:    opts.Metrics,
		Version:    func(h dbHandle) string { return h.db.Version() },
		HeapBacked: true, // the database is plain memory

		StartPending: opts.StartPending,
	})
	if err != nil {
		return nil, err
	}
	d.file = f
	return d, nil
}

// Cache returns the lookup cache, a Prometheus collector of its hits and
// misses.
func (d *Devices) Cache() *devicedb.Cache { return d.cache }

// Files describes the database in service, for /version; nil for the
// embedded one.
func (d *Devices) Files() []reload.Info {
	if d.file == nil {
		return nil
	}
	return []reload.Info{d.file.Info()}
}

// Version names the database in service.
func (d *Devices) Version() string {
	if d.file == nil {
		return "embedded " + d.fixed.Version()
	}
	return d.file.Info().Version
}

// Close stops watching the database file.
func (d *Devices) Close() error {
	if d.file == nil {
		return nil
	}
	return d.file.Close()
}

// Lookup matches the request's device.ua, device.sua and screen size. While
// a pending File has no version (DeviceOptions.StartPending) it returns the
// zero Result, a generic match with nothing to fill.
func (d *Devices) Lookup(dev *openrtb2.Device) devicedb.Result {
	r, _ := d.lookup(dev)
	return r
}

// lookup is Lookup that also tells whether a database was in service.
func (d *Devices) lookup(dev *openrtb2.Device) (devicedb.Result, bool) {
	db, release := d.db()
	defer release()
	if db == nil {
		return devicedb.Result{}, false
	}
	return d.cache.Lookup(db, devicedb.Evidence{UA: dev.UA, SUA: dev.SUA, W: dev.W, H: dev.H}), true
}

// db returns the database in service, nil while a pending File has none,
// and its release.
func (d *Devices) db() (*devicedb.DB, func()) {
	if d.file == nil {
		return d.fixed, noRelease
	}
	h, release := d.file.Acquire()
	return h.db, release
}

func noRelease() {}

// Enrich fills req.Device from the database: devicetype, make, model, os,
// osv, hwv, w, h, ppi, pxratio and js. Values the SSP sent are kept unless
// the field is in Override; a value the database does not know (a device
// it cannot name has no screen facts) never replaces one, overridden or
// not. The strings placed in the request belong to
// the database, which stays reachable while the request does. While a
// pending File has no version it fills nothing and reports a generic match.
func (d *Devices) Enrich(req *openrtb2.BidRequest) DeviceOutcome {
	dev := req.Device
	if dev == nil || (dev.UA == "" && dev.SUA == nil) {
		return DeviceOutcome{NoUA: true}
	}
	r, ok := d.lookup(dev)
	if !ok {
		return DeviceOutcome{Match: devicedb.MatchGeneric}
	}
	if r.IsBot {
		return DeviceOutcome{Bot: true, Match: r.Match}
	}
	ov := d.override
	if r.DeviceType != 0 && (dev.DeviceType == 0 || ov["devicetype"]) {
		dev.DeviceType = adcom1.DeviceType(r.DeviceType)
	}
	setString(&dev.Make, r.Make, ov["make"])
	model := r.Model
	if model == "" {
		model = r.MarketingName
	}
	setString(&dev.Model, model, ov["model"])
	setString(&dev.OS, r.OS, ov["os"])
	setString(&dev.OSV, r.OSV, ov["osv"])
	setString(&dev.HWV, r.HWV, ov["hwv"])
	setInt(&dev.W, r.W, ov["w"])
	setInt(&dev.H, r.H, ov["h"])
	setInt(&dev.PPI, r.PPI, ov["ppi"])
	if r.PxRatio > 0 && (dev.PxRatio == 0 || ov["pxratio"]) {
		dev.PxRatio = r.PxRatio
	}
	if dev.JS == nil || ov["js"] {
		js := int8(0)
		if r.JS {
			js = 1
		}
		if r.Match != devicedb.MatchGeneric || dev.JS == nil {
			dev.JS = &jsValues[js]
		}
	}
	return DeviceOutcome{Match: r.Match}
}

// jsValues are shared *int8 targets for device.js, so filling it does not
// allocate. They are never written through.
var jsValues = [2]int8{0, 1}

func setString(dst *string, v string, override bool) {
	if v != "" && (*dst == "" || override) {
		*dst = v
	}
}

func setInt(dst *int64, v int64, override bool) {
	if v > 0 && (*dst == 0 || override) {
		*dst = v
	}
}
