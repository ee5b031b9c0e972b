package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"

	"github.com/adx-exchange/adx/openrtb"
)

// FleetProfile is the YAML profile of `adx bench dsps`: how each DSP of a
// fleet of mock DSPs on loopback behaves. Example (all keys but dsps are
// optional; testdata/fleet/profile.yaml is a fuller one):
//
//	seed: 1            # 0 seeds from the clock
//	timeout: 100ms     # timeout written into the printed adx demand config
//	dsps:              # DSP i of a fleet of K uses dsps[i % len(dsps)]
//	  - name: fast     # DSP names get "-<i>" appended: fast-1, slow-2, ...
//	    latency:
//	      median: 8ms        # lognormal: median * exp(sigma * N(0,1))
//	      sigma: 0.4
//	      spike_prob: 0.01   # this share of requests waits `spike` instead
//	      spike: 80ms
//	      timeout_prob: 0.002 # this share waits `timeout_delay` (past any sane tmax)
//	      timeout_delay: 1s
//	    bid_rate: 0.7        # share of answered requests that get bids (the rest 204)
//	    bid_rates:           # optional: the bid rate of the requests a rule matches, first match
//	      - {country: USA, format: video, rate: 0.9}  # every key set must match; rate is required
//	      - {inventory: site, device_type: 2, rate: 0.1}
//	    price: {median: 1.5, sigma: 0.5}  # lognormal CPM of each bid, >= bidfloor
//	    error_5xx: 0.01      # share answered 503 (after the latency)
//	    reset: 0.005         # share whose connection is reset without an answer
//	    gzip: auto           # "" or never; auto: gzip when the request accepts it; always
//	    pad_bytes: 2048      # bytes of padding added to each bid response (in ext)
//
// Faults are drawn first (reset, then 5xx), then the bid. Every request is
// decoded and validated with openrtb.DecodeRequest and
// openrtb.ValidateRequest; a malformed one is counted and answered 400.
type FleetProfile struct {
	Seed    int64         `yaml:"seed"`
	Timeout time.Duration `yaml:"timeout"`
	DSPs    []DSPProfile  `yaml:"dsps"`
}

// DSPProfile is how one DSP of a fleet behaves; see FleetProfile.
type DSPProfile struct {
	Name    string         `yaml:"name"`
	Latency LatencyProfile `yaml:"latency"`
	BidRate float64        `yaml:"bid_rate"`
	// BidRates, when set, make the bid rate depend on the request: the
	// first rule matching a request gives its rate, BidRate is that of
	// requests no rule matches.
	BidRates []BidRateRule `yaml:"bid_rates"`
	Price    PriceProfile  `yaml:"price"`
	Error5xx float64       `yaml:"error_5xx"`
	Reset    float64       `yaml:"reset"`
	Gzip     string        `yaml:"gzip"`
	PadBytes int           `yaml:"pad_bytes"`
}

// LatencyProfile is a lognormal latency with a tail of spikes and timeouts.
type LatencyProfile struct {
	Median       time.Duration `yaml:"median"`
	Sigma        float64       `yaml:"sigma"`
	SpikeProb    float64       `yaml:"spike_prob"`
	Spike        time.Duration `yaml:"spike"`
	TimeoutProb  float64       `yaml:"timeout_prob"`
	TimeoutDelay time.Duration `yaml:"timeout_delay"`
}

// BidRateRule is the bid rate of the requests it matches: each key set
// must match, and a rule with none matches every request.
type BidRateRule struct {
	// Country matches device.geo.country (alpha-3, as OpenRTB carries it).
	Country string `yaml:"country"`
	// Format matches a request with an imp of this kind: banner, video,
	// audio or native.
	Format string `yaml:"format"`
	// DeviceType matches device.devicetype (OpenRTB list 5.21).
	DeviceType int `yaml:"device_type"`
	// Inventory matches app or site requests.
	Inventory string `yaml:"inventory"`
	// Rate is the share of the matched requests that get bids.
	Rate float64 `yaml:"rate"`
}

// matches reports whether req is one of the rule's requests.
func (r *BidRateRule) matches(req *openrtb2.BidRequest) bool {
	if r.Country != "" && (req.Device == nil || req.Device.Geo == nil || req.Device.Geo.Country != r.Country) {
		return false
	}
	if r.DeviceType != 0 && (req.Device == nil || int(req.Device.DeviceType) != r.DeviceType) {
		return false
	}
	switch r.Inventory {
	case "app":
		if req.App == nil {
			return false
		}
	case "site":
		if req.Site == nil {
			return false
		}
	}
	if r.Format == "" {
		return true
	}
	for i := range req.Imp {
		imp := &req.Imp[i]
		switch {
		case r.Format == "banner" && imp.Banner != nil, r.Format == "video" && imp.Video != nil,
			r.Format == "audio" && imp.Audio != nil, r.Format == "native" && imp.Native != nil:
			return true
		}
	}
	return false
}

