package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/notice"
	"github.com/adx-exchange/adx/server"
)

// trail is the money trail: the exchange's signed notices, the sender of
// the demand partners' notices, and the event stream.
type trail struct {
	notices server.Notices
	stream  *events.Stream
}

// openTrail opens the event sink and its stream (replaying a spill left
// by a previous run), and builds the notice signer, the replay guard and
// the sender.
func openTrail(cfg *config.Config, log *slog.Logger, reg *prometheus.Registry) (*trail, error) {
	keys, err := noticeKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	signer, err := notice.NewSigner(keys, cfg.Notices.TTL.D())
	if err != nil {
		return nil, fmt.Errorf("notices.keys: %w", err)
	}
	sink, err := openSink(cfg, log)
	if err != nil {
		return nil, err
	}
	spill := cfg.Events.SpillDir
	if spill == "" {
		spill = filepath.Join(filepath.Dir(cfg.Events.File.Path), "spill")
	}
	stream, err := events.Open(events.Options{Sink: sink, Buffer: cfg.Events.Buffer, SpillDir: spill,
		SpillMaxBytes: cfg.Events.SpillMaxBytes, SinkTimeout: cfg.Events.SinkTimeout.D(), Log: log})
	if err != nil {
		sink.Close()
		return nil, fmt.Errorf("event stream: %w", err)
	}
	reg.MustRegister(stream.Collector())
	n := cfg.Notices
	sender := notice.NewSender(notice.SenderOptions{Partners: enabledDemand(cfg), QueueSize: n.QueueSize, Workers: n.Workers,
		Timeout: n.Timeout.D(), BillAttempts: n.BillAttempts, RetryBackoff: n.RetryBackoff.D(), Log: log})
	reg.MustRegister(sender.Collector())
	replay := notice.NewReplayGuard(n.ReplayMax)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "adx_notice_replay_tokens",
		Help: "Notice tokens remembered to refuse a second firing (bounded by notices.replay_max).",
	}, func() float64 { return float64(replay.Len()) }))
	log.Info("event stream", "sink", cfg.Events.Sink, "spill", spill, "auction_sample", cfg.Events.AuctionSample)
	return &trail{notices: server.Notices{Signer: signer, Replay: replay, Sender: sender}, stream: stream}, nil
}

// noticeKeys returns the configured signing keys, or a random key of this
// process alone when none is configured.
func noticeKeys(cfg *config.Config, log *slog.Logger) ([]notice.Key, error) {
	if len(cfg.Notices.Keys) == 0 {
		secret := make([]byte, 32)
		rand.Read(secret)
		log.Warn("notices.keys is empty: notice URLs are signed with a random key of this process; no other instance verifies them and a restart invalidates them")
		return []notice.Key{{ID: "local", Secret: secret}}, nil
	}
	keys := make([]notice.Key, 0, len(cfg.Notices.Keys))
	for i := range cfg.Notices.Keys {
		k := &cfg.Notices.Keys[i]
		secret, err := k.ReadSecret()
		if err != nil {
			return nil, fmt.Errorf("notices.keys[%d]: %w", i, err)
		}
		keys = append(keys, notice.Key{ID: k.ID, Secret: secret})
	}
	return keys, nil
}

// openSink opens the configured event sink.
func openSink(cfg *config.Config, log *slog.Logger) (events.Sink, error) {
	if cfg.Events.Sink == config.SinkKafka {
		o, err := events.KafkaOptionsFromConfig(&cfg.Events.Kafka)
		if err != nil {
			return nil, fmt.Errorf("events.kafka: %w", err)
		}
		o.Log = log
		k, err := events.OpenKafka(o)
		if err != nil {
			return nil, fmt.Errorf("events.kafka: %w", err)
		}
		return k, nil
	}
	f := cfg.Events.File
	s, err := events.OpenFile(events.FileOptions{Path: f.Path, MaxBytes: f.MaxBytes, MaxAge: f.MaxAge.D(), Keep: f.Keep})
	if err != nil {
		return nil, fmt.Errorf("events.file: %w", err)
	}
	return s, nil
}

// enabledDemand returns the enabled demand partners' names in config
// order: the auction's bidder order.
func enabledDemand(cfg *config.Config) []string {
	var names []string
	for _, d := range cfg.Demand {
		if !d.Disabled {
			names = append(names, d.Name)
		}
	}
	return names
}

// close fires the queued demand partner notices and flushes the event
// stream, within timeout; what the sink cannot take by then spills to
// disk for the next start.
func (t *trail) close(log *slog.Logger, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := t.notices.Sender.Close(ctx); err != nil {
		log.Error("demand partner notices left unsent at exit", "err", err)
	}
	if err := t.stream.Close(ctx); err != nil {
		log.Error("event stream close", "err", err)
	}
}
