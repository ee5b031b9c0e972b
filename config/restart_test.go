package config

import (
	"slices"
	"testing"
)

func TestKeepRestartSettings(t *testing.T) {
	f := func(change func(c *Config), want []string) {
		t.Helper()
		old, next := Defaults(), Defaults()
		change(next)
		got := next.KeepRestartSettings(old)
		if !slices.Equal(got, want) {
			t.Errorf("changed keys %q, want %q", got, want)
		}
		// What needs a restart keeps its value in service.
		if next.HTTP != old.HTTP || next.Log.Level != old.Log.Level || next.Auction.Currency != old.Auction.Currency {
			t.Errorf("a restart setting was not carried over: http %+v log %+v currency %q", next.HTTP, next.Log, next.Auction.Currency)
		}
	}
	f(func(c *Config) {}, nil)
	// Live settings are not reported and keep their new value.
	f(func(c *Config) { c.Auction.TakeRate = 0.3; c.Log.SampleRate = 1; c.Demand = nil }, nil)
	f(func(c *Config) { c.HTTP.Listen = ":1"; c.HTTP.MaxInflight = 7 }, []string{"http.listen", "http.max_inflight"})
	f(func(c *Config) { c.Log.Level = "debug"; c.Log.SampleRate = 0.5 }, []string{"log.level"})
	f(func(c *Config) { c.Auction.Currency = "EUR"; c.Auction.TakeRate = 0.1 }, []string{"auction.currency"})
	f(func(c *Config) { c.Events.Sink = "kafka"; c.Reload.Watch = false }, []string{"events.sink", "reload.watch"})

	next := Defaults()
	next.Auction.TakeRate = 0.3
	next.KeepRestartSettings(Defaults())
	if next.Auction.TakeRate != 0.3 {
		t.Errorf("auction.take_rate %v, want the new 0.3: it reloads live", next.Auction.TakeRate)
	}
}
