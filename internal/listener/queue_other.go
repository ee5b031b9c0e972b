//go:build !linux

package listener

import (
	"errors"
	"fmt"
	"net"
)

// QueueLen returns how many connections wait in ln's accept queue. Only
// Linux reports it; elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func QueueLen(ln net.Listener) (int, error) {
	return 0, fmt.Errorf("cannot read the accept queue of %s: %w", ln.Addr(), errors.ErrUnsupported)
}
