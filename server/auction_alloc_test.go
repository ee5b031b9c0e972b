//go:build !race

package server

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestAuctionAllocations pins what one auction costs the server's heap,
// end to end: the HTTP request read, decoded, validated, sent to one remote
// DSP, its answer decoded, the winner chosen and the response written, for
// the varied requests of the OpenRTB corpus (see BenchmarkAuction). The
// client and the DSP run in a child process, so the test process's
// runtime.MemStats counts the server alone. Each figure is the lowest of
// three rounds of 2000 auctions: a GC empties the sync.Pools, and a round
// that happens to run more of them allocates a little more.
//
// With signed notice URLs in each bid (the exchange's own, as adx serves
// with a notice key), the same: the URLs are written into a buffer the
// exchange keeps.
//
// Measured (go1.26, 2 cores): 2.8 KB and 15 objects per auction, with
// signed notices or without; 3.0 KB and 16 with GOGC=10, whose frequent
// GCs empty the pools more often. (With signed notices it was 3.5 KB and
// 16 objects while their URLs were a string of their own; 16 objects
// without them before the optional numbers of the objects in the
// request's room, such as imp.secure and regs.gdpr, were decoded into the
// room too; 3.0 KB, and 3.1 KB with GOGC=10, before a request's second to
// fourth imps, its currency and its device.sua were decoded into its room
// too; 3.7 KB and 19 objects before the request's device, geo, user, regs
// and source were decoded into its room and the DSP calls' answers waited in a
// channel reused with it; 6.0 KB and 21 objects before the per-request
// state, with the copy of the body the request's strings point into, was
// reused once the handler and every DSP call had let it go; 8.8 KB and 24
// before the imps, the DSP's seat and bid and the response's were decoded
// and built in room for one, instead of in the codec's slices of four; 8.6
// KB and 47 objects before decoding pointed strings into one copy of the
// body and the auction's own allocations were merged; the clearing rules'
// larger results and the creative checks then added about 1.2 KB; the
// request copy encoded for the DSPs, the BidResponse their answers are
// decoded into and the auction's Result, pooled since, 2.5 KB and 3
// objects.)
func TestAuctionAllocations(t *testing.T) {
	const auctions = 2000
	cases := []struct {
		name                 string
		notices              bool // the exchange's signed notice URLs in each bid
		maxBytes, maxObjects uint64
	}{
		{"bids as the DSP sent them", false, 4096, 18},
		{"signed notices", true, 4096, 18},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts Options
			if c.notices {
				opts.Notices, _, _ = testTrail(t, "dsp-1")
			}
			p := startPeers(t, 1)
			p.target(t, startPublicWith(t, p.demandConfig(), opts))
			p.run(t, 500) // connections, pools, caches
			bytes, objects := uint64(1<<63), uint64(1<<63)
			var rounds []string
			for range 3 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := p.run(t, auctions)
				runtime.ReadMemStats(&after)
				if r.bids < auctions*9/10 {
					t.Fatalf("%d of %d auctions had a winner, want nearly all: the DSP must bid for the path to be whole", r.bids, auctions)
				}
				b, o := (after.TotalAlloc-before.TotalAlloc)/auctions, (after.Mallocs-before.Mallocs)/auctions
				rounds = append(rounds, strconv.FormatUint(b, 10)+" B "+strconv.FormatUint(o, 10)+" objects")
				bytes, objects = min(bytes, b), min(objects, o)
			}
			t.Logf("per auction, server process only: %s", strings.Join(rounds, ", "))
			if bytes > c.maxBytes {
				t.Errorf("an auction allocates %d bytes, want at most %d", bytes, c.maxBytes)
			}
			if objects > c.maxObjects {
				t.Errorf("an auction allocates %d objects, want at most %d", objects, c.maxObjects)
			}
		})
	}
}
