// Package config holds adx's configuration: the one YAML document that names
// the demand partners, the supply partners and the auction settings, the
// built-in defaults beneath it, and the environment variables and flags above
// it.
//
// Precedence, highest first: command-line flags, ADX_* environment
// variables, the config file, and the built-in defaults (Defaults), the one
// place each setting's default is written. Without a config file the
// embedded default document (default.yaml) stands in for it: demo demand
// partners, no settings.
package config

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default config document. It is what
// `adx serve` runs on when no -config is given.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Config is the whole effective configuration. adx builds it once at start
// (Load, then flags and environment) and only reads it after: a changed
// file takes effect at the next start. Data files named here (geo,
// devicedb, currency) are watched and reloaded; the config itself is not.
type Config struct {
	HTTP    HTTP     `yaml:"http"`
	Admin   Admin    `yaml:"admin"`
	Auction Auction  `yaml:"auction"`
	Demand  []Demand `yaml:"demand"`
	Supply  []Supply `yaml:"supply"`
	// DSPClient shapes the connections to every openrtb demand partner.
	DSPClient DSPClient `yaml:"dsp_client"`

	Geo      Geo      `yaml:"geo"`
	DeviceDB DeviceDB `yaml:"devicedb"`
	Currency Currency `yaml:"currency"`
	Shutdown Shutdown `yaml:"shutdown"`
	Log      Log      `yaml:"log"`
	Memory   Memory   `yaml:"memory"`
	Capture  Capture  `yaml:"capture"`
	Notices  Notices  `yaml:"notices"`
	Events   Events   `yaml:"events"`
	// Exchange is who the exchange is to the supply chain.
	Exchange Exchange `yaml:"exchange"`
	// Privacy is what the users' privacy signals let each demand partner
	// see (docs/privacy.md).
	Privacy Privacy `yaml:"privacy"`
	// Sellers is the contact part of /sellers.json; the sellers are the
	// supply partners with a seller_id.
	Sellers Sellers `yaml:"sellers"`
	// Reload says how adx notices a changed config file.
	Reload Reload `yaml:"reload"`

	// Source names where the config came from ("embedded default" or a path).
	Source string `yaml:"-"`
	// Hash is the hex SHA-256 of the config document's bytes.
	Hash string `yaml:"-"`
}

// HTTP configures the public OpenRTB listener.
type HTTP struct {
	// Listen is the public address, for example ":8080".
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds a request body, after gzip inflation.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// ReadTimeout bounds reading one request, headers and body, from its
	// first byte; on a new connection it also bounds the wait for that byte.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one response.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Below an
	// AWS NLB's fixed 350 s TCP idle timeout, so that adx, not the balancer,
	// ends an idle connection (with a FIN the client sees, where the NLB
	// would drop it silently); behind an ALB, which reuses its connections
	// to adx, it must exceed the ALB's idle timeout (60 s by default), or
	// the ALB sends requests on connections adx is closing and answers 502.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's headers; larger ones get 431.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// Concurrency bounds the connections open at once, idle keep-alive
	// ones included; past it a new connection is answered with ShedStatus
	// and closed. 0 derives it from the file descriptor limit
	// (RLIMIT_NOFILE) minus a reserve for demand partner connections, data
	// files and the admin port.
	Concurrency int `yaml:"concurrency"`
	// MaxConnsPerIP bounds the connections one client address (IPv6: one
	// /64) holds at once; past it a new connection is answered 429 and
	// closed. 0 means no bound, which is what it must be behind a load
	// balancer that proxies connections (an ALB; an NLB without client IP
	// preservation), since every client then shares its addresses.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// MaxInflight caps concurrent auctions. Past it a request is shed at
	// once with ShedStatus: never queued.
	MaxInflight int `yaml:"max_inflight"`
	// SchedLatencyTarget turns on adaptive admission: while the Go
	// scheduler's latency (the time runnable goroutines wait for a CPU,
	// at its 99th percentile over 50 ms) is above it, the limit on
	// auctions in flight falls, and requests past the limit are shed at
	// once like those past MaxInflight; it rises back while the latency
	// is under. 0 turns it off, leaving only MaxInflight.
	SchedLatencyTarget Duration `yaml:"sched_latency_target"`
	// ShedStatus answers a shed request: 204 (no bid, the default) or 503.
	ShedStatus int `yaml:"shed_status"`
	// ShedMemoryRatio sheds new auctions, like MaxInflight, while the
	// memory the garbage collector cannot free (live heap, stacks, runtime)
	// is at least this share of the Go memory limit; 0 turns it off.
	ShedMemoryRatio float64 `yaml:"shed_memory_ratio"`
	// InflightMemoryRatio bounds the memory running auctions may hold, as a
	// share of the Go memory limit, estimated from each request's size; a
	// request past it is shed at once. 0 turns the bound off.
	InflightMemoryRatio float64 `yaml:"inflight_memory_ratio"`
	// Backlog is the listen backlog (accept queue length); 0 means
	// net.core.somaxconn, which the kernel caps it to anyway.
	Backlog int `yaml:"backlog"`
	// ReusePort sets SO_REUSEPORT on the public listener.
	ReusePort bool `yaml:"reuse_port"`
}

