package enrich

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // utcoffset needs zone data also in an image without /usr/share/zoneinfo

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/internal/reload"
)

// GeoOptions name the MaxMind databases of a Geo and how it uses them.
// Every path is optional; a slot without a path fills nothing.
type GeoOptions struct {
	// City is a GeoIP2-City, GeoLite2-City, GeoIP2-Country,
	// GeoLite2-Country or GeoIP2-Enterprise database: device.geo.
	City string
	// ISP is a GeoIP2-ISP or GeoLite2-ASN database: device.carrier and
	// device.mccmnc.
	ISP string
	// ConnectionType is a GeoIP2-Connection-Type database:
	// device.connectiontype.
	ConnectionType string
	// AnonymousIP is a GeoIP2-Anonymous-IP database: the Block flags.
	AnonymousIP string
	// ReloadInterval is the polling fallback of the file watch; zero means
	// reload.DefaultInterval, negative no polling.
	ReloadInterval time.Duration
	// Override names the fields where the exchange's value replaces the
	// one the SSP sent: geo, connectiontype, carrier, mccmnc. By default
	// the SSP's values are kept and only missing ones are filled.
	Override map[string]bool
	// Block lists the Anonymous-IP flags that block a request:
	// hosting_provider, public_proxy, tor_exit_node, vpn,
	// residential_proxy, anonymous.
	Block []string
	// Logger receives database loads and rejections; nil discards them.
	Logger *slog.Logger
	// Metrics receives the databases' reload series; nil records none.
	Metrics *reload.Metrics
	// StartPending opens a database that cannot be loaded yet (missing or
	// rejected) as pending rather than failing OpenGeo: its slot fills
	// nothing until a version loads (reload.Options.StartPending), and
	// reload.CheckLoaded of Files names it meanwhile.
	StartPending bool
}

// GeoOutcome is what Enrich did with one request.
type GeoOutcome struct {
	// NoIP: the request had no parsable device.ip or device.ipv6, so
	// nothing was looked up.
	NoIP bool
	// Blocked is "" or the Anonymous-IP flag (a GeoOptions.Block name)
	// that matched; the request was then left unchanged.
	Blocked string
	// Found: the city, ISP or connection-type database had a record for
	// the address, or the Anonymous-IP database blocked it. (That
	// database has records, mostly empty, for most addresses.) The ISP
	// and connection-type databases are not consulted when the SSP sent
	// what they would fill and Override does not name it.
	Found bool
}

// Geo fills device.geo, device.connectiontype, device.carrier and
// device.mccmnc of bid requests from MaxMind databases, and flags
// anonymous traffic. It is safe for concurrent use; each database is
// reloaded in place when its file changes. It is a prometheus.Collector of
// its lookup errors. Build it with OpenGeo and Close it when the server has
// stopped.
type Geo struct {
	dbs   [numSlots]*reload.File[*mmdb] // nil: slot unused
	files []*reload.File[*mmdb]

	overrideGeo, overrideConn, overrideCarrier, overrideMCCMNC bool
	block                                                      anonFlags

	lookupErrors [numSlots]atomic.Uint64 // by slot
}

// slot is one database role: its logical file name and the database types
// it accepts.
type slot struct {
	name  string
	types []string
	probe func(maxminddb.Result) error
}

var (
	citySlot = slot{"geo.city", []string{"GeoIP2-City", "GeoLite2-City", "GeoIP2-Country", "GeoLite2-Country", "GeoIP2-Enterprise"},
		func(r maxminddb.Result) error { return r.Decode(&cityRecord{}) }}
	ispSlot = slot{"geo.isp", []string{"GeoIP2-ISP", "GeoLite2-ASN"},
		func(r maxminddb.Result) error { return r.Decode(&ispRecord{}) }}
	connSlot = slot{"geo.connection_type", []string{"GeoIP2-Connection-Type"},
		func(r maxminddb.Result) error { return r.Decode(&connRecord{}) }}
	anonSlot = slot{"geo.anonymous_ip", []string{"GeoIP2-Anonymous-IP"},
		func(r maxminddb.Result) error { return r.Decode(&anonRecord{}) }}
)

// The slots, in the order Enrich consults them.
const (
	slotAnon = iota
	slotCity
	slotConn
	slotISP
	numSlots
)

// slots are the slot definitions by index.
var slots = [numSlots]slot{slotAnon: anonSlot, slotCity: citySlot, slotConn: connSlot, slotISP: ispSlot}

// probeRecords is how many records a loader decodes with the slot's own
// decoder after Verify, to reject a database whose fields have other types
// than ours (Verify checks the format, not the schema).
const probeRecords = 4096

