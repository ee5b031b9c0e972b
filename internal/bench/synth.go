package bench

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// SynthConfig sets the mix of synthesized traffic. Start
// from DefaultSynthConfig and change what you need; shares are 0..1.
type SynthConfig struct {
	// Seed makes the output reproducible: one seed, one byte-identical
	// sequence of requests (for the same UAs and Networks).
	Seed uint64
	// AppShare is the share of app requests; the rest are site requests.
	AppShare float64
	// IPv6Share is the share of devices with an IPv6 address.
	IPv6Share float64
	// VideoShare and NativeShare are the shares of imps that are video and
	// native; the rest are banners.
	VideoShare, NativeShare float64
	// GDPRShare is the share of non-EU requests that still carry
	// regs.gdpr=0 (EU ones always carry gdpr=1 and, mostly, a consent
	// string); USPrivacyShare and GPPShare are the shares of US requests
	// with us_privacy and gpp.
	GDPRShare, USPrivacyShare, GPPShare float64
	// UserIDShare is the share of requests with user.id (the others carry
	// no id, e.g. no consent or limited ad tracking).
	UserIDShare float64
	// Users, Sites and Apps are the sizes of the Zipf-distributed pools of
	// user ids, site domains and app bundles.
	Users, Sites, Apps int
	// UAs is the User-Agent pool; nil means the built-in one (a few hundred
	// real UAs from the Intoli data set). Custom entries are drawn
	// uniformly and their device category is guessed from the string.
	UAs []string
	// Networks is the pool of IP networks; nil means the built-in table of
	// access networks by country (see LoadMMDBNetworks for a real one).
	Networks []Network
}

// DefaultSynthConfig returns the built-in mix: 80/20 app/site, 30% IPv6,
// 12% video and 12% native imps, Zipf pools of 1M users, 20k sites, 20k apps.
func DefaultSynthConfig(seed uint64) SynthConfig {
	return SynthConfig{
		Seed: seed, AppShare: 0.8, IPv6Share: 0.3, VideoShare: 0.12, NativeShare: 0.12,
		GDPRShare: 0.6, USPrivacyShare: 0.7, GPPShare: 0.45, UserIDShare: 0.75,
		Users: 1_000_000, Sites: 20_000, Apps: 20_000,
	}
}

func (c *SynthConfig) validate() error {
	for _, s := range []struct {
		name string
		v    float64
	}{{"app share", c.AppShare}, {"IPv6 share", c.IPv6Share}, {"video share", c.VideoShare},
		{"native share", c.NativeShare}, {"GDPR share", c.GDPRShare}, {"US privacy share", c.USPrivacyShare},
		{"GPP share", c.GPPShare}, {"user id share", c.UserIDShare}} {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("%s %v: want 0..1", s.name, s.v)
		}
	}
	if c.VideoShare+c.NativeShare > 1 {
		return fmt.Errorf("video share %v plus native share %v: want at most 1", c.VideoShare, c.NativeShare)
	}
	if c.Users < 1 || c.Sites < 1 || c.Apps < 1 {
		return fmt.Errorf("pool sizes users=%d sites=%d apps=%d: want >= 1", c.Users, c.Sites, c.Apps)
	}
	return nil
}

// Synth produces a reproducible sequence of valid, varied OpenRTB 2.6 bid
// requests. It is not safe for concurrent use; create one per goroutine.
type Synth struct {
	cfg          SynthConfig
	r            *rand.Rand
	uas          []uaInfo
	uaCum        []float64
	mobileUAs    []int // indexes into uas of phones and tablets
	mobileCum    []float64
	nets         *netPool
	users, sites *rand.Zipf
	apps         *rand.Zipf
	seq          uint64
	idbuf        [16]byte
}

