package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// stragglerGrace is how long Run waits after the end for requests still in flight before it
// declares the server hung and closes the sessions.
const stragglerGrace = 10 * time.Second

// run is one Run call's state.
type run struct {
	o           Options
	conns       []*zk.Conn
	keys        []string
	rootCreated bool
}

// Run connects the sessions, creates the keys, runs the load for Warmup+Duration, deletes
// everything it created and returns the measurements of the Duration part. Cancelling ctx ends
// the load early; the result then covers the shorter window and cleanup still runs. A cleanup
// error comes with a valid Result.
func Run(ctx context.Context, opts Options) (Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("zkload: %w", err)
	}
	conns, err := Connect(o)
	if err != nil {
		return Result{}, fmt.Errorf("zkload: connect %v: %w", o.Servers, err)
	}
	defer CloseAll(conns)
	r := &run{o: o, conns: conns}
	r.keys = make([]string, o.Nodes)
	for i := range r.keys {
		r.keys[i] = keyPath(o.Root, i)
	}
	if err := r.setup(); err != nil {
		return Result{}, errors.Join(fmt.Errorf("zkload: setup: %w", err), r.cleanup())
	}
	res, err := r.measure(ctx)
	if err != nil {
		return res, fmt.Errorf("zkload: %w (root %s left behind)", err, o.Root)
	}
	if err := r.cleanup(); err != nil {
		return res, fmt.Errorf("zkload: cleanup %s: %w", o.Root, err)
	}
	return res, nil
}

func (r *run) measure(ctx context.Context) (Result, error) {
	o := r.o
	recs := make([]*recorder, o.Sessions)
	var workers []*worker
	for s, c := range r.conns {
		recs[s] = newRecorder(o.Mix)
		data := make([]byte, o.Size)
		for p := range o.Pipeline {
			rng := rand.New(rand.NewPCG(o.Seed, uint64(s*o.Pipeline+p)))
			for i := range data {
				data[i] = byte('a' + rng.IntN(26))
			}
			w := &worker{
				conn: c, rec: recs[s], rng: rng, mix: o.Mix, total: o.Mix.total(),
				keys: r.keys, parent: parentPath(o.Root, s), data: data,
			}
			if o.Rate > 0 {
				w.interval = time.Duration(float64(time.Second) * float64(o.Sessions*o.Pipeline) / float64(o.Rate))
			}
			workers = append(workers, w)
		}
	}

	var stop atomic.Int64 // nanoseconds after start
	stop.Store(int64(o.Warmup + o.Duration))
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.loop(start, o.Warmup, &stop) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	var opened *time.Timer
	if o.Window != nil {
		opened = time.AfterFunc(o.Warmup, func() { o.Window(true) })
	}
	ctxDone := ctx.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var stuck error
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-ctxDone:
			ctxDone = nil
			stop.Store(min(stop.Load(), int64(time.Since(start))))
		case <-tick.C:
			if time.Since(start) > time.Duration(stop.Load())+stragglerGrace {
				CloseAll(r.conns) // fails the pending requests so the workers return
				<-finished
				stuck = fmt.Errorf("requests still pending %v after the end; server hung?", stragglerGrace)
				break wait
			}
		}
	}
	if o.Window != nil {
		if opened.Stop() {
			o.Window(true) // ended before the window opened: still pair the calls
		}
		o.Window(false)
	}
	window := max(time.Duration(stop.Load())-o.Warmup, 0)
	return r.result(recs, window), stuck
}
