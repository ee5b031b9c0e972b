package events

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/adx-exchange/adx/config"
)

const kafkaTopic = "adx-events"

// kafkaCluster starts an in-process Kafka (kfake) closed at the test's end.
func kafkaCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// openKafkaSink opens a sink to addrs, closed at the test's end.
func openKafkaSink(t *testing.T, o KafkaOptions) *KafkaSink {
	t.Helper()
	if o.Topic == "" {
		o.Topic = kafkaTopic
	}
	k, err := OpenKafka(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// kafkaEvents returns n win events spread over keys auctions, numbered on
// from *seq so that every id is new.
func kafkaEvents(t *testing.T, seq *int, n, keys int) []Record {
	t.Helper()
	batch := make([]Record, n)
	for i := range batch {
		*seq++
		auction := "auc-" + strconv.Itoa(*seq%keys)
		v, err := json.Marshal(Event{
			Type:      Win,
			ID:        fmt.Sprintf("w:%s:bid-%d", auction, *seq),
			Time:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			AuctionID: auction,
			Currency:  "USD",
			BidID:     "bid-" + strconv.Itoa(*seq),
			Charge:    1234567,
		})
		if err != nil {
			t.Fatal(err)
		}
		batch[i] = Record{Key: []byte(auction), Value: v}
	}
	return batch
}

// writeKafka writes batch, which must succeed within a generous deadline.
func writeKafka(t *testing.T, k *KafkaSink, batch []Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := k.Write(ctx, batch); err != nil {
		t.Fatalf("write %d events: %v", len(batch), err)
	}
}

// readKafka returns every record of the topic, in order per partition. It
// first produces a fence record to each partition and reads until it has
// seen them all: everything before the fences is everything written.
func readKafka(t *testing.T, addrs []string, partitions int32, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fence, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.DefaultProduceTopic(kafkaTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer fence.Close()
	fences := make([]*kgo.Record, partitions)
	for p := range partitions {
		fences[p] = &kgo.Record{Partition: p, Headers: []kgo.RecordHeader{{Key: "fence"}}}
	}
	if err := fence.ProduceSync(ctx, fences...).FirstErr(); err != nil {
		t.Fatalf("produce the fences: %v", err)
	}

	cons, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.ConsumeTopics(kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []*kgo.Record
	fenced := make(map[int32]bool)
	for len(fenced) < int(partitions) {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records; fences seen on %d of %d partitions: %v", len(got), len(fenced), partitions, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Headers) == 1 && r.Headers[0].Key == "fence" {
				fenced[r.Partition] = true
				return
			}
			got = append(got, r)
		})
	}
	return got
}

// checkKafka checks that got holds, for each key, the ids of written in
// written's order, each once, except the ids of retried (written by a Write
// that failed and then again), which may be there twice; and that every
// record carries its key, its id header and zstd compression.
func checkKafka(t *testing.T, got []*kgo.Record, written []Record, retried map[string]bool) {
	t.Helper()
	want := make(map[string][]string) // key → ids in order
	for _, r := range written {
		want[string(r.Key)] = append(want[string(r.Key)], string(eventID(r.Value)))
	}
	have := make(map[string][]string) // key → first sightings in order
	count := make(map[string]int)
	for _, r := range got {
		e := checkRecord(t, r)
		count[e.ID]++
		if count[e.ID] == 1 {
			have[e.AuctionID] = append(have[e.AuctionID], e.ID)
		} else if !retried[e.ID] {
			t.Errorf("event %s arrived %d times", e.ID, count[e.ID])
		}
	}
	for key, ids := range want {
		if !equalStrings(have[key], ids) {
			t.Errorf("key %s: got %v, want %v", key, have[key], ids)
		}
	}
	for key := range have {
		if want[key] == nil {
			t.Errorf("key %s was never written: %v", key, have[key])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func idSet(batches ...[]Record) map[string]bool {
	m := make(map[string]bool)
	for _, b := range batches {
		for _, r := range b {
			m[string(eventID(r.Value))] = true
		}
	}
	return m
}

func TestKafkaWrite(t *testing.T) {
	c := kafkaCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(4, kafkaTopic))
	k := openKafkaSink(t, KafkaOptions{Brokers: c.ListenAddrs(), ClientID: "adx-test"})
	var seq int
	var written []Record
	for range 8 {
		b := kafkaEvents(t, &seq, 40, 7)
		writeKafka(t, k, b)
		// The sink must not keep the caller's bytes: scribble over them.
		for _, r := range b {
			written = append(written, Record{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)})
			clear(r.Value)
		}
	}
	if err := k.Write(context.Background(), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	checkKafka(t, readKafka(t, c.ListenAddrs(), 4), written, nil)
}

// TestKafkaBrokerDown: with the broker gone a Write fails by its deadline;
// once it is back (the same port, its log kept on disk) the batch written
// again and the next ones land, each event once.
func TestKafkaBrokerDown(t *testing.T) {
	dir := t.TempDir()
	c := kafkaCluster(t, kfake.NumBrokers(1), kfake.DataDir(dir), kfake.SeedTopics(3, kafkaTopic))
	addrs := c.ListenAddrs()
	_, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	// Shorter waits than franz-go's: a retry backoff growing to 5s and 5s
	// between metadata refreshes only make the test slower.
	k := openKafkaSink(t, KafkaOptions{Brokers: addrs, extra: []kgo.Opt{
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}})
	var seq int
	var written []Record
	for range 3 {
		b := kafkaEvents(t, &seq, 30, 5)
		writeKafka(t, k, b)
		written = append(written, b...)
	}

	c.Close()
	lost := kafkaEvents(t, &seq, 30, 5)
	const deadline = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	start := time.Now()
	err = k.Write(ctx, lost)
	took := time.Since(start)
	cancel()
	if err == nil {
		t.Fatal("write with the broker down succeeded")
	}
	if took > deadline+5*time.Second {
		t.Errorf("write with the broker down took %v, deadline %v", took, deadline)
	}
	t.Logf("broker down: %v after %v", err, took)

	kafkaCluster(t, kfake.Ports(p), kfake.DataDir(dir), kfake.SeedTopics(3, kafkaTopic))
	start = time.Now()
	writeKafka(t, k, lost)
	t.Logf("broker back: written in %v", time.Since(start))
	written = append(written, lost...)
	for range 2 {
		b := kafkaEvents(t, &seq, 30, 5)
		writeKafka(t, k, b)
		written = append(written, b...)
	}
	checkKafka(t, readKafka(t, addrs, 3), written, nil)
}

// TestKafkaSlowBroker: a Write whose produce request the broker holds
// returns when its context ends; the next Write waits, within its own
// context, for that batch to settle, and succeeds once the broker answers.
func TestKafkaSlowBroker(t *testing.T) {
	c := kafkaCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(2, kafkaTopic))
	k := openKafkaSink(t, KafkaOptions{Brokers: c.ListenAddrs()})
	var seq int
	first := kafkaEvents(t, &seq, 20, 4)
	writeKafka(t, k, first)

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case <-release:
			c.DropControl()
		default:
			select {
			case held <- struct{}{}:
			default:
			}
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false // then answer it as usual
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	slow := kafkaEvents(t, &seq, 20, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Write(ctx, slow) }()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("write returned before the broker held it: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the produce request never reached the broker")
	}
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("write the broker held succeeded")
		}
		t.Logf("held: %v after %v", err, time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("write did not return within 5s of its context's end")
	}

	// The broker still holds produce requests: the next Write fails by its
	// deadline too.
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	start = time.Now()
	err := k.Write(ctx, slow)
	cancel()
	if err == nil {
		t.Fatal("write to the held broker succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("write with a 200ms deadline took %v", took)
	}

	close(release)
	writeKafka(t, k, slow)
	last := kafkaEvents(t, &seq, 20, 4)
	writeKafka(t, k, last)
	written := append(append(first, slow...), last...)
	checkKafka(t, readKafka(t, c.ListenAddrs(), 2), written, idSet(slow))
}

// TestKafkaLeaderChange moves every partition's leader to another of the
// three brokers while each Write's first produce request is at the broker:
// no event is lost or doubled.
func TestKafkaLeaderChange(t *testing.T) {
	const partitions = 3
	c := kafkaCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(partitions, kafkaTopic))
	lw := watchLeaders(c, partitions)
	k := openKafkaSink(t, KafkaOptions{Brokers: c.ListenAddrs()})
	var seq int
	var written []Record
	for i := range 8 {
		b := kafkaEvents(t, &seq, 30, 6)
		select { // a retry of the last batch may have left a signal
		case <-lw.produced:
		default:
		}
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done <- k.Write(ctx, b)
		}()
		// The broker signals a produce before it answers it, so a write
		// that has returned has signalled; when both are ready, as they
		// are for a test goroutine that ran late, select may take either.
		var err error
		returned := false
		select {
		case <-lw.produced:
		case err = <-done:
			returned = true
			select {
			case <-lw.produced:
			default:
				t.Fatalf("batch %d: write returned before its produce request reached a broker: %v", i, err)
			}
		}
		lw.moveAll(t)
		if !returned {
			err = <-done
		}
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		written = append(written, b...)
	}
	n := lw.staleProduces()
	if n == 0 {
		t.Fatal("no produce request reached a former leader")
	}
	t.Logf("%d partition produces reached a former leader", n)
	checkKafka(t, readKafka(t, c.ListenAddrs(), partitions), written, nil)
}

func TestKafkaOptionsFromConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	f := func(c config.Kafka, want ...string) {
		t.Helper()
		_, err := KafkaOptionsFromConfig(&c)
		if err == nil {
			t.Fatalf("%+v: no error, want one naming %q", c, want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not name %q", err, w)
			}
		}
	}
	f(config.Kafka{TLS: config.KafkaTLS{Enabled: true, CAFile: missing}}, missing, "ca_file", "no such file")
	f(config.Kafka{TLS: config.KafkaTLS{Enabled: true, CAFile: notPEM}}, notPEM, "no PEM certificate")
	f(config.Kafka{TLS: config.KafkaTLS{Enabled: true, CertFile: notPEM}}, "cert_file and key_file go together")
	f(config.Kafka{TLS: config.KafkaTLS{Enabled: true, CertFile: notPEM, KeyFile: missing}}, notPEM, missing)
	f(config.Kafka{SASL: config.KafkaSASL{Mechanism: "PLAIN", Username: "adx", PasswordFile: missing}}, missing, "password")
	f(config.Kafka{SASL: config.KafkaSASL{Mechanism: "GSSAPI", Username: "adx", Password: "x"}}, `"GSSAPI"`, "SCRAM-SHA-512")

	o, err := KafkaOptionsFromConfig(&config.Kafka{Brokers: []string{"k:9092"}, Topic: "t", ClientID: "adx",
		TLS: config.KafkaTLS{CAFile: notPEM}}) // TLS off: its files are not read
	if err != nil || o.TLS != nil || o.SASL != nil || o.Topic != "t" || o.ClientID != "adx" || len(o.Brokers) != 1 {
		t.Errorf("plain options: %+v, %v", o, err)
	}
	o, err = KafkaOptionsFromConfig(&config.Kafka{TLS: config.KafkaTLS{Enabled: true}})
	if err != nil || o.TLS == nil || o.TLS.RootCAs != nil {
		t.Errorf("TLS with the system roots: %+v, %v", o.TLS, err)
	}
}

