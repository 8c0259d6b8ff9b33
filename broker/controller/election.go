package controller

import (
	"errors"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// processStartup is Kafka's Startup event: watch /controller, then campaign.
func (c *Controller) processStartup() {
	c.session = c.meta.Conn().SessionID()
	if c.session == 0 {
		c.scheduleReelect()
		return
	}
	c.campaign()
}

// campaign is elect() preceded by the /controller watch, so that a
// controller leaving between the check and the watch is never missed.
func (c *Controller) campaign() {
	if c.closed || c.isActive() {
		return
	}
	ok, err := c.exists(zkmeta.ControllerPath)
	if err != nil {
		c.log.Warn().Err(err).Msg("cannot watch /controller; retrying")
		c.scheduleReelect()
		return
	}
	if ok {
		c.refreshActiveID()
		if c.activeID == c.cfg.BrokerID {
			c.deleteStaleOwnController()
		}
		return
	}
	c.elect()
}

// elect is KafkaController.elect: one round of
// registerControllerAndIncrementControllerEpoch.
func (c *Controller) elect() {
	epoch, err := c.meta.RegisterController(c.cfg.BrokerID, 0)
	var exists *zkmeta.ControllerExistsError
	switch {
	case err == nil:
		c.log.Info().Int32("epoch", epoch.Epoch).Int32("epoch_zk_version", epoch.EpochZkVersion).Msg("elected controller")
		c.failover(epoch)
	case errors.As(err, &exists):
		c.activeID = exists.ControllerID
		c.log.Debug().Int32("controller", exists.ControllerID).Msg("another broker is the controller")
		if exists.ControllerID == c.cfg.BrokerID {
			c.deleteStaleOwnController()
		}
	case errors.Is(err, zkmeta.ErrControllerMoved):
		// The winner already left; our /controller watch fires and we
		// campaign again.
		c.activeID = -1
		c.log.Warn().Err(err).Msg("a controller was elected but has resigned already; another election follows")
	default:
		c.log.Warn().Err(err).Msg("controller election failed; retrying")
		c.scheduleReelect()
	}
}

// failover is onControllerFailover; an error makes this broker give the
// role up again (triggerControllerMove), so another broker can try.
func (c *Controller) failover(epoch zkmeta.Epoch) {
	c.term++
	c.ctx = newControllerContext(epoch)
	c.activeID = c.cfg.BrokerID
	c.channels = newChannelManager(c)
	c.activeEpoch.Store(epoch.Epoch)
	c.activeFlag.Store(true)
	if err := c.onControllerFailover(); err != nil {
		if errors.Is(err, zkmeta.ErrControllerMoved) {
			c.handleError(err)
			return
		}
		c.log.Error().Err(err).Msg("error while becoming controller; resigning")
		c.triggerControllerMove()
	}
}

// onControllerFailover builds the controller context from ZooKeeper and
// tells every broker, in Kafka's order (reference/kafka.md 2.1).
func (c *Controller) onControllerFailover() error {
	cc := c.ctx
	// Watch the notification paths before reading them; then clear what
	// was left by earlier controllers.
	logDirEvents, err := c.children(zkmeta.LogDirEventNotificationPath)
	if err != nil && !isNoNode(err) {
		return err
	}
	if err := c.meta.DeleteLogDirEventNotifications(cc.epoch, sequenceNames(logDirEvents, zkmeta.LogDirEventPrefix)); err != nil {
		return err
	}
	isrChanges, err := c.children(zkmeta.IsrChangeNotificationPath)
	if err != nil && !isNoNode(err) {
		return err
	}
	if err := c.meta.DeleteIsrChangeNotifications(cc.epoch, sequenceNames(isrChanges, zkmeta.IsrChangePrefix)); err != nil {
		return err
	}
	if err := c.initializeControllerContext(); err != nil {
		return err
	}
	toDelete, ineligible, err := c.fetchTopicDeletionsInProgress()
	if err != nil {
		return err
	}
	if err := c.initTopicDeletion(toDelete, ineligible); err != nil {
		return err
	}

	// UpdateMetadata before any LeaderAndIsr: brokers need the broker list
	// first.
	c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), nil)
	if err := c.startReplicaStateMachine(); err != nil {
		return err
	}
	if err := c.startPartitionStateMachine(); err != nil {
		return err
	}
	c.log.Info().Int32("epoch", cc.epoch.Epoch).Ints32("live_brokers", cc.liveBrokerIDs()).
		Int("topics", len(cc.allTopics)).Msg("ready to serve as the new controller")

	if err := c.tryTopicDeletion(); err != nil {
		return err
	}
	if err := c.processZkPreferredElection(); err != nil {
		return err
	}
	if c.cfg.AutoLeaderRebalance {
		c.scheduleRebalance(c.cfg.FirstRebalanceDelay)
	}
	return nil
}

// resync rebuilds the controller state from ZooKeeper under the same epoch
// (a failover without an election) and tells every broker again.
func (c *Controller) resync() {
	epoch := c.ctx.epoch
	c.log.Warn().Int32("epoch", epoch.Epoch).Msg("rebuilding the controller state from ZooKeeper")
	c.stopRebalance()
	c.channels.shutdown()
	c.batch.clear()
	c.term++
	c.ctx = newControllerContext(epoch)
	c.channels = newChannelManager(c)
	if err := c.onControllerFailover(); err != nil {
		c.handleError(err)
	}
}

