package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
)

// SellersPath is where the exchange's sellers.json is served, on the
// public port.
const SellersPath = "/sellers.json"

// sellersMaxAge is how long buyers' crawlers may cache sellers.json: it
// changes only with the config, at a restart.
const sellersMaxAge = "public, max-age=3600"

// sellersFile is sellers.json (IAB Tech Lab sellers.json 1.0), in the
// specification's field order.
type sellersFile struct {
	ContactEmail   string             `json:"contact_email,omitempty"`
	ContactAddress string             `json:"contact_address,omitempty"`
	Version        string             `json:"version"`
	Identifiers    []sellerIdentifier `json:"identifiers,omitempty"`
	Sellers        []sellerEntry      `json:"sellers"`
}

// sellerIdentifier is one of the exchange's business identifiers.
type sellerIdentifier struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// sellerEntry is one seller of sellers.json; a confidential one shows no
// name or domain.
type sellerEntry struct {
	SellerID       string `json:"seller_id"`
	IsConfidential int    `json:"is_confidential"`
	SellerType     string `json:"seller_type"`
	Name           string `json:"name,omitempty"`
	Domain         string `json:"domain,omitempty"`
}

// sellersJSON is the encoded file and its entity tag.
type sellersJSON struct {
	body []byte
	etag string
}

// buildSellers encodes cfg's sellers.json: its contact fields and every
// enabled supply partner with a seller_id, in config order. It returns nil
// when cfg sets no exchange.domain: sellers.json is not served then.
func buildSellers(cfg *config.Config) *sellersJSON {
	if cfg.Exchange.Domain == "" {
		return nil
	}
	f := sellersFile{
		ContactEmail:   cfg.Sellers.ContactEmail,
		ContactAddress: cfg.Sellers.ContactAddress,
		Version:        cfg.Sellers.Version,
		Sellers:        []sellerEntry{},
	}
	for _, id := range cfg.Sellers.Identifiers {
		f.Identifiers = append(f.Identifiers, sellerIdentifier{Name: id.Name, Value: id.Value})
	}
	for _, s := range cfg.Supply {
		if s.SellerID == "" || s.Disabled {
			continue
		}
		e := sellerEntry{SellerID: s.SellerID, SellerType: s.SellerType}
		if s.IsConfidential {
			e.IsConfidential = 1
		} else {
			e.Name, e.Domain = s.SellerName, s.SellerDomain
		}
		f.Sellers = append(f.Sellers, e)
	}
	body, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		panic("BUG: cannot encode sellers.json: " + err.Error())
	}
	sum := sha256.Sum256(body)
	return &sellersJSON{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// handleSellers serves sellers.json to GET and HEAD, with a validator so
// that crawlers revalidate for a 304.
// sellers is the file of the config in service; nil: not served.
func (p *Public) handleSellers(ctx *fasthttp.RequestCtx, sellers *sellersJSON) {
	if sellers == nil {
		p.noSuchEndpoint(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		p.fail(ctx, endpointOther, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" is not allowed; use GET")
		return
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", sellersMaxAge)
	h.Set("ETag", sellers.etag)
	if string(ctx.Request.Header.Peek("If-None-Match")) == sellers.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		p.metrics.count(endpointOther, fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(sellers.body)
	p.metrics.count(endpointOther, fasthttp.StatusOK)
}