// Geo names the MaxMind databases that enrich requests with geo and
// network facts. Every path is optional and each database fills its own
// fields; device.geo is filled only with a City (or Country) database. The
// files are watched and reloaded in place.
type Geo struct {
	// City is a GeoIP2/GeoLite2 City, Country or Enterprise database.
	City string `yaml:"city"`
	// ISP is a GeoIP2-ISP or GeoLite2-ASN database.
	ISP string `yaml:"isp"`
	// ConnectionType is a GeoIP2-Connection-Type database.
	ConnectionType string `yaml:"connection_type"`
	// AnonymousIP is a GeoIP2-Anonymous-IP database.
	AnonymousIP string `yaml:"anonymous_ip"`
	// ReloadInterval is the polling fallback for file change events.
	ReloadInterval Duration `yaml:"reload_interval"`
	// Override lists the fields whose exchange value replaces the one the
	// SSP sent: geo, connectiontype, carrier, mccmnc. Empty keeps every
	// SSP value.
	Override []string `yaml:"override"`
	// Block lists the Anonymous-IP flags whose traffic is not sent to
	// demand: hosting_provider, public_proxy, tor_exit_node, vpn,
	// residential_proxy, anonymous.
	Block []string `yaml:"block"`
}

// DeviceDB configures device enrichment from the device database.
type DeviceDB struct {
	// File is a compiled snapshot or a source file; empty uses the
	// embedded default database. It is watched and reloaded in place.
	File string `yaml:"file"`
	// ReloadInterval is the polling fallback for file change events.
	ReloadInterval Duration `yaml:"reload_interval"`
	// Override lists the device fields whose database value replaces the
	// SSP's: devicetype, make, model, os, osv, hwv, w, h, ppi, pxratio, js.
	Override []string `yaml:"override"`
	// FilterBots keeps requests from known bots away from demand.
	FilterBots bool `yaml:"filter_bots"`
	// CacheSize bounds the lookup cache, in entries.
	CacheSize int `yaml:"cache_size"`
}

// Currency names the exchange rates file that amounts in other currencies
// are converted with (package currency).
type Currency struct {
	// File is a rates file: adx's JSON or the ECB's daily reference rates
	// XML (eurofxref-daily.xml). Empty means none: adx then knows the
	// exchange currency (auction.currency) alone. A file that is set is
	// required, watched and reloaded in place, like the geo databases.
	File string `yaml:"file"`
	// MaxAge is the age past which the rates are stale and no amount is
	// converted from one currency into another any more. The
	// age is now minus the rates' date, from the start (UTC) of the
	// business day they are for. The default, 144h (6 days), outlasts the
	// longest regular gap in the ECB's publication: it publishes each
	// TARGET business day around 16:00 CET, and over Easter (no rates on
	// Good Friday, the weekend, Easter Monday) Thursday's rates stay the
	// newest until Tuesday afternoon, 5 days and about 16 hours after
	// their date; an ordinary weekend is 3 days and 16 hours. A shorter
	// maximum would stop conversion every Easter, and 72h every Monday
	// morning. It is meant to catch an updater that stopped, not a day's
	// market move.
	MaxAge Duration `yaml:"max_age"`
	// ReloadInterval is the polling fallback for file change events.
	ReloadInterval Duration `yaml:"reload_interval"`
}

// DeviceOverrideFields are the values devicedb.override may name.
var DeviceOverrideFields = []string{"devicetype", "make", "model", "os", "osv", "hwv", "w", "h", "ppi", "pxratio", "js"}

// GeoOverrideFields are the values geo.override may name.
var GeoOverrideFields = []string{"geo", "connectiontype", "carrier", "mccmnc"}

// AnonymousIPFlags are the values geo.block may name.
var AnonymousIPFlags = []string{"hosting_provider", "public_proxy", "tor_exit_node", "vpn", "residential_proxy", "anonymous"}

// Reload says how adx notices a changed config file (-config FILE); the
// embedded default never changes. SIGHUP reloads the file as well.
type Reload struct {
	// Watch watches the file's directory for changes (fsnotify), which
	// also sees a Kubernetes ConfigMap update.
	Watch bool `yaml:"watch"`
	// Interval is how often the file is polled beside the watch, for
	// changes the watch misses; 0 turns polling off.
	Interval Duration `yaml:"interval"`
}

// Shutdown shapes the graceful drain on SIGTERM.
type Shutdown struct {
	// DrainDelay is how long the public listener keeps serving after
	// /readyz turns 503, so load balancers see the change first.
	DrainDelay Duration `yaml:"drain_delay"`
	// Timeout bounds the wait for in-flight auctions once accepting stops.
	Timeout Duration `yaml:"timeout"`
}

// Log configures the JSON logs on stdout.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// SampleRate is the share of requests logged one line each, 0..1.
	SampleRate float64 `yaml:"sample_rate"`
}

// Capture samples incoming requests into rotating JSONL files for replay
// by load tests. Off unless File is set.
type Capture struct {
	// File is the live capture file; rotated copies get .1, .2, ...
	File string `yaml:"file"`
	// Rate is the share of valid requests captured, 0..1.
	Rate float64 `yaml:"rate"`
	// MaxBytes rotates the file past this size.
	MaxBytes int64 `yaml:"max_bytes"`
	// Keep is how many rotated files are kept.
	Keep int `yaml:"keep"`
	// Raw keeps IPs and user identifiers as sent; by default they are
	// scrubbed (IPs to /24 and /48, identifiers to keyed hashes).
	Raw bool `yaml:"raw"`
}

