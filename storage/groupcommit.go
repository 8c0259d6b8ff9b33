package storage

import (
	"fmt"
	"sync"
	"time"
)

// request is one Append call waiting in the committer's queue.
type request struct {
	entries []Entry
	hs      *HardState
	sync    bool
	fut     *Future
}

// committer turns concurrent Append calls into groups: one goroutine takes
// everything queued, writes it with one write per store batch, syncs once if
// any caller asked for it, then releases every caller of the group. While it
// syncs, new calls queue up and form the next group, so the batching factor
// grows with the load and no timer is needed (the same shape as ZooKeeper's
// SyncRequestProcessor, which flushes when its queue runs dry).
//
// Order: zxids are checked against the last queued zxid when a call is
// queued, under the same lock that appends it to the queue, so queue order
// is zxid order and the store never sees an out-of-order write.
//
// Lock order: committer.mu, then Engine.mu (floor reads the snapshot list).
type committer struct {
	write   func(group []*request, sync bool) error
	floor   func() int64 // newest snapshot zxid: appends must be after it too
	metrics commitMetrics
	slow    time.Duration            // a sync longer than this is reported
	onSlow  func(time.Duration, int) // to this, if set

	mu         sync.Mutex
	cond       sync.Cond
	queue      []*request
	lastQueued int64 // last entry zxid once the queue is written
	busy       bool  // the loop is writing a group
	exclusive  bool  // an exclusive op holds the log; appends wait
	closed     bool
	// err poisons the committer after a failed write or sync: the store
	// can no longer say which of its writes are durable (PostgreSQL's
	// "fsyncgate": retrying fsync after a failure may report success for
	// data the kernel dropped), so every later append fails until the
	// server restarts and recovers from what is on disk.
	err     error
	stopped chan struct{}
}

// newCommitter starts the committer loop; slow and onSlow report syncs
// slower than slow (Options.SlowSync).
func newCommitter(lastEntry int64, write func([]*request, bool) error, floor func() int64,
	slow time.Duration, onSlow func(time.Duration, int)) *committer {
	c := &committer{write: write, floor: floor, slow: slow, onSlow: onSlow, lastQueued: lastEntry, stopped: make(chan struct{})}
	c.cond.L = &c.mu
	go c.loop()
	return c
}

// checkEntries rejects zxids that are not positive and strictly increasing.
func checkEntries(entries []Entry) error {
	for i, e := range entries {
		if e.Zxid <= 0 {
			return fmt.Errorf("zxid %#x: %w", e.Zxid, ErrOutOfOrder)
		}
		if i > 0 && e.Zxid <= entries[i-1].Zxid {
			return fmt.Errorf("zxid %#x after %#x: %w", e.Zxid, entries[i-1].Zxid, ErrOutOfOrder)
		}
	}
	return nil
}

func (c *committer) submit(entries []Entry, hs *HardState, sync bool) *Future {
	if err := checkEntries(entries); err != nil {
		return doneFuture(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.exclusive && !c.closed {
		c.cond.Wait()
	}
	switch {
	case c.closed:
		return doneFuture(ErrClosed)
	case c.err != nil:
		return doneFuture(c.err)
	}
	if len(entries) > 0 {
		if floor := max(c.lastQueued, c.floor()); entries[0].Zxid <= floor {
			return doneFuture(fmt.Errorf("zxid %#x not after %#x: %w", entries[0].Zxid, floor, ErrOutOfOrder))
		}
		c.lastQueued = entries[len(entries)-1].Zxid
	} else if hs == nil && !sync {
		return doneFuture(nil)
	}
	r := &request{entries: entries, hs: hs, sync: sync, fut: newFuture()}
	c.queue = append(c.queue, r)
	c.cond.Broadcast()
	return r.fut
}

func (c *committer) loop() {
	defer close(c.stopped)
	var group []*request
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		group, c.queue = c.queue, group[:0]
		c.busy = true
		err := c.err
		c.mu.Unlock()

		if err == nil {
			err = c.commit(group)
		}

		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.busy = false
		c.cond.Broadcast()
		c.mu.Unlock()
		for i, r := range group {
			r.fut.finish(err)
			group[i] = nil
		}
	}
}

func (c *committer) commit(group []*request) error {
	sync, n := false, 0
	for _, r := range group {
		sync = sync || r.sync
		n += len(r.entries)
	}
	start := time.Now()
	if err := c.write(group, sync); err != nil {
		return err
	}
	if sync {
		took := time.Since(start)
		c.metrics.record(n, took)
		if took > c.slow && c.onSlow != nil {
			c.onSlow(took, n)
		}
	}
	return nil
}

// exclusively runs fn once every queued append is written, holding off new
// ones; fn returns the last entry zxid afterwards. TruncateAfter needs this:
// it lowers the last zxid, which the order check of queued appends assumed.
func (c *committer) exclusively(fn func() (lastEntry int64, err error)) error {
	c.mu.Lock()
	for c.exclusive && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.exclusive = true
	for len(c.queue) > 0 || c.busy {
		c.cond.Wait()
	}
	err := c.err
	c.mu.Unlock()

	var last int64
	if err == nil {
		last, err = fn()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.exclusive = false
	c.cond.Broadcast()
	if c.err != nil {
		return c.err
	}
	if err != nil {
		// A half-done truncation leaves the log at an unknown length.
		c.err = err
		return err
	}
	c.lastQueued = last
	return nil
}

// close writes what is queued, waits for an exclusive op, and stops.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	for c.exclusive {
		c.cond.Wait()
	}
	c.mu.Unlock()
	<-c.stopped
}
