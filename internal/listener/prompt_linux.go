package listener

import "syscall"

// acceptNonblock accepts a queued connection on the listening socket lfd
// without waiting, as a non-blocking, close-on-exec descriptor.
func acceptNonblock(lfd int) (int, error) {
	fd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
	return fd, err
}