// Notices configures the exchange's own win, billing and loss notices:
// the nurl, burl and lurl of each bid returned to an SSP point at adx's
// public /win, /bill and /loss, each with a signed token, and adx fires
// the demand partner's own notice when the SSP fires the exchange's.
type Notices struct {
	// BaseURL is the public URL the SSPs reach adx at, for example
	// https://adx.example.com; the notice URLs are built on it. Empty:
	// http:// and the Host header of the bid request.
	BaseURL string `yaml:"base_url"`
	// Keys sign the notice tokens: the first signs, every one verifies, so
	// that a key rotates by adding the new one first and removing the old
	// one once its tokens have expired. Empty: a random key made at start,
	// which no other instance shares and no restart keeps (a warning is
	// logged); set keys wherever more than one instance serves.
	Keys []NoticeKey `yaml:"keys"`
	// TTL is how long a notice URL stays valid after the auction.
	TTL Duration `yaml:"ttl"`
	// ReplayMax bounds the notices remembered to refuse a second firing of
	// one token while it is valid. When full, new notices are refused with
	// 503 (the SSP retries) rather than forgotten.
	ReplayMax int `yaml:"replay_max"`
	// QueueSize bounds the demand partners' notices waiting to be fired.
	QueueSize int `yaml:"queue_size"`
	// Workers fire the demand partners' notices in parallel.
	Workers int `yaml:"workers"`
	// Timeout bounds one firing of a demand partner's notice.
	Timeout Duration `yaml:"timeout"`
	// BillAttempts is how many times a billing notice is fired before it
	// is given up (counted); win and loss notices are fired once.
	BillAttempts int `yaml:"bill_attempts"`
	// RetryBackoff is the wait before the first retry of a billing notice;
	// it doubles with each retry, with jitter, up to a minute.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// FireLosses fires the loss notice (lurl) of each demand partner bid
	// that lost adx's own auction, with its OpenRTB loss reason (102
	// outbid, 103 outbid by a deal, or the drop reason's code) and the
	// price it needed to win.
	FireLosses bool `yaml:"fire_losses"`
}

// NoticeKey is one notice signing key: an id that goes into each token it
// signs and a secret of at least 32 bytes, inline or read from a file (a
// mounted Kubernetes secret).
type NoticeKey struct {
	// ID names the key in the tokens: letters, digits, '-' and '_'.
	ID string `yaml:"id"`
	// Secret is the key itself. It is a secret and is redacted by
	// `adx config print`.
	Secret string `yaml:"secret"`
	// SecretFile is a file holding the secret, instead of Secret;
	// surrounding white space is trimmed.
	SecretFile string `yaml:"secret_file"`
}

// Event sinks.
const (
	SinkFile  = "file"  // rotating local files
	SinkKafka = "kafka" // a Kafka topic
)

// Events configures the event stream: auctions (sampled), wins, bills and
// losses, each one JSON object, to a rotating local file or to Kafka, with
// an on-disk spill when the sink is slow or down.
type Events struct {
	// Sink is "file" (the default) or "kafka".
	Sink string `yaml:"sink"`
	// AuctionSample is the share of auctions recorded as events, 0..1.
	// Wins, bills and losses are always recorded.
	AuctionSample float64 `yaml:"auction_sample"`
	// Buffer bounds the events held in memory on their way to the sink.
	Buffer int `yaml:"buffer"`
	// SpillDir holds the events the sink could not take in time, replayed
	// in order when it recovers or at the next start. Empty: "spill" beside
	// the event file.
	SpillDir string `yaml:"spill_dir"`
	// SpillMaxBytes bounds the spill; past it sampled auction events are
	// dropped (counted) while wins, bills and losses still spill.
	SpillMaxBytes int64 `yaml:"spill_max_bytes"`
	// SinkTimeout bounds one write to the sink; a slower one is treated as
	// a failure and its events spill.
	SinkTimeout Duration `yaml:"sink_timeout"`
	// File is the local file sink.
	File EventFile `yaml:"file"`
	// Kafka is the Kafka sink.
	Kafka Kafka `yaml:"kafka"`
}

// EventFile is the rotating local event file.
type EventFile struct {
	// Path is the live file; rotated copies get .1, .2, ... A relative
	// path is from the working directory.
	Path string `yaml:"path"`
	// MaxBytes rotates the file past this size.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxAge rotates the file when it is this old.
	MaxAge Duration `yaml:"max_age"`
	// Keep is how many rotated files are kept; 0 keeps them all.
	Keep int `yaml:"keep"`
}

// Kafka is the Kafka event sink.
type Kafka struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string `yaml:"brokers"`
	// Topic receives the events, keyed by auction id.
	Topic string `yaml:"topic"`
	// ClientID names adx to the brokers.
	ClientID string `yaml:"client_id"`
	// TLS, when enabled, encrypts the connections.
	TLS KafkaTLS `yaml:"tls"`
	// SASL, when a mechanism is set, authenticates adx.
	SASL KafkaSASL `yaml:"sasl"`
}

// KafkaTLS configures TLS to the Kafka brokers.
type KafkaTLS struct {
	// Enabled turns TLS on; with no CA file the system roots verify.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName string `yaml:"server_name"`
}

// Kafka SASL mechanisms.
var KafkaSASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// KafkaSASL configures SASL authentication to the Kafka brokers.
type KafkaSASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL.
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user.
	Username string `yaml:"username"`
	// Password is the SASL password. It is a secret and is redacted by
	// `adx config print`.
	Password string `yaml:"password"`
	// PasswordFile is a file holding the password, instead of Password.
	PasswordFile string `yaml:"password_file"`
}

