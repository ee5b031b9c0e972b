package events

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// typeNames are the type label's values, by typeIndex; "other" is any
// type that is not one of the four.
var typeNames = [...]string{"auction", "win", "bill", "loss", "other"}

const numTypes = len(typeNames)

// typeIndex returns t's index in typeNames.
func typeIndex(t Type) int {
	switch t {
	case Auction:
		return 0
	case Win:
		return 1
	case Bill:
		return 2
	case Loss:
		return 3
	}
	return 4
}

// Outcomes of an event, the outcome label.
const (
	delivered = iota // written to the sink
	spilled          // written to the spill because the sink failed, was slow, or at Close
	dropped          // lost: buffer full, spill full, or emitted after Close
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"delivered", "spilled", "dropped"}

// Sink error kinds, the kind label of adx_events_sink_errors_total.
const (
	sinkError   = iota // Write returned an error before its deadline
	sinkTimeout        // Write ran into SinkTimeout
	numSinkErrorKinds
)

var sinkErrorNames = [numSinkErrorKinds]string{"error", "timeout"}

// counters are a Stream's counts, atomics updated on the hot path and
// read by the collector.
type counters struct {
	events      [numTypes][numOutcomes]atomic.Int64
	sinkErrors  [numSinkErrorKinds]atomic.Int64
	spillErrors atomic.Int64 // failed writes to the spill
	replayed    atomic.Int64 // events delivered from a spill found at Open
	torn        atomic.Int64 // spill lines skipped: cut short by a crash, or unreadable
}

// Collector exports s's counts. Register it once; it reads atomics and
// takes no lock.
func (s *Stream) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Stream }

var (
	eventsDesc = prometheus.NewDesc("adx_events_total",
		"Events by type and outcome: delivered to the sink, spilled to disk because the sink failed or was slow (and delivered later), dropped (memory buffer or spill full).",
		[]string{"type", "outcome"}, nil)
	spillBytesDesc = prometheus.NewDesc("adx_events_spill_bytes",
		"Bytes in the spill not yet delivered to the sink.", nil, nil)
	bufferedDesc = prometheus.NewDesc("adx_events_buffered",
		"Events held in memory on their way to the sink.", nil, nil)
	sinkErrorsDesc = prometheus.NewDesc("adx_events_sink_errors_total",
		"Failed writes to the event sink, by kind: error, or timeout (slower than events.sink_timeout).", []string{"kind"}, nil)
	spillErrorsDesc = prometheus.NewDesc("adx_events_spill_errors_total",
		"Failed writes to the spill (disk full, I/O error); a failed Record is refused to its caller.", nil, nil)
	replayedDesc = prometheus.NewDesc("adx_events_replayed_total",
		"Events delivered from a spill left by an earlier run.", nil, nil)
	tornDesc = prometheus.NewDesc("adx_events_torn_total",
		"Spill lines skipped because a crash cut them short or they cannot be read.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{eventsDesc, spillBytesDesc, bufferedDesc, sinkErrorsDesc, spillErrorsDesc, replayedDesc, tornDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := &c.s.counts
	for t := range numTypes {
		for o := range numOutcomes {
			ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(m.events[t][o].Load()), typeNames[t], outcomeNames[o])
		}
	}
	for k := range numSinkErrorKinds {
		ch <- prometheus.MustNewConstMetric(sinkErrorsDesc, prometheus.CounterValue, float64(m.sinkErrors[k].Load()), sinkErrorNames[k])
	}
	ch <- prometheus.MustNewConstMetric(spillBytesDesc, prometheus.GaugeValue, float64(c.s.spill.pendingBytes()))
	ch <- prometheus.MustNewConstMetric(bufferedDesc, prometheus.GaugeValue, float64(c.s.buffered()))
	ch <- prometheus.MustNewConstMetric(spillErrorsDesc, prometheus.CounterValue, float64(m.spillErrors.Load()))
	ch <- prometheus.MustNewConstMetric(replayedDesc, prometheus.CounterValue, float64(m.replayed.Load()))
	ch <- prometheus.MustNewConstMetric(tornDesc, prometheus.CounterValue, float64(m.torn.Load()))
}
