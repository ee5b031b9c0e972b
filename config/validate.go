package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MediaTypes are the imp kinds a demand partner or line item can fill.
var MediaTypes = []string{"banner", "video", "audio", "native"}

// Validate checks every setting and names the first bad key with its
// problem, for example "demand[1].endpoint: must be an http or https URL".
func (c *Config) Validate() error {
	if err := checkAddr("http.listen", c.HTTP.Listen); err != nil {
		return err
	}
	if err := checkAddr("admin.listen", c.Admin.Listen); err != nil {
		return err
	}
	if c.HTTP.Listen == c.Admin.Listen && !strings.HasSuffix(c.HTTP.Listen, ":0") {
		return fmt.Errorf("admin.listen: must differ from http.listen (%q): admin endpoints never share the public port", c.HTTP.Listen)
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20 {
		return fmt.Errorf("http.max_body_bytes: %d is outside 1024..67108864", c.HTTP.MaxBodyBytes)
	}
	for key, d := range map[string]Duration{"http.read_timeout": c.HTTP.ReadTimeout, "http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout} {
		if d <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", key, d)
		}
	}
	h := c.HTTP
	switch {
	case h.MaxHeaderBytes < 1024 || h.MaxHeaderBytes > 1<<20:
		return fmt.Errorf("http.max_header_bytes: %d is outside 1024..1048576", h.MaxHeaderBytes)
	case h.Concurrency < 0 || h.Concurrency > 1<<24:
		return fmt.Errorf("http.concurrency: %d is outside 0..16777216 (0 derives it from the file descriptor limit)", h.Concurrency)
	case h.MaxConnsPerIP < 0 || h.MaxConnsPerIP > 1<<24:
		return fmt.Errorf("http.max_conns_per_ip: %d is outside 0..16777216 (0 means no bound)", h.MaxConnsPerIP)
	case h.MaxInflight < 1:
		return fmt.Errorf("http.max_inflight: must be positive, got %d", h.MaxInflight)
	case h.SchedLatencyTarget < 0 || h.SchedLatencyTarget > Duration(1e9):
		return fmt.Errorf("http.sched_latency_target: %s is outside 0..1s (0 turns adaptive admission off)", h.SchedLatencyTarget)
	case h.ShedStatus != 204 && h.ShedStatus != 503:
		return fmt.Errorf("http.shed_status: %d is neither 204 (no bid) nor 503", h.ShedStatus)
	case !(h.ShedMemoryRatio >= 0 && h.ShedMemoryRatio < 1):
		return fmt.Errorf("http.shed_memory_ratio: %v is outside 0..1 (0 turns memory shedding off)", h.ShedMemoryRatio)
	case !(h.InflightMemoryRatio >= 0 && h.InflightMemoryRatio < 1):
		return fmt.Errorf("http.inflight_memory_ratio: %v is outside 0..1 (0 turns the in-flight memory bound off)", h.InflightMemoryRatio)
	case h.Backlog < 0 || h.Backlog > 1<<20:
		return fmt.Errorf("http.backlog: %d is outside 0..1048576 (0 means net.core.somaxconn)", h.Backlog)
	case c.Reload.Interval < 0:
		return fmt.Errorf("reload.interval: must not be negative (0 turns polling off), got %s", c.Reload.Interval)
	case c.Shutdown.DrainDelay < 0:
		return fmt.Errorf("shutdown.drain_delay: must not be negative, got %s", c.Shutdown.DrainDelay)
	case c.Shutdown.Timeout <= 0:
		return fmt.Errorf("shutdown.timeout: must be positive, got %s", c.Shutdown.Timeout)
	case c.Log.Level != "debug" && c.Log.Level != "info" && c.Log.Level != "warn" && c.Log.Level != "error":
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level)
	case !(c.Log.SampleRate >= 0 && c.Log.SampleRate <= 1):
		return fmt.Errorf("log.sample_rate: %v is outside 0..1", c.Log.SampleRate)
	case !(c.Memory.LimitRatio > 0 && c.Memory.LimitRatio <= 1):
		return fmt.Errorf("memory.limit_ratio: %v is outside (0, 1]", c.Memory.LimitRatio)
	}
	if c.Geo.ReloadInterval < 0 {
		return fmt.Errorf("geo.reload_interval: must not be negative, got %s", c.Geo.ReloadInterval)
	}
	if err := checkOneOf("geo.override", c.Geo.Override, GeoOverrideFields); err != nil {
		return err
	}
	if err := checkOneOf("geo.block", c.Geo.Block, AnonymousIPFlags); err != nil {
		return err
	}
	switch d := c.DeviceDB; {
	case d.ReloadInterval < 0:
		return fmt.Errorf("devicedb.reload_interval: must not be negative, got %s", d.ReloadInterval)
	case d.CacheSize < 64 || d.CacheSize > 1<<24:
		return fmt.Errorf("devicedb.cache_size: %d is outside 64..16777216", d.CacheSize)
	}
	if err := checkOneOf("devicedb.override", c.DeviceDB.Override, DeviceOverrideFields); err != nil {
		return err
	}
	switch cur := c.Currency; {
	case cur.MaxAge <= 0:
		return fmt.Errorf("currency.max_age: must be positive, got %s", cur.MaxAge)
	case cur.ReloadInterval < 0:
		return fmt.Errorf("currency.reload_interval: must not be negative, got %s", cur.ReloadInterval)
	}
	switch cp := c.Capture; {
	case !(cp.Rate >= 0 && cp.Rate <= 1):
		return fmt.Errorf("capture.rate: %v is outside 0..1", cp.Rate)
	case cp.MaxBytes < 1<<10:
		return fmt.Errorf("capture.max_bytes: %d is below 1024", cp.MaxBytes)
	case cp.Keep < 0:
		return fmt.Errorf("capture.keep: must not be negative, got %d", cp.Keep)
	}
	if err := c.Notices.validate(); err != nil {
		return err
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	if g := c.Privacy.GDPRWithoutConsent; g != GDPRStrict && g != GDPRScrub {
		return fmt.Errorf("privacy.gdpr_without_consent: %q is not %q or %q", g, GDPRStrict, GDPRScrub)
	}
	a := c.Auction
	switch {
	case a.DefaultTmax <= 0:
		return fmt.Errorf("auction.default_tmax: must be positive, got %s", a.DefaultTmax)
	case a.MaxTmax <= 0:
		return fmt.Errorf("auction.max_tmax: must be positive, got %s", a.MaxTmax)
	case a.DefaultTmax > a.MaxTmax:
		return fmt.Errorf("auction.default_tmax: %s exceeds auction.max_tmax %s", a.DefaultTmax, a.MaxTmax)
	case a.SafetyMargin < 0:
		return fmt.Errorf("auction.safety_margin: must not be negative, got %s", a.SafetyMargin)
	case a.SafetyMargin >= a.DefaultTmax:
		return fmt.Errorf("auction.safety_margin: %s leaves no time within auction.default_tmax %s", a.SafetyMargin, a.DefaultTmax)
	case !isCurrency(a.Currency):
		return fmt.Errorf("auction.currency: %q is not a 3-letter ISO-4217 code", a.Currency)
	case a.MaxImps < 1 || a.MaxImps > 1<<16:
		return fmt.Errorf("auction.max_imps: %d is outside 1..65536", a.MaxImps)
	case a.MaxBidsPerResponse < 1 || a.MaxBidsPerResponse > 1<<20:
		return fmt.Errorf("auction.max_bids_per_response: %d is outside 1..1048576", a.MaxBidsPerResponse)
	case !(a.MaxBidPrice > 0) || math.IsInf(a.MaxBidPrice, 0):
		return fmt.Errorf("auction.max_bid_price: must be a positive CPM, got %v", a.MaxBidPrice)
	case a.Type != 1 && a.Type != 2:
		return fmt.Errorf("auction.type: %d is not 1 (first price) or 2 (second price)", a.Type)
	case !(a.Increment >= 0) || a.Increment > a.MaxBidPrice:
		return fmt.Errorf("auction.increment: %v is outside 0..auction.max_bid_price", a.Increment)
	case !(a.TakeRate >= 0 && a.TakeRate < 1):
		return fmt.Errorf("auction.take_rate: %v is outside [0, 1)", a.TakeRate)
	case !(a.PricePrecision >= 0 && a.PricePrecision <= 1):
		return fmt.Errorf("auction.price_precision: %v is outside 0..1", a.PricePrecision)
	}
	switch dc := c.DSPClient; {
	case dc.MaxConns < 1 || dc.MaxConns > 1<<20:
		return fmt.Errorf("dsp_client.max_conns: %d is outside 1..1048576", dc.MaxConns)
	case dc.IdleTimeout <= 0:
		return fmt.Errorf("dsp_client.idle_timeout: must be positive, got %s", dc.IdleTimeout)
	case dc.ConnWait < 0 || dc.ConnWait > Duration(1e9):
		return fmt.Errorf("dsp_client.conn_wait: %s is outside 0..1s (0 fails a call at once when every connection is busy)", dc.ConnWait)
	case dc.ReadBufferBytes < 1<<10 || dc.ReadBufferBytes > 1<<20:
		return fmt.Errorf("dsp_client.read_buffer_bytes: %d is outside 1024..1048576", dc.ReadBufferBytes)
	case dc.WriteBufferBytes < 1<<10 || dc.WriteBufferBytes > 1<<20:
		return fmt.Errorf("dsp_client.write_buffer_bytes: %d is outside 1024..1048576", dc.WriteBufferBytes)
	}
	names := make(map[string]int, len(c.Demand))
	for i := range c.Demand {
		key := fmt.Sprintf("demand[%d]", i)
		d := &c.Demand[i]
		if err := d.validate(key); err != nil {
			return err
		}
		if j, dup := names[d.Name]; dup {
			return fmt.Errorf("%s.name: %q is already the name of demand[%d]", key, d.Name, j)
		}
		names[d.Name] = i
	}
	if err := c.validateSupply(); err != nil {
		return err
	}
	return c.validateSellers()
}