// bidRate returns the bid rate of req: its first matching rule's, or
// BidRate.
func (p *DSPProfile) bidRate(req *openrtb2.BidRequest) float64 {
	for i := range p.BidRates {
		if p.BidRates[i].matches(req) {
			return p.BidRates[i].Rate
		}
	}
	return p.BidRate
}

// PriceProfile is a lognormal CPM: Median * exp(Sigma * N(0,1)).
type PriceProfile struct {
	Median float64 `yaml:"median"`
	Sigma  float64 `yaml:"sigma"`
}

// Gzip settings of a DSPProfile.
const (
	GzipNever  = "never"
	GzipAuto   = "auto"
	GzipAlways = "always"
)

// LoadFleetProfile reads and validates a YAML fleet profile.
func LoadFleetProfile(path string) (*FleetProfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read fleet profile: %w", err)
	}
	var p FleetProfile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("cannot decode fleet profile %q: %w", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bad fleet profile %q: %w", path, err)
	}
	return &p, nil
}

// Validate checks p and fills in defaults: a 100ms timeout, a 1s timeout
// delay, gzip "never".
func (p *FleetProfile) Validate() error {
	if p.Timeout == 0 {
		p.Timeout = 100 * time.Millisecond
	}
	if p.Timeout < 0 {
		return fmt.Errorf("timeout %v: want > 0", p.Timeout)
	}
	if len(p.DSPs) == 0 {
		return errors.New("no dsps")
	}
	for i := range p.DSPs {
		d := &p.DSPs[i]
		if d.Name == "" {
			d.Name = "dsp"
		}
		if d.Gzip == "" {
			d.Gzip = GzipNever
		}
		if d.Latency.TimeoutDelay == 0 {
			d.Latency.TimeoutDelay = time.Second
		}
		l := &d.Latency
		probs := []struct {
			name string
			v    float64
		}{{"bid_rate", d.BidRate}, {"error_5xx", d.Error5xx}, {"reset", d.Reset},
			{"latency.spike_prob", l.SpikeProb}, {"latency.timeout_prob", l.TimeoutProb}}
		for _, pr := range probs {
			if !validRate(pr.v) {
				return fmt.Errorf("dsp %q: %s %v: want 0..1", d.Name, pr.name, pr.v)
			}
		}
		for j, r := range d.BidRates {
			switch {
			case !validRate(r.Rate):
				return fmt.Errorf("dsp %q: bid_rates[%d].rate %v: want 0..1", d.Name, j, r.Rate)
			case r.Format != "" && r.Format != "banner" && r.Format != "video" && r.Format != "audio" && r.Format != "native":
				return fmt.Errorf("dsp %q: bid_rates[%d].format %q: want banner, video, audio or native", d.Name, j, r.Format)
			case r.Inventory != "" && r.Inventory != "app" && r.Inventory != "site":
				return fmt.Errorf("dsp %q: bid_rates[%d].inventory %q: want app or site", d.Name, j, r.Inventory)
			case r.DeviceType < 0 || r.DeviceType > 7:
				return fmt.Errorf("dsp %q: bid_rates[%d].device_type %d: want 1..7 (0: any)", d.Name, j, r.DeviceType)
			}
		}
		switch {
		case d.Error5xx+d.Reset > 1:
			return fmt.Errorf("dsp %q: error_5xx + reset = %v: want <= 1", d.Name, d.Error5xx+d.Reset)
		case l.SpikeProb+l.TimeoutProb > 1:
			return fmt.Errorf("dsp %q: spike_prob + timeout_prob = %v: want <= 1", d.Name, l.SpikeProb+l.TimeoutProb)
		case l.Median < 0 || l.Spike < 0 || l.TimeoutDelay < 0:
			return fmt.Errorf("dsp %q: latencies must be >= 0", d.Name)
		case !(l.Sigma >= 0 && l.Sigma <= 5) || !(d.Price.Sigma >= 0 && d.Price.Sigma <= 5):
			return fmt.Errorf("dsp %q: sigma must be within 0..5", d.Name)
		case !validPrice(d.Price.Median):
			return fmt.Errorf("dsp %q: price.median %v: want finite and >= 0", d.Name, d.Price.Median)
		case d.Gzip != GzipNever && d.Gzip != GzipAuto && d.Gzip != GzipAlways:
			return fmt.Errorf("dsp %q: gzip %q: want never, auto or always", d.Name, d.Gzip)
		case d.PadBytes < 0 || d.PadBytes > 1<<20:
			return fmt.Errorf("dsp %q: pad_bytes %d: want 0..1048576", d.Name, d.PadBytes)
		}
	}
	return nil
}

