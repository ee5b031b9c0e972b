package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/enrich"
	"github.com/adx-exchange/adx/internal/admission"
	"github.com/adx-exchange/adx/internal/capture"
	"github.com/adx-exchange/adx/internal/connlimit"
	"github.com/adx-exchange/adx/internal/gostats"
	"github.com/adx-exchange/adx/internal/listener"
	"github.com/adx-exchange/adx/internal/maxprocs"
	"github.com/adx-exchange/adx/internal/memguard"
	"github.com/adx-exchange/adx/internal/memlimit"
	"github.com/adx-exchange/adx/internal/netstat"
	"github.com/adx-exchange/adx/internal/reload"
	"github.com/adx-exchange/adx/privacy"
	"github.com/adx-exchange/adx/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func init() {
	register("serve", "serve OpenRTB auctions (the default subcommand)", runServe)
}

// loadConfig parses the shared -config flag and the override flags, and
// returns the effective config.
func loadConfig(fs *flag.FlagSet, args []string) (*config.Config, int, bool) {
	cfg, _, code, ok := loadConfigSource(fs, args, false)
	return cfg, code, ok
}

// loadConfigArgs is loadConfig for a subcommand that may take positional
// arguments after its flags.
func loadConfigArgs(fs *flag.FlagSet, args []string, positional bool) (*config.Config, int, bool) {
	cfg, _, code, ok := loadConfigSource(fs, args, positional)
	return cfg, code, ok
}

// loadConfigSource is loadConfigArgs that also returns where the config
// came from, for reloads.
func loadConfigSource(fs *flag.FlagSet, args []string, positional bool) (*config.Config, configSource, int, bool) {
	path := fs.String("config", "", "YAML config `file`; without it the embedded default is used (env ADX_CONFIG)")
	ov := config.RegisterFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return nil, configSource{}, code, false
	}
	if fs.NArg() > 0 && !positional {
		fmt.Fprintf(fs.Output(), "adx: unexpected arguments %q\n", fs.Args())
		return nil, configSource{}, 2, false
	}
	src := configSource{path: config.ConfigPath(fs, *path, os.Getenv), ov: ov}
	cfg, err := src.load()
	if err != nil {
		fmt.Fprintf(fs.Output(), "adx: %v\n", err)
		return nil, configSource{}, 1, false
	}
	return cfg, src, 0, true
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "", "Serve OpenRTB auctions on -http.listen and the admin endpoints on -admin.listen.\nFlags override ADX_* environment variables, which override the config file.", stderr)
	cfg, src, code, ok := loadConfigSource(fs, args, false)
	if !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		fmt.Fprintf(stderr, "adx: log.level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	stopFit := fitPod(cfg, log)
	defer stopFit()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gostats.NewCollector(), netstat.NewCollector(netstat.DefaultPath), memlimit.NewCollector(), maxprocs.NewCollector())
	data, err := openData(cfg, log, reg)
	if err != nil {
		log.Error("cannot load the data files", "err", err)
		return 1
	}
	defer data.Close()
	st, err := startStages(cfg, log, reg)
	if err != nil {
		log.Error("cannot start the request path", "err", err)
		return 1
	}
	defer st.stop()
	tr, err := openTrail(cfg, log, reg)
	if err != nil {
		log.Error("cannot open the money trail", "err", err)
		return 1
	}
	// Runs once the public server has answered its last request.
	defer tr.close(log, cfg.Shutdown.Timeout.D())
	aucMetrics := auction.NewMetrics(reg)
	public := server.NewPublic(cfg, auction.FromConfig(cfg, data.rates, aucMetrics), server.NewMetrics(reg), log,
		server.Options{Geo: data.geo, Devices: data.devices, GVL: data.GVL, Capture: st.capture, Memory: st.memory, Admission: st.admit,
			Notices: tr.notices, Events: tr.stream})
	// The config file is watched from here on: a changed one is put in
	// service without a restart, and a bad one leaves this one serving.
	reloader, err := startConfigReload(src, public, data.rates, aucMetrics, log, reg)
	if err != nil {
		log.Error("cannot watch the config file", "err", err)
		return 1
	}
	defer reloader.close()
	admin := newAdmin(log, reg, data, reloader)
	lns, err := listen(cfg, log, reg, st.admit)
	if err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	return serveUntilSignal(cfg, log, public, admin, lns)
}

