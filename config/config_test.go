package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestEmbeddedDefault(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != ":8080" || c.Admin.Listen != "127.0.0.1:9090" {
		t.Errorf("listen %q admin %q, want :8080 and 127.0.0.1:9090", c.HTTP.Listen, c.Admin.Listen)
	}
	if len(c.Demand) == 0 || c.Demand[0].Type != DemandHouse {
		t.Errorf("embedded default has no house demand: %+v", c.Demand)
	}
	if c.Source != "embedded default" || len(c.Hash) != 64 {
		t.Errorf("source %q hash %q", c.Source, c.Hash)
	}
}

// TestEmbeddedDefaultHoldsOnlyPartners keeps every setting's default in
// Defaults alone: the embedded document may add demo partners, and a setting
// written there would be a second default, or one that `go run ./cmd/adx`
// alone sees.
func TestEmbeddedDefaultHoldsOnlyPartners(t *testing.T) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(DefaultYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	for key := range doc {
		if key != "demand" && key != "supply" {
			t.Errorf("default.yaml sets %s: settings' defaults belong in Defaults(), the embedded document holds only demand and supply partners", key)
		}
	}
	if _, ok := doc["demand"]; !ok {
		t.Error("default.yaml has no demand: a fresh adx would answer nothing")
	}
}