// FleetDSPStats counts what one fleet DSP did. Requests counts every
// request handled; the others split it (a malformed request counts only in
// Requests and Malformed). Spikes and Timeouts count latency draws.
type FleetDSPStats struct {
	Name      string
	Endpoint  string
	Requests  int64
	Malformed int64
	Bids      int64 // 200 with bids
	NoBids    int64 // 204
	Errors5xx int64
	Resets    int64
	Spikes    int64
	Timeouts  int64
}

// FleetDSP is one DSP of a Fleet: a fasthttp server on its own loopback
// listener.
type FleetDSP struct {
	prof     DSPProfile
	name     string
	endpoint string
	ln       net.Listener
	srv      *fasthttp.Server
	bidder   *MockDSP // builds the bid JSON; never serves
	done     <-chan struct{}

	rngMu sync.Mutex
	rng   *rand.Rand

	requests, malformed, bids, noBids, errors5xx, resets, spikes, timeouts atomic.Int64
}

// Fleet is K mock DSPs in one process, each on its own 127.0.0.1 port.
// Start it with StartFleet and stop it with Close.
type Fleet struct {
	prof    FleetProfile
	dsps    []*FleetDSP
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once
}

// StartFleet starts n DSPs on 127.0.0.1 (DSP i plays prof.DSPs[i %
// len(prof.DSPs)]), serving until Close. prof must have been validated.
func StartFleet(prof FleetProfile, n int) (*Fleet, error) {
	if err := prof.Validate(); err != nil {
		return nil, fmt.Errorf("bad fleet profile: %w", err)
	}
	if n < 1 {
		return nil, fmt.Errorf("fleet size %d: want >= 1", n)
	}
	f := &Fleet{prof: prof, done: make(chan struct{})}
	seed := prof.Seed
	if seed == 0 {
		seed = rand.Int64()
	}
	for i := range n {
		p := prof.DSPs[i%len(prof.DSPs)]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot listen for fleet DSP %d: %w", i+1, err)
		}
		bidder, err := NewMockDSP(MockDSPConfig{Seed: seed + int64(i) + 1})
		if err != nil {
			ln.Close()
			f.Close()
			return nil, err
		}
		d := &FleetDSP{
			prof: p, name: p.Name + "-" + strconv.Itoa(i+1), ln: ln, bidder: bidder, done: f.done,
			endpoint: "http://" + ln.Addr().String() + "/bid",
			rng:      rand.New(rand.NewPCG(uint64(seed), uint64(i)+0x666c656574)), // "fleet"
		}
		d.srv = &fasthttp.Server{
			Handler: d.handle, Name: "adx-fleetdsp", ReadTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second,
			NoDefaultDate: true, NoDefaultContentType: true, CloseOnShutdown: true,
			DisablePreParseMultipartForm: true, Logger: discardLogger{},
		}
		f.dsps = append(f.dsps, d)
		f.wg.Add(1)
		go func() { defer f.wg.Done(); _ = d.srv.Serve(ln) }()
	}
	return f, nil
}

// DSPs returns the fleet's DSPs, in order. The slice is the caller's.
func (f *Fleet) DSPs() []*FleetDSP { return append([]*FleetDSP(nil), f.dsps...) }