// fitPod fits adx to its pod: the Go soft memory limit from the cgroup's
// memory limit (GOMEMLIMIT wins), kept up to date until the returned stop,
// and GOMAXPROCS from the CPU quota, rounded down.
func fitPod(cfg *config.Config, log *slog.Logger) (stop func()) {
	ctx, stop := context.WithCancel(context.Background())
	if _, err := memlimit.Apply(ctx, memlimit.Options{Ratio: cfg.Memory.LimitRatio, Refresh: memlimit.DefaultRefresh, Logger: log}); err != nil {
		log.Error("cannot set the Go memory limit from the cgroup; running without one", "err", err)
	}
	if _, err := maxprocs.Apply(log); err != nil {
		log.Error("cannot set GOMAXPROCS from the CPU quota", "err", err)
	}
	return stop
}

// dataFiles are the data files enrichment and the auction read, watched
// and reloaded.
type dataFiles struct {
	geo     *enrich.Geo
	devices *enrich.Devices
	rates   *currency.Source
	gvl     *reload.File[*privacy.GVL] // nil: none configured
}

// openData opens the data files. Every file the config names is
// required. One that cannot be loaded now (not yet downloaded, or
// rejected) is logged and keeps /readyz at 503, naming it, until a version
// loads; the embedded defaults need no file. Later replacements are
// watched and swapped in, or rejected with the last good one kept, and adx
// stays ready.
func openData(cfg *config.Config, log *slog.Logger, reg *prometheus.Registry) (*dataFiles, error) {
	metrics := reload.NewMetrics(reg)
	geo, err := openGeo(cfg, log, metrics, true)
	if err != nil {
		return nil, fmt.Errorf("geo databases: %w", err)
	}
	devices, err := openDevices(cfg, log, metrics)
	if err != nil {
		geo.Close()
		return nil, fmt.Errorf("device database: %w", err)
	}
	rates, err := currency.OpenSource(currency.SourceOptions{
		File:           cfg.Currency.File,
		Exchange:       cfg.Auction.Currency,
		MaxAge:         cfg.Currency.MaxAge.D(),
		ReloadInterval: cfg.Currency.ReloadInterval.D(),
		Logger:         log,
		Metrics:        metrics,
		StartPending:   true,
	})
	if err != nil {
		geo.Close()
		devices.Close()
		return nil, fmt.Errorf("currency rates: %w", err)
	}
	d := &dataFiles{geo: geo, devices: devices, rates: rates}
	if path := cfg.Privacy.GVLFile; path != "" {
		d.gvl, err = reload.Open("gvl", path, privacy.LoadGVL, reload.Options[*privacy.GVL]{
			Logger: log, Metrics: metrics, StartPending: true, HeapBacked: true,
			Version: func(g *privacy.GVL) string { return strconv.Itoa(g.Version()) },
		})
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("global vendor list: %w", err)
		}
	}
	reg.MustRegister(devices.Cache(), geo, rates, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "adx_privacy_gvl_version",
		Help: "vendorListVersion of the IAB Europe Global Vendor List in service (privacy.gvl_file); 0: none.",
	}, func() float64 {
		if g := d.GVL(); g != nil {
			return float64(g.Version())
		}
		return 0
	}))
	if err := reload.CheckLoaded(d.Files()); err != nil {
		log.Warn("data files not loaded yet: /readyz answers 503 until they are", "err", err)
	}
	log.Info("data loaded", "geo", geo.Files(), "devicedb", devices.Version(), "currency", rates.Version())
	return d, nil
}

// Files describes every data file in service.
func (d *dataFiles) Files() []reload.Info {
	files := slices.Concat(d.geo.Files(), d.devices.Files(), d.rates.Files())
	if d.gvl != nil {
		files = append(files, d.gvl.Info())
	}
	return files
}

