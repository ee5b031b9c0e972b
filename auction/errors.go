package auction

import (
	"errors"
	"fmt"
)

// ErrNotEligible is returned by a Bidder that was not asked because the
// request holds no imp it can serve.
var ErrNotEligible = errors.New("no imp the bidder can serve")

// errTimeout marks a bidder that did not answer before the deadline.
var errTimeout = errors.New("deadline passed before the answer")

// timeoutError is implemented by errors that mean "too late" (net.Error and
// fasthttp's timeout errors).
type timeoutError interface{ Timeout() bool }

func isTimeout(err error) bool {
	if errors.Is(err, errTimeout) {
		return true
	}
	var te timeoutError
	return errors.As(err, &te) && te.Timeout()
}

// panicError is a bidder's recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("bidder panicked: %v\n%s", e.value, e.stack) }
