package auction

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/config"
)

// Shaping (config.Shaping): a QPS-capped DSP's calls go first to the
// requests most likely to get a bid. Requests fall into buckets, country x
// imp formats sent x device type x app or site; each bucket counts, over a
// sliding window of shapeSteps steps, the requests on offer, the calls made
// and the calls answered with a bid. At every step the shaper plans: when
// the requests on offer in the last step came faster than the cap, it
// ranks the buckets by learnt bid rate and admits the best ones whole
// until their rates fill (1 - exploration) of the cap, part of the next
// one (the threshold), and the rest at random for the exploration share.
// The token bucket stays the hard cap behind it. Under the cap every
// request is admitted.
//
// The device type (OpenRTB list 5.21) stands for the platform: it is a
// number already, where the OS family would take string matching per
// request, and it splits what bid rates split most (phone, tablet, PC,
// connected TV).

const (
	// shapeSteps are the steps of a window: the window slides by one
	// step at a time, and the plan is made again at each.
	shapeSteps = 10
	// maxShapeBuckets bounds a DSP's learnt buckets; a request of any other
	// bucket counts in the other bucket. A bucket with no request over a
	// whole window is given back once they are all taken.
	maxShapeBuckets = 511
	shapeOther      = maxShapeBuckets
	numShapeBuckets = maxShapeBuckets + 1
	// shapeSlotBits sizes the open-addressing table of keys: twice the
	// buckets, probed at most shapeProbes slots deep.
	shapeSlotBits = 10
	shapeSlots    = 1 << shapeSlotBits
	shapeProbes   = 16
	// shapePrior is how many calls' worth of weight a bucket's rate
	// estimate gives the DSP's mean rate: a bucket seldom called ranks
	// near the mean, neither first nor last, until its calls say more.
	shapePrior = 8
	// skipScale is a skip probability of 1 in a plan word's low 32 bits.
	skipScale = 1 << 32
)

// shapeKey packs a request's bucket into 33 bits: the country's three
// bytes, the device type (1-7; 0 other or none), the imp formats sent (a
// mediaMask) and whether it is an app (1) or site (2) request.
func shapeKey(req *openrtb2.BidRequest, media mediaMask) uint64 {
	var k uint64
	if d := req.Device; d != nil {
		if g := d.Geo; g != nil && len(g.Country) == 3 {
			k = uint64(g.Country[0])<<16 | uint64(g.Country[1])<<8 | uint64(g.Country[2])
		}
		if dt := d.DeviceType; dt >= 1 && dt <= 7 {
			k |= uint64(dt) << 24
		}
	}
	k |= uint64(media&mediaAll) << 27
	switch {
	case req.App != nil:
		k |= 1 << 31
	case req.Site != nil:
		k |= 2 << 31
	}
	return k
}

// shapeTable maps keys to buckets: each slot holds key<<16 | bucket+1, 0
// when empty.
type shapeTable struct{ slots [shapeSlots]atomic.Uint64 }

// find returns the bucket of key, or the first empty slot on its probe
// path (nil when there is none).
func (t *shapeTable) find(key uint64) (int32, *atomic.Uint64) {
	h := (key * 0x9E3779B97F4A7C15) >> (64 - shapeSlotBits)
	for p := range uint64(shapeProbes) {
		slot := &t.slots[(h+p)&(shapeSlots-1)]
		w := slot.Load()
		if w == 0 {
			return -1, slot
		}
		if w>>16 == key {
			return int32(w&0xffff) - 1, nil
		}
	}
	return -1, nil
}

// shapeBucket is one bucket's counts, a ring of steps, and its plan.
type shapeBucket struct {
	offered, sent, bids [shapeSteps]atomic.Uint32
	// plan is the bucket's admission until the next plan: the skip
	// probability in the low 32 bits (0: admit all), the predicted bid
	// rate in millionths in bits 32-51, and shapeExplore when an
	// admitted request explores.
	plan atomic.Uint64
	// key is the bucket's key while it is taken; guarded by shaper.mu.
	key  uint64
	used bool
}

const shapeExplore = 1 << 63

func shapePlan(skip, rate float64, explore bool) uint64 {
	w := uint64(min(skip*skipScale, skipScale-1)) | uint64(rate*1e6)<<32
	if explore {
		w |= shapeExplore
	}
	return w
}

