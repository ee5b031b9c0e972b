package notice

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of ReplayGuard.Claim.
var (
	// ErrReplayed is a token presented again while it is valid: the
	// notice was acted on already.
	ErrReplayed = errors.New("notice token was already presented")
	// ErrReplayFull is a token that cannot be remembered because the
	// guard already remembers its maximum of live tokens. The caller
	// answers 503 so that the SSP retries: a replay never passes because
	// memory was short.
	ErrReplayFull = errors.New("notice replay guard is full")
)

// ReplayGuard remembers the notice tokens presented, each until it
// expires, so that each is acted on once. A token is remembered by a
// keyed 64-bit hash of its MAC, which names it (Signer gives a token one
// spelling), and its expiry in seconds; memory is bounded by the notice
// rate times the tokens' lifetime, and by the guard's maximum. Expired
// tokens are forgotten in sweeps: of a shard at most every sweepEvery,
// and of every shard when the guard is full. It is safe for concurrent
// use.
//
// A guard is one instance's memory: instances that share signing keys
// but not a guard each accept a token once, so a token replayed to
// another instance passes. Route each SSP's notices to one instance, or
// share the guard's job in the event consumer (deduplicating on the
// token's auction, bid and kind).
type ReplayGuard struct {
	seed maphash.Seed
	max  int64
	// n counts the tokens remembered, in all shards: the bound is exact.
	n atomic.Int64
	// fullSweep is the Unix second of the last sweep of every shard.
	fullSweep atomic.Int64
	shards    [replayShards]replayShard
}

// replayShards spreads the tokens over locks; a power of two.
const replayShards = 32

// sweepEvery is the least time between two sweeps of one shard for expired
// tokens: a sweep reads the whole shard, and a token outlives its expiry by
// at most this.
const sweepEvery = 10 // seconds

// minShrink is the fewest slots worth giving back: a shard whose map has
// held more than four times what it holds after a sweep, and more than
// this, is copied into a map its size (Go maps never shrink).
const minShrink = 4096

// replayShard is one lock's share of the tokens, alone on its cache line.
type replayShard struct {
	mu sync.Mutex
	// m maps a token's hash to its expiry in Unix seconds. Byte arrays,
	// not uint64 and uint32, so that a slot is 12 bytes, not 16: measured
	// 26.6 bytes per token at a million, 36.1 with the integers.
	m map[replayKey]replayExp
	// minExp is at most the earliest expiry in m: no sweep frees anything
	// before it.
	minExp int64
	// nextSweep is the Unix second before which the shard is not swept.
	nextSweep int64
	// peak is the most tokens m has held since it was made.
	peak int
	_    [64 - 40]byte
}

// NewReplayGuard returns a guard that remembers at most max live tokens;
// max < 1 is taken as 1.
func NewReplayGuard(max int) *ReplayGuard {
	g := &ReplayGuard{seed: maphash.MakeSeed(), max: int64(max)}
	if g.max < 1 {
		g.max = 1
	}
	for i := range g.shards {
		g.shards[i].m = make(map[replayKey]replayExp)
		g.shards[i].minExp = math.MaxInt64
	}
	return g
}

// Claim returns nil the first time token, valid until expires, is
// presented at now: the caller may act on the notice. After that it
// returns ErrReplayed until the token expires. It returns ErrReplayFull,
// remembering nothing, when the guard holds its maximum of live tokens,
// and ErrTokenExpired for a token expired at now. token must have passed
// Signer.Verify, expires must be its claims' Expires.
func (g *ReplayGuard) Claim(token string, expires, now time.Time) error {
	if !now.Before(expires) {
		return ErrTokenExpired
	}
	exp, sec := expires.Unix(), now.Unix()
	if expires.Nanosecond() != 0 {
		exp++ // valid until within its second: remembered through it
	}
	h := g.hash(token)
	sh := &g.shards[h&(replayShards-1)]
	for swept := false; ; swept = true {
		sh.mu.Lock()
		err := sh.claim(g, h, exp, sec)
		sh.mu.Unlock()
		if err != ErrReplayFull || swept || !g.sweepAll(sec) {
			return err
		}
	}
}

// Release forgets token, claimed with Claim, so that it may be claimed
// again: for a notice that could not be acted on (the caller answers 503
// and the SSP retries). Releasing a token not remembered does nothing.
func (g *ReplayGuard) Release(token string) {
	h := g.hash(token)
	sh := &g.shards[h&(replayShards-1)]
	sh.mu.Lock()
	if _, ok := sh.m[keyOf(h)]; ok {
		delete(sh.m, keyOf(h))
		g.n.Add(-1)
	}
	sh.mu.Unlock()
}

// Len returns the number of tokens remembered, expired ones not yet swept
// included.
func (g *ReplayGuard) Len() int { return int(g.n.Load()) }

// hash returns the keyed hash of token's MAC, the part after its last dot:
// the MAC alone names a verified token, and is short.
func (g *ReplayGuard) hash(token string) uint64 {
	return maphash.String(g.seed, token[strings.LastIndexByte(token, '.')+1:])
}

// claim is Claim in the shard, under its lock.
func (s *replayShard) claim(g *ReplayGuard, h uint64, exp, now int64) error {
	if now >= s.minExp && now >= s.nextSweep {
		s.sweep(g, now)
	}
	k := keyOf(h)
	if e, ok := s.m[k]; ok {
		if e.unix() > now {
			return ErrReplayed
		}
		delete(s.m, k) // expired, not yet swept
		g.n.Add(-1)
	}
	if g.n.Add(1) > g.max {
		g.n.Add(-1)
		return ErrReplayFull
	}
	e := expOf(exp)
	s.m[k] = e
	s.minExp = min(s.minExp, e.unix())
	s.peak = max(s.peak, len(s.m))
	return nil
}

// sweep forgets the shard's tokens expired at now, under its lock.
func (s *replayShard) sweep(g *ReplayGuard, now int64) {
	s.nextSweep = now + sweepEvery
	s.minExp = math.MaxInt64
	freed := 0
	for k, e := range s.m {
		if e.unix() <= now {
			delete(s.m, k)
			freed++
		} else {
			s.minExp = min(s.minExp, e.unix())
		}
	}
	g.n.Add(int64(-freed))
	if s.peak > minShrink && len(s.m) < s.peak/4 {
		m := make(map[replayKey]replayExp, len(s.m))
		for k, e := range s.m {
			m[k] = e
		}
		s.m, s.peak = m, len(m)
	}
}

// sweepAll sweeps every shard, at most once a second: when the guard is
// full, expired tokens in any shard make room. It reports whether it
// swept.
func (g *ReplayGuard) sweepAll(now int64) bool {
	last := g.fullSweep.Load()
	if now <= last || !g.fullSweep.CompareAndSwap(last, now) {
		return false
	}
	for i := range g.shards {
		s := &g.shards[i]
		s.mu.Lock()
		if now >= s.minExp {
			s.sweep(g, now)
		}
		s.mu.Unlock()
	}
	return true
}

// replayKey is a token's hash, replayExp its expiry in Unix seconds (up to
// 2106), little-endian.
type (
	replayKey [8]byte
	replayExp [4]byte
)

func keyOf(h uint64) (k replayKey) {
	binary.LittleEndian.PutUint64(k[:], h)
	return k
}

func expOf(unix int64) (e replayExp) {
	binary.LittleEndian.PutUint32(e[:], uint32(max(0, min(unix, math.MaxUint32))))
	return e
}

func (e replayExp) unix() int64 { return int64(binary.LittleEndian.Uint32(e[:])) }
