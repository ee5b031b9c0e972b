package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BuildInfo describes the running binary for /version.
type BuildInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Revision  string `json:"revision,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
}

// ReadBuildInfo reads the binary's version from its embedded build info.
func ReadBuildInfo(version string) BuildInfo {
	bi := BuildInfo{Version: version}
	if info, ok := debug.ReadBuildInfo(); ok {
		bi.GoVersion = info.GoVersion
		if version == "" {
			bi.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Revision = s.Value
			case "vcs.modified":
				bi.Modified = s.Value == "true"
			}
		}
	}
	return bi
}

// Admin is the admin listener: /metrics, /debug/pprof/, /livez, /readyz and
// /version. It never shares the public port.
type Admin struct {
	srv      *http.Server
	draining atomic.Bool
	version  func() any

	mu     sync.Mutex
	checks []readinessCheck
}

type readinessCheck struct {
	name  string
	ready func() error
}

// AddReadinessCheck makes /readyz answer 503 while ready returns an error,
// for example while a required data file is not loaded. ready must be
// cheap and safe for concurrent use.
func (a *Admin) AddReadinessCheck(name string, ready func() error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append(a.checks, readinessCheck{name, ready})
}

// notReady lists why the instance should get no traffic, or nothing.
func (a *Admin) notReady() []string {
	var why []string
	if a.draining.Load() {
		why = append(why, "draining for shutdown")
	}
	a.mu.Lock()
	checks := a.checks
	a.mu.Unlock()
	for _, c := range checks {
		if err := c.ready(); err != nil {
			why = append(why, c.name+": "+err.Error())
		}
	}
	return why
}

// NewAdmin returns the admin server. gatherer serves /metrics; version
// returns the /version document.
func NewAdmin(gatherer prometheus.Gatherer, version func() any, log *slog.Logger) *Admin {
	a := &Admin{version: version}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := a.notReady(); len(why) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.version())
	})
	a.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a
}

// SetDraining turns /readyz to 503 (true) or back to 200.
func (a *Admin) SetDraining(v bool) { a.draining.Store(v) }

// Serve answers admin requests on ln until Shutdown.
func (a *Admin) Serve(ln net.Listener) error {
	err := a.srv.Serve(ln)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// Shutdown stops the admin server.
func (a *Admin) Shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
