package reload

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of every watched data file, one child
// per logical file name (label file, e.g. "geo.city"). Build one with
// NewMetrics and share it between all Files of a process; a nil *Metrics
// records nothing.
type Metrics struct {
	reloads  *prometheus.CounterVec
	failures *prometheus.CounterVec
	loadedAt *prometheus.GaugeVec
	lastOK   *prometheus.GaugeVec
}

// NewMetrics creates the data-file series and registers them on reg (nil:
// not registered, for tests and tools). Registering twice on the same
// registry reuses the series already there, so two callers that each build
// Metrics for one registry still export one set of series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_data_reloads_total",
			Help: "Changed data files loaded, verified and put in service after the first load, by logical file name.",
		}, []string{"file"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adx_data_reload_failures_total",
			Help: "Changed data files rejected (unreadable, missing, truncated, corrupt or of the wrong type); the previous version stays in service.",
		}, []string{"file"}),
		loadedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adx_data_loaded_timestamp_seconds",
			Help: "Unix time at which the version of the data file in service was loaded.",
		}, []string{"file"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "adx_data_last_reload_successful",
			Help: "1 if the last load attempt of the data file succeeded, 0 if it was rejected and an older version is in service.",
		}, []string{"file"}),
	}
	if reg != nil {
		m.reloads = register(reg, m.reloads)
		m.failures = register(reg, m.failures)
		m.loadedAt = register(reg, m.loadedAt)
		m.lastOK = register(reg, m.lastOK)
	}
	return m
}

// register registers c on reg, or returns the equal collector already
// registered there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("BUG: reload: cannot register data-file metrics: " + err.Error())
}

// series are the children of one file, resolved once so a reload does no
// label lookups.
type series struct {
	reloads, failures prometheus.Counter
	loadedAt, lastOK  prometheus.Gauge
}

func (m *Metrics) series(name string) *series {
	if m == nil {
		return nil
	}
	return &series{
		reloads:  m.reloads.WithLabelValues(name),
		failures: m.failures.WithLabelValues(name),
		loadedAt: m.loadedAt.WithLabelValues(name),
		lastOK:   m.lastOK.WithLabelValues(name),
	}
}

// forget drops the series of a closed file so /metrics does not report a
// file that is no longer watched.
func (m *Metrics) forget(name string) {
	if m == nil {
		return
	}
	m.reloads.DeleteLabelValues(name)
	m.failures.DeleteLabelValues(name)
	m.loadedAt.DeleteLabelValues(name)
	m.lastOK.DeleteLabelValues(name)
}
