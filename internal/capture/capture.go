// Package capture samples incoming bid requests into rotating JSONL files,
// one request per line, so that load tests can replay what production
// really sends instead of one request over and over. Each line is the
// request's JSON object with its capture time first, as "@ts" (Unix
// nanoseconds), which adx bench strips before sending and uses to keep the
// captured timing.
//
// Capture costs the request path little: the handler hands over the
// decoded request, which is scrubbed and encoded at once (the handler's
// memory is reused once it has answered), and returns; a single goroutine
// writes. When the writer falls behind, requests are dropped and counted,
// never queued without bound. By default personal data is scrubbed: IPs
// are cut to their /24 (IPv4) or /48 (IPv6), which keeps the geography
// that load tests need, and user and device identifiers are replaced by
// keyed hashes, which keep their frequency distribution but not their
// values.
package capture

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/internal/ipmask"
	"github.com/adx-exchange/adx/internal/rotate"
)

// captured is one queued request, encoded, and the moment it arrived.
type captured struct {
	body []byte
	at   time.Time
}

// Options configure a Writer.
type Options struct {
	// Path is the live file; rotated files get a numeric suffix (.1 newest).
	Path string
	// Rate is the share of requests captured, 0..1.
	Rate float64
	// MaxBytes rotates the live file when it passes this size.
	MaxBytes int64
	// Keep is how many rotated files are kept besides the live one.
	Keep int
	// Raw turns scrubbing off: IPs and identifiers are written as sent.
	Raw bool
	// Logger receives rotation and failure lines.
	Logger *slog.Logger
}

// queueLen bounds the requests waiting to be written.
const queueLen = 4096

// Writer samples and writes requests. Build it with Open; it is safe for
// concurrent use; Close flushes and stops it.
type Writer struct {
	opts  Options
	key   []byte // HMAC key for identifier hashes, new per process
	queue chan captured
	done  chan struct{}
	log   *slog.Logger

	written, dropped, failed atomic.Int64

	closeOnce sync.Once
	file      *rotate.File
}

// Open creates (or appends to) opts.Path and starts the writer goroutine.
func Open(opts Options) (*Writer, error) {
	if opts.Path == "" {
		return nil, errors.New("capture: no file given")
	}
	if !(opts.Rate > 0 && opts.Rate <= 1) {
		return nil, fmt.Errorf("capture: rate %v is outside (0, 1]", opts.Rate)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.Keep < 0 {
		opts.Keep = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("capture: cannot make a hash key: %w", err)
	}
	file, err := rotate.Open(rotate.Options{Path: opts.Path, MaxBytes: opts.MaxBytes, Keep: opts.Keep, BufferBytes: 64 << 10, Log: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	w := &Writer{opts: opts, key: key, queue: make(chan captured, queueLen), done: make(chan struct{}), log: opts.Logger, file: file}
	go w.loop()
	return w, nil
}

// Sample reports whether the caller should capture this request.
func (w *Writer) Sample() bool { return mrand.Float64() < w.opts.Rate }

// Capture queues req, as it is now, for writing; it never blocks. req is
// scrubbed (unless Options.Raw) and encoded before Capture returns, so the
// caller may go on to change it, and reuse its memory.
func (w *Writer) Capture(req *openrtb2.BidRequest) {
	if len(w.queue) == cap(w.queue) { // the writer is behind: spare the work
		w.dropped.Add(1)
		return
	}
	at := time.Now()
	if !w.opts.Raw {
		req = w.scrub(req)
	}
	body, err := json.Marshal(req)
	if err != nil || len(body) < 2 || body[0] != '{' {
		w.failed.Add(1)
		return
	}
	select {
	case w.queue <- captured{body: body, at: at}:
	default:
		w.dropped.Add(1)
	}
}

// Stats returns how many requests were written, dropped because the
// writer fell behind, and lost to write errors.
func (w *Writer) Stats() (written, dropped, failed int64) {
	return w.written.Load(), w.dropped.Load(), w.failed.Load()
}

// Close writes what is queued, closes the file and stops the goroutine.
func (w *Writer) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.queue)
		<-w.done
		err = w.file.Close()
	})
	return err
}

