package events

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/adx-exchange/adx/config"
)

// KafkaOptions configures the Kafka sink.
type KafkaOptions struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// Topic receives the events, keyed by Record.Key.
	Topic string
	// ClientID names adx to the brokers; empty: franz-go's default.
	ClientID string
	// TLS encrypts the connections to the brokers; nil: plain TCP.
	TLS *tls.Config
	// SASL authenticates adx to the brokers (franz-go's pkg/sasl/plain or
	// pkg/sasl/scram); nil: no authentication.
	SASL sasl.Mechanism
	// Log receives the client's warnings and errors (broker unreachable,
	// produce retries); nil: they are discarded.
	Log *slog.Logger

	// extra are more client options; tests use them to shorten timings.
	extra []kgo.Opt
}

// KafkaOptionsFromConfig builds the sink's options from the config: the TLS
// config from the CA file, the client certificate and key and the server
// name, and the SASL mechanism with its password. It reads the files now
// so that a bad one stops the start; errors name the file and the problem.
// A password file is read again for every new connection, so a rotated
// secret is picked up without a restart.
func KafkaOptionsFromConfig(c *config.Kafka) (KafkaOptions, error) {
	o := KafkaOptions{
		Brokers:  c.Brokers,
		Topic:    c.Topic,
		ClientID: c.ClientID,
	}
	if c.TLS.Enabled {
		tc, err := kafkaTLS(&c.TLS)
		if err != nil {
			return KafkaOptions{}, err
		}
		o.TLS = tc
	}
	if c.SASL.Mechanism != "" {
		m, err := kafkaSASL(c.SASL)
		if err != nil {
			return KafkaOptions{}, err
		}
		o.SASL = m
	}
	return o, nil
}

func kafkaTLS(c *config.KafkaTLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: c.ServerName,
	}
	if c.CAFile != "" {
		b, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read kafka TLS ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("kafka TLS ca_file %q holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		if c.CertFile == "" || c.KeyFile == "" {
			return nil, errors.New("kafka TLS: cert_file and key_file go together")
		}
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load kafka TLS cert_file %q with key_file %q: %w", c.CertFile, c.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func kafkaSASL(c config.KafkaSASL) (sasl.Mechanism, error) {
	// Read the password once now so that a missing file fails the start,
	// then again at each authentication (one per new connection).
	if _, err := c.ReadPassword(); err != nil {
		return nil, err
	}
	switch c.Mechanism {
	case "PLAIN":
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			pass, err := c.ReadPassword()
			return plain.Auth{User: c.Username, Pass: pass}, err
		}), nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		auth := func(context.Context) (scram.Auth, error) {
			pass, err := c.ReadPassword()
			return scram.Auth{User: c.Username, Pass: pass}, err
		}
		if c.Mechanism == "SCRAM-SHA-256" {
			return scram.Sha256(auth), nil
		}
		return scram.Sha512(auth), nil
	}
	return nil, fmt.Errorf("kafka SASL mechanism %q is not one of %s", c.Mechanism, strings.Join(config.KafkaSASLMechanisms, ", "))
}

// KafkaSink writes events to a Kafka topic through one franz-go client kept
// for the sink's life: an idempotent producer (retries inside the client
// never duplicate a record), acks from all in-sync replicas, zstd batches.
// Each record is keyed by Record.Key and carries the event's id in an "id"
// header when its JSON holds one without escapes.
//
// A Write that ends with its context before every record was acknowledged
// leaves the records already sent to a broker in the client, which waits
// for their outcome and retries them under the same producer sequence, so
// that each lands at most once: the client cannot tell a request the
// broker never took from one whose answer is late, and abandoning it would
// let every re-delivery land beside it (a broker holding produce requests,
// as acks from a lagging replica make it, appends each in turn). Records
// not yet sent are failed at once. The next Write first waits, within its
// own context, until the previous batch's records have all settled, so the
// client holds one batch at most and copies never pile up; then it skips
// the records of that batch that landed meanwhile, since the caller
// delivers a failed batch again. A record can still land twice when the
// sink is closed with it in flight, or when another Write times out before
// the failed batch comes again; the event id deduplicates it downstream.
type KafkaSink struct {
	cl    *kgo.Client
	topic string

	// pending delivers the outcome of the last Write that returned before
	// its records settled; nil when none did.
	pending <-chan kgo.ProduceResults
	// landed holds the values of that Write's records that landed after
	// it returned, until a Write skips them; at most one batch's worth.
	landed map[string]bool
}

var _ Sink = (*KafkaSink)(nil)

