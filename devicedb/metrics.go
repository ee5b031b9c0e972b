package devicedb

import "github.com/prometheus/client_golang/prometheus"

var (
	cacheHitsDesc   = prometheus.NewDesc("adx_devicedb_cache_hits_total", "Device lookups answered from the cache.", nil, nil)
	cacheMissesDesc = prometheus.NewDesc("adx_devicedb_cache_misses_total", "Device lookups not in the cache (computed and stored).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Cache) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheHitsDesc
	ch <- cacheMissesDesc
}

// Collect implements prometheus.Collector: adx_devicedb_cache_hits_total and
// adx_devicedb_cache_misses_total.
func (c *Cache) Collect(ch chan<- prometheus.Metric) {
	h, m := c.Stats()
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(h))
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(m))
}
