package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Setting is one config value that a flag and an environment variable can
// override. Its flag is -Name; its environment variable is EnvName(Name).
type Setting struct {
	// Name is the dotted camelCase flag name, for example "http.listen".
	Name string
	// Usage is the flag's help text; the default is appended.
	Usage  string
	get    func(*Config) string
	set    func(*Config, string) error
	isBool bool
}

// Settings lists every value that flags and ADX_* variables override.
var Settings = []Setting{
	str("http.listen", "public OpenRTB `address`", func(c *Config) *string { return &c.HTTP.Listen }),
	str("admin.listen", "admin `address` for metrics, pprof, probes and version; pass :9090 in a container", func(c *Config) *string { return &c.Admin.Listen }),
	integer("http.maxBodySize", "largest request body in `bytes`, after gzip inflation", func(c *Config) *int { return &c.HTTP.MaxBodyBytes }),
	integer("http.maxHeaderSize", "largest request header block in `bytes`", func(c *Config) *int { return &c.HTTP.MaxHeaderBytes }),
	dur("http.readTimeout", "time to read one request (`duration`)", func(c *Config) *Duration { return &c.HTTP.ReadTimeout }),
	dur("http.writeTimeout", "time to write one response (`duration`)", func(c *Config) *Duration { return &c.HTTP.WriteTimeout }),
	dur("http.idleTimeout", "keep-alive idle time before a connection is closed (`duration`)", func(c *Config) *Duration { return &c.HTTP.IdleTimeout }),
	integer("http.concurrency", "most `connections` open at once; 0 = from the file descriptor limit", func(c *Config) *int { return &c.HTTP.Concurrency }),
	integer("http.maxConnsPerIP", "most `connections` one client address (IPv6: /64) holds at once; 0 = no bound (behind a proxying load balancer)", func(c *Config) *int { return &c.HTTP.MaxConnsPerIP }),
	integer("http.maxInflight", "most concurrent auctions; past it requests are shed at once (`count`)", func(c *Config) *int { return &c.HTTP.MaxInflight }),
	dur("http.schedLatencyTarget", "adaptive admission: shed auctions while the Go scheduler latency p99 is above this (`duration`); 0 = off", func(c *Config) *Duration { return &c.HTTP.SchedLatencyTarget }),
	integer("http.shedStatus", "HTTP `status` for a shed request: 204 (no bid) or 503", func(c *Config) *int { return &c.HTTP.ShedStatus }),
	float("http.inflightMemoryRatio", "share of the Go memory limit running auctions may hold, estimated from request sizes; 0 = no bound (`ratio`)", func(c *Config) *float64 { return &c.HTTP.InflightMemoryRatio }),
	float("http.shedMemoryRatio", "shed new auctions while unfreeable memory is this share of the Go memory limit; 0 = off (`ratio`)", func(c *Config) *float64 { return &c.HTTP.ShedMemoryRatio }),
	integer("http.backlog", "listen backlog (`connections`); 0 means net.core.somaxconn", func(c *Config) *int { return &c.HTTP.Backlog }),
	boolean("http.reusePort", "set SO_REUSEPORT on the public listener", func(c *Config) *bool { return &c.HTTP.ReusePort }),
	dur("auction.defaultTmax", "auction time when a request has no tmax (`duration`)", func(c *Config) *Duration { return &c.Auction.DefaultTmax }),
	dur("auction.maxTmax", "cap on a request's tmax (`duration`)", func(c *Config) *Duration { return &c.Auction.MaxTmax }),
	dur("auction.safetyMargin", "time kept back from tmax to write the answer (`duration`)", func(c *Config) *Duration { return &c.Auction.SafetyMargin }),
	integer("auction.maxImps", "most imps in a request; more get 400 (`count`)", func(c *Config) *int { return &c.Auction.MaxImps }),
	integer("auction.maxBidsPerResponse", "most bids taken from one demand partner's answer; the rest are dropped (`count`)", func(c *Config) *int { return &c.Auction.MaxBidsPerResponse }),
	float("auction.maxBidPrice", "highest bid CPM in the exchange currency; dearer bids are dropped (`price`)", func(c *Config) *float64 { return &c.Auction.MaxBidPrice }),
	boolean("reload.watch", "watch the -config file for changes and apply them live", func(c *Config) *bool { return &c.Reload.Watch }),
	dur("reload.interval", "also poll the -config file for changes this often (`duration`); 0 = off", func(c *Config) *Duration { return &c.Reload.Interval }),
	dur("shutdown.drainDelay", "on SIGTERM, time to keep serving after /readyz turns 503 (`duration`)", func(c *Config) *Duration { return &c.Shutdown.DrainDelay }),
	dur("shutdown.timeout", "on SIGTERM, longest wait for in-flight auctions once accepting stops (`duration`)", func(c *Config) *Duration { return &c.Shutdown.Timeout }),
	str("currency.file", "exchange rates `file`, JSON or the ECB's eurofxref-daily.xml; empty: the exchange currency alone", func(c *Config) *string { return &c.Currency.File }),
	dur("currency.maxAge", "rates older than this (from their date) are stale: no conversion (`duration`)", func(c *Config) *Duration { return &c.Currency.MaxAge }),
	str("log.level", "log `level`: debug, info, warn or error", func(c *Config) *string { return &c.Log.Level }),
	float("log.sampleRate", "share of requests logged, one JSON line each (`0..1`)", func(c *Config) *float64 { return &c.Log.SampleRate }),
	str("capture.file", "capture sampled requests to this JSONL `file` (rotated); empty: off", func(c *Config) *string { return &c.Capture.File }),
	float("capture.rate", "share of valid requests captured (`0..1`)", func(c *Config) *float64 { return &c.Capture.Rate }),
	str("notices.baseURL", "public `URL` SSPs reach adx at, for the notice URLs; empty: http:// and the request's Host", func(c *Config) *string { return &c.Notices.BaseURL }),
	dur("notices.ttl", "how long a notice URL stays valid (`duration`)", func(c *Config) *Duration { return &c.Notices.TTL }),
	str("events.sink", "event `sink`: file or kafka", func(c *Config) *string { return &c.Events.Sink }),
	float("events.auctionSample", "share of auctions recorded as events; wins, bills and losses always are (`0..1`)", func(c *Config) *float64 { return &c.Events.AuctionSample }),
	str("events.file", "event `file` (rotated) for the file sink", func(c *Config) *string { return &c.Events.File.Path }),
	str("events.spillDir", "`directory` for events the sink cannot take in time; empty: spill beside the event file", func(c *Config) *string { return &c.Events.SpillDir }),
	str("privacy.gvlFile", "`path` of the IAB Europe Global Vendor List (vendor-list.json); empty: none", func(c *Config) *string { return &c.Privacy.GVLFile }),
	str("privacy.gdprWithoutConsent", "`mode` for a GDPR request without a consent string: strict (sent scrubbed to the demand partners with a basis only) or scrub (to all)", func(c *Config) *string { return &c.Privacy.GDPRWithoutConsent }),
	float("memory.limitRatio", "share of the container memory limit set as the Go soft limit, unless GOMEMLIMIT is set (`ratio`)", func(c *Config) *float64 { return &c.Memory.LimitRatio }),
}

