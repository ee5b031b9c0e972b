package server

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
)

// The partner counters follow the business: auctions per supply partner,
// bids and wins per supply and demand partner, and the winning prices
// gross and net of the take rate, in micros.
func TestPartnerMetrics(t *testing.T) {
	dsp := startFakeDSP(t, dspConfig{Price: 3})
	cfg, err := config.Parse([]byte(`
auction:
  take_rate: 0.1
supply:
  - name: ssp-a
  - name: ssp-b
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "`+dsp+`/bid"
    media_types: [banner]
  - name: house
    type: house
    line_items:
      - {id: v, cpm: 2.0, formats: [video], adm: "<VAST version=\"4.0\"></VAST>"}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, nil), NewMetrics(reg), slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })
	url := "http://" + ln.Addr().String() + AuctionPath

	for range 2 {
		if a := post(t, url+"?ssp=ssp-a", []byte(twoImps), nil); a.status != 200 {
			t.Fatalf("ssp-a: status %d %s", a.status, a.body)
		}
	}
	if a := post(t, url+"?ssp=ssp-b", []byte(twoImps), nil); a.status != 200 {
		t.Fatalf("ssp-b: status %d %s", a.status, a.body)
	}
	f := func(want float64, name string, labels ...string) {
		t.Helper()
		var c prometheus.Counter
		switch name {
		case "auctions":
			c = p.gen.Load().partners.auctions[sspIndex(t, labels[0])]
		case "wins":
			c = p.gen.Load().partners.wins[sspIndex(t, labels[0])][dspIndex(t, labels[1])]
		case "bids":
			c = p.gen.Load().partners.bids[sspIndex(t, labels[0])][dspIndex(t, labels[1])]
		case "gross":
			c = p.gen.Load().partners.gross[sspIndex(t, labels[0])][dspIndex(t, labels[1])]
		case "net":
			c = p.gen.Load().partners.net[sspIndex(t, labels[0])][dspIndex(t, labels[1])]
		}
		var m dto.Metric
		if err := c.Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("%s %v = %v, want %v", name, labels, got, want)
		}
	}
	f(2, "auctions", "ssp-a")
	f(1, "auctions", "ssp-b")
	f(2, "bids", "ssp-a", "dsp-a")
	f(2, "wins", "ssp-a", "dsp-a")
	f(2, "wins", "ssp-a", "house")
	f(1, "wins", "ssp-b", "house")
	f(2*3_000_000, "gross", "ssp-a", "dsp-a") // first price: charged its bid
	f(2*2_700_000, "net", "ssp-a", "dsp-a")   // the SSP is paid the bid less 10%
	f(1_800_000, "net", "ssp-b", "house")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == "adx_partner_cpm_micros_total" && len(fam.GetMetric()) != 2*2*2 {
			t.Errorf("%d cpm series, want 8 (2 SSPs x 2 DSPs x gross and net)", len(fam.GetMetric()))
		}
	}
}

func sspIndex(t *testing.T, ssp string) int {
	t.Helper()
	return map[string]int{"ssp-a": 0, "ssp-b": 1}[ssp]
}

func dspIndex(t *testing.T, dsp string) int {
	t.Helper()
	return map[string]int{"dsp-a": 0, "house": 1}[dsp]
}
