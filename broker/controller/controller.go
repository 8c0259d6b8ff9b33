package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Controller is one broker's controller module. Run campaigns for
// /controller and, while elected, acts as the cluster's controller.
type Controller struct {
	cfg  Config
	meta *zkmeta.Client
	log  zerolog.Logger

	queue   *eventQueue
	running atomic.Bool // Run's loop is processing events

	// Published for Active (read from any goroutine).
	activeFlag  atomic.Bool
	activeEpoch atomic.Int32

	// Everything below is owned by the event loop.
	ctx      *controllerContext // nil unless this broker is the controller
	activeID int32              // the controller /controller names, -1 if none known
	term     uint64             // bumped at every failover; stale responses carry an older one
	session  int64              // the ZooKeeper session the watches belong to (0: none)
	closed   bool               // the ZooKeeper client is closed for good
	watches  map[watchKey]uint64
	token    uint64
	batch    requestBatch
	channels *channelManager
	senders  sync.WaitGroup // the channel managers' sender goroutines

	rebalanceRuns int // automatic rebalance checks done (observability for tests)

	timersMu       sync.Mutex
	rebalanceTimer *time.Timer
	reelectTimer   *time.Timer
	resyncTimer    *time.Timer
}

// New checks the configuration and fills Kafka's defaults. It does no I/O.
func New(cfg Config) (*Controller, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	return &Controller{
		cfg:      cfg,
		meta:     cfg.Meta,
		log:      cfg.Log, // the caller names the component and broker
		queue:    newEventQueue(),
		activeID: -1,
		watches:  map[watchKey]uint64{},
		batch:    newRequestBatch(),
	}, nil
}

// Active reports whether this broker is the controller now, and its epoch.
func (c *Controller) Active() (epoch int32, ok bool) {
	if !c.activeFlag.Load() {
		return 0, false
	}
	return c.activeEpoch.Load(), true
}

// Run campaigns for /controller and, while elected, acts as the controller.
// It runs the election again when /controller is deleted and after the
// ZooKeeper session is re-established. It returns when ctx is done,
// resigning first if active (deleting /controller only if it is still ours:
// the delete is fenced by the epoch zkVersion).
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("controller: Run called twice")
	}
	c.queue.put(evStartup{})
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		c.monitorSession(ctx)
	}()

	for {
		select {
		case <-ctx.Done():
			c.stop()
			<-monitorDone
			return nil
		case <-c.queue.wake:
		}
		for ctx.Err() == nil {
			ev := c.queue.pop()
			if ev == nil {
				break
			}
			c.process(ev)
		}
	}
}

// stop ends the loop: resign if active, answer whatever is still queued.
func (c *Controller) stop() {
	c.running.Store(false)
	if c.ctx != nil {
		fence := c.ctx.epoch
		c.resign("shutting down")
		if err := c.meta.ResignController(fence); err != nil {
			c.log.Info().Err(err).Msg("could not delete /controller on shutdown")
		}
	}
	c.stopTimers()
	for _, ev := range c.queue.close() {
		preempt(ev)
	}
	// The senders were cancelled by resign; a Sender that ignores its
	// context is not waited for long.
	done := make(chan struct{})
	go func() {
		c.senders.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.log.Warn().Msg("a controller request sender did not stop")
	}
}

// monitorSession reports every change of the ZooKeeper session id. Watches
// report an expiry too (EventNotWatching), but only once the client has
// reconnected; polling also catches a session that changed while this
// controller held no watch.
func (c *Controller) monitorSession(ctx context.Context) {
	last := c.meta.Conn().SessionID()
	t := time.NewTicker(c.cfg.RetryBackoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if id := c.meta.Conn().SessionID(); id != last {
			last = id
			c.queue.put(evSession{id: id})
		}
	}
}

// process runs one event; it is ControllerEventManager's doWork plus
// KafkaController.process.
func (c *Controller) process(ev event) {
	var err error
	switch e := ev.(type) {
	case evStartup:
		c.processStartup()
	case evWatch:
		err = c.processWatch(e)
	case evResync:
		if c.isActive() && e.term == c.term {
			c.resync()
		}
	case evSession:
		c.processSession(e.id)
	case evReelect:
		c.processScheduledReelect()
	case evAutoRebalance:
		err = c.processAutoRebalance(e)
	case evControlledShutdown:
		c.processControlledShutdown(e)
	case evAlterPartition:
		c.processAlterPartition(e)
	case evLeaderAndIsrResponse:
		err = c.processLeaderAndIsrResponse(e)
	case evUpdateMetadataResponse:
		c.processUpdateMetadataResponse(e)
	case evStopReplicaResponse:
		err = c.processStopReplicaResponse(e)
	case evFunc:
		e.f()
	}
	if err != nil {
		c.handleError(err)
	}
}

