package controller

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// channelManager is ControllerChannelManager: one FIFO queue and one sender
// goroutine per live broker. A broker that does not answer holds up only its
// own queue; its head request is sent again every backoff until it is
// answered or the broker is removed (it died, bounced, or this controller
// resigned). Requests to one broker keep their order, which is what puts the
// failover UpdateMetadata before every LeaderAndIsr.
//
// The map is owned by the event loop; each queue is shared with its sender
// goroutine under the queue's lock.
type channelManager struct {
	sender  Sender
	backoff time.Duration
	log     zerolog.Logger
	queues  map[int32]*brokerQueue
	wg      *sync.WaitGroup
}

type brokerQueue struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	target Target
	items  []queueItem
	wake   chan struct{}
}

type queueItem struct {
	req  kmsg.Request
	done func(kmsg.Response) // runs on the sender goroutine; it only enqueues events
}

func newChannelManager(c *Controller) *channelManager {
	return &channelManager{sender: c.cfg.Sender, backoff: c.cfg.RetryBackoff, log: c.log,
		queues: map[int32]*brokerQueue{}, wg: &c.senders}
}

// addBroker starts the queue of a live broker, replacing an older one (a
// bounced broker's queue holds requests stamped with its old epoch).
func (m *channelManager) addBroker(t Target) {
	m.removeBroker(t.ID)
	ctx, cancel := context.WithCancel(context.Background())
	q := &brokerQueue{target: t, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
	m.queues[t.ID] = q
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.run(q)
	}()
}

// removeBroker drops a broker's queue and stops its sender (a Send in
// progress sees its context cancelled).
func (m *channelManager) removeBroker(id int32) {
	if q, ok := m.queues[id]; ok {
		q.cancel()
		delete(m.queues, id)
	}
}

func (m *channelManager) shutdown() {
	for id := range m.queues {
		m.removeBroker(id)
	}
}

// updateTarget changes a queue's registration without dropping its
// requests (a broker that rewrote its endpoints under the same epoch).
func (m *channelManager) updateTarget(t Target) {
	if q, ok := m.queues[t.ID]; ok {
		q.mu.Lock()
		q.target = t
		q.mu.Unlock()
	}
}

// send queues req for broker id; a broker without a queue is offline and
// the request is dropped, as Kafka does.
func (m *channelManager) send(id int32, req kmsg.Request, done func(kmsg.Response)) {
	q, ok := m.queues[id]
	if !ok {
		m.log.Warn().Int32("to", id).Str("request", kmsg.NameForKey(req.Key())).Msg("not sending request to an offline broker")
		return
	}
	q.mu.Lock()
	q.items = append(q.items, queueItem{req: req, done: done})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *brokerQueue) next() (queueItem, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = queueItem{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return it, true
		}
		q.mu.Unlock()
		select {
		case <-q.ctx.Done():
			return queueItem{}, false
		case <-q.wake:
		}
	}
}

// run is RequestSendThread.doWork: send, and on failure pause and send the
// same request again.
func (m *channelManager) run(q *brokerQueue) {
	for {
		it, ok := q.next()
		if !ok {
			return
		}
		for attempt := 0; ; attempt++ {
			q.mu.Lock()
			target := q.target
			q.mu.Unlock()
			resp, err := m.sender.Send(q.ctx, target, it.req)
			if q.ctx.Err() != nil {
				return
			}
			if err == nil {
				if it.done != nil && resp != nil {
					it.done(resp)
				}
				break
			}
			ev := m.log.Debug()
			if attempt == 0 {
				ev = m.log.Warn()
			}
			ev.Err(err).Int32("to", target.ID).Str("request", kmsg.NameForKey(it.req.Key())).Int("attempt", attempt+1).
				Msg("failed to send controller request; retrying")
			select {
			case <-q.ctx.Done():
				return
			case <-time.After(m.backoff):
			}
		}
	}
}