// Memory configures the Go soft memory limit.
type Memory struct {
	// LimitRatio is the share of the container's memory limit given to
	// the Go runtime as its soft limit, unless GOMEMLIMIT is set.
	LimitRatio float64 `yaml:"limit_ratio"`
}

// Admin configures the admin listener (metrics, pprof, probes, version).
// It never shares the public port.
type Admin struct {
	// Listen is the admin address; loopback by default.
	Listen string `yaml:"listen"`
}

// Auction holds the settings that shape every auction.
type Auction struct {
	// DefaultTmax is used when a request carries no tmax (or tmax 0).
	DefaultTmax Duration `yaml:"default_tmax"`
	// MaxTmax caps a request's tmax.
	MaxTmax Duration `yaml:"max_tmax"`
	// SafetyMargin is kept back from tmax for writing the answer:
	// deadline = arrival + tmax - safety_margin.
	SafetyMargin Duration `yaml:"safety_margin"`
	// Currency is the exchange's currency (ISO-4217): bids are ranked, and
	// margins taken, in it. Bids and floors in other currencies are
	// converted with the rates file (currency.file); without one they are
	// dropped (reason currency).
	Currency string `yaml:"currency"`
	// Type is the auction type for a request without at: 1 first price
	// (the winner pays its bid), 2 second price (the runner-up's price
	// plus Increment). A request's at of 1 or 2, and a deal's at, win over
	// it (docs/auction.md).
	Type int `yaml:"type"`
	// Increment is added to the runner-up's price in a second-price
	// auction, in the exchange currency (CPM).
	Increment float64 `yaml:"increment"`
	// DealPriority makes a deal bid win over any open-market bid on the
	// same imp; off, price alone decides.
	DealPriority bool `yaml:"deal_priority"`
	// TakeRate is the exchange's margin, a share of each bid in [0, 1): a
	// bid of 2.00 with a take rate of 0.15 is offered to the SSP at 1.70.
	// A demand partner's own take_rate overrides it.
	TakeRate float64 `yaml:"take_rate"`
	// PricePrecision is the step prices in the response are rounded down
	// to, in the response currency (CPM): 0.0001 keeps a hundredth of a
	// cent per thousand, which no SSP's floors are finer than.
	PricePrecision float64 `yaml:"price_precision"`
	// MaxImps is the most imps a request may hold; a request with more is
	// answered 400. Display and video requests carry a handful of imps
	// (a page's slots, a pod); 100 leaves room for the largest pages while
	// bounding the work one request can cause.
	MaxImps int `yaml:"max_imps"`
	// MaxBidsPerResponse is the most bids taken from one demand partner's
	// answer; the rest are dropped (reason too_many_bids). The default, 500,
	// is 5 bids per imp at the default max_imps (several seats and creatives
	// per imp), and checking 500 bids takes tens of microseconds, so that a
	// partner answering thousands of bids cannot push the auction past its
	// deadline.
	MaxBidsPerResponse int `yaml:"max_bids_per_response"`
	// MaxBidPrice is the highest CPM a bid may carry, in the exchange
	// currency; a bid above it is dropped (reason price_too_high). The
	// default, 1000, is about ten times the dearest CPMs paid (premium and
	// CTV video, around 100), yet catches a price sent in cents or micros,
	// or 1e308.
	MaxBidPrice float64 `yaml:"max_bid_price"`
}

// DSPClient shapes the pooled keep-alive HTTP connections adx holds to each
// openrtb demand partner (DSP).
type DSPClient struct {
	// MaxConns bounds the open connections to one DSP; a partner's own
	// demand[].max_conns overrides it (ForDemand). A call that finds them
	// all busy waits ConnWait for one.
	MaxConns int `yaml:"max_conns"`
	// IdleTimeout closes a pooled connection that has been idle this long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ConnWait is how long a call waits for a free connection when MaxConns
	// are busy; past it the call fails and counts as an error. 0 fails at
	// once. The wait comes out of the request's tmax.
	ConnWait Duration `yaml:"conn_wait"`
	// ReadBufferBytes is each connection's read buffer; a DSP answer's
	// headers must fit in it.
	ReadBufferBytes int `yaml:"read_buffer_bytes"`
	// WriteBufferBytes is each connection's write buffer; a larger request
	// body is written through it in pieces.
	WriteBufferBytes int `yaml:"write_buffer_bytes"`
}

// ForDemand returns the client settings of the openrtb partner d: these,
// with d's max_conns when it sets one.
func (c DSPClient) ForDemand(d *Demand) DSPClient {
	if d.MaxConns > 0 {
		c.MaxConns = d.MaxConns
	}
	return c
}

// Demand kinds.
const (
	DemandOpenRTB = "openrtb" // a DSP over HTTP
	DemandHouse   = "house"   // in-process line items
)

