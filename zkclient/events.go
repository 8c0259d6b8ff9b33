package zkclient

import "sync"

// eventQueue delivers events to the watcher in order from one goroutine
// (the Java client's EventThread). It is unbounded so that a slow watcher
// never stalls the reader, which would stop replies and pings as well.
//
// It also orders replies after events: a reply that arrives after a
// notification completes its call only once the watcher has been given
// that notification (after). So a caller that reads new data has always
// seen the watch event the change fired first, the ordering ZooKeeper
// promises, and a shell that switches event printing off and on between
// commands knows which events each setting covered.
type eventQueue struct {
	fn     func(Event)
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []queued
	busy   bool // the loop is delivering a batch taken off the queue
	closed bool
	done   chan struct{}
}

// queued is an event, or a call completion waiting behind events.
type queued struct {
	ev   Event
	then func()
}

func newEventQueue(fn func(Event)) *eventQueue {
	q := &eventQueue{fn: fn, done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.loop()
	return q
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	if !q.closed {
		q.queue = append(q.queue, queued{ev: ev})
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// after runs fn once every event pushed before it has been delivered: at
// once when none is waiting.
func (q *eventQueue) after(fn func()) {
	q.mu.Lock()
	if q.closed || (len(q.queue) == 0 && !q.busy) {
		q.mu.Unlock()
		fn()
		return
	}
	q.queue = append(q.queue, queued{then: fn})
	q.cond.Signal()
	q.mu.Unlock()
}

// close delivers what is queued, then stops the goroutine and waits for it,
// so the last event (Closed) is seen before Close returns.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	<-q.done
}

func (q *eventQueue) loop() {
	defer close(q.done)
	for {
		q.mu.Lock()
		q.busy = false
		for len(q.queue) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.queue) == 0 {
			q.mu.Unlock()
			return
		}
		batch := q.queue
		q.queue = nil
		q.busy = true
		q.mu.Unlock()
		for _, item := range batch {
			switch {
			case item.then != nil:
				item.then()
			case q.fn != nil:
				q.fn(item.ev)
			}
		}
	}
}