// GVL returns the Global Vendor List in service; nil: none configured, or
// none loaded yet. A list is plain memory (reload.Options.HeapBacked), so
// it stays valid for as long as the caller holds it.
func (d *dataFiles) GVL() *privacy.GVL {
	if d.gvl == nil {
		return nil
	}
	g, release := d.gvl.Acquire()
	release()
	return g
}

// Close stops watching the files.
func (d *dataFiles) Close() {
	d.geo.Close()
	d.devices.Close()
	d.rates.Close()
	if d.gvl != nil {
		d.gvl.Close()
	}
}

// stages are the parts of the request path that run on their own:
// request capture, and the memory and CPU admission controls.
type stages struct {
	capture *capture.Writer    // nil: no capture
	memory  *memguard.Guard    // nil: no memory shedding
	admit   *admission.Limiter // always
}

// startStages starts them as the config says.
func startStages(cfg *config.Config, log *slog.Logger, reg *prometheus.Registry) (*stages, error) {
	st := &stages{}
	if cfg.Capture.File != "" && cfg.Capture.Rate > 0 {
		c, err := capture.Open(capture.Options{Path: cfg.Capture.File, Rate: cfg.Capture.Rate, MaxBytes: cfg.Capture.MaxBytes, Keep: cfg.Capture.Keep, Raw: cfg.Capture.Raw, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("request capture: %w", err)
		}
		st.capture = c
		log.Info("capturing requests", "file", cfg.Capture.File, "rate", cfg.Capture.Rate, "scrubbed", !cfg.Capture.Raw)
		reg.MustRegister(capture.NewCollector(c))
	}
	// Memory admission: refuse new auctions when running ones hold their
	// share of the Go memory limit, or when what the GC cannot free nears
	// it, rather than let the GC spin and the kernel kill the pod.
	if cfg.HTTP.ShedMemoryRatio > 0 || cfg.HTTP.InflightMemoryRatio > 0 {
		st.memory = memguard.New(memguard.Options{Ratio: cfg.HTTP.ShedMemoryRatio, Logger: log})
		st.memory.Start()
		reg.MustRegister(st.memory)
	}
	// CPU admission: a limit on auctions in flight that falls while the
	// scheduler shows the CPU cannot keep up, so that past its capacity
	// adx answers the auctions it admits in time and sheds the rest.
	st.admit = admission.New(admission.Options{Max: cfg.HTTP.MaxInflight, Target: cfg.HTTP.SchedLatencyTarget.D(), Logger: log})
	st.admit.Start()
	reg.MustRegister(st.admit)
	return st, nil
}

func (st *stages) stop() {
	st.admit.Stop()
	if st.memory != nil {
		st.memory.Stop()
	}
	if st.capture != nil {
		st.capture.Close()
	}
}

// newAdmin builds the admin server: metrics, pprof, probes (ready once
// every data file has loaded), version.
func newAdmin(log *slog.Logger, reg *prometheus.Registry, data *dataFiles, reloader *configReloader) *server.Admin {
	build := server.ReadBuildInfo(version)
	started := time.Now().UTC()
	admin := server.NewAdmin(reg, func() any {
		return map[string]any{
			"build":    build,
			"config":   reloader.status(),
			"started":  started,
			"data":     data.Files(),
			"devicedb": data.devices.Version(),
		}
	}, log)
	admin.AddReadinessCheck("data files", func() error { return reload.CheckLoaded(data.Files()) })
	return admin
}

// listeners are adx's sockets. The public one is wrapped twice: draining
// stops it without resetting its accept queue; conns bounds, refuses and
// gracefully closes connections.
type listeners struct {
	public   net.Listener
	draining *listener.Draining
	conns    *connlimit.Listener
	admin    net.Listener
}

// listen opens the public and admin sockets; admit tells the admin
// listener when the process is busy.
func listen(cfg *config.Config, log *slog.Logger, reg *prometheus.Registry, admit *admission.Limiter) (*listeners, error) {
	publicLn, lnInfo, err := listener.Listen(listener.Config{Addr: cfg.HTTP.Listen, Backlog: cfg.HTTP.Backlog, ReusePort: cfg.HTTP.ReusePort})
	if err != nil {
		return nil, fmt.Errorf("public address %s: %w", cfg.HTTP.Listen, err)
	}
	log.Info("public listener", "listener", lnInfo)
	if w := lnInfo.Warning(); w != "" {
		log.Warn(w, "listener", lnInfo)
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "adx_http_listen_backlog",
		Help: "Effective accept queue length of the public listener: the requested backlog capped by net.core.somaxconn.",
	}, func() float64 { return float64(lnInfo.Effective) }))
	if st, err := netstat.ReadListenStats(netstat.DefaultPath); err != nil {
		log.Warn("cannot read the kernel's listen counters; adx_tcp_listen_overflows_total will be absent", "err", err)
	} else {
		log.Info("kernel listen counters", "listen_overflows", st.ListenOverflows, "listen_drops", st.ListenDrops)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		publicLn.Close()
		return nil, fmt.Errorf("admin address %s: %w", cfg.Admin.Listen, err)
	}
	// The admin port answers the kubelet's probes while the public port is
	// overloaded: while runnable goroutines wait more than a millisecond
	// to run (at the admission quantile), the admin listener looks at its
	// queue on a timer (see listener.Prompt). With adaptive admission off
	// nothing measures that wait, and it never does.
	prompt, err := listener.NewPrompt(adminLn.(*net.TCPListener), func() bool { return admit.SchedLatency() > time.Millisecond })
	if err != nil {
		publicLn.Close()
		adminLn.Close()
		return nil, err
	}
	l := &listeners{public: publicLn, draining: listener.NewDraining(publicLn), admin: prompt}
	l.conns = limitConns(cfg, l.draining, log)
	reg.MustRegister(l.conns)
	return l, nil
}

