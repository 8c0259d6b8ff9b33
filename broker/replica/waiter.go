package replica

import (
	"sync"
	"sync/atomic"
)

// Waiter is one delayed operation (a long-polling fetch, an acks=all
// produce) waiting for partitions to change: Kafka's purgatory keyed by
// partition. A partition wakes every registered waiter when its high
// watermark moves or its leadership changes, and forgets them; the waiter
// re-checks its condition and registers again if it must keep waiting.
type Waiter struct {
	C chan struct{} // receives a value when a watched partition changed
}

// NewWaiter returns a waiter with a one-slot wake channel.
func NewWaiter() *Waiter { return &Waiter{C: make(chan struct{}, 1)} }

func (w *Waiter) wake() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// watchers is the waiter set of one partition.
type watchers struct {
	n   atomic.Int32 // len(set), read without the lock on the append path
	mu  sync.Mutex
	set map[*Waiter]struct{}
}

func (ws *watchers) add(w *Waiter) {
	ws.mu.Lock()
	if ws.set == nil {
		ws.set = map[*Waiter]struct{}{}
	}
	ws.set[w] = struct{}{}
	ws.n.Store(int32(len(ws.set)))
	ws.mu.Unlock()
}

func (ws *watchers) remove(w *Waiter) {
	ws.mu.Lock()
	delete(ws.set, w)
	ws.n.Store(int32(len(ws.set)))
	ws.mu.Unlock()
}

// wakeAll wakes and forgets every waiter.
func (ws *watchers) wakeAll() {
	if ws.n.Load() == 0 {
		return
	}
	ws.mu.Lock()
	for w := range ws.set {
		w.wake()
	}
	clear(ws.set)
	ws.n.Store(0)
	ws.mu.Unlock()
}