// handleError is process's catch. A fenced write means another broker is
// controller now: resign at once. A ZooKeeper request that failed for lack
// of a connection (zkmeta gives up after its retries) may have left an
// event half done (a broker removed but its partitions not re-elected, a
// watch not re-armed), so the state is rebuilt from ZooKeeper, as a failover
// without an election; Kafka instead blocks until it is connected again.
// Anything else is logged (the event's work is lost, as in Kafka, and a
// later event repairs it).
func (c *Controller) handleError(err error) {
	switch {
	case errors.Is(err, zkmeta.ErrControllerMoved):
		c.log.Info().Err(err).Msg("controller moved to another broker")
		c.controllerMoved()
	case isConnectionError(err) && c.isActive():
		c.log.Warn().Err(err).Msg("ZooKeeper unreachable during an event; the controller state will be rebuilt")
		c.scheduleResync()
	default:
		c.log.Error().Err(err).Msg("error processing controller event")
	}
}

func isConnectionError(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer)
}

// isActive is KafkaController.isActive, for the loop.
func (c *Controller) isActive() bool { return c.ctx != nil }

// enqueueRPC puts an RPC event and waits for its answer; a loop that is not
// running answers NOT_CONTROLLER at once.
func enqueueRPC[T any](ctx context.Context, c *Controller, ev event, reply chan T, notController func() T) T {
	if !c.running.Load() || !c.queue.put(ev) {
		return notController()
	}
	select {
	case r := <-reply:
		return r
	case <-ctx.Done():
		return notController()
	}
}

// HandleControlledShutdown is the controller's side of ControlledShutdown
// (API key 7): it moves leadership off the broker and answers with the
// partitions (of more than one replica) it still leads.
func (c *Controller) HandleControlledShutdown(ctx context.Context, req *kmsg.ControlledShutdownRequest) *kmsg.ControlledShutdownResponse {
	reply := make(chan *kmsg.ControlledShutdownResponse, 1)
	return enqueueRPC(ctx, c, evControlledShutdown{req: req, reply: reply}, reply,
		func() *kmsg.ControlledShutdownResponse { return controlledShutdownError(req, errNotController) })
}

// HandleAlterPartition is the controller's side of AlterPartition (API key
// 56, KIP-497): a partition leader's ISR change.
func (c *Controller) HandleAlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
	reply := make(chan *kmsg.AlterPartitionResponse, 1)
	return enqueueRPC(ctx, c, evAlterPartition{req: req, reply: reply}, reply,
		func() *kmsg.AlterPartitionResponse { return alterPartitionError(req, errNotController) })
}

// after enqueues ev once d has passed.
func (c *Controller) after(d time.Duration, ev event) *time.Timer {
	return time.AfterFunc(d, func() { c.queue.put(ev) })
}

func (c *Controller) stopTimers() {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.rebalanceTimer != nil {
		c.rebalanceTimer.Stop()
		c.rebalanceTimer = nil
	}
	if c.reelectTimer != nil {
		c.reelectTimer.Stop()
		c.reelectTimer = nil
	}
	if c.resyncTimer != nil {
		c.resyncTimer.Stop()
		c.resyncTimer = nil
	}
}

// scheduleResync rebuilds the controller state after a pause; one rebuild
// is pending at a time.
func (c *Controller) scheduleResync() {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.resyncTimer != nil {
		c.resyncTimer.Stop()
	}
	c.resyncTimer = c.after(10*c.cfg.RetryBackoff, evResync{term: c.term})
}

func (c *Controller) scheduleRebalance(d time.Duration) {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.rebalanceTimer != nil {
		c.rebalanceTimer.Stop()
	}
	c.rebalanceTimer = c.after(d, evAutoRebalance{term: c.term})
}

func (c *Controller) stopRebalance() {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.rebalanceTimer != nil {
		c.rebalanceTimer.Stop()
		c.rebalanceTimer = nil
	}
}

// scheduleReelect retries the campaign after the backoff; one retry is
// pending at a time.
func (c *Controller) scheduleReelect() {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.reelectTimer != nil {
		c.reelectTimer.Stop()
	}
	c.reelectTimer = c.after(c.cfg.RetryBackoff, evReelect{})
}
