package listener

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// QueueLen returns how many connections wait in ln's accept queue: their
// handshake is complete, and accept(2) has not taken them yet. ln must be
// a listening TCP socket (a syscall.Conn, as *net.TCPListener is).
//
// On a listening socket Linux reports the accept queue's current length in
// TCP_INFO's tcpi_unacked (and its limit, the backlog, in tcpi_sacked).
func QueueLen(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return 0, fmt.Errorf("cannot read the accept queue of a %T: not a socket", ln)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("cannot read the accept queue of %s: %w", ln.Addr(), err)
	}
	var info *unix.TCPInfo
	var infoErr error
	if err := raw.Control(func(fd uintptr) {
		info, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, fmt.Errorf("cannot read the accept queue of %s: %w", ln.Addr(), err)
	}
	if infoErr != nil {
		return 0, fmt.Errorf("cannot read the accept queue of %s: TCP_INFO: %w", ln.Addr(), infoErr)
	}
	if info.State != tcpListen {
		return 0, fmt.Errorf("cannot read the accept queue of %s: %w", ln.Addr(), errNotListening)
	}
	return int(info.Unacked), nil
}

// tcpListen is TCP_LISTEN in the kernel's TCP states (include/net/tcp_states.h).
const tcpListen = 10

var errNotListening = errors.New("the socket is not listening")
