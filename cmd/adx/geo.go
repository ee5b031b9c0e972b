package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func init() {
	register("geo", "show what geo enrichment adds for IP addresses", runGeo)
}

func runGeo(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "lookup" {
		fmt.Fprintf(stderr, "Usage:\n  adx geo lookup [-config FILE] IP...   print what the enricher would add for each IP\n")
		if len(args) > 0 && isHelp(args[0]) {
			return 0
		}
		return 2
	}
	fs := newFlagSet("geo lookup", "IP...", "Print, for each IP, the device fields geo enrichment would fill from the\nconfig's geo databases, and whether the Anonymous-IP filter would block it.", stderr)
	cfg, code, ok := loadConfigArgs(fs, args[1:], true)
	if !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if cfg.Geo.City == "" && cfg.Geo.ISP == "" && cfg.Geo.ConnectionType == "" && cfg.Geo.AnonymousIP == "" {
		fmt.Fprintf(stderr, "adx: the config (%s) names no geo database; set geo.city and friends\n", cfg.Source)
		return 1
	}
	geo, err := openGeo(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), nil, false)
	if err != nil {
		fmt.Fprintf(stderr, "adx: %v\n", err)
		return 1
	}
	defer geo.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	status := 0
	for _, ip := range fs.Args() {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			fmt.Fprintf(stderr, "adx: %q is not an IP address\n", ip)
			status = 1
			continue
		}
		req := &openrtb2.BidRequest{Device: &openrtb2.Device{}}
		if a.Is4() || a.Is4In6() {
			req.Device.IP = a.Unmap().String()
		} else {
			req.Device.IPv6 = a.String()
		}
		out := geo.Enrich(req)
		enc.Encode(struct {
			IP      string           `json:"ip"`
			Blocked string           `json:"blocked,omitempty"`
			Found   bool             `json:"found"`
			Device  *openrtb2.Device `json:"device"`
		}{ip, out.Blocked, out.Found, req.Device})
	}
	return status
}
