package connlimit

import "math"

// baseReserve is the descriptors kept for what is not a connection: the
// data files and their watchers, the admin listener and its scrapes and
// profiles, stdout, the runtime's epoll and pipes.
const baseReserve = 256

// AutoMax derives the total bound on public connections from the file
// descriptor limit nofile (RLIMIT_NOFILE, see Nofile), keeping back
// outbound descriptors for demand partner connections, MaxRefusing for
// connections being refused, and a base reserve for data files and the
// admin port. It returns the bound and the reserve. When the reserve
// would leave less than a quarter of nofile, the bound is a quarter of
// nofile: the limit is too low for the demand partners' max_conns, and
// the caller should say so.
func AutoMax(nofile uint64, outbound int) (total, reserve int) {
	reserve = outbound + MaxRefusing + baseReserve
	n := min(nofile, math.MaxInt32) // RLIM_INFINITY: a bound an int holds
	return max(int(n)-reserve, int(n/4), 1), reserve
}