// shaper is one DSP's shaping. Admitting a request takes atomic loads and
// adds and a random number: 28-33 ns (BenchmarkShaperAdmit, both Ps of a
// loaded 2-core machine). The first request of a step moves the window
// and plans, under the mutex, over every bucket: 0.12-0.16 ms with all
// 512 taken (BenchmarkShaperStep), once a step (3 s by default); other
// requests do not wait for it, but for one taking a bucket for a new key.
// Safe for concurrent use.
type shaper struct {
	step    int64        // nanoseconds per step
	qps     atomic.Int64 // the cap the plan fills
	explore atomic.Uint64
	epoch   atomic.Int64 // the newest step: now / step
	table   atomic.Pointer[shapeTable]
	full    atomic.Bool // no bucket free: unknown keys go to the other one
	mu      sync.Mutex
	tables  [2]shapeTable // table points at one; a rebuild fills the other
	free    []int32
	buckets [numShapeBuckets]shapeBucket
	theta   float64 // the threshold of the last plan; guarded by mu
	scratch shapeScratch
	// lost adds up the predicted bid rates of the requests shaped away,
	// explored counts the calls made below the threshold, and gauge is
	// the threshold; nil: not exported. Set when the Auction is built.
	lost, explored prometheus.Counter
	gauge          prometheus.Gauge
}

// shapeScratch is a plan's working memory, kept so that planning does not
// allocate.
type shapeScratch struct {
	offered, sent, rate [numShapeBuckets]float64
	order               []int32
}

// shapingOf returns d's shaper, or nil when its QPS is not capped or its
// shaping is off.
func shapingOf(d *config.Demand) *shaper {
	if d.QPS <= 0 || d.Shaping.Disabled {
		return nil
	}
	s := d.Shaping.WithDefaults()
	return newShaper(d.QPS, s.Window.D(), s.Exploration)
}

func newShaper(qps int, window time.Duration, explore float64) *shaper {
	s := &shaper{step: max(int64(window)/shapeSteps, 1), free: make([]int32, 0, maxShapeBuckets)}
	s.scratch.order = make([]int32, 0, numShapeBuckets)
	s.qps.Store(int64(qps))
	s.explore.Store(math.Float64bits(explore))
	for i := maxShapeBuckets - 1; i >= 0; i-- {
		s.free = append(s.free, int32(i))
	}
	s.table.Store(&s.tables[0])
	s.epoch.Store(math.MinInt64)
	return s
}

// shapeVerdict is what the shaper says of one request.
type shapeVerdict struct {
	bucket int32
	// shaped: not to be sent, its bucket being under the threshold.
	shaped bool
	// explore: sent, though under the threshold, to learn its bucket.
	explore bool
}

// admit counts a request of bucket key on offer at now and says whether
// it may be sent.
func (s *shaper) admit(now int64, key uint64) shapeVerdict {
	ep := now / s.step
	if ep > s.epoch.Load() {
		s.advance(ep)
	}
	b := s.bucketOf(key)
	bk := &s.buckets[b]
	bk.offered[ep%shapeSteps].Add(1)
	w := bk.plan.Load()
	if skip := uint32(w); skip != 0 && rand.Uint32() < skip {
		if s.lost != nil {
			s.lost.Add(float64(w>>32&(1<<20-1)) / 1e6)
		}
		return shapeVerdict{bucket: b, shaped: true}
	}
	return shapeVerdict{bucket: b, explore: w&shapeExplore != 0}
}

// record counts a call to bucket b that ended at now, with a bid or not.
func (s *shaper) record(b int32, now int64, bid bool) {
	i := (now / s.step) % shapeSteps
	bk := &s.buckets[b]
	bk.sent[i].Add(1)
	if bid {
		bk.bids[i].Add(1)
	}
}

