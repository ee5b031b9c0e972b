package auction

import (
	"strconv"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
)

// BenchmarkGzipRequest is what a request costs the DSPs it goes to, by
// how it is sent to n of them: plain (the tmax spliced in, the cost of a
// plain DSP), shared (compressed once, gzipPrefix, then each DSP's tmax
// appended, appendGzipTMax: what a gzip DSP costs) and perDSP (each DSP's
// body compressed whole, the alternative shared saves).
func BenchmarkGzipRequest(b *testing.B) {
	for _, name := range []string{"banner.json", "video.json", "app-native.json"} {
		var req openrtb2.BidRequest
		if err := openrtb.DecodeRequest(loadExample(b, name), &req); err != nil {
			b.Fatal(err)
		}
		req.TMax = 0
		body, err := openrtb.AppendRequest(nil, &req)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 4} {
			prefix := name + "/dsps=" + strconv.Itoa(n)
			var buf, gz []byte
			b.Run(prefix+"/plain", func(b *testing.B) {
				b.SetBytes(int64(len(body) * n))
				b.ReportAllocs()
				for b.Loop() {
					for i := range n {
						buf = openrtb.AppendWithTMax(buf[:0], body, int64(100+i))
					}
				}
			})
			b.Run(prefix+"/shared", func(b *testing.B) {
				b.SetBytes(int64(len(body) * n))
				b.ReportAllocs()
				for b.Loop() {
					var crc uint32
					gz, crc, _ = gzipPrefix(gz[:0], body[:len(body)-1])
					for i := range n {
						buf = appendGzipTMax(buf[:0], gz, crc, body, int64(100+i))
					}
				}
				b.ReportMetric(float64(len(buf)), "wire-bytes")
			})
			b.Run(prefix+"/perDSP", func(b *testing.B) {
				b.SetBytes(int64(len(body) * n))
				b.ReportAllocs()
				var plain []byte
				for b.Loop() {
					for i := range n {
						plain = openrtb.AppendWithTMax(plain[:0], body, int64(100+i))
						d := deflaters.Get().(*deflater)
						d.w.b = append(buf[:0], gzipHeader[:]...)
						d.fw.Reset(&d.w)
						d.fw.Write(plain)
						d.fw.Close()
						buf = d.w.b
						d.w.b = nil
						deflaters.Put(d)
					}
				}
				b.ReportMetric(float64(len(buf)), "wire-bytes")
			})
		}
	}
}
