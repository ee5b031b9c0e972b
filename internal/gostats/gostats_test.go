package gostats

import (
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, c *Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			got[mf.GetName()] = m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			got[mf.GetName()] = m.GetCounter().GetValue()
		}
	}
	return got
}

var sink [][]byte

func TestCollector(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	c := NewCollector()
	clock := time.Unix(1000, 0)
	c.now = func() time.Time { return clock }
	for i := range 2000 {
		sink = append(sink, make([]byte, 4096+i))
	}
	runtime.GC()
	debug.SetMemoryLimit(1 << 40)
	first := gather(t, c)
	for _, name := range []string{"adx_go_memory_used_bytes", "adx_go_heap_live_bytes", "adx_go_gc_cycles_total", "adx_go_cpu_seconds_total"} {
		if first[name] <= 0 {
			t.Errorf("%s = %v, want > 0 after a GC", name, first[name])
		}
	}
	if f := first["adx_go_gc_cpu_fraction"]; f < 0 || f > 1 {
		t.Errorf("gc fraction %v outside 0..1", f)
	}
	if f := first["adx_go_memory_limit_fraction"]; !(f > 0 && f < 1) {
		t.Errorf("limit fraction %v with a 1 TiB limit, want in (0,1)", f)
	}

	// Scrapes closer than a second reuse the fraction; later ones move on.
	sink = nil
	runtime.GC()
	clock = clock.Add(2 * time.Second)
	second := gather(t, c)
	if second["adx_go_gc_cycles_total"] <= first["adx_go_gc_cycles_total"] {
		t.Errorf("gc cycles did not grow: %v then %v", first["adx_go_gc_cycles_total"], second["adx_go_gc_cycles_total"])
	}

	debug.SetMemoryLimit(math.MaxInt64)
	if _, ok := gather(t, c)["adx_go_memory_limit_fraction"]; ok {
		t.Error("limit fraction exported without a limit")
	}
}

func TestMetricNamesAreDocumented(t *testing.T) {
	ch := make(chan *prometheus.Desc, 16)
	NewCollector().Describe(ch)
	close(ch)
	for d := range ch {
		if !strings.Contains(d.String(), "adx_go_") {
			t.Errorf("descriptor %v is not under adx_go_", d)
		}
	}
}