// Demand is one demand partner.
type Demand struct {
	// Name identifies the partner in metrics, logs and the response seat.
	Name string `yaml:"name"`
	// Type is "openrtb" or "house".
	Type string `yaml:"type"`
	// Disabled keeps the partner in the file but out of auctions.
	Disabled bool `yaml:"disabled"`

	// Endpoint is the DSP's OpenRTB URL (openrtb only).
	Endpoint string `yaml:"endpoint"`
	// Timeout is an upper bound for one call; the request's remaining tmax
	// may cut it shorter (openrtb only).
	Timeout Duration `yaml:"timeout"`
	// NetworkAllowance is taken off the tmax the DSP is sent, so that an
	// answer given at the end of the DSP's own budget still has time to
	// travel back; the auction itself still waits until its deadline. The
	// DSP is never sent less than 1ms (openrtb only).
	NetworkAllowance Duration `yaml:"network_allowance"`
	// Gzip sends the DSP its requests gzip-compressed (Content-Encoding:
	// gzip). Answers are taken gzip-compressed from every DSP, set or not
	// (openrtb only).
	Gzip bool `yaml:"gzip"`
	// OpenRTBVersion is the OpenRTB version the DSP speaks: "2.6" (or
	// empty, the default) is sent the request as it is; "2.5" is sent it
	// with the 2.6 fields moved to their 2.5 places (regs.ext.gdpr,
	// user.ext.eids, source.ext.schain...) and the 2.6-only fields left out
	// (openrtb only).
	OpenRTBVersion string `yaml:"openrtb_version"`
	// MaxConns bounds open connections to the DSP; 0 takes
	// dsp_client.max_conns (openrtb only).
	MaxConns int `yaml:"max_conns"`
	// Headers are sent with every call, for example an Authorization token.
	// Their values are secrets and are redacted by `adx config print`.
	Headers map[string]string `yaml:"headers"`
	// MediaTypes limits the imps sent to the DSP to these kinds (banner,
	// video, audio, native); empty means all.
	MediaTypes []string `yaml:"media_types"`
	// QPS caps the calls per second to the DSP (a token bucket holding one
	// second of calls); a request past it is not sent. 0: no cap
	// (openrtb only).
	QPS int `yaml:"qps"`
	// Breaker stops calling a DSP whose calls fail or time out too often,
	// and probes it back (openrtb only). On by default.
	Breaker Breaker `yaml:"breaker"`
	// Shaping spends the calls QPS allows on the requests most likely to
	// get a bid, once the cap binds (openrtb only). On by default when QPS
	// is set; no effect without it.
	Shaping Shaping `yaml:"shaping"`
	// Targeting is what the DSP wants to be sent; a request it does not
	// want is not sent (openrtb only). Empty: everything.
	Targeting Targeting `yaml:"targeting"`
	// BidMultiplier adjusts the partner's bid prices before ranking, in
	// (0, 1]: 0.9 for a partner known to bid gross of fees it keeps. 0
	// (unset) is 1. It cannot exceed 1: the SSP would be paid more than
	// the partner is charged.
	BidMultiplier float64 `yaml:"bid_multiplier"`
	// TakeRate overrides auction.take_rate for this partner, in [0, 1).
	TakeRate *float64 `yaml:"take_rate"`
	// PriceEncryption, when set, sends the partner its clearing price
	// (${AUCTION_PRICE}) encrypted with its keys instead of in the clear.
	PriceEncryption *PriceEncryption `yaml:"price_encryption"`

	// GVLID is the partner's vendor id in the IAB Europe Global Vendor
	// List, which the TCF consent string grants consent by; 0: none, so
	// that a TCF consent string never names it (openrtb only).
	GVLID int `yaml:"gvl_id"`
	// Privacy is the partner's own privacy settings (openrtb only).
	Privacy DemandPrivacy `yaml:"privacy"`

	// LineItems are the house partner's ads (house only).
	LineItems []LineItem `yaml:"line_items"`
}

// DemandPrivacy is one demand partner's privacy settings.
type DemandPrivacy struct {
	// GDPRBasisWithoutConsent says the exchange has a legal basis, outside
	// the TCF, to send the partner a GDPR request that carries no consent
	// string: under privacy.gdpr_without_consent "strict" such a request
	// is sent to the partners that have one (scrubbed) and to no other.
	GDPRBasisWithoutConsent bool `yaml:"gdpr_basis_without_consent"`
}

// What privacy.gdpr_without_consent may say.
const (
	// GDPRStrict sends a GDPR request without a consent string, scrubbed,
	// only to the partners with gdpr_basis_without_consent.
	GDPRStrict = "strict"
	// GDPRScrub sends it, scrubbed, to every partner.
	GDPRScrub = "scrub"
)

// Privacy is the exchange's privacy policy: what a request's privacy
// signals (COPPA, GDPR, US Privacy, limit ad tracking, ATT) remove from
// what each demand partner is sent, and which partners are not sent it.
type Privacy struct {
	// GDPRWithoutConsent is what a request under GDPR (regs.gdpr=1)
	// without a consent string gets: "strict" (the default) sends it,
	// without ids, with a truncated IP and rounded coordinates, only to
	// the demand partners with privacy.gdpr_basis_without_consent;
	// "scrub" sends it so to every partner.
	GDPRWithoutConsent string `yaml:"gdpr_without_consent"`
	// GVLFile is the IAB Europe Global Vendor List (vendor-list.json,
	// version 3), watched and reloaded; empty: none. With it, a demand
	// partner's basis for a TCF purpose counts only where the list
	// declares it for the partner's gvl_id (docs/privacy.md). A file that
	// cannot be loaded keeps /readyz at 503 until one loads. Read at
	// start: a change needs a restart.
	GVLFile string `yaml:"gvl_file"`
}