// bucketOf returns the bucket of key, taking a free one for a new key.
func (s *shaper) bucketOf(key uint64) int32 {
	b, empty := s.table.Load().find(key)
	if b >= 0 {
		return b
	}
	if empty == nil || s.full.Load() {
		return shapeOther
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, empty = s.table.Load().find(key) // taken meanwhile, or the table rebuilt
	switch {
	case b >= 0:
		return b
	case empty == nil:
		return shapeOther
	case len(s.free) == 0:
		s.full.Store(true)
		return shapeOther
	}
	b = s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.buckets[b].key, s.buckets[b].used = key, true
	empty.Store(key<<16 | uint64(b+1))
	return b
}

// advance moves the window on to step ep and plans it, unless another
// request does so already.
func (s *shaper) advance(ep int64) {
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	old := s.epoch.Load()
	if ep <= old {
		return
	}
	// The step after ep is emptied now, a step ahead, so that no request
	// counts in a step while it is emptied; the steps skipped since old
	// (old+2 to ep; old+1 was emptied a step ahead) held counts older
	// than the window.
	n := int64(shapeSteps)
	if old != math.MinInt64 && ep-old < shapeSteps {
		n = ep - old
	}
	for k := range n {
		i := ((ep+1-k)%shapeSteps + shapeSteps) % shapeSteps
		for b := range s.buckets {
			bk := &s.buckets[b]
			bk.offered[i].Store(0)
			bk.sent[i].Store(0)
			bk.bids[i].Store(0)
		}
	}
	s.epoch.Store(ep)
	last := int64(-1)
	if old == ep-1 {
		last = old % shapeSteps
	}
	s.plan(last)
}

// plan sets every bucket's admission for the step begun: last is the ring
// index of the step just ended (-1: no request came in it).
func (s *shaper) plan(last int64) {
	sc := &s.scratch
	var offered, recent, sent, bids float64
	for b := range s.buckets {
		bk := &s.buckets[b]
		var o, n, k uint32
		for i := range shapeSteps {
			o += bk.offered[i].Load()
			n += bk.sent[i].Load()
			k += bk.bids[i].Load()
		}
		if last >= 0 {
			recent += float64(bk.offered[last].Load())
		}
		sc.offered[b], sc.sent[b], sc.rate[b] = float64(o), float64(n), float64(k)
		offered += float64(o)
		sent += float64(n)
		bids += float64(k)
	}
	s.reclaim()
	capacity := float64(s.qps.Load())
	onOffer := recent / (float64(s.step) / 1e9) // requests a second
	if onOffer <= capacity || offered == 0 {
		for b := range s.buckets {
			s.buckets[b].plan.Store(0)
		}
		s.setTheta(0)
		return
	}
	mean := (bids + 1) / (sent + 2)
	sc.order = sc.order[:0]
	for b := range s.buckets {
		sc.rate[b] = (sc.rate[b] + shapePrior*mean) / (sc.sent[b] + shapePrior)
		if sc.offered[b] > 0 {
			sc.order = append(sc.order, int32(b))
		} else {
			s.buckets[b].plan.Store(0) // none on offer: admit the first that comes
		}
	}
	slices.SortFunc(sc.order, func(a, b int32) int {
		switch ra, rb := sc.rate[a], sc.rate[b]; {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return int(a - b)
	})
	explore := math.Float64frombits(s.explore.Load())
	budget := (1 - explore) * capacity
	perCount := onOffer / offered
	// The best buckets whole up to budget (full of them), then part of
	// the next one, the marginal bucket, whose rate is the threshold.
	cum, theta, full := 0.0, 0.0, 0
	for _, b := range sc.order {
		r := sc.offered[b] * perCount
		if cum+r > budget {
			break
		}
		cum += r
		theta = sc.rate[b]
		full++
	}
	marginal := full < len(sc.order) && cum < budget
	first := full // the first bucket below
	if marginal {
		theta = sc.rate[sc.order[full]]
		first++
	}
	// The buckets below are explored at random for the rest of the cap;
	// what they cannot take goes to the marginal bucket.
	below := 0.0
	for _, b := range sc.order[first:] {
		below += sc.offered[b] * perCount
	}
	q := 1.0
	if below > explore*capacity {
		q = explore * capacity / below
	}
	spare := explore*capacity - q*below
	for i, b := range sc.order {
		p := sc.rate[b]
		switch {
		case i < full:
			s.buckets[b].plan.Store(shapePlan(0, p, false))
		case i < first:
			f := min((budget-cum+spare)/(sc.offered[b]*perCount), 1)
			s.buckets[b].plan.Store(shapePlan(1-f, p, false))
		default:
			s.buckets[b].plan.Store(shapePlan(1-q, p, true))
		}
	}
	s.setTheta(theta)
}

// reclaim gives back the buckets no request came to over the window, once
// none is free: the table is rebuilt without their keys. A request that
// read the old table may count one more in a bucket given back; the
// rebuild fills the table not in use, read by nobody for a step.
func (s *shaper) reclaim() {
	if len(s.free) > 0 {
		return
	}
	sc := &s.scratch
	idle := 0
	for b := range maxShapeBuckets {
		if s.buckets[b].used && sc.offered[b] == 0 {
			idle++
		}
	}
	if idle == 0 {
		return
	}
	next := &s.tables[0]
	if s.table.Load() == next {
		next = &s.tables[1]
	}
	for i := range next.slots {
		next.slots[i].Store(0)
	}
	for b := range maxShapeBuckets {
		bk := &s.buckets[b]
		if !bk.used {
			continue
		}
		if sc.offered[b] == 0 {
			bk.used, bk.key = false, 0
			for i := range shapeSteps {
				bk.sent[i].Store(0)
				bk.bids[i].Store(0)
			}
			bk.plan.Store(0)
			s.free = append(s.free, int32(b))
			continue
		}
		if _, slot := next.find(bk.key); slot != nil {
			slot.Store(bk.key<<16 | uint64(b+1))
		} else {
			// Too deep a probe in the new table: give it back too.
			bk.used, bk.key = false, 0
			for i := range shapeSteps {
				bk.offered[i].Store(0)
				bk.sent[i].Store(0)
				bk.bids[i].Store(0)
			}
			bk.plan.Store(0)
			s.free = append(s.free, int32(b))
		}
	}
	s.table.Store(next)
	s.full.Store(false)
}

func (s *shaper) setTheta(t float64) {
	s.theta = t
	if s.gauge != nil {
		s.gauge.Set(t)
	}
}

// threshold returns the bid rate of the last plan's threshold: 0 when the
// cap did not bind.
func (s *shaper) threshold() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.theta
}
