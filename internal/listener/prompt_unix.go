//go:build unix && !linux

package listener

import "syscall"

// acceptNonblock accepts a queued connection on the listening socket lfd
// (non-blocking, as Go opens it) without waiting, as a non-blocking,
// close-on-exec descriptor. Without accept4(2), the descriptor is made
// close-on-exec under the fork lock, as package net does.
func acceptNonblock(lfd int) (int, error) {
	syscall.ForkLock.RLock()
	fd, _, err := syscall.Accept(lfd)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