func (w *Writer) loop() {
	defer close(w.done)
	var line []byte
	for item := range w.queue {
		body := item.body
		// The capture time leads the line, so that a replay can keep the
		// captured timing; adx bench strips it before sending.
		line = append(line[:0], `{"@ts":`...)
		line = strconv.AppendInt(line, item.at.UnixNano(), 10)
		if body[1] != '}' {
			line = append(line, ',')
		}
		line = append(line, body[1:]...)
		line = append(line, '\n')
		if err := w.file.Write(line); err != nil {
			w.failed.Add(1)
			continue
		}
		w.written.Add(1)
		if len(w.queue) == 0 {
			if err := w.file.Flush(); err != nil {
				w.log.Error("capture: cannot write", "path", w.opts.Path, "err", err)
			}
		}
	}
}

// Files lists the live file and its rotated copies, newest first.
func Files(path string) []string { return rotate.Files(path) }

// scrub returns a copy of req whose IPs are truncated and whose user and
// device identifiers are keyed hashes. req itself is not modified: the
// objects scrub changes are copied first.
func (w *Writer) scrub(req *openrtb2.BidRequest) *openrtb2.BidRequest {
	out := *req
	if req.Device != nil {
		d := *req.Device
		d.IP = ipmask.Truncate(d.IP, 24, 48)
		d.IPv6 = ipmask.Truncate(d.IPv6, 24, 48)
		d.IFA = w.hash(d.IFA)
		d.DPIDSHA1, d.DPIDMD5, d.MACSHA1, d.MACMD5 = w.hash(d.DPIDSHA1), w.hash(d.DPIDMD5), w.hash(d.MACSHA1), w.hash(d.MACMD5)
		if d.Geo != nil {
			g := *d.Geo
			g.Lat, g.Lon = roundCoord(g.Lat), roundCoord(g.Lon)
			d.Geo = &g
		}
		out.Device = &d
	}
	if req.User != nil {
		u := *req.User
		u.ID, u.BuyerUID = w.hash(u.ID), w.hash(u.BuyerUID)
		u.Geo = nil
		if len(u.EIDs) > 0 {
			eids := make([]openrtb2.EID, len(u.EIDs))
			for i, e := range u.EIDs {
				uids := make([]openrtb2.UID, len(e.UIDs))
				for k, uid := range e.UIDs {
					uid.ID = w.hash(uid.ID)
					uids[k] = uid
				}
				e.UIDs = uids
				eids[i] = e
			}
			u.EIDs = eids
		}
		u.Data = nil
		out.User = &u
	}
	return &out
}

// hash maps an identifier to a stable, keyed stand-in ("" stays "").
func (w *Writer) hash(id string) string {
	if id == "" {
		return ""
	}
	m := hmac.New(sha256.New, w.key)
	m.Write([]byte(id))
	return "h-" + hex.EncodeToString(m.Sum(nil)[:12])
}

// roundCoord keeps two decimals (about 1 km).
func roundCoord(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := float64(int64(*p*100)) / 100
	return &v
}

// NewCollector exports w's counts: requests written, dropped because the
// writer fell behind, and lost to write errors.
func NewCollector(w *Writer) prometheus.Collector { return collector{w} }

type collector struct{ w *Writer }

var (
	writtenDesc = prometheus.NewDesc("adx_capture_written_total", "Requests written to the capture file.", nil, nil)
	droppedDesc = prometheus.NewDesc("adx_capture_dropped_total", "Sampled requests not captured because the writer fell behind.", nil, nil)
	failedDesc  = prometheus.NewDesc("adx_capture_failed_total", "Sampled requests lost to encoding or write errors.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- writtenDesc
	ch <- droppedDesc
	ch <- failedDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	written, dropped, failed := c.w.Stats()
	ch <- prometheus.MustNewConstMetric(writtenDesc, prometheus.CounterValue, float64(written))
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(dropped))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(failed))
}