// Close stops every DSP, cutting pending waits short. Later calls do
// nothing.
func (f *Fleet) Close() error {
	var err error
	f.closeMu.Do(func() {
		close(f.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, d := range f.dsps {
			if e := d.srv.ShutdownWithContext(ctx); e != nil && err == nil && !errors.Is(e, net.ErrClosed) {
				err = fmt.Errorf("cannot stop fleet DSP %s: %w", d.name, e)
			}
		}
		f.wg.Wait()
	})
	return err
}

// Stats returns the counters of every DSP, in order.
func (f *Fleet) Stats() []FleetDSPStats {
	out := make([]FleetDSPStats, len(f.dsps))
	for i, d := range f.dsps {
		out[i] = d.Stats()
	}
	return out
}

// DemandConfig returns a YAML snippet for adx's config: a demand list with
// one openrtb partner per DSP, with the profile's timeout.
func (f *Fleet) DemandConfig() string {
	var sb strings.Builder
	sb.WriteString("demand:\n")
	for _, d := range f.dsps {
		fmt.Fprintf(&sb, "  - name: %s\n    type: openrtb\n    endpoint: %q\n    timeout: %s\n", d.name, d.endpoint, f.prof.Timeout)
	}
	return sb.String()
}

// Name returns the DSP's name, e.g. "fast-1".
func (d *FleetDSP) Name() string { return d.name }

// Endpoint returns the DSP's bid URL, http://127.0.0.1:PORT/bid.
func (d *FleetDSP) Endpoint() string { return d.endpoint }

// Stats returns the DSP's counters so far; safe at any time.
func (d *FleetDSP) Stats() FleetDSPStats {
	return FleetDSPStats{Name: d.name, Endpoint: d.endpoint, Requests: d.requests.Load(),
		Malformed: d.malformed.Load(), Bids: d.bids.Load(), NoBids: d.noBids.Load(),
		Errors5xx: d.errors5xx.Load(), Resets: d.resets.Load(), Spikes: d.spikes.Load(), Timeouts: d.timeouts.Load()}
}

// draws returns four uniform draws and two standard normal ones.
func (d *FleetDSP) draws() (u [4]float64, n [2]float64) {
	d.rngMu.Lock()
	for i := range u {
		u[i] = d.rng.Float64()
	}
	n[0], n[1] = d.rng.NormFloat64(), d.rng.NormFloat64()
	d.rngMu.Unlock()
	return u, n
}

func (d *FleetDSP) wait(t time.Duration) {
	if t <= 0 {
		return
	}
	tm := time.NewTimer(min(t, MaxDelay))
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-d.done:
	}
}

var (
	fleetBadReq  = []byte("fleet DSP: malformed bid request\n")
	fleet5xxBody = []byte("fleet DSP: service unavailable\n")
)

func (d *FleetDSP) handle(ctx *fasthttp.RequestCtx) {
	d.requests.Add(1)
	body, err := ctx.Request.BodyUncompressed()
	st := reqStatePool.Get().(*reqState)
	defer st.release()
	if err == nil {
		err = openrtb.DecodeRequest(body, &st.req)
	}
	if err == nil {
		err = openrtb.ValidateRequest(&st.req, openrtb.Limits{})
	}
	if err != nil || !ctx.IsPost() {
		d.malformed.Add(1)
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBody(fleetBadReq)
		return
	}
	u, n := d.draws()
	p := &d.prof
	lat := time.Duration(float64(p.Latency.Median) * math.Exp(p.Latency.Sigma*n[0]))
	switch {
	case u[1] < p.Latency.TimeoutProb:
		d.timeouts.Add(1)
		lat = p.Latency.TimeoutDelay
	case u[1] < p.Latency.TimeoutProb+p.Latency.SpikeProb:
		d.spikes.Add(1)
		lat = p.Latency.Spike
	}
	switch {
	case u[0] < p.Reset:
		d.resets.Add(1)
		d.wait(lat)
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close sends RST
			}
		})
		return
	case u[0] < p.Reset+p.Error5xx:
		d.errors5xx.Add(1)
		d.wait(lat)
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBody(fleet5xxBody)
		return
	}
	d.wait(lat)
	req := &st.req
	nb := 0
	if u[2] < p.bidRate(req) {
		price := p.Price.Median * math.Exp(p.Price.Sigma*n[1])
		mp := mockParams{bidRate: 1, price: price}
		if cap(st.draws) < 2*len(req.Imp) {
			st.draws = make([]float64, 2*len(req.Imp))
		}
		draws := st.draws[:2*len(req.Imp)]
		clear(draws)
		st.buf, nb = d.bidder.appendBids(st.buf[:0], req, req.ID, &mp, draws)
	}
	if nb == 0 {
		d.noBids.Add(1)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	d.bids.Add(1)
	b := st.buf
	if p.PadBytes > 0 {
		b = append(b[:len(b)-1], `,"ext":{"pad":"`...)
		for range p.PadBytes {
			b = append(b, 'x')
		}
		b = append(b, `"}}`...)
	}
	ctx.SetContentTypeBytes(ctJSON)
	ctx.Response.Header.SetBytesKV(hdrORTBVer, valORTBVer)
	if p.Gzip == GzipAlways || p.Gzip == GzipAuto && ctx.Request.Header.HasAcceptEncoding("gzip") {
		ctx.Response.Header.SetContentEncoding("gzip")
		ctx.SetBody(fasthttp.AppendGzipBytes(nil, b))
	} else {
		ctx.SetBody(b)
	}
	st.buf = b
}