// serveUntilSignal serves until SIGTERM or SIGINT, then drains, and
// returns the exit code.
func serveUntilSignal(cfg *config.Config, log *slog.Logger, public *server.Public, admin *server.Admin, lns *listeners) int {
	// Catch signals before saying so: a SIGTERM right after "adx serving"
	// must drain, not kill.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	log.Info("adx serving", "public", lns.public.Addr().String(), "admin", lns.admin.Addr().String(),
		"config", cfg.Source, "config_sha256", cfg.Hash, "demand", demandNames(cfg), "version", server.ReadBuildInfo(version).Version)

	publicDone := make(chan error, 1)
	adminDone := make(chan error, 1)
	go func() { publicDone <- public.Serve(lns.conns) }()
	go func() { adminDone <- admin.Serve(lns.admin) }()

	select {
	case err := <-publicDone:
		log.Error("a listener failed", "listener", "public", "err", err)
		return 1
	case err := <-adminDone:
		log.Error("a listener failed", "listener", "admin", "err", err)
		return 1
	case s := <-sig:
		log.Info("shutting down", "signal", s.String(), "inflight", public.Inflight())
	}
	return drain(cfg, log, public, admin, lns, sig, publicDone)
}

// drain stops adx without dropping a request: /readyz turns 503 at once
// so load balancers stop sending; the public listener keeps serving for
// the drain delay, then stops accepting and waits for in-flight auctions.
// A second signal exits at once.
func drain(cfg *config.Config, log *slog.Logger, public *server.Public, admin *server.Admin, lns *listeners, sig <-chan os.Signal, publicDone <-chan error) int {
	admin.SetDraining(true)
	public.BeginDrain()
	select {
	case <-time.After(cfg.Shutdown.DrainDelay.D()):
	case s := <-sig:
		log.Warn("second signal during the drain delay: exiting at once", "signal", s.String())
		return 1
	}
	// Closing a listening socket resets the connections in its accept
	// queue: handshakes the kernel completed before the delay ended, some
	// with a request already sent. So the queue is served first: Drain
	// counts it, the server accepts exactly that many more, then the
	// listener closes and Serve returns. Only then does Shutdown start,
	// since it closes the listener at once. Shutdown answers the requests
	// in flight and those already sent on the accepted connections (with
	// "Connection: close"), closes idle keep-alive connections (gracefully,
	// through conns) and waits for the rest. A request sent on an idle
	// connection just as it closes is dropped, the keep-alive race of
	// HTTP/1.1; the drain delay's "Connection: close" answers leave only
	// connections idle through the whole delay exposed to it.
	queued, err := lns.draining.Drain()
	if err != nil {
		log.Warn("cannot read the accept queue; closing the public listener resets the connections waiting in it", "err", err)
	}
	log.Info("drain delay over: serving the connections in the accept queue, then closing the public listener",
		"queued", queued, "open", lns.conns.Open(), "inflight", public.Inflight())
	shutdownBy := time.After(cfg.Shutdown.Timeout.D())
	select {
	case err := <-publicDone:
		if err != nil {
			log.Error("public server", "err", err)
		}
	case <-shutdownBy:
		log.Error("the accept queue was not served within shutdown.timeout", "queued", queued)
	case s := <-sig:
		log.Warn("second signal while serving the accept queue: exiting at once", "signal", s.String(), "inflight", public.Inflight())
		return 1
	}
	stopped := make(chan error, 1)
	go func() { stopped <- public.Shutdown(cfg.Shutdown.Timeout.D()) }()
	select {
	case err := <-stopped:
		if err != nil {
			log.Error("public server shutdown", "err", err)
		}
	case s := <-sig:
		log.Warn("second signal while waiting for in-flight auctions: exiting at once", "signal", s.String(), "inflight", public.Inflight())
		return 1
	}
	// Let the last graceful closes finish, so that exiting does not reset
	// connections whose final answer is still on its way.
	if !lns.conns.Wait(2 * connlimit.DefaultLinger) {
		log.Warn("connections still closing at exit", "open", lns.conns.Open())
	}
	actx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := admin.Shutdown(actx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("admin server shutdown", "err", err)
	}
	log.Info("stopped")
	return 0
}