func (d *Demand) validate(key string) error {
	if !isName(d.Name) {
		return fmt.Errorf("%s.name: %q must be 1-64 letters, digits, '-', '_' or '.'", key, d.Name)
	}
	if err := checkMediaTypes(key+".media_types", d.MediaTypes); err != nil {
		return err
	}
	if err := d.validateControls(key); err != nil {
		return err
	}
	if err := d.validatePrivacy(key); err != nil {
		return err
	}
	if !(d.BidMultiplier >= 0 && d.BidMultiplier <= 1) {
		return fmt.Errorf("%s.bid_multiplier: %v is outside (0, 1] (0: unset, 1)", key, d.BidMultiplier)
	}
	if d.TakeRate != nil && !(*d.TakeRate >= 0 && *d.TakeRate < 1) {
		return fmt.Errorf("%s.take_rate: %v is outside [0, 1)", key, *d.TakeRate)
	}
	if pe := d.PriceEncryption; pe != nil {
		if err := checkKey(pe.EncryptionKey); err != nil {
			return fmt.Errorf("%s.price_encryption.encryption_key: %w", key, err)
		}
		if err := checkKey(pe.IntegrityKey); err != nil {
			return fmt.Errorf("%s.price_encryption.integrity_key: %w", key, err)
		}
	}
	switch d.Type {
	case DemandOpenRTB:
		u, err := url.Parse(d.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.endpoint: %q must be an http or https URL", key, d.Endpoint)
		}
		if d.Timeout < 0 {
			return fmt.Errorf("%s.timeout: must not be negative, got %s", key, d.Timeout)
		}
		if d.MaxConns < 0 {
			return fmt.Errorf("%s.max_conns: must not be negative, got %d", key, d.MaxConns)
		}
		if len(d.LineItems) > 0 {
			return fmt.Errorf("%s.line_items: only a house partner has line items", key)
		}
	case DemandHouse:
		if d.Endpoint != "" {
			return fmt.Errorf("%s.endpoint: a house partner has no endpoint", key)
		}
		if len(d.LineItems) == 0 {
			return fmt.Errorf("%s.line_items: a house partner needs at least one line item", key)
		}
		ids := make(map[string]bool, len(d.LineItems))
		for i := range d.LineItems {
			lkey := fmt.Sprintf("%s.line_items[%d]", key, i)
			li := &d.LineItems[i]
			if err := li.validate(lkey); err != nil {
				return err
			}
			if ids[li.ID] {
				return fmt.Errorf("%s.id: %q is duplicated", lkey, li.ID)
			}
			ids[li.ID] = true
		}
	case "":
		return fmt.Errorf("%s.type: missing; want %q or %q", key, DemandOpenRTB, DemandHouse)
	default:
		return fmt.Errorf("%s.type: %q is unknown; want %q or %q", key, d.Type, DemandOpenRTB, DemandHouse)
	}
	return d.validateTransport(key)
}