// OpenGeo opens, verifies and starts watching the databases named in opts.
// With no path set it returns a Geo that fills nothing. A database that
// cannot be loaded, or is of the wrong type for its slot, fails OpenGeo
// with an error naming the file, the slot and the reason, unless
// opts.StartPending.
func OpenGeo(opts GeoOptions) (*Geo, error) {
	g := &Geo{}
	for field, on := range opts.Override {
		switch field {
		case "geo":
			g.overrideGeo = on
		case "connectiontype":
			g.overrideConn = on
		case "carrier":
			g.overrideCarrier = on
		case "mccmnc":
			g.overrideMCCMNC = on
		default:
			return nil, fmt.Errorf("geo: unknown override field %q (want geo, connectiontype, carrier or mccmnc)", field)
		}
	}
	for _, name := range opts.Block {
		i := slices.IndexFunc(anonFlagNames[:], func(f anonFlagName) bool { return f.name == name })
		if i < 0 {
			return nil, fmt.Errorf("geo: unknown anonymous-IP flag %q in block (want hosting_provider, public_proxy, tor_exit_node, vpn, residential_proxy or anonymous)", name)
		}
		g.block |= anonFlagNames[i].flag
	}
	for _, s := range []struct {
		path string
		slot slot
		dst  **reload.File[*mmdb]
	}{
		{opts.City, citySlot, &g.dbs[slotCity]},
		{opts.ISP, ispSlot, &g.dbs[slotISP]},
		{opts.ConnectionType, connSlot, &g.dbs[slotConn]},
		{opts.AnonymousIP, anonSlot, &g.dbs[slotAnon]},
	} {
		if s.path == "" {
			continue
		}
		f, err := reload.Open(s.slot.name, s.path, s.slot.load, reload.Options[*mmdb]{
			Interval: opts.ReloadInterval,
			Logger:   opts.Logger,
			Metrics:  opts.Metrics,
			Version:  dbVersion,
			// Read into memory, never mapped (see slot.load).
			HeapBacked: true,

			StartPending: opts.StartPending,
		})
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		*s.dst = f
		g.files = append(g.files, f)
	}
	return g, nil
}

// load reads the database at path into memory and verifies it. It reads
// rather than memory-maps: a database rewritten or truncated in place
// under a mapping is SIGBUS for the readers, whatever the reference
// counting, while a private copy stays valid until the last reader lets
// it go. The price is the database's size on the heap (twice during a
// reload); the buffer holds no pointers, so the GC does not scan it.
func (s slot) load(path string) (*mmdb, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("not a MaxMind database: %w", err)
	}
	if !slices.Contains(s.types, r.Metadata.DatabaseType) {
		return nil, fmt.Errorf("database_type %q does not fit slot %s (want %s)", r.Metadata.DatabaseType, strings.TrimPrefix(s.name, "geo."), strings.Join(s.types, ", "))
	}
	if err := r.Verify(); err != nil {
		return nil, fmt.Errorf("corrupt %s database: %w", r.Metadata.DatabaseType, err)
	}
	n := 0
	for res := range r.Networks() {
		if err := s.probe(res); err != nil {
			return nil, fmt.Errorf("%s database: cannot decode the record of %s: %w", r.Metadata.DatabaseType, res.Prefix(), err)
		}
		if n++; n == probeRecords {
			break
		}
	}
	return newMMDB(r, b)
}

// dbVersion names a database for /version: its type and build time.
func dbVersion(r *mmdb) string {
	return r.Metadata.DatabaseType + " " + r.Metadata.BuildTime().UTC().Format(time.RFC3339)
}

// Files describes the databases in service, for /version.
func (g *Geo) Files() []reload.Info {
	infos := make([]reload.Info, 0, len(g.files))
	for _, f := range g.files {
		infos = append(infos, f.Info())
	}
	return infos
}

// LookupErrors counts lookups that failed to decode a record (none are
// expected of a verified database), in every slot; such a slot is treated
// as a miss. Collect exports them by file.
func (g *Geo) LookupErrors() uint64 {
	var n uint64
	for i := range g.lookupErrors {
		n += g.lookupErrors[i].Load()
	}
	return n
}

var lookupErrorsDesc = prometheus.NewDesc("adx_geo_lookup_errors_total",
	"Geo lookups whose record could not be decoded, by database (logical file name); that database added nothing to the request. A database that passed its checks at load should have none.",
	[]string{"file"}, nil)

// Describe implements prometheus.Collector.
func (g *Geo) Describe(ch chan<- *prometheus.Desc) { ch <- lookupErrorsDesc }

