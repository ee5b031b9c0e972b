package auction

import (
	stdjson "encoding/json"
	"os"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

func loadExample(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile("../examples/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func defaultAuction(b *testing.B) *Auction {
	b.Helper()
	cfg, err := config.Load("")
	if err != nil {
		b.Fatal(err)
	}
	return FromConfig(cfg, nil)
}

// BenchmarkAuction is one auction among the embedded default's house demand
// for a decoded banner request: fan-out, bid validation, winner choice and
// the response object.
func BenchmarkAuction(b *testing.B) {
	a := defaultAuction(b)
	var req openrtb2.BidRequest
	if err := DecodeRequest(loadExample(b, "banner.json"), &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res := a.Run(&req, time.Now().Add(time.Second))
		if _, ok := res.Response(&req, "USD"); !ok {
			b.Fatal("no winner")
		}
	}
}

// BenchmarkRequestPath is everything the public handler does for one
// request but HTTP: decode, validate, auction and encode the response.
func BenchmarkRequestPath(b *testing.B) {
	for _, name := range []string{"banner.json", "video.json", "app-native.json"} {
		b.Run(name, func(b *testing.B) {
			a := defaultAuction(b)
			body := loadExample(b, name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req openrtb2.BidRequest
				if err := DecodeRequest(body, &req); err != nil {
					b.Fatal(err)
				}
				if err := ValidateRequest(&req); err != nil {
					b.Fatal(err)
				}
				res := a.Run(&req, time.Now().Add(time.Second))
				resp, ok := res.Response(&req, "USD")
				if !ok {
					b.Fatal("no winner")
				}
				if _, err := EncodeResponse(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineStdlibDecode is the yardstick the figures above are
// compared with in BENCHMARKS.md: encoding/json decoding the same requests
// into openrtb2.BidRequest, and nothing else. Machines here are noisy; a
// ratio against a baseline from the same run is what stays comparable.
func BenchmarkBaselineStdlibDecode(b *testing.B) {
	for _, name := range []string{"banner.json", "video.json", "app-native.json"} {
		b.Run(name, func(b *testing.B) {
			body := loadExample(b, name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req openrtb2.BidRequest
				if err := stdjson.Unmarshal(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