// maxGVLID bounds demand[].gvl_id: the TCF string writes a vendor id in
// 16 bits.
const maxGVLID = 1<<16 - 1

// validatePrivacy checks the partner's vendor id and privacy settings,
// which only a DSP over HTTP has: house demand is the exchange itself.
func (d *Demand) validatePrivacy(key string) error {
	if d.Type == DemandHouse {
		switch {
		case d.GVLID != 0:
			return fmt.Errorf("%s.gvl_id: a house partner is the exchange itself, not a vendor", key)
		case d.Privacy != (DemandPrivacy{}):
			return fmt.Errorf("%s.privacy: a house partner is the exchange itself and needs no basis of its own", key)
		}
		return nil
	}
	if d.GVLID < 0 || d.GVLID > maxGVLID {
		return fmt.Errorf("%s.gvl_id: %d is outside 0..%d (0: none)", key, d.GVLID, maxGVLID)
	}
	return nil
}

// OpenRTB versions a demand partner may speak (demand[].openrtb_version).
const (
	OpenRTB25 = "2.5"
	OpenRTB26 = "2.6"
)

// validateTransport checks how an openrtb partner is called: the network
// allowance, gzip and the OpenRTB version. A house partner sets none.
func (d *Demand) validateTransport(key string) error {
	if d.Type != DemandOpenRTB {
		switch {
		case d.NetworkAllowance != 0:
			return fmt.Errorf("%s.network_allowance: only an openrtb partner is called over the network", key)
		case d.Gzip:
			return fmt.Errorf("%s.gzip: only an openrtb partner is sent requests", key)
		case d.OpenRTBVersion != "":
			return fmt.Errorf("%s.openrtb_version: only an openrtb partner is sent requests", key)
		}
		return nil
	}
	if d.NetworkAllowance < 0 || d.NetworkAllowance > Duration(time.Second) {
		return fmt.Errorf("%s.network_allowance: %s is outside 0..1s", key, d.NetworkAllowance)
	}
	if d.Timeout > 0 && d.NetworkAllowance >= d.Timeout {
		return fmt.Errorf("%s.network_allowance: %s leaves the DSP no time within its timeout %s", key, d.NetworkAllowance, d.Timeout)
	}
	switch d.OpenRTBVersion {
	case "", OpenRTB25, OpenRTB26:
	default:
		return fmt.Errorf("%s.openrtb_version: %q is not %q or %q", key, d.OpenRTBVersion, OpenRTB25, OpenRTB26)
	}
	return nil
}