// NewSynth validates cfg and returns a Synth positioned at the start of its
// sequence.
func NewSynth(cfg SynthConfig) (*Synth, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bad synth config: %w", err)
	}
	s := &Synth{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x6164782d73796e74))} // "adx-synt"
	if cfg.UAs == nil {
		for _, u := range builtinUAs {
			s.addUA(parseUA(u.ua, u.category, u.w, u.h), u.weight)
		}
	} else {
		for _, ua := range cfg.UAs {
			s.addUA(guessUA(ua), 1)
		}
	}
	if len(s.uas) == 0 {
		return nil, errors.New("bad synth config: empty User-Agent pool")
	}
	nets := cfg.Networks
	if nets == nil {
		nets = builtinNetworks
	}
	var err error
	if s.nets, err = newNetPool(nets); err != nil {
		return nil, fmt.Errorf("bad synth config: %w", err)
	}
	// Zipf with s slightly above 1, like site and user popularity.
	s.users = rand.NewZipf(s.r, 1.07, 2, uint64(cfg.Users-1))
	s.sites = rand.NewZipf(s.r, 1.1, 1, uint64(cfg.Sites-1))
	s.apps = rand.NewZipf(s.r, 1.1, 1, uint64(cfg.Apps-1))
	return s, nil
}

// addUA adds one UA. The built-in weights are very skewed (one desktop
// Chrome is 23%), so draws use their square root: still realistic in
// order, but varied enough that a few thousand requests cover hundreds of
// UAs.
func (s *Synth) addUA(in uaInfo, weight float64) {
	w := math.Sqrt(weight)
	s.uas = append(s.uas, in)
	s.uaCum = appendCum(s.uaCum, w)
	if in.deviceType != adcom1.DevicePC {
		s.mobileUAs = append(s.mobileUAs, len(s.uas)-1)
		s.mobileCum = appendCum(s.mobileCum, w)
	}
}

// guessUA parses a UA from a user's -uas file, guessing its category.
func guessUA(ua string) uaInfo {
	cat := "desktop"
	in := parseUA(ua, "mobile", 0, 0)
	switch {
	case in.model == "iPad":
		cat = "tablet"
	case in.os == "iOS" || in.os == "Android":
		cat = "mobile"
	}
	in = parseUA(ua, cat, 0, 0)
	if in.w == 0 {
		in.w, in.h = 1920, 1080
		if in.mobile {
			in.w, in.h = 390, 844
		}
	}
	return in
}

func (s *Synth) chance(p float64) bool { return s.r.Float64() < p }

func (s *Synth) pickUA(app bool) *uaInfo {
	if app && len(s.mobileUAs) > 0 {
		return &s.uas[s.mobileUAs[pickCum(s.r, s.mobileCum)]]
	}
	return &s.uas[pickCum(s.r, s.uaCum)]
}

func (s *Synth) hexID(n int) string {
	b := s.idbuf[:n]
	for i := range b {
		b[i] = byte(s.r.Uint32())
	}
	return hex.EncodeToString(b)
}