// Breaker is a demand partner's circuit breaker. Calls that fail (an
// error, or a timeout of a call sent with a fair share of its time left:
// at least half of it and at least 20ms, or half the DSP's timeout when
// that is shorter) are counted over the last Window; once at least
// MinRequests calls in it have ended and the failed share reaches
// FailureRatio, the breaker opens: the DSP is not called for OpenFor.
// Then HalfOpenProbes calls are let through: all succeeding (a bid or a
// no-bid) closes it, one failing opens it again. A zero field takes its
// default (WithDefaults).
type Breaker struct {
	// Disabled turns the breaker off: the DSP is always called.
	Disabled bool `yaml:"disabled"`
	// FailureRatio is the failed share of calls that opens the breaker,
	// in (0, 1]; default 0.5.
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests is the fewest calls in a window the ratio is judged on;
	// default 20.
	MinRequests int `yaml:"min_requests"`
	// Window is the span calls are counted over, sliding in 10 steps of
	// Window/10; default 10s.
	Window Duration `yaml:"window"`
	// OpenFor is how long an open breaker keeps the DSP uncalled before
	// probing it; default 5s.
	OpenFor Duration `yaml:"open_for"`
	// HalfOpenProbes is how many calls probe a DSP after OpenFor; default 3.
	HalfOpenProbes int `yaml:"half_open_probes"`
}

// WithDefaults returns b with each zero field set to its default.
func (b Breaker) WithDefaults() Breaker {
	if b.FailureRatio == 0 {
		b.FailureRatio = 0.5
	}
	if b.MinRequests == 0 {
		b.MinRequests = 20
	}
	if b.Window == 0 {
		b.Window = Duration(10 * time.Second)
	}
	if b.OpenFor == 0 {
		b.OpenFor = Duration(5 * time.Second)
	}
	if b.HalfOpenProbes == 0 {
		b.HalfOpenProbes = 3
	}
	return b
}

// Shaping is a QPS-capped demand partner's bid-rate-aware traffic
// shaping. adx learns the DSP's bid rate (the share of its calls answered
// with a bid) per bucket of requests (country x imp formats x device type
// x app or site) over Window. Once the requests on offer exceed the QPS
// cap, the calls go to the buckets with the highest bid rates first, but
// for an Exploration share of the cap, spent on the other buckets at
// random so that their rates are learnt again. Under the cap, every
// request is sent as without shaping. A zero field takes its default
// (WithDefaults).
type Shaping struct {
	// Disabled turns shaping off: past the cap, requests are sent first
	// come, first served.
	Disabled bool `yaml:"disabled"`
	// Window is the span bid rates and the requests on offer are counted
	// over, in 10 steps; default 30s.
	Window Duration `yaml:"window"`
	// Exploration is the share of the cap spent on requests below the
	// bid-rate threshold, in (0, 0.5]; default 0.05.
	Exploration float64 `yaml:"exploration"`
}

// WithDefaults returns s with each zero field set to its default.
func (s Shaping) WithDefaults() Shaping {
	if s.Window == 0 {
		s.Window = Duration(30 * time.Second)
	}
	if s.Exploration == 0 {
		s.Exploration = 0.05
	}
	return s
}

// Targeting is a demand partner's pretargeting: the requests and imps it
// wants to be sent. Every list is optional; an empty one admits all. A
// request fails a rule that needs a field it lacks (no country, no device
// type, no os), except that the bundle rules judge only app requests and
// the domain rules only site requests.
type Targeting struct {
	// Countries admits requests whose device.geo.country is one of these
	// ISO-3166-1 alpha-3 codes (USA, DEU), as OpenRTB carries it.
	Countries []string `yaml:"countries"`
	// DeviceTypes admits requests whose device.devicetype is one of these
	// (OpenRTB list 5.21, 1-7).
	DeviceTypes []int `yaml:"device_types"`
	// OS admits requests whose device.os is one of these, compared without
	// regard to case (iOS, Android).
	OS []string `yaml:"os"`
	// Formats are the imp kinds the DSP is sent (banner, video, audio,
	// native), narrowing media_types: other imps are removed.
	Formats []string `yaml:"formats"`
	// Sizes are "WxH" sizes: a banner or video imp none of whose sizes is
	// one of them is removed. Imps without a size, audio and native, stay.
	Sizes []string `yaml:"sizes"`
	// Inventory admits "app" requests, "site" requests, or both.
	Inventory []string `yaml:"inventory"`
	// Bundles admits app requests whose app.bundle is one of these.
	Bundles []string `yaml:"bundles"`
	// BlockBundles refuses app requests whose app.bundle is one of these.
	BlockBundles []string `yaml:"block_bundles"`
	// Domains admits site requests whose site.domain is one of these or a
	// subdomain of one.
	Domains []string `yaml:"domains"`
	// BlockDomains refuses site requests whose site.domain is one of these
	// or a subdomain of one.
	BlockDomains []string `yaml:"block_domains"`
}

// Inventory kinds of Targeting.Inventory.
var Inventory = []string{"app", "site"}

// PriceEncryption are one demand partner's keys for the encrypted price
// scheme of "decrypt price confirmations": web-safe base64 of 32 bytes
// each. They are secrets and are redacted by `adx config print`.
type PriceEncryption struct {
	// EncryptionKey keys the pad the price is XORed with.
	EncryptionKey string `yaml:"encryption_key"`
	// IntegrityKey keys the signature that proves the price untouched.
	IntegrityKey string `yaml:"integrity_key"`
}