// validateControls checks the partner's demand controls: qps, breaker and
// targeting, which only a DSP over HTTP has.
func (d *Demand) validateControls(key string) error {
	if d.Type == DemandHouse {
		switch {
		case d.QPS != 0:
			return fmt.Errorf("%s.qps: only an openrtb partner has a qps cap", key)
		case d.Breaker != (Breaker{}):
			return fmt.Errorf("%s.breaker: only an openrtb partner has a breaker", key)
		case d.Shaping != (Shaping{}):
			return fmt.Errorf("%s.shaping: only an openrtb partner has traffic shaping", key)
		case !d.Targeting.empty():
			return fmt.Errorf("%s.targeting: only an openrtb partner has targeting; a line item has its own", key)
		}
		return nil
	}
	if d.QPS < 0 || d.QPS > 1e7 {
		return fmt.Errorf("%s.qps: %d is outside 0..10000000 (0: no cap)", key, d.QPS)
	}
	b := &d.Breaker
	switch {
	case !(b.FailureRatio >= 0 && b.FailureRatio <= 1):
		return fmt.Errorf("%s.breaker.failure_ratio: %v is outside (0, 1] (0: the default, 0.5)", key, b.FailureRatio)
	case b.MinRequests < 0 || b.MinRequests > 1e6:
		return fmt.Errorf("%s.breaker.min_requests: %d is outside 1..1000000 (0: the default, 20)", key, b.MinRequests)
	case b.Window < 0 || b.Window > Duration(time.Hour):
		return fmt.Errorf("%s.breaker.window: %s is outside 0..1h (0: the default, 10s)", key, b.Window)
	case b.OpenFor < 0 || b.OpenFor > Duration(time.Hour):
		return fmt.Errorf("%s.breaker.open_for: %s is outside 0..1h (0: the default, 5s)", key, b.OpenFor)
	case b.HalfOpenProbes < 0 || b.HalfOpenProbes > 1000:
		return fmt.Errorf("%s.breaker.half_open_probes: %d is outside 1..1000 (0: the default, 3)", key, b.HalfOpenProbes)
	}
	sh := &d.Shaping
	switch {
	case sh.Window != 0 && (sh.Window < Duration(time.Second) || sh.Window > Duration(time.Hour)):
		return fmt.Errorf("%s.shaping.window: %s is outside 1s..1h (0: the default, 30s)", key, sh.Window)
	case !(sh.Exploration >= 0 && sh.Exploration <= 0.5):
		return fmt.Errorf("%s.shaping.exploration: %v is outside (0, 0.5] (0: the default, 0.05)", key, sh.Exploration)
	}
	t := &d.Targeting
	tkey := key + ".targeting"
	for i, c := range t.Countries {
		if len(c) != 3 || strings.ToUpper(c) != c {
			return fmt.Errorf("%s.countries[%d]: %q is not an ISO-3166-1 alpha-3 code such as USA", tkey, i, c)
		}
	}
	for i, dt := range t.DeviceTypes {
		if dt < 1 || dt > 7 {
			return fmt.Errorf("%s.device_types[%d]: %d is not an OpenRTB device type (1-7)", tkey, i, dt)
		}
	}
	for i, name := range t.OS {
		if name == "" {
			return fmt.Errorf("%s.os[%d]: empty", tkey, i)
		}
	}
	if err := checkMediaTypes(tkey+".formats", t.Formats); err != nil {
		return err
	}
	if len(t.Formats) > 0 && len(d.MediaTypes) > 0 {
		shared := false
		for _, f := range t.Formats {
			shared = shared || slices.Contains(d.MediaTypes, f)
		}
		if !shared {
			return fmt.Errorf("%s.formats: %v has no kind in common with media_types %v: the DSP would never be called", tkey, t.Formats, d.MediaTypes)
		}
	}
	for i, s := range t.Sizes {
		if _, _, ok := ParseSize(s); !ok {
			return fmt.Errorf("%s.sizes[%d]: %q is not a size such as 300x250", tkey, i, s)
		}
	}
	if err := checkOneOf(tkey+".inventory", t.Inventory, Inventory); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"bundles", t.Bundles}, {"block_bundles", t.BlockBundles}, {"domains", t.Domains}, {"block_domains", t.BlockDomains}} {
		for i, v := range l.list {
			if v == "" || strings.TrimSpace(v) != v {
				return fmt.Errorf("%s.%s[%d]: %q must be non-empty, without spaces around it", tkey, l.name, i, v)
			}
			if strings.HasSuffix(l.name, "domains") {
				if strings.ToLower(v) != v || strings.HasPrefix(v, ".") || strings.Contains(v, "/") {
					return fmt.Errorf("%s.%s[%d]: %q must be a lowercase domain such as example.com", tkey, l.name, i, v)
				}
			}
		}
	}
	return nil
}