// OpenKafka returns a sink producing to o.Topic. It does not contact the
// brokers: adx starts while Kafka is down, and its events spill meanwhile.
// Close releases the client.
func OpenKafka(o KafkaOptions) (*KafkaSink, error) {
	switch {
	case len(o.Brokers) == 0:
		return nil, errors.New("cannot open the kafka sink: no brokers")
	case o.Topic == "":
		return nil, errors.New("cannot open the kafka sink: no topic")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression()),
	}
	if o.ClientID != "" {
		opts = append(opts, kgo.ClientID(o.ClientID))
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	if o.Log != nil {
		opts = append(opts, kgo.WithLogger(kafkaLogger{o.Log}))
	}
	opts = append(opts, o.extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot open the kafka sink: %w", err)
	}
	return &KafkaSink{cl: cl, topic: o.Topic}, nil
}

// Write produces batch and waits until every record is acknowledged by all
// in-sync replicas, or ctx ends. It returns nil only when all were; on an
// error some may have landed. Write does not keep batch's bytes after it
// returns.
func (k *KafkaSink) Write(ctx context.Context, batch []Record) error {
	if len(batch) == 0 {
		return nil
	}
	if k.pending != nil {
		select {
		case res := <-k.pending:
			k.pending = nil
			k.landed = nil
			for _, r := range res {
				if r.Err == nil {
					if k.landed == nil {
						k.landed = make(map[string]bool, len(res))
					}
					k.landed[string(r.Record.Value)] = true
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("cannot write %d events to kafka topic %q: the previous batch is still in flight: %w", len(batch), k.topic, ctx.Err())
		}
	}
	if len(k.landed) > 0 {
		if batch = k.skipLanded(batch); len(batch) == 0 {
			return nil
		}
	}
	recs := kafkaRecords(batch)
	done := make(chan kgo.ProduceResults, 1)
	go func() {
		// Each record takes ctx as its context: once ctx ends, the client
		// fails those it has not sent yet.
		done <- k.cl.ProduceSync(ctx, recs...)
	}()
	var res kgo.ProduceResults
	select {
	case res = <-done:
	case <-ctx.Done():
		select {
		case res = <-done:
		default:
			k.pending = done
			return fmt.Errorf("cannot write %d events to kafka topic %q in time: %w", len(batch), k.topic, ctx.Err())
		}
	}
	if err := res.FirstErr(); err != nil {
		return fmt.Errorf("cannot write %d events to kafka topic %q: %w", len(batch), k.topic, err)
	}
	return nil
}

// skipLanded returns batch without the records whose values are in
// k.landed, and forgets those.
func (k *KafkaSink) skipLanded(batch []Record) []Record {
	var rest []Record // nil until a record is skipped
	for i, r := range batch {
		if !k.landed[string(r.Value)] {
			if rest != nil {
				rest = append(rest, r)
			}
			continue
		}
		delete(k.landed, string(r.Value))
		if rest == nil {
			rest = append(make([]Record, 0, len(batch)), batch[:i]...)
		}
	}
	if rest == nil {
		return batch
	}
	return rest
}

// Close closes the client; records a timed-out Write left in it are failed.
func (k *KafkaSink) Close() error {
	k.cl.Close()
	return nil
}

// kafkaRecords copies batch into records that share one buffer, so that the
// caller may reuse its bytes as soon as Write returns while the client
// still holds a timed-out batch.
func kafkaRecords(batch []Record) []*kgo.Record {
	n := 0
	for _, r := range batch {
		n += len(r.Key) + len(r.Value)
	}
	buf := make([]byte, 0, n)
	recs := make([]kgo.Record, len(batch))
	ptrs := make([]*kgo.Record, len(batch))
	hdrs := make([]kgo.RecordHeader, len(batch))
	for i, r := range batch {
		rec := &recs[i]
		start := len(buf)
		buf = append(buf, r.Key...)
		rec.Key = buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = append(buf, r.Value...)
		rec.Value = buf[start:len(buf):len(buf)]
		if id := eventID(rec.Value); id != nil {
			hdrs[i] = kgo.RecordHeader{Key: "id", Value: id}
			rec.Headers = hdrs[i : i+1 : i+1]
		}
		ptrs[i] = rec
	}
	return ptrs
}

var idField = []byte(`"id":"`)

// eventID returns the "id" string of an encoded event, or nil when it has
// none or it holds an escape. It scans rather than parses: in an Event's
// JSON the bytes "id":" can only be the id key, since a quote inside a
// string value is escaped and no other key of Event, Bid or NoBid is "id"
// (and ID comes before the nested objects in Event's field order).
func eventID(v []byte) []byte {
	i := bytes.Index(v, idField)
	if i < 0 {
		return nil
	}
	s := v[i+len(idField):]
	j := bytes.IndexByte(s, '"')
	if j <= 0 || bytes.IndexByte(s[:j], '\\') >= 0 {
		return nil
	}
	return s[:j:j]
}

// kafkaLogger passes franz-go's warnings and errors to slog.
type kafkaLogger struct{ l *slog.Logger }

func (kafkaLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kafkaLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelInfo:
		lv = slog.LevelInfo
	}
	k.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}
