package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/internal/reload"
	"github.com/adx-exchange/adx/server"
)

// configSource is where the config comes from: the file (empty: the
// embedded default) and the flag and environment overrides given at
// start, which every reload applies again.
type configSource struct {
	path string
	ov   *config.Overrides
}

// load reads and validates the config with the overrides.
func (s configSource) load() (*config.Config, error) {
	cfg, err := config.Load(s.path)
	if err == nil {
		err = s.ov.Apply(cfg, os.Getenv)
	}
	return cfg, err
}

// loadedConfig is a config file version as internal/reload keeps it.
type loadedConfig struct{ cfg *config.Config }

func (loadedConfig) Close() error { return nil }

// configReloader puts changed versions of the config file in service:
// watched through internal/reload (file events and polling) and on
// SIGHUP. A version that does not load or validate is logged and counted,
// and the config in service stays.
type configReloader struct {
	src     configSource
	public  *server.Public
	rates   *currency.Source
	auction *auction.Metrics
	log     *slog.Logger
	file    *reload.File[loadedConfig] // nil: the embedded default

	reloads   *prometheus.CounterVec
	lastOK    prometheus.Gauge
	lastOKAt  prometheus.Gauge
	info      *prometheus.GaugeVec
	mu        sync.Mutex // guards infoHash
	infoHash  string
	hup       chan os.Signal
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// startConfigReload starts watching the config file of src, if any, and
// listening for SIGHUP, until close. public serves the config in service.
func startConfigReload(src configSource, public *server.Public, rates *currency.Source, aucMetrics *auction.Metrics, log *slog.Logger, reg prometheus.Registerer) (*configReloader, error) {
	r := &configReloader{src: src, public: public, rates: rates, auction: aucMetrics, log: log,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_config_reloads_total",
			Help: "Config file versions examined after start, by result: success (put in service) or failure (rejected; the config in service stays).",
		}, []string{"result"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adx_config_last_reload_successful",
			Help: "1 when the config file on disk is the one in service, 0 when the last version was rejected.",
		}),
		lastOKAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adx_config_last_reload_success_timestamp_seconds",
			Help: "Unix time the config in service was put in service.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adx_config_info",
			Help: "The config in service: 1, labeled with its source and the SHA-256 of its file.",
		}, []string{"source", "sha256"}),
		hup: make(chan os.Signal, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	reg.MustRegister(r.reloads, r.lastOK, r.lastOKAt, r.info)
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	r.lastOK.Set(1)
	r.lastOKAt.SetToCurrentTime()
	r.setInfo(public.Config())

	cfg := public.Config()
	if src.path != "" {
		interval := cfg.Reload.Interval.D()
		if interval == 0 {
			interval = -1 // reload.Options: no polling
		}
		f, err := reload.Open("config", src.path, r.loadFile, reload.Options[loadedConfig]{
			Interval: interval, NoWatch: !cfg.Reload.Watch, Logger: log, HeapBacked: true,
		})
		if err != nil {
			return nil, err
		}
		r.file = f
	}
	signal.Notify(r.hup, syscall.SIGHUP)
	go r.run()
	return r, nil
}

// run reloads on SIGHUP until close.
func (r *configReloader) run() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		case <-r.hup:
			if r.file == nil {
				r.log.Info("SIGHUP: no config file to reload; the embedded default is in service")
				continue
			}
			r.log.Info("SIGHUP: reloading the config", "path", r.src.path)
			_ = r.file.Reload()
		}
	}
}

// close stops watching.
func (r *configReloader) close() {
	r.closeOnce.Do(func() {
		signal.Stop(r.hup)
		close(r.stop)
		<-r.done
		if r.file != nil {
			r.file.Close()
		}
	})
}

// loadFile is the reload.Loader: it loads a changed file with the
// overrides, keeps the settings that need a restart as they are (logging
// those that changed), and puts the rest in service. internal/reload calls
// it one at a time, also once at start, when the file is the one just
// loaded.
func (r *configReloader) loadFile(path string) (loadedConfig, error) {
	start := time.Now()
	cur := r.public.Config()
	cfg, err := r.src.load()
	if err != nil {
		r.reloads.WithLabelValues("failure").Inc()
		r.lastOK.Set(0)
		return loadedConfig{}, err
	}
	if cfg.Hash == cur.Hash {
		r.lastOK.Set(1)
		return loadedConfig{cfg: cur}, nil
	}
	if keys := cfg.KeepRestartSettings(cur); len(keys) > 0 {
		r.log.Warn("config changes that need a restart are not applied until then", "path", path, "keys", strings.Join(keys, ","))
	}
	// A DSP that stays keeps the state of its demand controls.
	if err := r.public.Reload(cfg, auction.FromConfigAfter(cfg, r.rates, r.auction, r.public.Auction())); err != nil {
		r.reloads.WithLabelValues("failure").Inc()
		r.lastOK.Set(0)
		return loadedConfig{}, fmt.Errorf("cannot put the config in service: %w", err)
	}
	r.reloads.WithLabelValues("success").Inc()
	r.lastOK.Set(1)
	r.lastOKAt.SetToCurrentTime()
	r.setInfo(cfg)
	r.log.Info("config reloaded", "path", path, "config_sha256", cfg.Hash, "previous_sha256", cur.Hash,
		"demand", demandNames(cfg), "supply", len(cfg.Supply), "took", time.Since(start).Round(time.Microsecond).String())
	return loadedConfig{cfg: cfg}, nil
}

// setInfo labels adx_config_info with cfg.
func (r *configReloader) setInfo(cfg *config.Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.infoHash != "" {
		r.info.Reset()
	}
	r.infoHash = cfg.Hash
	r.info.WithLabelValues(cfg.Source, cfg.Hash).Set(1)
}

// status describes the config in service for /version.
func (r *configReloader) status() map[string]any {
	cfg := r.public.Config()
	st := map[string]any{"source": cfg.Source, "sha256": cfg.Hash}
	if r.file != nil {
		fi := r.file.Info()
		st["reloads"], st["failures"], st["last_reload_successful"] = fi.Reloads, fi.Failures, fi.LastReloadOK
		if fi.LastError != "" {
			st["last_error"], st["last_error_at"] = fi.LastError, fi.LastErrorAt
		}
	}
	return st
}

// demandNames lists the enabled demand partners as name(type).
func demandNames(cfg *config.Config) string {
	names := make([]string, 0, len(cfg.Demand))
	for _, d := range cfg.Demand {
		if !d.Disabled {
			names = append(names, d.Name+"("+d.Type+")")
		}
	}
	return strings.Join(names, ",")
}
