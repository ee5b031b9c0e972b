// Package openrtb owns adx's work on the OpenRTB object model, on the types
// of github.com/prebid/openrtb/v20:
//
//   - DecodeRequest decodes an OpenRTB 2.5 or 2.6 bid request from a body,
//     and ValidateRequest checks it against the OpenRTB 2.6 object model
//     (request.go) under the exchange's Limits. Both report a client's
//     problem as a *RequestError naming the JSON field, e.g.
//     "imp[1].id is duplicated". 2.5 requests need no conversion: the
//     fields 2.6 moved out of ext (regs.ext.gdpr, source.ext.schain and
//     the like) are ext content, kept as they are.
//   - The request id, imp ids and deal ids must be UTF-8, since the SSP
//     matches the response against them (idcheck.go).
//   - imp.native.request holds a Native 1.0, 1.1 or 1.2 request, checked
//     against the Native 1.2 object model (native.go).
//   - The JSON codec, chosen by measurement (BENCHMARKS.md), is named in
//     codec.go only: EncodeRequest for requests to demand partners,
//     DecodeResponse for their answers, EncodeResponse for the answer to
//     the SSP.
//
// Every decoded value owns its memory: no string or ext points into the
// body it was decoded from, which the caller may recycle at once.
//
// The package holds no state and imports no other package of adx: the
// server, the auction and the load-testing tools all read requests through
// it. Bidders, the auction and the exchange's own rules (tmax budgets, bid
// limits) live in package auction.
package openrtb
