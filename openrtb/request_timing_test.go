package openrtb

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// benchFile is a real ~2.6 KB OpenRTB 2.5 video bid request (IAB sample).
const benchFile = "valid/prebid-openrtb-2.5-spec-samples/bidrequest-video.json"

func BenchmarkDecodeValidate(b *testing.B) {
	body := readCorpusFile(b, benchFile)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var req openrtb2.BidRequest
	for b.Loop() {
		if err := DecodeRequest(body, &req); err != nil {
			b.Fatal(err)
		}
		if err := ValidateRequest(&req, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	body := readCorpusFile(b, benchFile)
	var req openrtb2.BidRequest
	if err := DecodeRequest(body, &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateRequest(&req, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
