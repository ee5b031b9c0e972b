package server

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// errBodyTooLarge is returned when a body, inflated, passes the limit.
var errBodyTooLarge = errors.New("request body too large")

// errBadEncoding is returned for a Content-Encoding other than gzip or
// identity.
var errBadEncoding = errors.New("unsupported Content-Encoding")

// The content codings requestBody accepts, compared case-insensitively.
var (
	codingIdentity = []byte("identity")
	codingGzip     = []byte("gzip")
	codingXGzip    = []byte("x-gzip")
)

type gunzipState struct {
	zr  *gzip.Reader
	src bytes.Reader
	buf []byte
}

var gunzipPool sync.Pool

// requestBody returns the request's body, inflated when it is gzip encoded,
// and a release func the caller runs once it no longer uses the bytes. The
// limit applies to the inflated size, so a small gzip bomb cannot allocate
// more than limit bytes.
func requestBody(ctx *fasthttp.RequestCtx, limit int) (body []byte, release func(), err error) {
	// Content codings are case-insensitive (RFC 9110 §8.4.1): "GZIP" is
	// gzip. bytes.EqualFold compares in place, without allocating.
	enc := ctx.Request.Header.ContentEncoding()
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, codingIdentity):
		return ctx.Request.Body(), noop, nil
	case bytes.EqualFold(enc, codingGzip) || bytes.EqualFold(enc, codingXGzip):
	default:
		return nil, noop, errBadEncoding
	}
	st, _ := gunzipPool.Get().(*gunzipState)
	if st == nil {
		st = &gunzipState{}
	}
	release = func() {
		if cap(st.buf) <= 4*limit {
			gunzipPool.Put(st)
		}
	}
	st.src.Reset(ctx.Request.Body())
	if st.zr == nil {
		st.zr, err = gzip.NewReader(&st.src)
	} else {
		err = st.zr.Reset(&st.src)
	}
	if err != nil {
		release()
		return nil, noop, &gzipError{err}
	}
	st.zr.Multistream(false)
	st.buf = st.buf[:0]
	for {
		if len(st.buf) == cap(st.buf) {
			st.buf = append(st.buf, 0)[:len(st.buf)]
		}
		n, rerr := st.zr.Read(st.buf[len(st.buf):cap(st.buf)])
		st.buf = st.buf[:len(st.buf)+n]
		if len(st.buf) > limit {
			release()
			return nil, noop, errBodyTooLarge
		}
		if rerr == io.EOF {
			return st.buf, release, nil
		}
		if rerr != nil {
			release()
			return nil, noop, &gzipError{rerr}
		}
	}
}

type gzipError struct{ err error }

func (e *gzipError) Error() string { return "cannot inflate the gzip body: " + e.err.Error() }

func noop() {}