// resign is onControllerResignation: drop everything this broker knew as
// controller. Watches stay armed (ZooKeeper cannot remove them); their
// events are ignored while not active.
func (c *Controller) resign(why string) {
	if c.ctx == nil {
		return
	}
	c.log.Info().Int32("epoch", c.ctx.epoch.Epoch).Str("reason", why).Msg("resigning as controller")
	c.activeFlag.Store(false)
	c.stopRebalance()
	c.channels.shutdown()
	c.channels = nil
	c.batch.clear()
	c.ctx = nil
	if c.activeID == c.cfg.BrokerID {
		c.activeID = -1
	}
}

// triggerControllerMove resigns and deletes /controller (fenced), so the
// next election runs at once (KafkaController.triggerControllerMove). If the
// delete cannot be done now, a later campaign removes the stale znode.
func (c *Controller) triggerControllerMove() {
	if c.ctx == nil {
		return
	}
	fence := c.ctx.epoch
	c.resign("controller move")
	err := c.meta.ResignController(fence)
	switch {
	case err == nil:
	case isFenceError(err):
		c.log.Warn().Err(err).Msg("controller had already moved when trying to trigger a move")
	default:
		c.log.Warn().Err(err).Msg("cannot delete /controller; retrying")
		c.scheduleReelect()
	}
}

// refreshActiveID re-reads /controller.
func (c *Controller) refreshActiveID() {
	id, err := c.meta.GetControllerID()
	switch {
	case err == nil:
		c.activeID = id
	case isNoNode(err):
		c.activeID = -1
	default:
		c.log.Warn().Err(err).Msg("cannot read /controller")
	}
}

// maybeResign is KafkaController.maybeResign: /controller changed; if it no
// longer names this broker, resign.
func (c *Controller) maybeResign() error {
	wasActive := c.isActive()
	if _, err := c.exists(zkmeta.ControllerPath); err != nil {
		return err
	}
	c.refreshActiveID()
	if wasActive && c.activeID != c.cfg.BrokerID {
		c.resign("/controller names another broker")
	}
	return nil
}

// reelect is Kafka's Reelect (/controller was deleted) and, since a
// one-shot watch can miss a deletion that follows a creation, also what any
// other /controller event does: resign if the znode names another broker,
// campaign if it is gone.
func (c *Controller) reelect() error {
	if err := c.maybeResign(); err != nil {
		return err
	}
	switch {
	case c.isActive():
	case c.activeID == -1:
		c.elect()
	case c.activeID == c.cfg.BrokerID:
		c.deleteStaleOwnController()
	}
	return nil
}

// controllerMoved handles ErrControllerMoved: a fenced write found a newer
// /controller_epoch, so another controller has been elected since this one.
// It resigns at once; if /controller still names this broker's own session
// (our ephemeral outlived our fence), it deletes it so the election moves on.
func (c *Controller) controllerMoved() {
	c.resign("fenced write rejected: a newer controller epoch exists")
	if _, err := c.exists(zkmeta.ControllerPath); err != nil {
		c.log.Warn().Err(err).Msg("cannot watch /controller")
		c.scheduleReelect()
		return
	}
	c.refreshActiveID()
	switch c.activeID {
	case -1:
		c.elect()
	case c.cfg.BrokerID:
		c.deleteStaleOwnController()
	}
}

// deleteStaleOwnController removes a /controller that names this broker
// while it is not the controller, if this session owns it; the deletion
// fires every broker's watch and the election moves on. A ZooKeeper error
// is retried later.
func (c *Controller) deleteStaleOwnController() {
	if c.isActive() {
		return
	}
	deleted, err := c.meta.DeleteOwnController()
	if err != nil {
		c.log.Warn().Err(err).Msg("cannot delete a stale /controller of this broker; retrying")
		c.scheduleReelect()
		return
	}
	if deleted {
		c.log.Info().Msg("deleted a stale /controller of this broker's session")
	}
}

// processSession handles a change of the ZooKeeper session id seen by the
// monitor: a different session means the old one expired (and with it our
// ephemerals and watches); the new one campaigns again (Kafka's Expire, then
// RegisterBrokerAndReelect).
func (c *Controller) processSession(id int64) {
	if c.closed || id == c.session {
		return
	}
	if c.session != 0 {
		c.sessionLost(zk.ErrSessionExpired)
	}
	if id != 0 {
		c.session = id
		c.campaign()
	}
}

// processScheduledReelect retries a campaign.
func (c *Controller) processScheduledReelect() {
	if c.closed {
		return
	}
	id := c.meta.Conn().SessionID()
	if id == 0 {
		c.scheduleReelect()
		return
	}
	if id != c.session {
		c.processSession(id)
		return
	}
	c.campaign()
}

// sessionLost is Kafka's Expire: stop acting at once. The client builds a
// new session by itself; processSession campaigns on it. A closed client
// ends campaigning for good.
func (c *Controller) sessionLost(err error) {
	if c.session == 0 && c.ctx == nil && !errors.Is(err, zk.ErrClosing) {
		return
	}
	c.log.Info().Err(err).Msg("ZooKeeper session lost")
	c.resign("ZooKeeper session lost")
	c.activeID = -1
	clear(c.watches)
	c.session = 0
	if errors.Is(err, zk.ErrClosing) {
		c.closed = true
		return
	}
	c.scheduleReelect()
}

// sequenceNames keeps the names that are notifications with prefix.
func sequenceNames(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if _, err := zkmeta.ParseSequenceNumber(n, prefix); err == nil {
			out = append(out, n)
		}
	}
	return out
}
