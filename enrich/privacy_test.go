package enrich

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func TestTruncateIPs(t *testing.T) {
	f := func(name, reqJSON, wantIP, wantIPv6 string) {
		t.Helper()
		var req openrtb2.BidRequest
		if err := json.Unmarshal([]byte(reqJSON), &req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		TruncateIPs(&req)
		if req.Device.IP != wantIP || req.Device.IPv6 != wantIPv6 {
			t.Errorf("%s: ip %q ipv6 %q, want %q %q", name, req.Device.IP, req.Device.IPv6, wantIP, wantIPv6)
		}
	}
	const dev = `"device":{"ip":"81.2.69.160","ipv6":"2001:db8:abcd:12:1:2:3:4"}`
	f("no rule applies", `{`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("coppa", `{"regs":{"coppa":1},`+dev+`}`, "81.2.69.0", "2001:db8:abcd::")
	f("lmt", `{"device":{"lmt":1,"ip":"81.2.69.160"}}`, "81.2.69.0", "")
	f("lmt 0", `{"device":{"lmt":0,"ip":"81.2.69.160"}}`, "81.2.69.160", "")
	f("gdpr without consent", `{"regs":{"gdpr":1},`+dev+`}`, "81.2.69.0", "2001:db8:abcd::")
	f("gdpr with consent", `{"regs":{"gdpr":1},"user":{"consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("gdpr 0", `{"regs":{"gdpr":0},`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("2.5 ext gdpr without consent", `{"regs":{"ext":{"gdpr":1}},"user":{"ext":{"consent":""}},`+dev+`}`, "81.2.69.0", "2001:db8:abcd::")
	f("2.5 ext gdpr with ext consent", `{"regs":{"ext":{"gdpr":1}},"user":{"ext":{"consent":"BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"}},`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("2.5 nested gdpr key does not count", `{"regs":{"ext":{"other":{"gdpr":1}}},`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("2.6 field wins over ext", `{"regs":{"gdpr":0,"ext":{"gdpr":1}},`+dev+`}`, "81.2.69.160", "2001:db8:abcd:12:1:2:3:4")
	f("ipv4-mapped in ip", `{"regs":{"coppa":1},"device":{"ip":"::ffff:81.2.69.160"}}`, "81.2.69.0", "")
	f("unparsable ip is dropped", `{"regs":{"coppa":1},"device":{"ip":"81.2.69.160.7"}}`, "", "")
}

func TestExtValue(t *testing.T) {
	f := func(ext, key, want string) {
		t.Helper()
		if got := string(extValue([]byte(ext), key)); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("extValue(%s, %s) = %q, want prefix %q", ext, key, got, want)
		}
	}
	f(`{"gdpr":1}`, "gdpr", "1")
	f(`{ "a" : "gdpr", "gdpr" : 1 }`, "gdpr", "1")
	f(`{"x":{"gdpr":2},"gdpr":0}`, "gdpr", "0")
	f(`{"s":"\"gdpr\":5","gdpr":1}`, "gdpr", "1")
	f(`{"gdpr"`, "gdpr", "")
	f(`{"gdp`, "gdpr", "")
	f(``, "gdpr", "")
}

func FuzzTruncateIPs(f *testing.F) {
	f.Add("81.2.69.160", "2001:db8::1", []byte(`{"gdpr":1}`), []byte(`{"consent":"x"}`))
	f.Add("", "::ffff:1.2.3.4", []byte(`{"gdpr":"1"}`), []byte(`{`))
	f.Fuzz(func(t *testing.T, ip, ipv6 string, regsExt, userExt []byte) {
		req := &openrtb2.BidRequest{Device: &openrtb2.Device{IP: ip, IPv6: ipv6}, Regs: &openrtb2.Regs{Ext: regsExt}, User: &openrtb2.User{Ext: userExt}}
		TruncateIPs(req)
		extInt(regsExt, "gdpr")
		extNonEmptyString(userExt, "consent")
	})
}