// empty reports whether t targets nothing: every request is wanted.
func (t *Targeting) empty() bool {
	return len(t.Countries)+len(t.DeviceTypes)+len(t.OS)+len(t.Formats)+len(t.Sizes)+len(t.Inventory)+
		len(t.Bundles)+len(t.BlockBundles)+len(t.Domains)+len(t.BlockDomains) == 0
}

func (li *LineItem) validate(key string) error {
	if li.ID == "" {
		return fmt.Errorf("%s.id: missing", key)
	}
	if !(li.CPM > 0) || math.IsInf(li.CPM, 0) {
		return fmt.Errorf("%s.cpm: must be a positive price, got %v", key, li.CPM)
	}
	for i, s := range li.Sizes {
		if _, _, ok := ParseSize(s); !ok {
			return fmt.Errorf("%s.sizes[%d]: %q is not a size such as 300x250", key, i, s)
		}
	}
	if err := checkMediaTypes(key+".formats", li.Formats); err != nil {
		return err
	}
	if li.Adm == "" && li.Nurl == "" {
		return fmt.Errorf("%s.adm: a line item needs adm or nurl", key)
	}
	for i, c := range li.Countries {
		if len(c) != 3 || strings.ToUpper(c) != c {
			return fmt.Errorf("%s.countries[%d]: %q is not an ISO-3166-1 alpha-3 code such as USA", key, i, c)
		}
	}
	for i, t := range li.DeviceTypes {
		if t < 1 || t > 7 {
			return fmt.Errorf("%s.device_types[%d]: %d is not an OpenRTB device type (1-7)", key, i, t)
		}
	}
	return nil
}

// ParseSize parses "300x250" into its width and height.
func ParseSize(s string) (w, h int64, ok bool) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.ParseInt(ws, 10, 32)
	h, err2 := strconv.ParseInt(hs, 10, 32)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, false
	}
	return w, h, true
}

func checkMediaTypes(key string, types []string) error { return checkOneOf(key, types, MediaTypes) }