// TestKafkaSASL writes and reads back through each SASL mechanism, the
// password from a file; a wrong password fails the write.
func TestKafkaSASL(t *testing.T) {
	dir := t.TempDir()
	for _, mech := range config.KafkaSASLMechanisms {
		t.Run(mech, func(t *testing.T) {
			c := kafkaCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, kafkaTopic),
				kfake.EnableSASL(), kfake.Superuser(mech, "adx", "s3cret"))
			file := filepath.Join(dir, mech)
			if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			o, err := KafkaOptionsFromConfig(&config.Kafka{Brokers: c.ListenAddrs(), Topic: kafkaTopic,
				SASL: config.KafkaSASL{Mechanism: mech, Username: "adx", PasswordFile: file}})
			if err != nil {
				t.Fatal(err)
			}
			k := openKafkaSink(t, o)
			var seq int
			b := kafkaEvents(t, &seq, 10, 3)
			writeKafka(t, k, b)
			checkKafka(t, readKafka(t, c.ListenAddrs(), 1, kgo.SASL(o.SASL)), b, nil)
			if mech != "PLAIN" {
				return
			}

			o, err = KafkaOptionsFromConfig(&config.Kafka{Brokers: c.ListenAddrs(), Topic: kafkaTopic,
				SASL: config.KafkaSASL{Mechanism: mech, Username: "adx", Password: "wrong"}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := openKafkaSink(t, o).Write(ctx, b); err == nil {
				t.Error("write with a wrong password succeeded")
			}
		})
	}
}