func TestDSPClientForDemand(t *testing.T) {
	c, err := Parse([]byte("dsp_client: {max_conns: 64}\ndemand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\"}\n  - {name: b, type: openrtb, endpoint: \"http://h/\", max_conns: 8}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DSPClient.ForDemand(&c.Demand[0]); got.MaxConns != 64 || got.IdleTimeout != Defaults().DSPClient.IdleTimeout {
		t.Errorf("partner without max_conns: %+v, want dsp_client's 64 and the default idle timeout", got)
	}
	if got := c.DSPClient.ForDemand(&c.Demand[1]); got.MaxConns != 8 || got.ReadBufferBytes != 16<<10 {
		t.Errorf("partner with max_conns 8: %+v", got)
	}
}

func TestFileKeepsDefaultsItOmits(t *testing.T) {
	c, err := Parse([]byte("demand:\n  - {name: dsp-a, type: openrtb, endpoint: \"http://127.0.0.1:9001/bid\", timeout: 120ms}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Demand) != 1 || c.Demand[0].Timeout.D() != 120*time.Millisecond {
		t.Errorf("demand %+v: the file's list must replace the default one", c.Demand)
	}
	if c.Auction.DefaultTmax.D() != 200*time.Millisecond || c.HTTP.MaxBodyBytes != 64<<10 {
		t.Errorf("omitted settings lost their defaults: %+v %+v", c.Auction, c.HTTP)
	}
	if c, err := Parse(nil, "empty.yaml"); err != nil || len(c.Demand) != 0 {
		t.Errorf("empty document: %v %+v", err, c)
	}
}

// TestErrorsNameTheKey checks that every rejected document's error names the
// file, the key and the problem.
func TestErrorsNameTheKey(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		rejects(t, doc, want...)
	}
	f("auction:\n  default_tmax: 200\n", "auction.default_tmax", "not a duration")
	f("auction:\n  defualt_tmax: 200ms\n", "auction.defualt_tmax", "unknown key", "default_tmax")
	f("bogus: 1\n", "bogus", "unknown key")
	f("demand:\n  - {name: a, type: openrtb, endpoint: x}\n", "demand[0].endpoint", "http")
	f("demand:\n  - {name: a, type: dsp}\n", "demand[0].type", "unknown")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", timeout: soon}\n", "demand[0].timeout", "not a duration")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", colour: red}\n", "demand[0].colour", "unknown key")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\"}\n  - {name: a, type: openrtb, endpoint: \"http://h/\"}\n", "demand[1].name", "already")
	f("demand:\n  - {name: h, type: house}\n", "demand[0].line_items")
	f("demand:\n  - {name: h, type: house, line_items: [{id: x, cpm: 0, adm: a}]}\n", "demand[0].line_items[0].cpm")
	f("demand:\n  - {name: h, type: house, line_items: [{id: x, cpm: 1}]}\n", "demand[0].line_items[0].adm")
	f("demand:\n  - {name: h, type: house, line_items: [{id: x, cpm: 1, adm: a, sizes: [300-250]}]}\n", "demand[0].line_items[0].sizes[0]")
	f("demand:\n  - {name: h, type: house, line_items: [{id: x, cpm: 1, adm: a, countries: [US]}]}\n", "demand[0].line_items[0].countries[0]", "alpha-3")
	f("demand:\n  - {name: h, type: house, line_items: [{id: x, cpm: 1, adm: a, formats: [popup]}]}\n", "demand[0].line_items[0].formats[0]")
	f("auction: {currency: usd}\n", "auction.currency")
	f("auction: {default_tmax: 2s}\n", "auction.default_tmax", "max_tmax")
	f("auction: {safety_margin: 300ms}\n", "auction.safety_margin")
	f("auction: {max_imps: 0}\n", "auction.max_imps")
	f("auction: {max_imps: -5}\n", "auction.max_imps")
	f("auction: {max_bids_per_response: 0}\n", "auction.max_bids_per_response")
	f("auction: {max_bids_per_response: -1}\n", "auction.max_bids_per_response")
	f("auction: {max_bid_price: 0}\n", "auction.max_bid_price")
	f("auction: {max_bid_price: -1}\n", "auction.max_bid_price")
	f("auction: {max_bid_price: .inf}\n", "auction.max_bid_price")
	f("auction: {max_bid_price: .nan}\n", "auction.max_bid_price")
	f("dsp_client: {max_conns: 0}\n", "dsp_client.max_conns")
	f("dsp_client: {idle_timeout: 0s}\n", "dsp_client.idle_timeout", "positive")
	f("dsp_client: {conn_wait: -1ms}\n", "dsp_client.conn_wait")
	f("dsp_client: {read_buffer_bytes: 100}\n", "dsp_client.read_buffer_bytes")
	f("dsp_client: {write_buffer_bytes: 2000000}\n", "dsp_client.write_buffer_bytes")
	f("dsp_client: {max_cons: 5}\n", "dsp_client.max_cons", "unknown key", "max_conns")
	f("currency: {max_age: 0s}\n", "currency.max_age", "positive")
	f("currency: {max_age: 3}\n", "currency.max_age", "not a duration")
	f("currency: {reload_interval: -1s}\n", "currency.reload_interval", "negative")
	f("currency: {path: rates.xml}\n", "currency.path", "unknown key", "file")
	f("http: {listen: nowhere}\n", "http.listen")
	f("http: {max_body_bytes: 10}\n", "http.max_body_bytes")
	f("http: {shed_memory_ratio: 1}\n", "http.shed_memory_ratio")
	f("http: {shed_memory_ratio: -0.1}\n", "http.shed_memory_ratio")
	f("http: {inflight_memory_ratio: 1.5}\n", "http.inflight_memory_ratio")
	f("http: {inflight_memory_ratio: .nan}\n", "http.inflight_memory_ratio")
	f("http: {concurrency: -1}\n", "http.concurrency", "0 derives it")
	f("http: {max_conns_per_ip: -1}\n", "http.max_conns_per_ip", "0 means no bound")
	f("http: {idle_timeout: 0s}\n", "http.idle_timeout", "positive")
	f("admin: {listen: \":8080\"}\n", "admin.listen", "differ")
	f("supply:\n  - {name: \"\"}\n", "supply[0].name")
	const key = "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o="
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", price_encryption: {integrity_key: "+key+"}}\n", "demand[0].price_encryption.encryption_key", "missing")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", price_encryption: {encryption_key: "+key+", integrity_key: \"arO23ykdNqUQ5LEo\"}}\n", "demand[0].price_encryption.integrity_key", "12 bytes")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", price_encryption: {encryption_key: \"skU7Ax/NL5pPAFyKdkfZjZz2+VhIN8bjj1rVFOaJ/5o=\", integrity_key: "+key+"}}\n", "demand[0].price_encryption.encryption_key", "web-safe")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", price_encryption: {encryption_key: "+key+", integrity_key: \"<redacted>\"}}\n", "demand[0].price_encryption.integrity_key", "redacted")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", price_encryption: {encryption_key: "+key+", integrity_key: "+key+", iv: 1}}\n", "demand[0].price_encryption.iv", "unknown key")
	f("notices: {base_url: \"ftp://adx.example\"}\n", "notices.base_url")
	f("notices: {base_url: \"https://adx.example/?a=1\"}\n", "notices.base_url")
	f("notices: {ttl: 30s}\n", "notices.ttl", "1m..720h")
	f("notices: {replay_max: 10}\n", "notices.replay_max")
	f("notices: {workers: 0}\n", "notices.workers")
	f("notices: {bill_attempts: 0}\n", "notices.bill_attempts")
	f("notices: {keys: [{id: \"a.b\", secret: 0123456789abcdef0123456789abcdef}]}\n", "notices.keys[0].id")
	f("notices: {keys: [{id: k, secret: short}]}\n", "notices.keys[0].secret", "at least 32")
	f("notices: {keys: [{id: k}]}\n", "notices.keys[0]", "one of secret and secret_file")
	f("notices: {keys: [{id: k, secret_file: /a}, {id: k, secret_file: /b}]}\n", "notices.keys[1].id", "duplicated")
	f("events: {sink: s3}\n", "events.sink")
	f("events: {auction_sample: 2}\n", "events.auction_sample")
	f("events: {buffer: 1}\n", "events.buffer")
	f("events: {sink_timeout: 0s}\n", "events.sink_timeout")
	f("events: {file: {path: \"\"}}\n", "events.file.path")
	f("events: {sink: kafka}\n", "events.kafka.brokers")
	f("events: {kafka: {brokers: [kafka]}}\n", "events.kafka.brokers[0]")
	f("events: {kafka: {tls: {cert_file: /c}}}\n", "events.kafka.tls", "together")
	f("events: {kafka: {sasl: {mechanism: GSSAPI, username: u, password: p}}}\n", "events.kafka.sasl.mechanism")
	f("events: {kafka: {sasl: {mechanism: PLAIN, password: p}}}\n", "events.kafka.sasl.username")
	f("demand: {name: a}\n", "demand", "list")
	f("auction: [1]\n", "auction", "mapping")
	f("a: b: c\n", "mapping values")
	f("---\n---\nx: 1\n", "more than one")
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("error %v, want it to name missing.yaml", err)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "adx.yaml")
	if err := os.WriteFile(path, []byte("http: {listen: \":7000\", read_timeout: 3s}\nauction: {default_tmax: 150ms, safety_margin: 20ms}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ADX_HTTP_LISTEN": ":7001", "ADX_AUCTION_DEFAULTTMAX": "120ms", "ADX_AUCTION_MAXBIDSPERRESPONSE": "50", "ADX_CURRENCY_FILE": "/data/eurofxref-daily.xml"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ov := RegisterFlags(fs)
	if err := fs.Parse([]string{"-http.listen", ":7002", "-auction.maxImps", "7", "-currency.maxAge", "96h"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.Apply(c, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what, got, want string
	}{
		{"flag over env over file", c.HTTP.Listen, ":7002"},
		{"env over file", c.Auction.DefaultTmax.String(), "120ms"},
		{"file over default", c.HTTP.ReadTimeout.String(), "3s"},
		{"file over default", c.Auction.SafetyMargin.String(), "20ms"},
		{"default", c.Auction.MaxTmax.String(), "1s"},
		{"flag", strconv.Itoa(c.Auction.MaxImps), "7"},
		{"env", strconv.Itoa(c.Auction.MaxBidsPerResponse), "50"},
		{"default", strconv.FormatFloat(c.Auction.MaxBidPrice, 'g', -1, 64), "1000"},
		{"env", c.Currency.File, "/data/eurofxref-daily.xml"},
		{"flag", c.Currency.MaxAge.String(), "96h0m0s"},
		{"default", c.Currency.ReloadInterval.String(), "10s"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %s, want %s", ch.what, ch.got, ch.want)
		}
	}

	// A bad override is rejected naming its variable.
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	ov = RegisterFlags(fs)
	_ = fs.Parse(nil)
	err = ov.Apply(Defaults(), func(k string) string {
		if k == "ADX_AUCTION_MAXTMAX" {
			return "forever"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "ADX_AUCTION_MAXTMAX") {
		t.Errorf("bad env value: error %v, want it to name ADX_AUCTION_MAXTMAX", err)
	}
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{"http.maxInflight": "ADX_HTTP_MAXINFLIGHT", "admin.listen": "ADX_ADMIN_LISTEN", "config": "ADX_CONFIG"} {
		if got := EnvName(flagName); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	c, err := Parse([]byte(`
supply: [{name: ssp-a, token: hunter2}]
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "https://dsp.example/bid"
    headers: {Authorization: "Bearer topsecret"}
`), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "hunter2") || strings.Contains(s, "topsecret") {
		t.Errorf("secrets printed:\n%s", s)
	}
	if !strings.Contains(s, "<redacted>") || !strings.Contains(s, "https://dsp.example/bid") {
		t.Errorf("print lost redaction marks or settings:\n%s", s)
	}
	// The printed document is itself a valid config.
	if _, err := Parse([]byte(s), "printed"); err != nil {
		t.Errorf("printed config does not parse: %v", err)
	}
}

// TestPrintRedactsPriceKeys: price encryption keys are secrets, and a
// printed config holding them redacted refuses to run rather than run with
// the wrong keys.
func TestPrintRedactsPriceKeys(t *testing.T) {
	const enc, integ = "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=", "arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo"
	c, err := Parse([]byte(`
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "https://dsp.example/bid"
    price_encryption: {encryption_key: "`+enc+`", integrity_key: "`+integ+`"}
`), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, enc) || strings.Contains(s, integ) {
		t.Errorf("keys printed:\n%s", s)
	}
	if !strings.Contains(s, "encryption_key: <redacted>") || !strings.Contains(s, "integrity_key: <redacted>") {
		t.Errorf("print lost the redacted keys:\n%s", s)
	}
	if _, err := Parse([]byte(s), "printed"); err == nil || !strings.Contains(err.Error(), "demand[0].price_encryption.encryption_key") {
		t.Errorf("printed config with redacted keys: %v, want an error naming the key", err)
	}
	if c.Demand[0].PriceEncryption.EncryptionKey != enc {
		t.Error("Print changed the config it printed")
	}
}

// TestPrintRedactsTrailSecrets: the notice signing keys and the Kafka
// password are secrets; a printed config holding them redacted refuses to
// run rather than sign or log in with the redaction mark.
func TestPrintRedactsTrailSecrets(t *testing.T) {
	const secret, password = "0123456789abcdef0123456789abcdef-notice", "kafka-pass-word"
	c, err := Parse([]byte(`
notices:
  keys: [{id: k1, secret: "`+secret+`"}, {id: k0, secret_file: /secrets/k0}]
events:
  kafka:
    brokers: ["kafka:9092"]
    sasl: {mechanism: PLAIN, username: adx, password: "`+password+`"}
`), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, secret) || strings.Contains(s, password) {
		t.Errorf("secrets printed:\n%s", s)
	}
	if !strings.Contains(s, "secret_file: /secrets/k0") {
		t.Errorf("print lost a secret file's path:\n%s", s)
	}
	if _, err := Parse([]byte(s), "printed"); err == nil || !strings.Contains(err.Error(), "notices.keys[0].secret") {
		t.Errorf("printed config with a redacted key: %v, want an error naming it", err)
	}
	c.Notices.Keys = nil
	out.Reset()
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out.Bytes(), "printed"); err == nil || !strings.Contains(err.Error(), "events.kafka.sasl.password") {
		t.Errorf("printed config with a redacted password: %v, want an error naming it", err)
	}
	if c.Events.Kafka.SASL.Password != password {
		t.Error("Print changed the config it printed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("auction: {default_tmax: 80ms}\ndemand: [{name: a, type: house, line_items: [{id: x, cpm: 1, adm: a}]}]\n"))
	f.Add([]byte("demand: &a [1]\nsupply: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz")
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that Validate rejects: %v", verr)
			}
		}
	})
}

// TestDocumentedExampleIsValid keeps docs/config.md's full example in step
// with the code.
func TestDocumentedExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Full example\n\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/config.md has no full example block")
	}
	c, err := Parse([]byte(example), "docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Demand) != 3 || len(c.Supply) != 3 {
		t.Errorf("example parsed to %d demand and %d supply partners, want 3 and 3", len(c.Demand), len(c.Supply))
	}
}

// TestEveryFlagIsDocumented keeps docs/config.md's flag table complete.
func TestEveryFlagIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(doc), "`-"+s.Name+"` | `"+EnvName(s.Name)+"`") {
			t.Errorf("docs/config.md has no row for -%s / %s", s.Name, EnvName(s.Name))
		}
	}
}

// TestExampleConfigsAreValid keeps examples/*.yaml loadable.
func TestExampleConfigsAreValid(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples/*.yaml")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Error(err)
		}
	}
}

// rejects checks that the config document doc is refused with an error
// naming the file and holding each of want.
func rejects(t *testing.T, doc string, want ...string) {
	t.Helper()
	_, err := Parse([]byte(doc), "bad.yaml")
	if err == nil {
		t.Errorf("%q: accepted, want an error", doc)
		return
	}
	for _, w := range append(want, "bad.yaml") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q: error %q, want it to contain %q", doc, err, w)
		}
	}
}
