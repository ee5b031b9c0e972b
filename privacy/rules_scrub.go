package privacy

import (
	"math"
	"sync"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/internal/ipmask"
)

// Buffer holds one scrubbed copy of a request (Scrubbed): the request and
// the device, user and geo objects it changed. Buffers are pooled
// (AcquireBuffer): a copy costs no allocation, and holds no more than
// 1.5 KB.
type Buffer struct {
	req             openrtb2.BidRequest
	device          openrtb2.Device
	user            openrtb2.User
	deviceGeo, uGeo openrtb2.Geo
	// lat and lon are the rounded coordinates: the device's, the user's.
	lat, lon [2]float64
}

var buffers = sync.Pool{New: func() any { return new(Buffer) }}

// AcquireBuffer returns a Buffer from the pool; give it back with
// ReleaseBuffer once the request it holds is no longer read.
func AcquireBuffer() *Buffer { return buffers.Get().(*Buffer) }

// ReleaseBuffer empties b, so that the pool keeps nothing of the request
// alive, and gives it back.
func ReleaseBuffer(b *Buffer) {
	*b = Buffer{}
	buffers.Put(b)
}

// Scrubbed returns req as a partner whose decision has Scrub sc may see
// it: a shallow copy held in buf, whose device, user and geo objects are
// copies where sc changes them and req's own elsewhere, so that neither
// req nor anything it points to is changed. req must be the request Parse
// read, or a shallow copy of it (the imps may differ). The result is
// valid until buf is used again or released. With sc zero it is req.
func (s *Signals) Scrubbed(req *openrtb2.BidRequest, sc Scrub, buf *Buffer) *openrtb2.BidRequest {
	if sc == 0 {
		return req
	}
	buf.req = *req
	out := &buf.req
	if d := req.Device; d != nil {
		if dev := s.scrubDevice(d, sc, buf); dev != d {
			out.Device = dev
		}
	}
	if u := req.User; u != nil {
		if user := s.scrubUser(u, sc, buf); user != u {
			out.User = user
		}
	}
	return out
}

// scrubDevice returns d with sc applied: d itself when sc changes
// nothing of it, else the copy in buf.
func (s *Signals) scrubDevice(d *openrtb2.Device, sc Scrub, buf *Buffer) *openrtb2.Device {
	c := &buf.device
	*c = *d
	changed := false
	if sc&(StripIDs|StripIFA) != 0 {
		changed = clearString(&c.IFA)
	}
	if sc&StripIDs != 0 {
		for _, id := range [...]*string{&c.DIDSHA1, &c.DIDMD5, &c.DPIDSHA1, &c.DPIDMD5, &c.MACSHA1, &c.MACMD5} {
			changed = clearString(id) || changed
		}
	}
	if sc&TruncateIP != 0 {
		ip, ipv6 := s.ip, s.ipv6
		if !s.ipReady {
			ip, ipv6 = ipmask.Truncate(d.IP, 24, 48), ipmask.Truncate(d.IPv6, 24, 48)
		}
		if c.IP != ip || c.IPv6 != ipv6 {
			c.IP, c.IPv6, changed = ip, ipv6, true
		}
	}
	if g := scrubGeo(d.Geo, sc, &buf.deviceGeo, &buf.lat[0], &buf.lon[0]); g != d.Geo {
		c.Geo, changed = g, true
	}
	if !changed {
		return d
	}
	return c
}

// scrubUser returns u with sc applied: u itself when sc changes nothing
// of it, else the copy in buf.
func (s *Signals) scrubUser(u *openrtb2.User, sc Scrub, buf *Buffer) *openrtb2.User {
	c := &buf.user
	*c = *u
	changed := false
	if sc&StripIDs != 0 {
		changed = clearString(&c.ID)
		changed = clearString(&c.BuyerUID) || changed
		if c.EIDs != nil {
			c.EIDs, changed = nil, true
		}
		if len(u.Ext) > 0 {
			ext, had := s.userExt, s.userExtEIDs
			if !s.userExtReady {
				ext, had = extWithout(u.Ext, "eids")
			}
			if had {
				c.Ext, changed = ext, true
			}
		}
	}
	if sc&StripUserData != 0 {
		if c.Yob != 0 {
			c.Yob, changed = 0, true
		}
		changed = clearString(&c.Gender) || changed
		changed = clearString(&c.Keywords) || changed
		changed = clearString(&c.CustomData) || changed
		if c.KwArray != nil {
			c.KwArray, changed = nil, true
		}
		if c.Data != nil {
			c.Data, changed = nil, true
		}
	}
	if g := scrubGeo(u.Geo, sc, &buf.uGeo, &buf.lat[1], &buf.lon[1]); g != u.Geo {
		c.Geo, changed = g, true
	}
	if !changed {
		return u
	}
	return c
}

// scrubGeo returns g with the geo parts of sc applied: g itself when they
// change nothing, else the copy in dst, whose rounded coordinates are
// stored in lat and lon.
func scrubGeo(g *openrtb2.Geo, sc Scrub, dst *openrtb2.Geo, lat, lon *float64) *openrtb2.Geo {
	if g == nil || sc&(RoundGeo|ReduceGeo) == 0 {
		return g
	}
	if sc&ReduceGeo != 0 {
		if g.Lat == nil && g.Lon == nil && g.Type == 0 && g.Accuracy == 0 && g.LastFix == 0 && g.IPService == 0 &&
			g.Metro == "" && g.City == "" && g.ZIP == "" && len(g.Ext) == 0 {
			return g
		}
		*dst = openrtb2.Geo{Country: g.Country, Region: g.Region, RegionFIPS104: g.RegionFIPS104, UTCOffset: g.UTCOffset}
		return dst
	}
	la, laOK := round2(g.Lat, 90, lat)
	lo, loOK := round2(g.Lon, 180, lon)
	if laOK && loOK {
		return g
	}
	*dst = *g
	dst.Lat, dst.Lon = la, lo
	return dst
}

// round2 returns the coordinate v rounded to two decimals, stored in
// into, and false; v itself and true when rounding leaves it as it is.
// A coordinate beyond ±limit, which no place has, becomes nil.
func round2(v *float64, limit float64, into *float64) (*float64, bool) {
	if v == nil {
		return nil, true
	}
	if !(math.Abs(*v) <= limit) {
		return nil, false
	}
	r := math.Round(*v*100) / 100
	if r == *v {
		return v, true
	}
	*into = r
	return into, false
}

// clearString empties *p and reports whether it held anything.
func clearString(p *string) bool {
	if *p == "" {
		return false
	}
	*p = ""
	return true
}
