// Package reliability holds no code: its tests are a scenario suite that
// proves adx keeps its promises under attack, overload and odd input. They
// build the real binary (cmd/adx) once, run it as a process on loopback
// with its admin port, and drive it from the test process with real
// connections, the bench generator, bench synth traffic and the bench mock
// DSP. Load only ever targets 127.0.0.1; other 127.0.0.x addresses are
// used as source addresses to play other clients.
//
// Each scenario is a subtest of TestReliability and logs one greppable
// line per figure, "FIGURE name: key=value ...", whether it passes or not:
//
//   - hostile: slowloris from one IP, an idle keep-alive flood, header
//     floods and lying Content-Lengths. Another IP stays served (>= 99%),
//     nothing gets a 5xx, RSS per hostile connection stays bounded, and
//     every refusal is a documented JSON answer that reaches the client
//     (408, 413, 431, and 429 with Retry-After from http.max_conns_per_ip,
//     counted in adx_http_conns_refused_total).
//   - tmax: huge, negative, zero, one and string tmax values against a DSP
//     that never answers: answered within the effective tmax (capped at
//     auction.max_tmax) plus slack, 400 naming tmax where invalid, and
//     adx_auctions_inflight back at 0.
//   - imps: 1,000 imps get 400 naming imp (auction.max_imps, default 100);
//     100 imps against DSPs answering 25 bids per imp are answered within
//     tmax + 5 ms.
//   - overload: capacity is measured with an open-loop ramp (the highest
//     rate answered with p99 within tmax), then 3x capacity is offered
//     with default settings. Goals: goodput (answers within tmax that ran
//     an auction) >= 90% of capacity, admitted p99 <= tmax, /livez p99 <=
//     50 ms (polled from a process of its own, like the kubelet), RSS
//     growth <= 20%, p99 back under tmax at half load within 5s. Each
//     auction calls one DSP (-reliability.dsps N for more): the cheapest
//     auction adx runs, against which refusing the excess costs most.
//   - overload_fanout: the same with 32 DSPs an auction, as an exchange
//     calls tens of partners: an auction then costs some fifty refusals,
//     and the goodput goal, which needs more than twenty-one, holds.
//   - sigterm: SIGTERM under load at capacity on fresh connections: no
//     reset, refusal or non-200/204 answer for any request sent before the
//     drain delay ended, and exit code 0.
//   - dspfaults: every mock DSP fault mode alone and all at once: answers
//     within tmax plus slack, no 5xx, and adx_demand_requests_total and
//     adx_bids_dropped_total count each call as its fault implies.
//
// adx runs with GOMAXPROCS=1 under load, so that it saturates before the
// machine does; the generator and the mock DSP share the test process.
// On a 2-core machine they take most of the other core, and anything else
// running takes CPU from both: the overload and capacity figures report
// the cores adx, the test process and the rest of the machine used, the
// generator's late sends and its scheduling lag, so that a figure bounded
// by the machine rather than by adx shows as such.
//
// The suite skips under the race detector (the detector slows the
// generator and mock DSP several-fold, so the loads would measure it, not
// adx) and in -short mode. CI runs it in a line of its own, in about two
// minutes plus the build:
//
//	go test -count=1 -v ./internal/reliability/
//
// The long variants run longer loads and more connections (10,000
// hostile connections, a 60 s overload), for a quiet machine:
//
//	go test -count=1 -v -timeout 30m ./internal/reliability/ -reliability.long
//
// One scenario alone: go test -count=1 -v -run 'TestReliability/overload'
// ./internal/reliability/. Figures only: append | grep FIGURE.
package reliability
