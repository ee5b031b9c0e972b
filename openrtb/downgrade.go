package openrtb

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// Downgrade25 returns req as an OpenRTB 2.5 demand partner expects it, as
// Prebid Server's down-conversion (openrtb_ext.ConvertDownTo25) shapes it:
// the 2.6 fields that 2.5 carried in an ext move there (regs.gdpr and
// regs.us_privacy to regs.ext, user.consent and user.eids to user.ext,
// source.schain to source.ext.schain, imp.rwdd to
// imp.ext.prebid.is_rewarded_inventory), overwriting a value already
// there, and the fields 2.5 does not know are left out: 2.5 did not ask
// partners to ignore unknown fields.
//
// req is not modified: the result is a copy that shares with req every
// object it leaves as it is, so it must be treated as read-only too. An
// ext that is not a JSON object, where a field must move into it, is an
// error.
func Downgrade25(req *openrtb2.BidRequest) (*openrtb2.BidRequest, error) {
	out := *req
	out.WLangB, out.CatTax, out.DOOH, out.ACat = nil, 0, nil, nil
	if req.Site != nil {
		s := *req.Site
		s.CatTax, s.KwArray, s.InventoryPartnerDomain = 0, nil, ""
		s.Content, s.Publisher = content25(s.Content), publisher25(s.Publisher)
		out.Site = &s
	}
	if req.App != nil {
		a := *req.App
		a.CatTax, a.KwArray, a.InventoryPartnerDomain = 0, nil, ""
		a.Content, a.Publisher = content25(a.Content), publisher25(a.Publisher)
		out.App = &a
	}
	if req.Device != nil {
		d := *req.Device
		d.SUA, d.LangB = nil, ""
		out.Device = &d
	}
	if req.Regs != nil {
		r := *req.Regs
		var err error
		if r.GDPR != nil {
			if r.Ext, err = setExt(r.Ext, "gdpr", *r.GDPR); err != nil {
				return nil, fieldError("regs.ext", err)
			}
		}
		if r.USPrivacy != "" {
			if r.Ext, err = setExt(r.Ext, "us_privacy", r.USPrivacy); err != nil {
				return nil, fieldError("regs.ext", err)
			}
		}
		r.GDPR, r.USPrivacy, r.GPP, r.GPPSID = nil, "", "", nil
		out.Regs = &r
	}
	if req.User != nil {
		u := *req.User
		var err error
		if u.Consent != "" {
			if u.Ext, err = setExt(u.Ext, "consent", u.Consent); err != nil {
				return nil, fieldError("user.ext", err)
			}
		}
		if u.EIDs != nil {
			if u.Ext, err = setExt(u.Ext, "eids", u.EIDs); err != nil {
				return nil, fieldError("user.ext", err)
			}
		}
		u.Consent, u.EIDs, u.KwArray = "", nil, nil
		out.User = &u
	}
	if req.Source != nil {
		s := *req.Source
		if s.SChain != nil {
			var err error
			if s.Ext, err = setExt(s.Ext, "schain", s.SChain); err != nil {
				return nil, fieldError("source.ext", err)
			}
			s.SChain = nil
		}
		out.Source = &s
	}
	out.Imp = make([]openrtb2.Imp, len(req.Imp))
	for i := range req.Imp {
		if err := imp25(&out.Imp[i], &req.Imp[i]); err != nil {
			return nil, fieldError("imp["+strconv.Itoa(i)+"].ext", err)
		}
	}
	return &out, nil
}

func imp25(dst, imp *openrtb2.Imp) error {
	*dst = *imp
	if imp.Rwdd != 0 {
		prebid, err := getExt(imp.Ext, "prebid")
		if err == nil {
			prebid, err = setExt(prebid, "is_rewarded_inventory", imp.Rwdd)
		}
		if err == nil {
			dst.Ext, err = setExt(imp.Ext, "prebid", prebid)
		}
		if err != nil {
			return err
		}
	}
	dst.Rwdd, dst.SSAI, dst.Qty, dst.DT, dst.Refresh = 0, 0, nil, 0, nil
	if imp.Video != nil {
		v := *imp.Video
		v.MaxSeq, v.PodDur, v.PodID, v.PodSeq, v.RqdDurs, v.SlotInPod, v.MinCPMPerSec = 0, 0, "", 0, nil, 0, 0
		v.Plcmt, v.DurFloors = 0, nil
		dst.Video = &v
	}
	if imp.Audio != nil {
		a := *imp.Audio
		a.PodDur, a.RqdDurs, a.PodID, a.PodSeq, a.SlotInPod, a.MinCPMPerSec = 0, nil, "", 0, 0, 0
		a.DurFloors = nil
		dst.Audio = &a
	}
	if imp.PMP != nil && len(imp.PMP.Deals) > 0 {
		p := *imp.PMP
		p.Deals = make([]openrtb2.Deal, len(imp.PMP.Deals))
		for j, d := range imp.PMP.Deals {
			d.Guar, d.MinCPMPerSec, d.DurFloors = 0, 0, nil
			p.Deals[j] = d
		}
		dst.PMP = &p
	}
	return nil
}

func content25(c *openrtb2.Content) *openrtb2.Content {
	if c == nil {
		return nil
	}
	out := *c
	out.CatTax, out.KwArray, out.LangB, out.Network, out.Channel = 0, nil, "", nil, nil
	if c.Producer != nil {
		p := *c.Producer
		p.CatTax = 0
		out.Producer = &p
	}
	return &out
}

func publisher25(p *openrtb2.Publisher) *openrtb2.Publisher {
	if p == nil {
		return nil
	}
	out := *p
	out.CatTax = 0
	return &out
}

var errExtNotObject = errors.New("not a JSON object")

// getExt returns the member key of the ext object, nil when ext or the
// member is absent.
func getExt(ext json.RawMessage, key string) (json.RawMessage, error) {
	m, err := extMembers(ext)
	if err != nil {
		return nil, err
	}
	return m[key], nil
}

// setExt returns a new ext: ext's members with key set to v.
func setExt(ext json.RawMessage, key string, v any) (json.RawMessage, error) {
	m, err := extMembers(ext)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = make(map[string]json.RawMessage, 1)
	}
	b, err := encodeJSON(v)
	if err != nil {
		return nil, err
	}
	m[key] = b
	return encodeJSON(m) // members in key order
}

func extMembers(ext json.RawMessage) (map[string]json.RawMessage, error) {
	if len(ext) == 0 || string(ext) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := decodeJSON(ext, &m); err != nil || m == nil {
		return nil, errExtNotObject
	}
	return m, nil
}

// fieldError is an ext that cannot take its OpenRTB 2.5 fields: the
// request was valid, so it is not a RequestError.
func fieldError(field string, err error) error {
	return fmt.Errorf("%s cannot take the OpenRTB 2.5 fields: %w", field, err)
}
