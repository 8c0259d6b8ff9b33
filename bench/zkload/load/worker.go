package load

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// maxErrorSamples bounds the distinct error messages kept per session.
const maxErrorSamples = 10

// recorder holds one session's measurements. Its pipeline workers share it; with the default
// pipeline of 1 the lock is never contended.
type recorder struct {
	mu      sync.Mutex
	hist    [numOps]*Histogram // nil for ops not in the mix
	errs    [numOps]int64
	samples map[string]int64
}

func newRecorder(m Mix) *recorder {
	rec := &recorder{samples: map[string]int64{}}
	for op, w := range m {
		if w > 0 {
			rec.hist[op] = new(Histogram)
		}
	}
	return rec
}

func (rec *recorder) record(op Op, d time.Duration, err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err == nil {
		rec.hist[op].Record(d)
		return
	}
	rec.errs[op]++
	msg := op.String() + ": " + err.Error()
	if _, ok := rec.samples[msg]; ok || len(rec.samples) < maxErrorSamples {
		rec.samples[msg]++
	}
}

// worker sends one request at a time on its session's connection.
type worker struct {
	conn   *zk.Conn
	rec    *recorder
	rng    *rand.Rand
	mix    Mix
	total  int
	keys   []string // shared, read-only
	parent string   // where this session's creates go
	data   []byte
	// interval paces the worker when Options.Rate is set (0: no pacing).
	interval time.Duration
}

// loop runs until the stop offset (nanoseconds since start) passes. Only requests that
// complete inside [from, stop] count: throughput is completions per second of the window.
func (w *worker) loop(start time.Time, from time.Duration, stop *atomic.Int64) {
	// Workers start spread over one interval so paced requests do not arrive in bursts.
	next := time.Duration(w.rng.Int64N(int64(max(w.interval, 1))))
	for {
		if w.interval > 0 {
			if wait := next - time.Since(start); wait > 0 {
				time.Sleep(wait)
			} else if -wait > w.interval {
				next = time.Since(start) // far behind: do not burst to catch up
			}
			next += w.interval
		}
		t0 := time.Since(start)
		if int64(t0) >= stop.Load() {
			return
		}
		op := w.mix.pick(w.rng.IntN(w.total))
		err := w.do(op)
		t1 := time.Since(start)
		if t1 < from || int64(t1) > stop.Load() {
			continue
		}
		w.rec.record(op, t1-t0, err)
	}
}

func (w *worker) do(op Op) error {
	switch op {
	case OpRead:
		_, _, err := w.conn.Get(w.keys[w.rng.IntN(len(w.keys))])
		return err
	case OpWrite:
		_, err := w.conn.Set(w.keys[w.rng.IntN(len(w.keys))], w.data, -1)
		return err
	default:
		_, err := w.conn.Create(w.parent+"/n-", w.data, zk.FlagSequence, openACL)
		return err
	}
}
