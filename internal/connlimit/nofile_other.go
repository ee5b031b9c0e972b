//go:build !unix

package connlimit

import (
	"errors"
	"fmt"
)

// Nofile returns the soft RLIMIT_NOFILE; only Unix systems have one.
func Nofile() (uint64, error) {
	return 0, fmt.Errorf("cannot read RLIMIT_NOFILE: %w", errors.ErrUnsupported)
}