func (s *Synth) uuid() string {
	h := s.hexID(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func ptr[T any](v T) *T { return &v }

// Next returns the next request of the sequence. The request is the
// caller's.
func (s *Synth) Next() *openrtb2.BidRequest {
	s.seq++
	app := s.chance(s.cfg.AppShare)
	ua := s.pickUA(app)
	req := &openrtb2.BidRequest{
		ID:   s.uuid(),
		AT:   1,
		TMax: 100 + 10*s.r.Int64N(41), // 100..500 ms
		Cur:  []string{"USD"},
	}
	req.Device = s.device(ua, app)
	country := req.Device.Geo.Country
	if app {
		req.App = s.app(ua)
	} else {
		req.Site = s.site(ua)
	}
	nImps := 1
	switch x := s.r.Float64(); {
	case x < 0.15:
		nImps = 3
	case x < 0.40:
		nImps = 2
	}
	req.Imp = make([]openrtb2.Imp, nImps)
	for i := range req.Imp {
		s.imp(&req.Imp[i], i, app, ua)
	}
	s.privacy(req, country)
	req.Source = s.source(req)
	if s.chance(0.3) {
		req.BCat = []string{"IAB25", "IAB26"}
	}
	return req
}

func (s *Synth) device(ua *uaInfo, app bool) *openrtb2.Device {
	d := &openrtb2.Device{
		UA: ua.ua, DeviceType: ua.deviceType, OS: ua.os, OSV: ua.osv, Make: ua.make, Model: ua.model,
		W: ua.w, H: ua.h, JS: ptr[int8](1), Language: pickStr(s.r, languages),
	}
	if d.W == 0 {
		d.W, d.H = 1920, 1080
	}
	if ua.mobile {
		d.PxRatio = []float64{2, 2.625, 3, 2.75}[s.r.IntN(4)]
		d.ConnectionType = ptr([]adcom1.ConnectionType{adcom1.ConnectionWIFI, adcom1.Connection4G, adcom1.Connection5G, adcom1.ConnectionCellular}[s.r.IntN(4)])
	} else {
		d.PxRatio = []float64{1, 1.25, 1.5, 2}[s.r.IntN(4)]
	}
	ip, country := s.nets.draw(s.r, s.cfg.IPv6Share)
	if ip.Is4() {
		d.IP = ip.String()
	} else {
		d.IPv6 = ip.String()
	}
	d.Geo = &openrtb2.Geo{Type: adcom1.LocationIP, Country: country}
	if ua.chromium {
		d.SUA = s.sua(ua)
	}
	if app {
		lmt := s.chance(0.15)
		d.Lmt = ptr[int8](0)
		if lmt {
			d.Lmt = ptr[int8](1)
		}
		if !lmt {
			d.IFA = s.uuid()
		} else {
			d.IFA = "00000000-0000-0000-0000-000000000000"
		}
	}
	return d
}

// sua builds device.sua for a Chromium UA. Most come from low-entropy client
// hints (source 1: brands with major versions, platform, mobile); a third
// carry high-entropy hints (source 2: full versions, platform version and
// model), which for a reduced Android UA reveal what the UA string hides.
func (s *Synth) sua(ua *uaInfo) *openrtb2.UserAgent {
	grease := greaseBrands[s.r.IntN(len(greaseBrands))]
	high := s.chance(0.33)
	ver := func(major string) []string {
		if !high {
			return []string{major}
		}
		return []string{major, "0", strconv.Itoa(6000 + s.r.IntN(2000)), strconv.Itoa(s.r.IntN(200))}
	}
	u := &openrtb2.UserAgent{
		Browsers: []openrtb2.BrandVersion{
			{Brand: "Chromium", Version: ver(ua.chromiumMajor)},
			{Brand: grease.brand, Version: []string{grease.version}},
			{Brand: ua.brand, Version: ver(ua.brandMajor)},
		},
		Platform: &openrtb2.BrandVersion{Brand: ua.platformBrand},
		Mobile:   ptr[int8](0),
		Source:   adcom1.UASourceLowEntropy,
	}
	if ua.brand == "Android WebView" {
		u.Browsers = u.Browsers[:2] // WebView sends only Chromium and GREASE
	}
	if strings.Contains(ua.ua, "Mobile") { // Sec-CH-UA-Mobile follows the UA's Mobile token
		u.Mobile = ptr[int8](1)
	}
	if high {
		u.Source = adcom1.UASourceHighEntropy
		switch ua.platformBrand {
		case "Android":
			osv, model := ua.osv, ua.model
			if ua.reducedAndroid {
				osv = strconv.Itoa(12 + s.r.IntN(4))
				model = pickStr(s.r, androidModels)
			}
			u.Platform.Version = []string{osv, "0", "0"}
			u.Model = model
		case "Windows":
			u.Platform.Version = []string{[]string{"10", "15", "19"}[s.r.IntN(3)], "0", "0"}
			u.Architecture, u.Bitness = "x86", "64"
		case "macOS":
			u.Platform.Version = []string{strconv.Itoa(13 + s.r.IntN(4)), strconv.Itoa(s.r.IntN(7)), "0"}
			u.Architecture, u.Bitness = "arm", "64"
		}
	}
	return u
}

func (s *Synth) app(ua *uaInfo) *openrtb2.App {
	rank := s.apps.Uint64()
	a := &openrtb2.App{
		ID:        "app-" + strconv.FormatUint(rank, 10),
		Name:      title(rank),
		Cat:       []string{iabCats[rank%uint64(len(iabCats))]},
		Ver:       strconv.Itoa(1+int(rank%9)) + "." + strconv.Itoa(int(rank%23)) + ".0",
		Publisher: &openrtb2.Publisher{ID: "pub-" + strconv.FormatUint(rank%997, 10)},
	}
	if ua.os == "iOS" {
		a.Bundle = strconv.FormatUint(1000000000+rank*7919%900000000, 10)
		a.StoreURL = "https://apps.apple.com/app/id" + a.Bundle
	} else {
		a.Bundle = "com." + strings.TrimSuffix(domain(rank), ".com") + ".app"
		a.StoreURL = "https://play.google.com/store/apps/details?id=" + a.Bundle
	}
	a.Domain = domain(rank)
	return a
}

func (s *Synth) site(ua *uaInfo) *openrtb2.Site {
	rank := s.sites.Uint64()
	d := domain(rank)
	st := &openrtb2.Site{
		ID:        "site-" + strconv.FormatUint(rank, 10),
		Domain:    d,
		Page:      "https://" + d + "/" + iabSections[s.r.IntN(len(iabSections))] + "/" + strconv.Itoa(s.r.IntN(100000)),
		Cat:       []string{iabCats[rank%uint64(len(iabCats))]},
		Publisher: &openrtb2.Publisher{ID: "pub-" + strconv.FormatUint(rank%997, 10), Domain: d},
	}
	if ua.mobile {
		st.Mobile = ptr[int8](1)
	}
	if s.chance(0.4) {
		st.Ref = "https://www.google.com/"
	}
	return st
}

// imp fills imp i with a format typical of the channel and device: 320x50,
// 300x250, 728x90, 320x480 interstitial, (rewarded) video or native.
func (s *Synth) imp(imp *openrtb2.Imp, i int, app bool, ua *uaInfo) {
	imp.ID = strconv.Itoa(i + 1)
	imp.Secure = ptr[int8](1)
	imp.TagID = "slot-" + strconv.Itoa(i+1)
	x := s.r.Float64()
	switch {
	case x < s.cfg.VideoShare:
		s.video(imp, app)
	case x < s.cfg.VideoShare+s.cfg.NativeShare:
		imp.Native = &openrtb2.Native{Request: nativeRequest, Ver: "1.2"}
		imp.BidFloor = s.floor(0.8)
	default:
		s.banner(imp, app, ua)
	}
	if imp.BidFloor > 0 {
		imp.BidFloorCur = "USD"
	}
	if s.chance(0.05) {
		imp.PMP = &openrtb2.PMP{Deals: []openrtb2.Deal{{ID: "deal-" + strconv.Itoa(1+s.r.IntN(40)), BidFloor: s.floor(3), BidFloorCur: "USD", AT: 1}}}
	}
}

func (s *Synth) banner(imp *openrtb2.Imp, app bool, ua *uaInfo) {
	var w, h int64
	switch x := s.r.Float64(); {
	case app && x < 0.15, !app && ua.mobile && x < 0.05:
		// interstitial: full screen, with the size as a format
		imp.Instl = 1
		w, h = 320, 480
	case !ua.mobile && x < 0.45:
		w, h = 728, 90
	case !ua.mobile && x < 0.55:
		w, h = 300, 600
	case ua.mobile && x < 0.6:
		w, h = 320, 50
	default:
		w, h = 300, 250
	}
	b := &openrtb2.Banner{W: ptr(w), H: ptr(h), Format: []openrtb2.Format{{W: w, H: h}}}
	if w == 300 && h == 250 && s.chance(0.3) {
		b.Format = append(b.Format, openrtb2.Format{W: 320, H: 250})
	}
	if app {
		b.API = []adcom1.APIFramework{adcom1.APIMRAID20, adcom1.APIMRAID30, adcom1.APIOMID10}
	}
	imp.Banner = b
	imp.BidFloor = s.floor(0.3)
	if imp.Instl == 1 {
		imp.BidFloor = s.floor(1.2)
	}
}

func (s *Synth) video(imp *openrtb2.Imp, app bool) {
	v := &openrtb2.Video{
		MIMEs:       []string{"video/mp4", "video/webm", "application/javascript"},
		MinDuration: 5, MaxDuration: 30,
		Protocols: []adcom1.MediaCreativeSubtype{adcom1.CreativeVAST20, adcom1.CreativeVAST30, adcom1.CreativeVAST40,
			adcom1.CreativeVAST20Wrapper, adcom1.CreativeVAST30Wrapper, adcom1.CreativeVAST40Wrapper},
		W: ptr[int64](640), H: ptr[int64](360), Linearity: adcom1.LinearityLinear,
		Plcmt: adcom1.VideoPlcmtInstream, StartDelay: ptr(adcom1.StartPreRoll),
		PlaybackMethod: []adcom1.PlaybackMethod{adcom1.PlaybackPageLoadSoundOff},
		API:            []adcom1.APIFramework{adcom1.APIVPAID20, adcom1.APIOMID10},
	}
	if app {
		// rewarded, full-screen interstitial video
		imp.Instl, imp.Rwdd = 1, 1
		v.W, v.H = ptr[int64](320), ptr[int64](480)
		v.Plcmt = adcom1.VideoPlcmtInterstitial
		v.PlaybackMethod = []adcom1.PlaybackMethod{adcom1.PlaybackPageLoadSoundOn}
		v.Skip = ptr[int8](0)
	}
	imp.Video = v
	imp.BidFloor = s.floor(3)
}

// floor draws a lognormal bid floor with the given median CPM, rounded to
// cents; a fifth of the imps get no floor.
func (s *Synth) floor(median float64) float64 {
	if s.chance(0.2) {
		return 0
	}
	f := median * math.Exp(0.9*s.r.NormFloat64())
	return math.Max(0.01, math.Round(f*100)/100)
}

// privacy sets regs and user: GDPR with a TCF consent string in GDPR
// countries, us_privacy and GPP in the US, Zipf user ids.
func (s *Synth) privacy(req *openrtb2.BidRequest, country string) {
	regs := &openrtb2.Regs{}
	user := &openrtb2.User{}
	switch {
	case gdprCountries[country]:
		regs.GDPR = ptr[int8](1)
		if s.chance(0.85) {
			user.Consent = pickStr(s.r, tcfStrings)
		}
		if s.chance(0.3) {
			regs.GPP = "DBABMA~" + pickStr(s.r, tcfStrings)
			regs.GPPSID = []int8{2}
		}
	case country == "USA":
		if s.chance(s.cfg.GDPRShare) {
			regs.GDPR = ptr[int8](0)
		}
		if s.chance(s.cfg.USPrivacyShare) {
			regs.USPrivacy = pickStr(s.r, usPrivacy)
		}
		if s.chance(s.cfg.GPPShare) {
			g := gppUS[s.r.IntN(len(gppUS))]
			regs.GPP, regs.GPPSID = g.s, []int8{g.sid}
		}
	default:
		if s.chance(s.cfg.GDPRShare) {
			regs.GDPR = ptr[int8](0)
		}
	}
	if s.chance(0.005) {
		regs.COPPA = 1
	}
	req.Regs = regs
	if s.chance(s.cfg.UserIDShare) && regs.COPPA == 0 {
		uid := s.users.Uint64()
		user.ID = "u" + strconv.FormatUint(uid*2654435761%(1<<40), 36)
		if s.chance(0.5) {
			user.BuyerUID = "b" + strconv.FormatUint(uid*40503%(1<<36), 36)
		}
	}
	if user.ID != "" || user.Consent != "" {
		req.User = user
	}
}

// source sets source.tid and a supply chain of one or two nodes.
func (s *Synth) source(req *openrtb2.BidRequest) *openrtb2.Source {
	pub := ""
	if req.App != nil {
		pub = req.App.Publisher.ID
	} else {
		pub = req.Site.Publisher.ID
	}
	nodes := []openrtb2.SupplyChainNode{{ASI: pickStr(s.r, sspDomains), SID: pub, HP: ptr[int8](1), RID: req.ID}}
	if s.chance(0.35) {
		nodes = append(nodes, openrtb2.SupplyChainNode{ASI: pickStr(s.r, sspDomains), SID: "reseller-" + strconv.Itoa(s.r.IntN(500)), HP: ptr[int8](1)})
	}
	return &openrtb2.Source{TID: s.uuid(), SChain: &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: nodes}}
}

// WriteJSONL writes n requests of the sequence to w, one JSON object per
// line, and returns the first error.
func (s *Synth) WriteJSONL(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i := 0; i < n; i++ {
		b, err := json.MarshalWithOption(s.Next(), json.DisableHTMLEscape())
		if err != nil {
			return fmt.Errorf("cannot encode synthesized request %d: %w", i, err)
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("cannot write synthesized request %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write synthesized requests: %w", err)
	}
	return nil
}

// Bodies returns the next n requests encoded as JSON bodies.
func (s *Synth) Bodies(n int) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		b, err := json.MarshalWithOption(s.Next(), json.DisableHTMLEscape())
		if err != nil {
			return nil, fmt.Errorf("cannot encode synthesized request %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}
