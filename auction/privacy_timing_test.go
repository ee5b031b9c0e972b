//go:build unix

package auction

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
	"github.com/adx-exchange/adx/privacy"
)

// benchSignalsRequest is banner.json's kind of request with every privacy
// signal set: COPPA, GDPR, the US Privacy opt-out, GPP (benchGPP), limit
// ad tracking and ATT denied.
const benchSignalsRequest = `{"id":"b","imp":[{"id":"1","banner":{"w":300,"h":250,"format":[{"w":300,"h":250},{"w":320,"h":50}]},"bidfloor":0.1}],
"site":{"domain":"news.example","page":"https://news.example/a","publisher":{"id":"p1"}},
"device":{"ua":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)","ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4",
 "ifa":"6D92078A-8246-4BA4-AE5B-76104861E7DC","os":"iOS","devicetype":4,%s
 "geo":{"lat":51.507351,"lon":-0.127758,"type":2,"country":"GBR","region":"ENG","city":"London","zip":"WC2N 5DU","utcoffset":60}},
"user":{"id":"u-42","buyeruid":"b-42","eids":[{"source":"id5-sync.com","uids":[{"id":"ID5*abc"}]}]}%s}`

// benchGPP is the GPP string of the benchmark's request: a TCF EU
// section, the consent string, that lets the three DSPs be called (1 and
// 3 by consent, 2 by legitimate interest alone, so its ids are stripped)
// without special feature 1, and a usnat section with the opt-out of sale.
func benchGPP() string {
	return (&privacy.GPPBuilder{
		TCF: &privacy.TCFBuilder{CMPID: 7, VendorListVersion: 150, PolicyVersion: 4, ConsentLanguage: "EN",
			PurposesConsent: []int{1, 2, 3, 4}, PurposesLI: []int{2, 7}, VendorConsents: []int{1, 3}, VendorLI: []int{2}},
		US: []privacy.USSection{{ID: privacy.SectionUSNat, Version: 1, SaleOptOutNotice: 1, SaleOptOut: 1,
			SharingOptOut: 2, TargetedAdvertisingOptOut: 2, MspaCoveredTransaction: 2}},
	}).String()
}

// BenchmarkPrivacy compares an auction for a request with every privacy
// signal set against the same request with none: the signals read once,
// then each bidder's decision and its request encoded scrubbed, shared by
// the bidders with the same decision. dsps=3 holds it among three DSPs on
// loopback (answering no-bid), each with a basis to be sent GDPR requests
// without consent and a vendor id the consent string grants purpose 2,
// so that every one is called either way; one speaks
// OpenRTB 2.5. house is the in-process part alone, house demand only.
// signals=ignored is the request with every signal run without reading
// them: what the rules themselves cost, apart from what the signals add to
// the request (the 2.5 DSP's regs.ext, for one).
// cpu-ns/op is the process's CPU time (user and system, the DSPs' share
// included) per auction: on a shared machine it varies less than ns/op,
// the wall time.
func BenchmarkPrivacy(b *testing.B) {
	none := []byte(fmt.Sprintf(benchSignalsRequest, "", ""))
	all := []byte(fmt.Sprintf(benchSignalsRequest, `"lmt":1,"ext":{"atts":2},`,
		`,"regs":{"coppa":1,"gdpr":1,"us_privacy":"1YYN","gpp":"`+benchGPP()+`","gpp_sid":[2,7]}`))
	for _, setup := range []string{"dsps=3", "house"} {
		for _, signals := range []string{"none", "all", "ignored"} {
			b.Run(setup+"/signals="+signals, func(b *testing.B) {
				a := benchPrivacyAuction(b, setup == "dsps=3")
				body := map[string][]byte{"none": none, "all": all, "ignored": all}[signals]
				o := &RunOptions{}
				var req openrtb2.BidRequest
				if err := openrtb.DecodeRequest(body, &req); err != nil {
					b.Fatal(err)
				}
				var sig privacy.Signals
				b.ReportAllocs()
				cpu0 := processCPU(b)
				for b.Loop() {
					if signals != "ignored" {
						sig.Parse(&req)
						o.Privacy = &sig
					}
					res := a.RunWith(&req, time.Now().Add(time.Second), o)
					for _, br := range res.Bidders {
						if br.Outcome != OutcomeNoBid && br.Outcome != OutcomeBid {
							b.Fatalf("%s: %v (%v)", br.Name, br.Outcome, br.Err)
						}
					}
				}
				b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU returns the CPU time the process has used, user and system,
// in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchPrivacyAuction returns the auction of BenchmarkPrivacy: three
// loopback DSPs and house demand, or house demand alone.
func benchPrivacyAuction(b *testing.B, dsps bool) *Auction {
	b.Helper()
	bidders := []Bidder{NewHouseBidder(config.Demand{Name: "house", Type: config.DemandHouse,
		LineItems: []config.LineItem{{ID: "li", CPM: 0.01, Adm: "<a/>", Sizes: []string{"728x90"}}}})}
	if dsps {
		for _, d := range []config.Demand{
			{Name: "dsp-a", GVLID: 1},
			{Name: "dsp-b", GVLID: 2},
			{Name: "dsp-25", GVLID: 3, OpenRTBVersion: config.OpenRTB25},
		} {
			d.Type, d.Endpoint, d.Privacy.GDPRBasisWithoutConsent = config.DemandOpenRTB, startNoBidDSP(b), true
			bidders = append(bidders, NewHTTPBidder(d, config.Defaults().DSPClient, "USD"))
		}
	}
	return New(bidders, RulesFromConfig(config.Defaults(), nil), nil)
}

// startNoBidDSP runs a DSP on loopback that answers 204 to everything,
// until the benchmark ends, and returns its URL.
func startNoBidDSP(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) }}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	b.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/bid"
}