// LineItem is one house ad.
type LineItem struct {
	// ID is the line item's id; it becomes the bid's crid unless Crid is set.
	ID string `yaml:"id"`
	// CPM is the bid price in the exchange currency per thousand.
	CPM float64 `yaml:"cpm"`
	// Sizes are "WxH" sizes the creative fits; empty fits any size.
	Sizes []string `yaml:"sizes"`
	// Formats are the media types it can fill: banner (default), video,
	// audio, native.
	Formats []string `yaml:"formats"`
	// Adm is the creative markup (HTML, VAST or native JSON).
	Adm string `yaml:"adm"`
	// Nurl is an optional win-notice URL.
	Nurl string `yaml:"nurl"`
	// Crid is the creative id; defaults to ID.
	Crid string `yaml:"crid"`
	// ADomain is the advertiser domain list.
	ADomain []string `yaml:"adomain"`
	// Countries targets device.geo.country (ISO-3166-1 alpha-3); empty
	// targets everywhere. A request without a country matches.
	Countries []string `yaml:"countries"`
	// DeviceTypes targets device.devicetype (OpenRTB list 5.21); empty
	// targets all. A request without a device type matches.
	DeviceTypes []int `yaml:"device_types"`
}

// Supply is one supply partner (SSP) sending requests.
type Supply struct {
	// Name identifies the SSP; requests name it in the path,
	// /openrtb2/auction/NAME, or with ?ssp=NAME.
	Name string `yaml:"name"`
	// Token, when set, must arrive as "Authorization: Bearer TOKEN".
	// It is a secret and is redacted by `adx config print`.
	Token string `yaml:"token"`
	// AllowIPs, when set, are the CIDR prefixes (IPv4 or IPv6; a bare
	// address is one host) the SSP's connections must come from. The
	// address checked is the TCP peer's: behind a load balancer that
	// proxies connections it is the balancer's.
	AllowIPs []string `yaml:"allow_ips"`
	// Disabled rejects the SSP's requests with 403.
	Disabled bool `yaml:"disabled"`

	// TmaxCap caps the SSP's tmax (and auction.default_tmax for its
	// requests without one); 0: no cap beyond auction.max_tmax.
	TmaxCap Duration `yaml:"tmax_cap"`
	// FloorMin raises each imp's bidfloor to at least this CPM, in the
	// exchange currency (auction.currency), on imps whose floor is in
	// that currency or absent; 0: none.
	FloorMin float64 `yaml:"floor_min"`
	// RateLimit bounds the SSP's requests per second (a token bucket that
	// holds one second's worth, at least one); past it a request is
	// answered 204 at once. 0: no limit.
	RateLimit float64 `yaml:"rate_limit"`
	// Test marks every request of the SSP test=1: demand partners must not
	// bill it.
	Test bool `yaml:"test"`
	// AuctionType is how the SSP's imps clear when neither the request nor
	// a deal says: 1 first price, 2 second price; 0: auction.type.
	AuctionType int `yaml:"auction_type"`
	// TakeRate is the exchange's margin on the SSP's inventory, in
	// [0, 1), in place of auction.take_rate; a demand partner with its own
	// take_rate keeps it (docs/auction.md). nil: auction.take_rate.
	TakeRate *float64 `yaml:"take_rate"`
	// Demand names the demand partners the SSP's requests may go to;
	// empty: all.
	Demand []string `yaml:"demand"`
	// BlockDemand names demand partners never called for the SSP.
	BlockDemand []string `yaml:"block_demand"`
	// Debug lets the SSP ask for a trace of each demand call in the
	// response's ext.debug by sending ext.debug: 1 in its request.
	Debug bool `yaml:"debug"`

	// SellerID is the SSP's id in the exchange's sellers.json and the sid
	// of the exchange's node in source.schain; empty: neither.
	SellerID string `yaml:"seller_id"`
	// SellerName is the seller's legal name in sellers.json.
	SellerName string `yaml:"seller_name"`
	// SellerDomain is the seller's business domain in sellers.json;
	// required unless IsConfidential.
	SellerDomain string `yaml:"seller_domain"`
	// SellerType is PUBLISHER, INTERMEDIARY or BOTH.
	SellerType string `yaml:"seller_type"`
	// IsConfidential keeps the seller's name and domain out of
	// sellers.json.
	IsConfidential bool `yaml:"is_confidential"`
}

// SellerTypes are the values supply[].seller_type may take (sellers.json
// 1.0).
var SellerTypes = []string{"PUBLISHER", "INTERMEDIARY", "BOTH"}

// Exchange is the exchange's own identity in the supply chain.
type Exchange struct {
	// Domain is the exchange's advertising system domain: the asi of the
	// node it appends to source.schain, and the domain buyers fetch
	// /sellers.json from. Required when a supply partner has a seller_id.
	Domain string `yaml:"domain"`
}

// Sellers is the part of the exchange's sellers.json (IAB Tech Lab
// sellers.json 1.0) that is not a seller.
type Sellers struct {
	// ContactEmail is the address to ask about the file.
	ContactEmail string `yaml:"contact_email"`
	// ContactAddress is the exchange's business address.
	ContactAddress string `yaml:"contact_address"`
	// Version is the sellers.json version: "1.0".
	Version string `yaml:"version"`
	// Identifiers are the exchange's business identifiers, such as its
	// TAG-ID or DUNS number.
	Identifiers []SellerIdentifier `yaml:"identifiers"`
}

// SellerIdentifier is one business identifier in sellers.json.
type SellerIdentifier struct {
	// Name is the identifier's kind, for example TAG-ID or DUNS.
	Name string `yaml:"name"`
	// Value is the identifier.
	Value string `yaml:"value"`
}

