// Package inflate decodes an HTTP body from its content coding, identity or
// gzip, within a size limit, into pooled buffers: a gzip bomb is refused as
// soon as it passes the limit, having cost at most about the limit. The
// public server reads bid requests with it, the auction the DSPs' answers.
package inflate

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Errors of Body. A *GzipError is also ErrBadGzip.
var (
	ErrUnsupported = errors.New("unsupported Content-Encoding")
	ErrTooLarge    = errors.New("the body inflates past its limit")
	ErrBadGzip     = errors.New("cannot inflate the gzip body")
)

// GzipError is a gzip body that does not inflate.
type GzipError struct{ Err error }

func (e *GzipError) Error() string { return "cannot inflate the gzip body: " + e.Err.Error() }

// Unwrap returns the inflater's error.
func (e *GzipError) Unwrap() error { return e.Err }

// Is makes a GzipError ErrBadGzip.
func (e *GzipError) Is(target error) bool { return target == ErrBadGzip }

// The content codings Body takes, compared case-insensitively (RFC 9110
// §8.4.1): "GZIP" is gzip.
var (
	codingIdentity = []byte("identity")
	codingGzip     = []byte("gzip")
	codingXGzip    = []byte("x-gzip")
)

// maxKept bounds the buffers kept for reuse.
const maxKept = 1 << 20

// Buffer is a pooled gzip reader and the buffer it inflated into. Release
// gives it back once its bytes are no longer read.
type Buffer struct {
	zr  *gzip.Reader
	src bytes.Reader
	buf []byte
}

var buffers sync.Pool

// Body returns raw, a body in the content coding enc, decoded: raw itself
// for identity (or no coding), inflated into a pooled Buffer for gzip, to
// at most limit bytes. The Buffer (nil for identity) is to be released
// once the returned bytes are no longer read. A gzip body that inflates
// past limit is refused (ErrTooLarge) as soon as it does; one that does
// not inflate is a *GzipError; another coding is ErrUnsupported.
func Body(enc, raw []byte, limit int) ([]byte, *Buffer, error) {
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, codingIdentity):
		return raw, nil, nil
	case bytes.EqualFold(enc, codingGzip) || bytes.EqualFold(enc, codingXGzip):
	default:
		return nil, nil, ErrUnsupported
	}
	z, _ := buffers.Get().(*Buffer)
	if z == nil {
		z = &Buffer{}
	}
	z.src.Reset(raw)
	var err error
	if z.zr == nil {
		z.zr, err = gzip.NewReader(&z.src)
	} else {
		err = z.zr.Reset(&z.src)
	}
	if err != nil {
		z.Release()
		return nil, nil, &GzipError{err}
	}
	z.zr.Multistream(false)
	z.buf = z.buf[:0]
	for {
		if len(z.buf) == cap(z.buf) {
			// Double, but never past the limit: append's growth by a
			// quarter would allocate five times the final size.
			n := max(2*cap(z.buf), 4<<10)
			if n >= limit {
				n = limit + 1
			}
			b := make([]byte, len(z.buf), n)
			z.buf = b[:copy(b, z.buf)]
		}
		// Never inflate more than one byte past the limit.
		n, rerr := z.zr.Read(z.buf[len(z.buf):min(cap(z.buf), limit+1)])
		z.buf = z.buf[:len(z.buf)+n]
		if len(z.buf) > limit {
			z.Release()
			return nil, nil, ErrTooLarge
		}
		if rerr == io.EOF {
			return z.buf, z, nil
		}
		if rerr != nil {
			z.Release()
			return nil, nil, &GzipError{rerr}
		}
	}
}

// Release gives z back to the pool, unless its buffer grew past what is
// worth keeping; nil is a no-op.
func (z *Buffer) Release() {
	if z == nil {
		return
	}
	z.src.Reset(nil)
	if cap(z.buf) <= maxKept {
		buffers.Put(z)
	}
}
