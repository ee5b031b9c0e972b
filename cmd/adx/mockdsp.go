package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

func init() {
	register("mockdsp", "run a mock DSP for tests and load tests", runMockDSP)
}

const mockDSPAbout = `Run a mock DSP: an HTTP server answering OpenRTB bid requests POSTed to any
path with bids, no-bids, delays and faults. The flags are the defaults; the
query string of each request's URL overrides them with the keys latency,
jitter, bidRate, price, priceJitter, bidsPerImp and mode, so one mock can
play several DSPs, each with its own endpoint URL, e.g.
  http://127.0.0.1:9001/bid?latency=300ms&bidRate=1&mode=garbage
A bad query value or bid request gets 400. Other query keys are ignored.

Modes: "" (normal), nobid (204), emptyseatbid, garbage (non-JSON 200),
error (500), hang (never answers), badbids (bids an exchange must drop),
wrongid (response id differs), slowbody (body trickled over ~1s),
close (closes the connection).

It logs one JSON line on stdout once listening (with the bound address) and
stops on SIGINT or SIGTERM.

Example:
  adx mockdsp -http.listen 127.0.0.1:9001 -latency 5ms -bidRate 0.7 -price 1.5`

func runMockDSP(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mockdsp", "", mockDSPAbout, stderr)
	listen := fs.String("http.listen", "127.0.0.1:9001", "`address` (host:port) to listen on; port 0 picks a free port, logged once bound")
	latency := fs.Duration("latency", 5*time.Millisecond, "`duration` waited before answering each request, e.g. 5ms (latency+jitter is capped at 10s)")
	jitter := fs.Duration("jitter", 0, "uniform random extra latency in [0, `duration`), e.g. 2ms (default 0: none)")
	bidRate := fs.Float64("bidRate", 0.7, "`share` of imps that get a bid, 0..1")
	price := fs.Float64("price", 1.5, "bid `CPM` in the exchange's currency; a bid is never below the imp's bidfloor nor 0.01")
	priceJitter := fs.Float64("priceJitter", 0, "uniform random extra CPM in [0, `amount`) (default 0: none)")
	bidsPerImp := fs.Int("bidsPerImp", 1, "`bids` each imp that gets a bid receives, 1.."+strconv.Itoa(bench.MaxBidsPerImp)+"; each further one is priced 0.01 lower")
	mode := fs.String("mode", "", "fault `mode`: one of "+strings.Join(bench.MockDSPModes()[1:], ", ")+` (default "": answer normally)`)
	seed := fs.Int64("seed", 0, "random `seed` for jitters, bid choices and bid ids; 0 seeds from the clock (default 0)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "adx mockdsp: unexpected arguments %q\n", fs.Args())
		return 2
	}
	m, err := bench.NewMockDSP(bench.MockDSPConfig{
		Latency: *latency, Jitter: *jitter, BidRate: *bidRate, Price: *price,
		PriceJitter: *priceJitter, Mode: *mode, BidsPerImp: *bidsPerImp, Seed: *seed,
	})
	if err != nil {
		fmt.Fprintf(stderr, "adx mockdsp: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("mockdsp cannot listen", "addr", *listen, "err", err)
		return 1
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	errc := make(chan error, 1)
	go func() { errc <- m.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("mockdsp listening", "addr", addr, "url", "http://"+addr+"/bid",
		"latency", latency.String(), "jitter", jitter.String(), "bidRate", *bidRate,
		"price", *price, "priceJitter", *priceJitter, "bidsPerImp", *bidsPerImp, "mode", *mode, "seed", *seed)

	select {
	case err := <-errc:
		log.Error("mockdsp listener failed", "err", err)
		_ = m.Close()
		return 1
	case s := <-sig:
		log.Info("mockdsp shutting down", "signal", s.String())
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err = <-closed:
	case s := <-sig:
		log.Warn("second signal while stopping: exiting at once", "signal", s.String())
		return 1
	}
	if serr := <-errc; err == nil {
		err = serr
	}
	if err != nil {
		log.Error("mockdsp stopped with an error", "err", err, "requests", m.Requests())
		return 1
	}
	log.Info("mockdsp stopped", "requests", m.Requests())
	return 0
}