// Load reads a config file over the built-in defaults. An empty path means
// the embedded default document. The result is validated; an error names the
// file, the key and the problem.
func Load(path string) (*Config, error) {
	if path == "" {
		c, err := Parse(defaultYAML, "embedded default")
		if err != nil {
			return nil, fmt.Errorf("BUG: embedded default config: %w", err)
		}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config %q: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes one YAML document over the built-in defaults and validates
// it. source names the document in errors. A document's demand and supply
// lists replace the embedded default lists; settings it omits keep their
// defaults. Unknown keys are errors.
func Parse(data []byte, source string) (*Config, error) {
	c := Defaults()
	if err := decodeStrict(data, c); err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	c.Source = source
	c.Hash = hex.EncodeToString(sum[:])
	return c, nil
}

func decodeStrict(data []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cleanYAMLError(err)
	}
	if err := checkKeys(&doc, reflect.TypeFor[Config](), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		return nil // an empty document keeps every default
	}
	if err != nil {
		return cleanYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("the file holds more than one YAML document")
	}
	return nil
}

// cleanYAMLError turns yaml.v3's "yaml: unmarshal errors:\n  line 3: ..."
// into one line per problem.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// Defaults returns the built-in defaults beneath every config document: the
// settings, with no demand and no supply partners.
func Defaults() *Config {
	return &Config{
		HTTP: HTTP{
			Listen:       ":8080",
			MaxBodyBytes: 64 << 10,
			ReadTimeout:  Duration(5e9),
			WriteTimeout: Duration(5e9),
			IdleTimeout:  Duration(15e9),

			MaxHeaderBytes:      8 << 10,
			Concurrency:         0,
			MaxConnsPerIP:       1024,
			MaxInflight:         4096,
			SchedLatencyTarget:  Duration(5e6),
			ShedStatus:          204,
			ShedMemoryRatio:     0.9,
			InflightMemoryRatio: 0.6,
		},
		Geo: Geo{
			ReloadInterval: Duration(10e9),
			Block:          []string{"hosting_provider", "public_proxy", "tor_exit_node"},
		},
		DeviceDB: DeviceDB{ReloadInterval: Duration(10e9), FilterBots: true, CacheSize: 64 << 10},
		Currency: Currency{MaxAge: Duration(144 * time.Hour), ReloadInterval: Duration(10e9)},
		Shutdown: Shutdown{DrainDelay: Duration(5e9), Timeout: Duration(10e9)},
		Log:      Log{Level: "info"},
		Memory:   Memory{LimitRatio: 0.9},
		Capture:  Capture{Rate: 0.001, MaxBytes: 256 << 20, Keep: 5},
		Admin:    Admin{Listen: "127.0.0.1:9090"},
		Notices: Notices{
			TTL:          Duration(24 * time.Hour),
			ReplayMax:    1 << 20,
			QueueSize:    16 << 10,
			Workers:      16,
			Timeout:      Duration(2e9),
			BillAttempts: 10,
			RetryBackoff: Duration(500e6),
			FireLosses:   true,
		},
		Events: Events{
			Sink:          SinkFile,
			AuctionSample: 0.01,
			Buffer:        64 << 10,
			SpillMaxBytes: 1 << 30,
			SinkTimeout:   Duration(5e9),
			File:          EventFile{Path: "adx-events/events.jsonl", MaxBytes: 256 << 20, MaxAge: Duration(time.Hour), Keep: 48},
			Kafka:         Kafka{Topic: "adx-events", ClientID: "adx"},
		},
		Sellers: Sellers{Version: "1.0"},
		Privacy: Privacy{GDPRWithoutConsent: GDPRStrict},
		Reload:  Reload{Watch: true, Interval: Duration(30e9)},
		Auction: Auction{
			DefaultTmax:  Duration(200e6),
			MaxTmax:      Duration(1e9),
			SafetyMargin: Duration(10e6),
			Currency:     "USD",

			MaxImps:            100,
			MaxBidsPerResponse: 500,
			MaxBidPrice:        1000,
			Type:               1,
			Increment:          0.01,
			DealPriority:       true,
			PricePrecision:     0.0001,
		},
		DSPClient: DSPClient{
			MaxConns:         1024,
			IdleTimeout:      Duration(30e9),
			ConnWait:         Duration(10e6),
			ReadBufferBytes:  16 << 10,
			WriteBufferBytes: 4 << 10,
		},
	}
}

// Print writes the effective config as YAML with every secret redacted.
func (c *Config) Print(w io.Writer) error {
	r := *c
	r.Demand = make([]Demand, len(c.Demand))
	for i, d := range c.Demand {
		if len(d.Headers) > 0 {
			h := make(map[string]string, len(d.Headers))
			for k := range d.Headers {
				h[k] = redacted
			}
			d.Headers = h
		}
		if d.PriceEncryption != nil {
			d.PriceEncryption = &PriceEncryption{EncryptionKey: redacted, IntegrityKey: redacted}
		}
		r.Demand[i] = d
	}
	r.Supply = make([]Supply, len(c.Supply))
	for i, s := range c.Supply {
		if s.Token != "" {
			s.Token = redacted
		}
		r.Supply[i] = s
	}
	r.Notices.Keys = make([]NoticeKey, len(c.Notices.Keys))
	for i, k := range c.Notices.Keys {
		if k.Secret != "" {
			k.Secret = redacted
		}
		r.Notices.Keys[i] = k
	}
	if r.Events.Kafka.SASL.Password != "" {
		r.Events.Kafka.SASL.Password = redacted
	}
	fmt.Fprintf(w, "# source: %s\n# sha256: %s\n", c.Source, c.Hash)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&r); err != nil {
		return err
	}
	return enc.Close()
}

const redacted = "<redacted>"