func readBuildInfo() server.BuildInfo { return server.ReadBuildInfo(version) }

// openGeo opens the configured MaxMind databases. With none configured it
// returns a Geo that enriches nothing. pending opens a database that cannot
// be loaded yet as pending (enrich.GeoOptions.StartPending) instead of
// failing.
func openGeo(cfg *config.Config, log *slog.Logger, metrics *reload.Metrics, pending bool) (*enrich.Geo, error) {
	override := make(map[string]bool, len(cfg.Geo.Override))
	for _, f := range cfg.Geo.Override {
		override[f] = true
	}
	return enrich.OpenGeo(enrich.GeoOptions{
		City:           cfg.Geo.City,
		ISP:            cfg.Geo.ISP,
		ConnectionType: cfg.Geo.ConnectionType,
		AnonymousIP:    cfg.Geo.AnonymousIP,
		ReloadInterval: cfg.Geo.ReloadInterval.D(),
		Override:       override,
		Block:          cfg.Geo.Block,
		Logger:         log,
		Metrics:        metrics,
		StartPending:   pending,
	})
}

// openDevices opens the configured device database, or the embedded one. A
// file that cannot be loaded yet is opened as pending
// (enrich.DeviceOptions.StartPending).
func openDevices(cfg *config.Config, log *slog.Logger, metrics *reload.Metrics) (*enrich.Devices, error) {
	override := make(map[string]bool, len(cfg.DeviceDB.Override))
	for _, f := range cfg.DeviceDB.Override {
		override[f] = true
	}
	return enrich.OpenDevices(enrich.DeviceOptions{
		File:           cfg.DeviceDB.File,
		ReloadInterval: cfg.DeviceDB.ReloadInterval.D(),
		Override:       override,
		CacheSize:      cfg.DeviceDB.CacheSize,
		Logger:         log,
		Metrics:        metrics,
		StartPending:   true,
	})
}
