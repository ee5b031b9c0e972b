//go:build unix

package connlimit

import (
	"fmt"
	"syscall"
)

// Nofile returns the soft RLIMIT_NOFILE: how many file descriptors the
// process may hold (the Go runtime raises it to the hard limit at start).
func Nofile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("cannot read RLIMIT_NOFILE: %w", err)
	}
	return uint64(rl.Cur), nil
}
