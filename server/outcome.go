package server

import "github.com/valyala/fasthttp"

// ending says how a stage of the request path ended a request, or that
// the request goes on. respond maps each ending to its status.
type ending uint8

const (
	// proceed: the stage is done and the request goes on to the next.
	proceed ending = iota
	// methodNotAllowed: not a POST (405).
	methodNotAllowed
	// unauthorized: the supply partner's token is missing or wrong (401).
	unauthorized
	// forbidden: no, an unknown or a disabled supply partner, or one
	// sending from an address it may not use (403).
	forbidden
	// rateLimited: past the supply partner's rate_limit, answered as a
	// no-bid (204) at once.
	rateLimited
	// shed: admission control refused the request (http.shed_status).
	shed
	// tooLarge: the body, inflated, passes http.max_body_bytes (413).
	tooLarge
	// unsupportedEncoding: a Content-Encoding other than gzip (415).
	unsupportedEncoding
	// invalidRequest: the body is not a valid bid request (400).
	invalidRequest
	// invalidTraffic: a data centre, proxy, Tor exit or known bot, not
	// sent to demand and answered as a no-bid (204).
	invalidTraffic
	// noBid: the auction has no winner (204).
	noBid
	// bid: the auction has winners, answered with a BidResponse (200).
	bid
)

// shedCause says which admission bound refused a request: the reason
// label of adx_http_shed_total.
type shedCause uint8

const (
	shedInflight       shedCause = iota // http.max_inflight auctions were running
	shedOverload                        // the adaptive admission limit
	shedMemory                          // the GC cannot free enough below the memory limit
	shedInflightMemory                  // running auctions hold their share of the memory limit
	shedSSPRate                         // the supply partner's rate_limit (ending rateLimited)
	numShedCauses
)

var shedCauseNames = [numShedCauses]string{"inflight", "overload", "memory", "inflight_memory", "ssp_rate"}

// outcome is what a stage says of a request: the zero value lets it go
// on; anything else ends it, with the detail respond needs.
type outcome struct {
	end ending
	// cause is the admission bound, for shed.
	cause shedCause
	// reason is the invalid-traffic label, for invalidTraffic.
	reason string
	// msg tells the client what is wrong, for a 4xx or a 503 shed.
	msg string
}

// goesOn reports whether the request goes on to the next stage.
func (o outcome) goesOn() bool { return o.end == proceed }

// status is the HTTP status of an ending; shed answers with shedStatus.
func (e ending) status(shedStatus int) int {
	switch e {
	case methodNotAllowed:
		return fasthttp.StatusMethodNotAllowed
	case unauthorized:
		return fasthttp.StatusUnauthorized
	case forbidden:
		return fasthttp.StatusForbidden
	case shed:
		return shedStatus
	case tooLarge:
		return fasthttp.StatusRequestEntityTooLarge
	case unsupportedEncoding:
		return fasthttp.StatusUnsupportedMediaType
	case invalidRequest:
		return fasthttp.StatusBadRequest
	case bid:
		return fasthttp.StatusOK
	default: // rateLimited, invalidTraffic, noBid
		return fasthttp.StatusNoContent
	}
}

// end returns the outcome that ends a request with e and msg.
func end(e ending, msg string) outcome { return outcome{end: e, msg: msg} }