func str(name, usage string, field func(*Config) *string) Setting {
	return Setting{Name: name, Usage: usage,
		get: func(c *Config) string { return *field(c) },
		set: func(c *Config, v string) error { *field(c) = v; return nil },
	}
}

func integer(name, usage string, field func(*Config) *int) Setting {
	return Setting{Name: name, Usage: usage,
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("not an integer")
			}
			*field(c) = n
			return nil
		},
	}
}

func float(name, usage string, field func(*Config) *float64) Setting {
	return Setting{Name: name, Usage: usage,
		get: func(c *Config) string { return strconv.FormatFloat(*field(c), 'g', -1, 64) },
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return errors.New("not a number")
			}
			*field(c) = f
			return nil
		},
	}
}

func boolean(name, usage string, field func(*Config) *bool) Setting {
	return Setting{isBool: true, Name: name, Usage: usage,
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("not true or false")
			}
			*field(c) = b
			return nil
		},
	}
}

func dur(name, usage string, field func(*Config) *Duration) Setting {
	return Setting{Name: name, Usage: usage,
		get: func(c *Config) string { return field(c).String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("not a duration such as 80ms")
			}
			*field(c) = Duration(d)
			return nil
		},
	}
}

// EnvName returns the environment variable that overrides the flag name:
// "ADX_" plus the name in upper case with dots as underscores, so
// http.maxInflight becomes ADX_HTTP_MAXINFLIGHT.
func EnvName(flagName string) string {
	return "ADX_" + strings.ToUpper(strings.ReplaceAll(flagName, ".", "_"))
}

// Overrides collects the values of the Settings flags on one FlagSet.
type Overrides struct {
	fs     *flag.FlagSet
	values map[string]*flagValue
}

// flagValue is a Setting's flag: a string that remembers whether it is a
// boolean, so that "-http.reusePort" alone means true.
type flagValue struct {
	v      string
	isBool bool
}

func (f *flagValue) String() string { return f.v }

func (f *flagValue) Set(v string) error { f.v = v; return nil }

func (f *flagValue) IsBoolFlag() bool { return f.isBool }

// RegisterFlags defines one flag per Setting on fs, with the built-in
// default shown in its help.
func RegisterFlags(fs *flag.FlagSet) *Overrides {
	o := &Overrides{fs: fs, values: make(map[string]*flagValue, len(Settings))}
	def := Defaults()
	for _, s := range Settings {
		v := &flagValue{v: s.get(def), isBool: s.isBool}
		o.values[s.Name] = v
		fs.Var(v, s.Name, s.Usage+" (env "+EnvName(s.Name)+")")
	}
	return o
}

// Apply writes onto c, in order, the ADX_* environment variables that are
// set and then the flags given on the command line, and validates the
// result. getenv is os.Getenv outside tests.
func (o *Overrides) Apply(c *Config, getenv func(string) string) error {
	given := make(map[string]bool)
	o.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range Settings {
		if v := getenv(EnvName(s.Name)); v != "" && !given[s.Name] {
			if err := s.set(c, v); err != nil {
				return fmt.Errorf("environment %s=%q: %w", EnvName(s.Name), v, err)
			}
		}
	}
	for _, s := range Settings {
		if given[s.Name] {
			if err := s.set(c, o.values[s.Name].v); err != nil {
				return fmt.Errorf("flag -%s=%q: %w", s.Name, o.values[s.Name].v, err)
			}
		}
	}
	return c.Validate()
}

// ConfigPath returns the -config flag's value, or ADX_CONFIG when the flag
// was not given.
func ConfigPath(fs *flag.FlagSet, flagValue string, getenv func(string) string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "config" })
	if given {
		return flagValue
	}
	return getenv(EnvName("config"))
}