func checkOneOf(key string, values, allowed []string) error {
	for i, v := range values {
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		if !ok {
			return fmt.Errorf("%s[%d]: %q is not one of %s", key, i, v, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkAddr(key, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("%s: %q is not a host:port address such as :8080", key, addr)
	}
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// checkKey checks a price encryption key: web-safe base64, padded or not,
// of 32 bytes. The message never holds the key, a secret.
func checkKey(s string) error {
	switch s {
	case "":
		return errors.New("missing; want web-safe base64 of 32 bytes")
	case redacted:
		return errors.New("redacted by `adx config print`; put the partner's key back")
	}
	k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return errors.New("not web-safe base64 (A-Z, a-z, 0-9, '-', '_')")
	}
	if len(k) != 32 {
		return fmt.Errorf("%d bytes decoded, want 32", len(k))
	}
	return nil
}

func (n *Notices) validate() error {
	if n.BaseURL != "" {
		u, err := url.Parse(n.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("notices.base_url: %q is not an http(s) URL such as https://adx.example.com", n.BaseURL)
		}
	}
	switch {
	case n.TTL < Duration(time.Minute) || n.TTL > Duration(30*24*time.Hour):
		return fmt.Errorf("notices.ttl: %s is outside 1m..720h", n.TTL)
	case n.ReplayMax < 1024:
		return fmt.Errorf("notices.replay_max: %d is below 1024", n.ReplayMax)
	case n.QueueSize < 1:
		return fmt.Errorf("notices.queue_size: must be positive, got %d", n.QueueSize)
	case n.Workers < 1 || n.Workers > 4096:
		return fmt.Errorf("notices.workers: %d is outside 1..4096", n.Workers)
	case n.Timeout <= 0:
		return fmt.Errorf("notices.timeout: must be positive, got %s", n.Timeout)
	case n.BillAttempts < 1 || n.BillAttempts > 100:
		return fmt.Errorf("notices.bill_attempts: %d is outside 1..100", n.BillAttempts)
	case n.RetryBackoff <= 0:
		return fmt.Errorf("notices.retry_backoff: must be positive, got %s", n.RetryBackoff)
	}
	ids := make(map[string]bool, len(n.Keys))
	for i, k := range n.Keys {
		key := fmt.Sprintf("notices.keys[%d]", i)
		switch {
		case !isKeyID(k.ID):
			return fmt.Errorf("%s.id: %q is not 1..64 letters, digits, '-' or '_'", key, k.ID)
		case ids[k.ID]:
			return fmt.Errorf("%s.id: %q is duplicated", key, k.ID)
		case (k.Secret == "") == (k.SecretFile == ""):
			return fmt.Errorf("%s: set one of secret and secret_file", key)
		case k.Secret == redacted:
			return fmt.Errorf("%s.secret: holds the redaction mark of `adx config print`; set the real secret", key)
		case k.Secret != "" && len(k.Secret) < 32:
			return fmt.Errorf("%s.secret: %d bytes, want at least 32", key, len(k.Secret))
		}
		ids[k.ID] = true
	}
	return nil
}

// ReadSecret returns k's secret, read from its file when it names one.
func (k *NoticeKey) ReadSecret() ([]byte, error) {
	if k.SecretFile == "" {
		return []byte(k.Secret), nil
	}
	b, err := os.ReadFile(k.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("notice key %q: %w", k.ID, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < 32 {
		return nil, fmt.Errorf("notice key %q: %s holds %d bytes, want at least 32", k.ID, k.SecretFile, len(b))
	}
	return b, nil
}

// ReadPassword returns the Kafka SASL password, read from its file when
// it names one.
func (s *KafkaSASL) ReadPassword() (string, error) {
	if s.PasswordFile == "" {
		return s.Password, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("kafka SASL password: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

func isKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (e *Events) validate() error {
	switch {
	case e.Sink != SinkFile && e.Sink != SinkKafka:
		return fmt.Errorf("events.sink: %q is neither %q nor %q", e.Sink, SinkFile, SinkKafka)
	case !(e.AuctionSample >= 0 && e.AuctionSample <= 1):
		return fmt.Errorf("events.auction_sample: %v is outside 0..1", e.AuctionSample)
	case e.Buffer < 16 || e.Buffer > 1<<24:
		return fmt.Errorf("events.buffer: %d is outside 16..16777216", e.Buffer)
	case e.SpillMaxBytes < 1<<20:
		return fmt.Errorf("events.spill_max_bytes: %d is below 1 MiB", e.SpillMaxBytes)
	case e.SinkTimeout <= 0:
		return fmt.Errorf("events.sink_timeout: must be positive, got %s", e.SinkTimeout)
	case e.File.Path == "":
		return errors.New("events.file.path: missing; it also places the spill when events.spill_dir is empty")
	case e.File.MaxBytes < 1<<10:
		return fmt.Errorf("events.file.max_bytes: %d is below 1024", e.File.MaxBytes)
	case e.File.MaxAge < 0:
		return fmt.Errorf("events.file.max_age: must not be negative, got %s", e.File.MaxAge)
	case e.File.Keep < 0:
		return fmt.Errorf("events.file.keep: must not be negative, got %d", e.File.Keep)
	}
	k := &e.Kafka
	if e.Sink == SinkKafka {
		switch {
		case len(k.Brokers) == 0:
			return errors.New("events.kafka.brokers: the kafka sink needs at least one broker")
		case k.Topic == "":
			return errors.New("events.kafka.topic: missing")
		}
	}
	for i, b := range k.Brokers {
		if err := checkAddr(fmt.Sprintf("events.kafka.brokers[%d]", i), b); err != nil {
			return err
		}
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		return errors.New("events.kafka.tls: cert_file and key_file go together")
	}
	if m := k.SASL.Mechanism; m != "" {
		if err := checkOneOf("events.kafka.sasl.mechanism", []string{m}, KafkaSASLMechanisms); err != nil {
			return fmt.Errorf("events.kafka.sasl.mechanism: %q is not one of %s", m, strings.Join(KafkaSASLMechanisms, ", "))
		}
		switch {
		case k.SASL.Username == "":
			return errors.New("events.kafka.sasl.username: missing")
		case (k.SASL.Password == "") == (k.SASL.PasswordFile == ""):
			return errors.New("events.kafka.sasl: set one of password and password_file")
		}
		if k.SASL.Password == redacted {
			return errors.New("events.kafka.sasl.password: holds the redaction mark of `adx config print`; set the real password")
		}
	}
	return nil
}

// validateSupply checks the supply partners: names, the address allow
// lists, the per-partner auction settings and the sellers.json fields.
func (c *Config) validateSupply() error {
	ssps := make(map[string]int, len(c.Supply))
	sellers := make(map[string]int, len(c.Supply))
	for i := range c.Supply {
		s := &c.Supply[i]
		key := fmt.Sprintf("supply[%d]", i)
		if !isName(s.Name) {
			return fmt.Errorf("%s.name: %q must be 1-64 letters, digits, '-', '_' or '.'", key, s.Name)
		}
		if j, dup := ssps[s.Name]; dup {
			return fmt.Errorf("%s.name: %q is already the name of supply[%d]", key, s.Name, j)
		}
		ssps[s.Name] = i
		if _, err := ParseAllowIPs(s.AllowIPs); err != nil {
			return fmt.Errorf("%s.allow_ips%w", key, err)
		}
		switch {
		case s.TmaxCap < 0:
			return fmt.Errorf("%s.tmax_cap: must not be negative, got %s", key, s.TmaxCap)
		case s.TmaxCap > 0 && s.TmaxCap <= c.Auction.SafetyMargin:
			return fmt.Errorf("%s.tmax_cap: %s leaves no time after auction.safety_margin %s", key, s.TmaxCap, c.Auction.SafetyMargin)
		case !(s.FloorMin >= 0) || s.FloorMin > c.Auction.MaxBidPrice:
			return fmt.Errorf("%s.floor_min: %v is outside 0..auction.max_bid_price (%v)", key, s.FloorMin, c.Auction.MaxBidPrice)
		case !(s.RateLimit >= 0 && s.RateLimit <= 1e7):
			return fmt.Errorf("%s.rate_limit: %v is outside 0..10000000 requests per second (0: no limit)", key, s.RateLimit)
		}
		if err := c.validateSupplyAuction(s, key); err != nil {
			return err
		}
		if err := s.validateSeller(key); err != nil {
			return err
		}
		if s.SellerID == "" {
			continue
		}
		if j, dup := sellers[s.SellerID]; dup {
			return fmt.Errorf("%s.seller_id: %q is already the seller_id of supply[%d]", key, s.SellerID, j)
		}
		sellers[s.SellerID] = i
		if c.Exchange.Domain == "" {
			return fmt.Errorf("exchange.domain: missing; %s.seller_id needs it as the asi of the exchange's supply chain node and the home of /sellers.json", key)
		}
	}
	return nil
}

// validateSupplyAuction checks s's own auction settings: the auction
// type, the take rate, and the demand partners it allows and blocks, which
// must be configured demand partners.
func (c *Config) validateSupplyAuction(s *Supply, key string) error {
	switch {
	case s.AuctionType != 0 && s.AuctionType != 1 && s.AuctionType != 2:
		return fmt.Errorf("%s.auction_type: %d is not 1 (first price), 2 (second price) or 0 (auction.type)", key, s.AuctionType)
	case s.TakeRate != nil && !(*s.TakeRate >= 0 && *s.TakeRate < 1):
		return fmt.Errorf("%s.take_rate: %v is outside [0, 1)", key, *s.TakeRate)
	}
	for _, list := range []struct {
		name  string
		names []string
	}{{"demand", s.Demand}, {"block_demand", s.BlockDemand}} {
		for j, n := range list.names {
			if !slices.ContainsFunc(c.Demand, func(d Demand) bool { return d.Name == n }) {
				return fmt.Errorf("%s.%s[%d]: %q is not the name of a demand partner", key, list.name, j, n)
			}
			if slices.Index(list.names, n) < j {
				return fmt.Errorf("%s.%s[%d]: %q is listed twice", key, list.name, j, n)
			}
		}
	}
	for j, n := range s.Demand {
		if slices.Contains(s.BlockDemand, n) {
			return fmt.Errorf("%s.demand[%d]: %q is also in block_demand", key, j, n)
		}
	}
	return nil
}

// validateSeller checks s's sellers.json fields, which only a partner
// with a seller_id has.
func (s *Supply) validateSeller(key string) error {
	if s.SellerID == "" {
		if s.SellerType != "" || s.SellerName != "" || s.SellerDomain != "" || s.IsConfidential {
			return fmt.Errorf("%s.seller_id: missing; seller_type, seller_name, seller_domain and is_confidential describe a seller", key)
		}
		return nil
	}
	switch {
	case len(s.SellerID) > 128 || strings.ContainsFunc(s.SellerID, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%s.seller_id: %q must be at most 128 characters without spaces or control characters", key, s.SellerID)
	case s.SellerType == "":
		return fmt.Errorf("%s.seller_type: missing; want one of %s", key, strings.Join(SellerTypes, ", "))
	}
	if err := checkOneOf(key+".seller_type", []string{s.SellerType}, SellerTypes); err != nil {
		return fmt.Errorf("%s.seller_type: %q is not one of %s", key, s.SellerType, strings.Join(SellerTypes, ", "))
	}
	switch {
	case s.SellerName == "" && !s.IsConfidential:
		return fmt.Errorf("%s.seller_name: missing; sellers.json requires it unless is_confidential is true", key)
	case s.SellerDomain == "" && !s.IsConfidential:
		return fmt.Errorf("%s.seller_domain: missing; sellers.json requires it unless is_confidential is true", key)
	case s.SellerDomain != "" && !isDomain(s.SellerDomain):
		return fmt.Errorf("%s.seller_domain: %q is not a domain such as publisher.example (no scheme or path)", key, s.SellerDomain)
	}
	return nil
}

// validateSellers checks the exchange's identity and sellers.json header.
func (c *Config) validateSellers() error {
	if d := c.Exchange.Domain; d != "" && !isDomain(d) {
		return fmt.Errorf("exchange.domain: %q is not a domain such as adx.example (no scheme or path)", d)
	}
	sl := &c.Sellers
	switch {
	case sl.Version != "1.0":
		return fmt.Errorf("sellers.version: %q is not a sellers.json version this exchange writes; want \"1.0\"", sl.Version)
	case sl.ContactEmail != "" && (!strings.Contains(sl.ContactEmail, "@") || strings.ContainsAny(sl.ContactEmail, " <>")):
		return fmt.Errorf("sellers.contact_email: %q is not an email address", sl.ContactEmail)
	}
	for i, id := range sl.Identifiers {
		if id.Name == "" || id.Value == "" {
			return fmt.Errorf("sellers.identifiers[%d]: name and value are both required", i)
		}
	}
	return nil
}

// ParseAllowIPs parses supply[].allow_ips: CIDR prefixes or bare
// addresses (one host each), IPv4 or IPv6. IPv4-mapped IPv6 forms are read
// as IPv4. An error starts with the bad entry's index, "[1]: ...".
func ParseAllowIPs(list []string) ([]netip.Prefix, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("[%d]: %q is not a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32, nor an address", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// isDomain reports whether s looks like a DNS name: dot-separated labels of
// letters, digits and '-', at least two of them.
func isDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