// TestKafkaTLS writes and reads back over mutual TLS with the CA, the
// client certificate and the server name from the config; without the
// server name the broker's certificate does not verify.
func TestKafkaTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCert(t, dir, "ca", nil, nil)
	srv, srvKey := testCert(t, dir, "server", ca, caKey)
	testCert(t, dir, "client", ca, caKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c := kafkaCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, kafkaTopic), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}))
	cfg := config.Kafka{Brokers: c.ListenAddrs(), Topic: kafkaTopic, TLS: config.KafkaTLS{
		Enabled:    true,
		CAFile:     filepath.Join(dir, "ca.pem"),
		CertFile:   filepath.Join(dir, "client.pem"),
		KeyFile:    filepath.Join(dir, "client-key.pem"),
		ServerName: "kafka.test",
	}}
	o, err := KafkaOptionsFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := openKafkaSink(t, o)
	var seq int
	b := kafkaEvents(t, &seq, 10, 3)
	writeKafka(t, k, b)
	checkKafka(t, readKafka(t, c.ListenAddrs(), 1, kgo.DialTLSConfig(o.TLS)), b, nil)

	cfg.TLS.ServerName = ""
	if o, err = KafkaOptionsFromConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := openKafkaSink(t, o).Write(ctx, b); err == nil {
		t.Error("write to a broker whose certificate names another host succeeded")
	}
}

// testCert writes NAME.pem and NAME-key.pem to dir: a CA when parent is
// nil, else a certificate for kafka.test signed by parent.
func testCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	if parent == nil {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	} else {
		tmpl.DNSNames = []string{"kafka.test"}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	return cert, key
}

func TestKafkaEventID(t *testing.T) {
	f := func(v, want string) {
		t.Helper()
		got := eventID([]byte(v))
		if string(got) != want || (want == "") != (got == nil) {
			t.Errorf("eventID(%s) = %q, want %q", v, got, want)
		}
	}
	f(`{"type":"win","id":"w:auc-1:bid-2","ts":"2026-01-02T03:04:05Z"}`, "w:auc-1:bid-2")
	f(`{"auction_id":"a","bid_id":"b","id":"x"}`, "x")
	f(`{"type":"win","ssp":"\"id\":\"fake","id":"real"}`, "real")
	f(`{"type":"win","id":"a\"b"}`, "")
	f(`{"type":"win","id":""}`, "")
	f(`{"type":"win","id":"open`, "")
	f(`{"type":"win"}`, "")
}

// leaderWatch is a test's view of a cluster's partition leaders, to count
// the produce requests that reach a former leader: the proof that the
// client met a leader change.
type leaderWatch struct {
	c        *kfake.Cluster
	mu       sync.Mutex
	leaders  []int32
	stale    int
	produced chan struct{} // a produce request reached a broker
}

// watchLeaders starts watching the produce requests of c's topic with
// partitions partitions.
func watchLeaders(c *kfake.Cluster, partitions int) *leaderWatch {
	lw := &leaderWatch{c: c, leaders: make([]int32, partitions), produced: make(chan struct{}, 1)}
	for p := range lw.leaders {
		lw.leaders[p] = c.LeaderFor(kafkaTopic, int32(p))
	}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		node := c.CurrentNode()
		lw.mu.Lock()
		for _, rt := range req.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				if lw.leaders[rp.Partition] != node {
					lw.stale++
				}
			}
		}
		lw.mu.Unlock()
		select {
		case lw.produced <- struct{}{}:
		default:
		}
		return nil, nil, false
	})
	return lw
}

// moveAll moves every partition's leader to the next of three brokers.
func (lw *leaderWatch) moveAll(t *testing.T) {
	t.Helper()
	for p := range int32(len(lw.leaders)) {
		to := (lw.c.LeaderFor(kafkaTopic, p) + 1) % 3
		if err := lw.c.MoveTopicPartition(kafkaTopic, p, to); err != nil {
			t.Fatal(err)
		}
		lw.mu.Lock()
		lw.leaders[p] = to
		lw.mu.Unlock()
	}
}

// staleProduces returns how many partition produces reached a former
// leader.
func (lw *leaderWatch) staleProduces() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.stale
}

// checkRecord decodes the event of a record read back from the topic and
// checks how the sink wrote it: keyed by its auction id, its id in an
// "id" header, zstd-compressed.
func checkRecord(t *testing.T, r *kgo.Record) Event {
	t.Helper()
	var e Event
	if err := json.Unmarshal(r.Value, &e); err != nil {
		t.Fatalf("record at %d/%d: %v: %q", r.Partition, r.Offset, err, r.Value)
	}
	if string(r.Key) != e.AuctionID {
		t.Errorf("record %s has key %q, want its auction id", e.ID, r.Key)
	}
	if len(r.Headers) != 1 || r.Headers[0].Key != "id" || string(r.Headers[0].Value) != e.ID {
		t.Errorf("record %s has headers %+v, want its id", e.ID, r.Headers)
	}
	if c := r.Attrs.CompressionType(); c != 4 {
		t.Errorf("record %s has compression %d, want zstd (4)", e.ID, c)
	}
	return e
}
