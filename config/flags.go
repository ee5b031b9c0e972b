package config

import (
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
	Usage string
	get   func(*Config) string
	set   func(*Config, string) error
}

// Settings lists every value that flags and ADX_* variables override.
var Settings = []Setting{
	{"http.listen", "public OpenRTB `address`", func(c *Config) string { return c.HTTP.Listen }, func(c *Config, v string) error { c.HTTP.Listen = v; return nil }},
	{"admin.listen", "admin `address` for metrics, pprof, probes and version; pass :9090 in a container", func(c *Config) string { return c.Admin.Listen }, func(c *Config, v string) error { c.Admin.Listen = v; return nil }},
	{"http.maxBodySize", "largest request body in `bytes`, after gzip inflation", func(c *Config) string { return strconv.Itoa(c.HTTP.MaxBodyBytes) }, intSetter(func(c *Config) *int { return &c.HTTP.MaxBodyBytes })},
	{"http.readTimeout", "time to read one request (`duration`)", func(c *Config) string { return c.HTTP.ReadTimeout.String() }, durSetter(func(c *Config) *Duration { return &c.HTTP.ReadTimeout })},
	{"http.writeTimeout", "time to write one response (`duration`)", func(c *Config) string { return c.HTTP.WriteTimeout.String() }, durSetter(func(c *Config) *Duration { return &c.HTTP.WriteTimeout })},
	{"http.idleTimeout", "keep-alive idle time before a connection is closed (`duration`)", func(c *Config) string { return c.HTTP.IdleTimeout.String() }, durSetter(func(c *Config) *Duration { return &c.HTTP.IdleTimeout })},
	{"auction.defaultTmax", "auction time when a request has no tmax (`duration`)", func(c *Config) string { return c.Auction.DefaultTmax.String() }, durSetter(func(c *Config) *Duration { return &c.Auction.DefaultTmax })},
	{"auction.maxTmax", "cap on a request's tmax (`duration`)", func(c *Config) string { return c.Auction.MaxTmax.String() }, durSetter(func(c *Config) *Duration { return &c.Auction.MaxTmax })},
	{"auction.safetyMargin", "time kept back from tmax to write the answer (`duration`)", func(c *Config) string { return c.Auction.SafetyMargin.String() }, durSetter(func(c *Config) *Duration { return &c.Auction.SafetyMargin })},
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
	values map[string]*string
}

// RegisterFlags defines one flag per Setting on fs, with the built-in
// default shown in its help.
func RegisterFlags(fs *flag.FlagSet) *Overrides {
	o := &Overrides{fs: fs, values: make(map[string]*string, len(Settings))}
	def := Defaults()
	for _, s := range Settings {
		o.values[s.Name] = fs.String(s.Name, s.get(def), s.Usage+" (env "+EnvName(s.Name)+")")
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
			if err := s.set(c, *o.values[s.Name]); err != nil {
				return fmt.Errorf("flag -%s=%q: %w", s.Name, *o.values[s.Name], err)
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

func intSetter(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		*field(c) = n
		return nil
	}
}

func durSetter(field func(*Config) *Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration such as 80ms")
		}
		*field(c) = Duration(d)
		return nil
	}
}
