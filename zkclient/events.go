package zkclient

import "sync"

// eventQueue delivers events to the watcher in order from one goroutine
// (the Java client's EventThread). It is unbounded so that a slow watcher
// never stalls the reader, which would stop replies and pings as well.
type eventQueue struct {
	fn     func(Event)
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	closed bool
	done   chan struct{}
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
		q.queue = append(q.queue, ev)
		q.cond.Signal()
	}
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
		for len(q.queue) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.queue) == 0 {
			q.mu.Unlock()
			return
		}
		batch := q.queue
		q.queue = nil
		q.mu.Unlock()
		for _, ev := range batch {
			if q.fn != nil {
				q.fn(ev)
			}
		}
	}
}
