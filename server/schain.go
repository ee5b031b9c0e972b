package server

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
)

// schainVersion is the SupplyChain object version the exchange writes.
const schainVersion = "1.0"

// hpOne is the hp of the exchange's node: the exchange is paid for the
// inventory. Nodes point at it and only read it.
var hpOne int8 = 1

// extendSChain appends the exchange's node to req's supply chain
// (OpenRTB 2.6 source.schain; IAB Tech Lab SupplyChain object 1.0): asi
// the exchange's domain, sid the supply partner's seller id, hp 1, rid the
// request id. A request without a chain gets one, complete, holding this
// node alone: the exchange is the first seller it knows of. A chain that
// is present keeps its complete flag, so that a chain an upstream seller
// marked incomplete stays so. A 2.5-style chain in source.ext.schain moves
// to source.schain first; when both are sent, source.schain wins and the
// ext copy is dropped, so that demand sees one chain. The error, from a
// malformed ext chain only, is a *openrtb.RequestError naming the field.
func extendSChain(req *openrtb2.BidRequest, asi, sid string) error {
	if req.Source == nil {
		req.Source = &openrtb2.Source{}
	}
	src := req.Source
	if len(src.Ext) > 0 && bytes.Contains(src.Ext, []byte(`"schain"`)) {
		if err := moveExtSChain(src); err != nil {
			return err
		}
	}
	node := openrtb2.SupplyChainNode{ASI: asi, SID: sid, RID: req.ID, HP: &hpOne}
	if src.SChain == nil {
		src.SChain = &openrtb2.SupplyChain{Complete: 1, Ver: schainVersion, Nodes: []openrtb2.SupplyChainNode{node}}
		return nil
	}
	src.SChain.Nodes = append(src.SChain.Nodes, node)
	return nil
}

// moveExtSChain moves source.ext.schain to source.schain, unless that is
// already set, and takes it out of source.ext. It runs for 2.5 requests
// only, so it may decode ext with encoding/json.
func moveExtSChain(src *openrtb2.Source) error {
	var ext map[string]json.RawMessage
	if err := json.Unmarshal(src.Ext, &ext); err != nil {
		return &openrtb.RequestError{Field: "source.ext", Problem: "is not a JSON object"}
	}
	raw, ok := ext["schain"]
	if !ok {
		return nil // "schain" was a value, not a key
	}
	if src.SChain == nil && !bytes.Equal(raw, []byte("null")) {
		var sc openrtb2.SupplyChain
		if err := json.Unmarshal(raw, &sc); err != nil {
			return &openrtb.RequestError{Field: "source.ext.schain", Problem: "is not a SupplyChain object"}
		}
		if err := checkSChain(&sc, "source.ext.schain"); err != nil {
			return err
		}
		src.SChain = &sc
	}
	delete(ext, "schain")
	if len(ext) == 0 {
		src.Ext = nil
		return nil
	}
	b, err := json.Marshal(ext)
	if err != nil {
		return &openrtb.RequestError{Field: "source.ext", Problem: "cannot be written back: " + err.Error()}
	}
	src.Ext = b
	return nil
}

// checkSChain holds a chain moved from ext to the rules decoding applies
// to source.schain: ver, nodes, asi and sid present, complete and hp 0 or
// 1.
func checkSChain(s *openrtb2.SupplyChain, path string) error {
	switch {
	case s.Complete != 0 && s.Complete != 1:
		return &openrtb.RequestError{Field: path + ".complete", Problem: "must be 0 or 1"}
	case s.Ver == "":
		return &openrtb.RequestError{Field: path + ".ver", Problem: "is required"}
	case s.Nodes == nil:
		return &openrtb.RequestError{Field: path + ".nodes", Problem: "is required"}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		at := path + ".nodes[" + strconv.Itoa(i) + "]"
		switch {
		case n.ASI == "":
			return &openrtb.RequestError{Field: at + ".asi", Problem: "is required"}
		case n.SID == "":
			return &openrtb.RequestError{Field: at + ".sid", Problem: "is required"}
		case n.HP != nil && *n.HP != 0 && *n.HP != 1:
			return &openrtb.RequestError{Field: at + ".hp", Problem: "must be 0 or 1"}
		}
	}
	return nil
}