// Collect implements prometheus.Collector: adx_geo_lookup_errors_total of
// each configured database.
func (g *Geo) Collect(ch chan<- prometheus.Metric) {
	for i, f := range g.dbs {
		if f != nil {
			ch <- prometheus.MustNewConstMetric(lookupErrorsDesc, prometheus.CounterValue, float64(g.lookupErrors[i].Load()), slots[i].name)
		}
	}
}

// Close stops watching the databases and releases them once in-flight
// Enrich calls are done. Enrich must not be called after Close.
func (g *Geo) Close() error {
	var errs []error
	for _, f := range g.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// scratch holds the decoded records of one Enrich call. Decode takes its
// destination as an interface, so a record on the stack would escape:
// pooling them keeps Enrich free of allocations of its own.
type scratch struct {
	city cityRecord
	isp  ispRecord
	conn connRecord
	anon anonRecord
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// filled is the storage Enrich allocates for the pointers it places into
// a request, once per request that gets any: device.geo and its lat/lon,
// and device.connectiontype.
type filled struct {
	geo      openrtb2.Geo
	lat, lon float64
	conn     adcom1.ConnectionType
}

// Enrich looks up device.ip (or, if that is empty or unparsable,
// device.ipv6) and fills what the SSP left out of the device, per
// OpenRTB 2.6 §3.2.18-3.2.19:
//
//   - device.geo: country (ISO 3166-1 alpha-3), region (ISO 3166-2
//     subdivision without the country prefix, the most general one), city,
//     zip, metro, lat/lon with accuracy (meters), utcoffset (minutes, for
//     now), type 2 (IP address) and ipservice 3 (MaxMind). The object is
//     created if the request has none.
//   - device.connectiontype, device.carrier and device.mccmnc ("MCC-MNC").
//
// Fields the SSP sent are kept unless GeoOptions.Override names them (see
// the package doc for how geo fields are kept together). A request whose
// address has a blocked Anonymous-IP flag is returned unchanged with
// Blocked set. Enrich allocates at most once per request for the objects
// it adds, plus the strings it places that the database reader has not
// cached; it never fails: a database without a record for the address,
// or with an unreadable one, fills nothing.
func (g *Geo) Enrich(req *openrtb2.BidRequest) GeoOutcome {
	if req == nil || req.Device == nil {
		return GeoOutcome{NoIP: true}
	}
	dev := req.Device
	ip, ok := deviceIP(dev)
	if !ok {
		return GeoOutcome{NoIP: true}
	}
	carrier, mccmnc := dev.Carrier == "" || g.overrideCarrier, dev.MCCMNC == "" || g.overrideMCCMNC
	// Each lookup walks a tree of a few MB, cache misses all the way:
	// consult only the databases whose answer can be used, and walk their
	// trees together (walkTrees).
	var (
		dbs      [numSlots]*mmdb
		releases [numSlots]func()
	)
	acquire := func(i int) {
		if f := g.dbs[i]; f != nil {
			dbs[i], releases[i] = f.Acquire()
		}
	}
	if g.block != 0 {
		acquire(slotAnon)
	}
	acquire(slotCity)
	if dev.ConnectionType == nil || g.overrideConn {
		acquire(slotConn)
	}
	if carrier || mccmnc {
		acquire(slotISP)
	}
	defer func() {
		for _, release := range releases {
			if release != nil {
				release()
			}
		}
	}()
	var offsets [numSlots]uint
	walkTrees(&dbs, ip, &offsets)

	var out GeoOutcome
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)

	s.anon = anonRecord{}
	if g.decode(slotAnon, dbs[slotAnon], offsets[slotAnon], &s.anon) {
		if flags := s.anon.flags & g.block; flags != 0 {
			return GeoOutcome{Blocked: flags.name(), Found: true}
		}
	}
	var box *filled
	s.city = cityRecord{}
	if g.decode(slotCity, dbs[slotCity], offsets[slotCity], &s.city) {
		out.Found = true
		g.fillGeo(dev, &s.city, &box)
	}
	s.conn = connRecord{}
	if g.decode(slotConn, dbs[slotConn], offsets[slotConn], &s.conn) {
		out.Found = true
		if ct := s.conn.kind; ct != adcom1.ConnectionUnknown {
			if box == nil {
				box = new(filled)
			}
			box.conn = ct
			dev.ConnectionType = &box.conn
		}
	}
	s.isp = ispRecord{}
	if g.decode(slotISP, dbs[slotISP], offsets[slotISP], &s.isp) {
		out.Found = true
		if c := s.isp.carrier(); c != "" && carrier {
			dev.Carrier = c
		}
		if s.isp.mcc != "" && s.isp.mnc != "" && mccmnc {
			dev.MCCMNC = s.isp.mcc + "-" + s.isp.mnc
		}
	}
	return out
}

// deviceIP parses device.ip, else device.ipv6. An IPv4-mapped IPv6
// address is looked up as IPv4, so an IPv4-only database answers it too.
func deviceIP(dev *openrtb2.Device) (netip.Addr, bool) {
	for _, s := range [2]string{dev.IP, dev.IPv6} {
		if s == "" {
			continue
		}
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// decode decodes the record at offset (from walkTrees) of db, the
// database of slot i, into rec and tells whether there was one.
func (g *Geo) decode(i int, db *mmdb, offset uint, rec mmdbdata.CursorUnmarshaler) bool {
	if db == nil || offset == notFound {
		return false
	}
	if err := db.LookupOffset(uintptr(offset)).Decode(rec); err != nil {
		g.lookupErrors[i].Add(1)
		return false
	}
	return true
}

// fillGeo fills dev.Geo from a City/Country record.
//
// Without Override["geo"], the SSP's fields are kept and only empty ones
// are filled, and the fields below the country (region, city, zip, metro,
// utcoffset, lat/lon) only when the SSP sent no country or the same
// country: a London postcode under the SSP's USA would describe no place.
// lat and lon are filled together, only if the SSP sent neither, and
// bring accuracy, type 2 (IP) and ipservice 3 (MaxMind) with them, since
// type describes where lat/lon came from. With Override["geo"], the
// object's fields are all replaced by the database's (ext is kept).
func (g *Geo) fillGeo(dev *openrtb2.Device, c *cityRecord, box **filled) {
	country := Alpha3(c.country)
	if country == "" {
		return // a record without a country (or an unknown one) places nothing
	}
	geo := dev.Geo
	if geo == nil {
		if *box == nil {
			*box = new(filled)
		}
		geo = &(*box).geo
		dev.Geo = geo
	} else if g.overrideGeo {
		*geo = openrtb2.Geo{Ext: geo.Ext}
	}
	if geo.Country == "" {
		geo.Country = country
	}
	if geo.Country != country {
		return
	}
	if geo.Region == "" {
		geo.Region = c.region
	}
	if geo.City == "" {
		geo.City = c.city
	}
	if geo.ZIP == "" {
		geo.ZIP = c.postal
	}
	if geo.Metro == "" && c.metro > 0 {
		geo.Metro = metroName(c.metro)
	}
	if geo.UTCOffset == 0 && c.timeZone != "" {
		if loc := zones.get(c.timeZone); loc != nil {
			_, offset := time.Now().In(loc).Zone()
			geo.UTCOffset = int64(offset / 60)
		}
	}
	if geo.Lat == nil && geo.Lon == nil && c.hasLat && c.hasLon {
		if *box == nil {
			*box = new(filled)
		}
		(*box).lat, (*box).lon = c.lat, c.lon
		geo.Lat, geo.Lon = &(*box).lat, &(*box).lon
		geo.Accuracy = int64(c.accuracy) * 1000 // accuracy_radius is in km
		geo.Type = adcom1.LocationIP
		geo.IPService = adcom1.LocationServiceMaxMind
	} else if geo.Lat == nil && geo.Lon == nil && geo.Type == 0 {
		geo.Type = adcom1.LocationIP
		geo.IPService = adcom1.LocationServiceMaxMind
	}
}

// metroNames holds the metro codes as strings: Google's (Nielsen DMA)
// codes are 500-881, so a table avoids formatting them per request.
var metroNames = func() *[1000]string {
	var t [1000]string
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return &t
}()

func metroName(code uint64) string {
	if code < uint64(len(metroNames)) {
		return metroNames[code]
	}
	return strconv.FormatUint(code, 10)
}

// zones caches time zones by name: time.LoadLocation reads and parses a
// file, far too slow per request. The cache is copy-on-write, so a hit
// is one map read without a lock. Names come from the databases, not from
// requests, and the cache is bounded anyway.
var zones zoneCache

const maxZones = 1024

type zoneCache struct {
	m  atomic.Pointer[map[string]*time.Location]
	mu sync.Mutex
}

// get returns the zone, or nil for a name time.LoadLocation does not know.
func (z *zoneCache) get(name string) *time.Location {
	if m := z.m.Load(); m != nil {
		if loc, ok := (*m)[name]; ok {
			return loc
		}
	}
	return z.load(name)
}

func (z *zoneCache) load(name string) *time.Location {
	z.mu.Lock()
	defer z.mu.Unlock()
	var old map[string]*time.Location
	if m := z.m.Load(); m != nil {
		old = *m
	}
	if loc, ok := old[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil // remembered as unknown
	}
	if len(old) >= maxZones {
		return loc
	}
	m := make(map[string]*time.Location, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[strings.Clone(name)] = loc
	z.m.Store(&m)
	return loc
}
