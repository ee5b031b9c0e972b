package events

import (
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/adx-exchange/adx/internal/waittest"
)

// The Stream over the Kafka sink, against kfake: the broker down then up,
// slow, down at Close and up at the next Open, moving its partition
// leaders. Each test reads the topic back and checks every event by its id.

// openStreamKafka opens a Kafka sink to addrs with short client retries;
// the Stream given it closes it.
func openStreamKafka(t *testing.T, addrs []string) *KafkaSink {
	t.Helper()
	// Shorter waits than franz-go's: a retry backoff growing to 5s and 5s
	// between metadata refreshes only make the tests slower.
	k, err := OpenKafka(KafkaOptions{Brokers: addrs, Topic: kafkaTopic, extra: []kgo.Opt{
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// notice is the i-th recorded event of a test, a win or a bill, keyed by
// one of keys auctions "rec-K"; sampled is the i-th emitted one, an
// auction keyed "emit-K". The key spaces differ so that the order per key
// is the order within one class, which the Stream keeps.
func notice(i, keys int) *Event {
	typ, prefix := Win, "w:"
	if i%3 == 2 {
		typ, prefix = Bill, "b:"
	}
	auction := "rec-" + strconv.Itoa(i%keys)
	return &Event{Type: typ, ID: prefix + auction + ":bid-" + strconv.Itoa(i), Time: t0.Add(time.Duration(i)), AuctionID: auction,
		Currency: "USD", ImpID: "1", BidID: "bid-" + strconv.Itoa(i), DSP: "dsp", BidPrice: 1000, Charge: 900, Clear: 800}
}

func sampled(i, keys int) *Event {
	auction := "emit-" + strconv.Itoa(i%keys)
	return &Event{Type: Auction, ID: "a:ssp:" + auction + ":" + strconv.Itoa(i), Time: t0.Add(time.Duration(i)), AuctionID: auction,
		Currency: "USD", Imps: 1, Bids: []Bid{{DSP: "dsp", ImpID: "1", BidID: "b", Price: 1000, Status: BidLost}}}
}

const feedKeys = 7

// feed records and emits a test's events through a Stream and keeps them.
type feed struct {
	t                 *testing.T
	s                 *Stream
	recorded, emitted []*Event
}

// flow records records events and emits emits, interleaved.
func (f *feed) flow(records, emits int) {
	f.t.Helper()
	for i := range max(records, emits) {
		if i < records {
			e := notice(len(f.recorded), feedKeys)
			if err := f.s.Record(e); err != nil {
				f.t.Fatal(err)
			}
			f.recorded = append(f.recorded, e)
		}
		if i < emits {
			e := sampled(len(f.emitted), feedKeys)
			f.s.Emit(e)
			f.emitted = append(f.emitted, e)
		}
	}
}

// bytes is the size of every event's line in the spill.
func (f *feed) bytes() int64 {
	var n int64
	for _, e := range append(append([]*Event(nil), f.recorded...), f.emitted...) {
		n += int64(len(e.AppendJSON(nil))) + 1
	}
	return n
}

// waitDelivered waits until the Stream has delivered every event of f
// (an emitted one may be counted dropped instead) and its spill is empty.
func (f *feed) waitDelivered() {
	f.t.Helper()
	s := f.s
	waittest.For(f.t, "every event delivered", func() bool {
		return s.count(Win, delivered)+s.count(Bill, delivered) == int64(len(f.recorded)) &&
			s.count(Auction, delivered)+s.count(Auction, dropped) == int64(len(f.emitted)) &&
			s.spill.pendingBytes() == 0
	})
}

// deliveredAny returns the number of events the Stream counted delivered.
func deliveredAny(s *Stream) int64 {
	var n int64
	for t := range numTypes {
		n += s.counts.events[t][delivered].Load()
	}
	return n
}

// gaugeOf returns a function that reads the gauge name from c.
func gaugeOf(t *testing.T, c prometheus.Collector, name string) func() float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s exported", name)
		return 0
	}
}

// downKafka starts a one-broker cluster that keeps its log on disk, notes
// its address and closes it; up starts it again on the same port with the
// same log.
func downKafka(t *testing.T, partitions int32) (addrs []string, up func() *kfake.Cluster) {
	t.Helper()
	dir := t.TempDir()
	c := kafkaCluster(t, kfake.NumBrokers(1), kfake.DataDir(dir), kfake.SeedTopics(partitions, kafkaTopic))
	addrs = c.ListenAddrs()
	_, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return addrs, func() *kfake.Cluster {
		return kafkaCluster(t, kfake.Ports(p), kfake.DataDir(dir), kfake.SeedTopics(partitions, kafkaTopic))
	}
}

// checkTopic checks the records read back from the topic against the
// events a test recorded and emitted: every recorded one is there, every
// emitted one too but for dropped of them, each once, in order per key,
// keyed by its auction id with its id in a header, zstd-compressed.
func checkTopic(t *testing.T, got []*kgo.Record, recorded, emitted []*Event, dropped int) {
	t.Helper()
	isRecorded := make(map[string]bool, len(recorded))
	want := make(map[string][]string) // key → ids in Record or Emit order
	for _, e := range recorded {
		isRecorded[e.ID] = true
		want[e.AuctionID] = append(want[e.AuctionID], e.ID)
	}
	for _, e := range emitted {
		want[e.AuctionID] = append(want[e.AuctionID], e.ID)
	}
	have := make(map[string][]string) // key → ids in topic order
	count := make(map[string]int)
	for _, r := range got {
		e := checkRecord(t, r)
		if count[e.ID]++; count[e.ID] > 1 {
			t.Errorf("event %s arrived %d times", e.ID, count[e.ID])
			continue
		}
		have[e.AuctionID] = append(have[e.AuctionID], e.ID)
	}
	arrived := 0
	for key, ids := range want {
		if isRecorded[ids[0]] {
			if !equalStrings(have[key], ids) {
				t.Errorf("key %s: got %v, want %v", key, have[key], ids)
			}
			continue
		}
		// Emitted events: those not dropped, in order.
		i := 0
		for _, id := range have[key] {
			for i < len(ids) && ids[i] != id {
				i++
			}
			if i == len(ids) {
				t.Errorf("key %s: got %v, not in the order emitted %v", key, have[key], ids)
				break
			}
			i++
		}
		arrived += len(have[key])
	}
	for key, ids := range have {
		if want[key] == nil {
			t.Errorf("key %s was never written: %v", key, ids)
		}
	}
	if arrived != len(emitted)-dropped {
		t.Errorf("%d emitted events arrived, want %d emitted less %d dropped", arrived, len(emitted), dropped)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// sinkErrors returns the number of Writes the Stream counted failed.
func sinkErrors(s *Stream) int64 {
	return s.counts.sinkErrors[sinkTimeout].Load() + s.counts.sinkErrors[sinkError].Load()
}

// TestStreamKafkaBrokerDownThenUp: with the broker down every event waits
// in the spill and nothing is delivered; once the broker is up on the same
// port, every event arrives, once, in order per key.
func TestStreamKafkaBrokerDownThenUp(t *testing.T) {
	const partitions = 3
	addrs, up := downKafka(t, partitions)
	s := openStream(t, t.TempDir(), openStreamKafka(t, addrs), 1<<12, 200*time.Millisecond)
	spillBytes := gaugeOf(t, s.Collector(), "adx_events_spill_bytes")
	f := &feed{t: t, s: s}
	f.flow(150, 250)

	// Recorded events are in the spill when Record returns; emitted ones
	// once a Write fails and the shipper spills them. Three failed Writes:
	// the shipper retried from the spill, twice, to no avail.
	want := f.bytes()
	waittest.For(t, "every event in the spill and three failed writes", func() bool { return spillBytes() == float64(want) && sinkErrors(s) >= 3 })
	if n := deliveredAny(s); n != 0 {
		t.Fatalf("%d events delivered with the broker down", n)
	}
	if got := spillBytes(); got != float64(want) {
		t.Fatalf("the spill holds %v bytes after the failed retries, want %d", got, want)
	}
	if d := s.count(Auction, dropped); d != 0 {
		t.Fatalf("%d emitted events dropped with room in the buffer and the spill", d)
	}

	errs, start := sinkErrors(s), time.Now()
	c := up()
	f.waitDelivered()
	t.Logf("broker down: %d failed writes; back: everything delivered %v after", errs, time.Since(start))
	checkTopic(t, readKafka(t, c.ListenAddrs(), partitions), f.recorded, f.emitted, int(s.count(Auction, dropped)))
}

// TestStreamKafkaSlowBroker: while the broker holds produce requests past
// SinkTimeout the events spill; once it answers again they all arrive,
// once each: the held batch landed, and its re-delivery skips it.
func TestStreamKafkaSlowBroker(t *testing.T) {
	const partitions = 2
	c := kafkaCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(partitions, kafkaTopic))
	s := openStream(t, t.TempDir(), openStreamKafka(t, c.ListenAddrs()), 1<<12, 300*time.Millisecond)
	f := &feed{t: t, s: s}
	f.flow(40, 40)
	f.waitDelivered()

	// A Write before the broker held requests may have timed out on a
	// loaded machine (the first one connects): count from here.
	timeoutsBefore, spilledBefore := s.counts.sinkErrors[sinkTimeout].Load(), s.count(Auction, spilled)
	release := make(chan struct{})
	var held atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case <-release:
			c.DropControl()
		default:
			held.Add(1)
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
	slowFrom := len(f.emitted)
	f.flow(60, 60)
	// Three timeouts: the Write whose request the broker holds, then two
	// retries from the spill, with the events behind it, that wait for
	// that request in vain.
	waittest.For(t, "three writes timed out with the broker holding a request, every event spilled", func() bool {
		return held.Load() > 0 && s.counts.sinkErrors[sinkTimeout].Load()-timeoutsBefore >= 3 &&
			s.count(Auction, spilled)-spilledBefore == int64(len(f.emitted)-slowFrom)
	})
	heldN, timeouts := held.Load(), s.counts.sinkErrors[sinkTimeout].Load()-timeoutsBefore

	close(release)
	f.flow(40, 40)
	f.waitDelivered()
	t.Logf("%d produce requests held, %d writes timed out meanwhile", heldN, timeouts)
	checkTopic(t, readKafka(t, c.ListenAddrs(), partitions), f.recorded, f.emitted, int(s.count(Auction, dropped)))
}

// TestStreamKafkaCloseDownReopenUp: Close with the broker down and a short
// deadline leaves every event in the spill; the next Stream on that spill,
// the broker up, delivers them all, once each, in order per key.
func TestStreamKafkaCloseDownReopenUp(t *testing.T) {
	const partitions = 2
	addrs, up := downKafka(t, partitions)
	dir := t.TempDir()
	s := openStream(t, dir, openStreamKafka(t, addrs), 1<<12, 200*time.Millisecond)
	f := &feed{t: t, s: s}
	f.flow(100, 150)
	start := time.Now()
	closeStream(t, s, 300*time.Millisecond)
	t.Logf("closed in %v", time.Since(start))
	if n := deliveredAny(s); n != 0 {
		t.Fatalf("%d events delivered with the broker down", n)
	}
	if got, want := s.spill.pendingBytes(), f.bytes(); got != want {
		t.Fatalf("%d bytes left in the spill at Close, want every event's %d", got, want)
	}

	c := up()
	s2 := openStream(t, dir, openStreamKafka(t, addrs), 1<<12, 5*time.Second)
	f.s = s2
	f.waitDelivered()
	if got, want := s2.counts.replayed.Load(), int64(len(f.recorded)+len(f.emitted)); got != want {
		t.Errorf("replayed %d events, want %d", got, want)
	}
	checkTopic(t, readKafka(t, c.ListenAddrs(), partitions), f.recorded, f.emitted, int(s.count(Auction, dropped)+s2.count(Auction, dropped)))
}

// TestStreamKafkaLeaderChange moves every partition's leader to another of
// three brokers, again and again, while events are recorded: none is lost
// or doubled, and no Write fails.
func TestStreamKafkaLeaderChange(t *testing.T) {
	const partitions, moves = 3, 5
	c := kafkaCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(partitions, kafkaTopic))
	lw := watchLeaders(c, partitions)
	s := openStream(t, t.TempDir(), openStreamKafka(t, c.ListenAddrs()), 1<<12, 10*time.Second)

	// The recorder records an event every millisecond (or as fast as a
	// loaded machine lets it) until stopped, then hands over what it did.
	stop := make(chan struct{})
	done := make(chan []*Event, 1)
	go func() {
		var recorded []*Event
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		defer func() { done <- recorded }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			e := notice(i, feedKeys)
			if err := s.Record(e); err != nil {
				t.Errorf("record %s: %v", e.ID, err)
				return
			}
			recorded = append(recorded, e)
		}
	}()
	stopped := false
	stopRecorder := func() []*Event {
		if !stopped {
			stopped = true
			close(stop)
		}
		return <-done
	}
	defer func() {
		if !stopped {
			stopRecorder()
		}
	}()
	waitProduce := func(what string) {
		t.Helper()
		select {
		case <-lw.produced:
		case <-time.After(30 * time.Second):
			t.Fatalf("no produce request reached a broker %s", what)
		}
	}
	recordedDelivered := func() int64 { return s.count(Win, delivered) + s.count(Bill, delivered) }
	for i := range moves {
		// Events flow between the moves: some delivered since the last,
		// and a produce request at a broker.
		next := recordedDelivered() + 50
		waittest.For(t, "50 more events delivered", func() bool { return recordedDelivered() >= next })
		select { // a request before the last move may have left a signal
		case <-lw.produced:
		default:
		}
		waitProduce("before move " + strconv.Itoa(i))
		lw.moveAll(t)
	}
	waitProduce("after the last move")
	f := &feed{t: t, s: s, recorded: stopRecorder()}
	if t.Failed() {
		t.FailNow()
	}
	f.waitDelivered()

	n := lw.staleProduces()
	if n == 0 {
		t.Fatal("no produce request reached a former leader")
	}
	if errs := sinkErrors(s); errs != 0 {
		t.Errorf("%d failed writes across leader changes, want none", errs)
	}
	checkTopic(t, readKafka(t, c.ListenAddrs(), partitions), f.recorded, nil, 0)
	t.Logf("%d events recorded across %d leader moves; %d partition produces reached a former leader", len(f.recorded), moves, n)
}
