package controller

import (
	"sync"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// event is one item of the controller's queue (ControllerEvent). Only the
// event loop processes events; everything else only enqueues them.
type event interface{}

// evStartup starts the first campaign (Kafka's Startup).
type evStartup struct{}

// evWatch is a fired one-shot watch; token says which registration fired, so
// an event from a registration the loop has since forgotten is ignored.
type evWatch struct {
	key   watchKey
	token uint64
	ev    zk.Event
}

// evResync rebuilds the state of term from ZooKeeper after an event failed
// half way on a ZooKeeper error.
type evResync struct{ term uint64 }

// evSession reports the ZooKeeper session id seen by the session monitor
// (0 while the client has no session, e.g. right after an expiry).
type evSession struct{ id int64 }

// evReelect retries a campaign that failed on a ZooKeeper error or waited for
// a session.
type evReelect struct{}

// evAutoRebalance is the periodic preferred-leader check of one term.
type evAutoRebalance struct{ term uint64 }

// evControlledShutdown and evAlterPartition are the broker-to-controller
// RPCs; the handler answers on reply (buffered, never blocks).
type evControlledShutdown struct {
	req   *kmsg.ControlledShutdownRequest
	reply chan *kmsg.ControlledShutdownResponse
}

type evAlterPartition struct {
	req   *kmsg.AlterPartitionRequest
	reply chan *kmsg.AlterPartitionResponse
}

// Responses to controller requests, tagged with the term that sent them.
type evLeaderAndIsrResponse struct {
	term   uint64
	broker int32
	resp   *kmsg.LeaderAndISRResponse
}

type evUpdateMetadataResponse struct {
	term   uint64
	broker int32
	resp   *kmsg.UpdateMetadataResponse
}

// evStopReplicaResponse carries the errors of the partitions a StopReplica
// asked to delete (TopicDeletionStopReplicaResponseReceived).
type evStopReplicaResponse struct {
	term            uint64
	broker          int32
	requestErr      int16
	partitionErrors map[TopicPartition]int16
}

// evFunc runs f on the loop (tests use it as Kafka's tests use MockEvent).
type evFunc struct{ f func() }

// preempt answers an RPC event that will never be processed, as
// ControllerEvent.preempt does: the caller hears NOT_CONTROLLER.
func preempt(ev event) {
	switch e := ev.(type) {
	case evControlledShutdown:
		e.reply <- controlledShutdownError(e.req, errNotController)
	case evAlterPartition:
		e.reply <- alterPartitionError(e.req, errNotController)
	}
}

// eventQueue is an unbounded FIFO (ControllerEventManager's queue): producers
// never block, so a watch callback or a sender goroutine cannot stall.
type eventQueue struct {
	mu     sync.Mutex
	items  []event
	wake   chan struct{}
	closed bool
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

// put enqueues ev; it reports false (and does not enqueue) once the queue is
// closed.
func (q *eventQueue) put(ev event) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// pop takes the oldest event, or nil.
func (q *eventQueue) pop() event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	ev := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return ev
}

func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close refuses further events and returns the ones left.
func (q *eventQueue) close() []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	left := q.items
	q.items = nil
	return left
}
