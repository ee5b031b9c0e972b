package main

import (
	"log/slog"
	"net"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/connlimit"
)

// fallbackNofile stands for the file descriptor limit where it cannot be
// read (outside Unix): the traditional default soft limit.
const fallbackNofile = 1024

// limitConns wraps the public listener with the connection bounds of
// cfg.HTTP, deriving the total from the file descriptor limit when
// http.concurrency is 0, and logs what it chose.
func limitConns(cfg *config.Config, ln net.Listener, log *slog.Logger) *connlimit.Listener {
	total := cfg.HTTP.Concurrency
	attrs := []any{"max_conns_per_ip", cfg.HTTP.MaxConnsPerIP, "idle_timeout", cfg.HTTP.IdleTimeout.String()}
	if total == 0 {
		nofile, err := connlimit.Nofile()
		if err != nil {
			log.Warn("cannot read the file descriptor limit; deriving http.concurrency from a low stand-in", "nofile", fallbackNofile, "err", err)
			nofile = fallbackNofile
		}
		outbound := outboundConns(cfg)
		var reserve int
		total, reserve = connlimit.AutoMax(nofile, outbound)
		attrs = append(attrs, "from", "RLIMIT_NOFILE", "nofile", nofile, "reserve", reserve, "demand_conns", outbound)
		if uint64(total+reserve) > nofile {
			log.Warn("the file descriptor limit is too low for the demand partners' max_conns: raise it (ulimit -n) or lower max_conns",
				"nofile", nofile, "demand_conns", outbound, "max_conns", total)
		}
	} else {
		attrs = append(attrs, "from", "http.concurrency")
	}
	log.Info("public connection limits", append([]any{"max_conns", total}, attrs...)...)
	return connlimit.New(ln, connlimit.Options{Max: total, MaxPerIP: cfg.HTTP.MaxConnsPerIP, ShedStatus: cfg.HTTP.ShedStatus})
}

// outboundConns is how many connections adx may open to demand partners:
// each enabled DSP's max_conns.
func outboundConns(cfg *config.Config) int {
	n := 0
	for _, d := range cfg.Demand {
		if !d.Disabled && d.Type == config.DemandOpenRTB {
			n += cfg.DSPClient.ForDemand(&d).MaxConns
		}
	}
	return n
}
