package controller

import (
	"errors"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Notifications written by brokers (reference/kafka.md 1.2.6): leaders that
// change an ISR on the pre-2.7 ZooKeeper path write isr_change_<seq>, a
// broker whose log dir failed writes log_dir_event_<seq>. The controller
// handles all pending ones, then deletes them (fenced).

// processIsrChangeNotification re-reads the listed partitions' states and
// sends them to every broker in an UpdateMetadata.
func (c *Controller) processIsrChangeNotification() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	names, err := c.children(zkmeta.IsrChangeNotificationPath)
	if err != nil {
		return err
	}
	names = sequenceNames(names, zkmeta.IsrChangePrefix)
	var tps []TopicPartition
	for _, n := range names {
		l, err := c.meta.GetIsrChangeNotification(n)
		if isNoNode(err) {
			continue
		}
		if errors.Is(err, zkmeta.ErrBadData) || errors.Is(err, zkmeta.ErrInvalid) {
			c.log.Error().Err(err).Str("notification", n).Msg("ignoring a malformed ISR change notification")
			continue
		}
		if err != nil {
			return err
		}
		for _, tp := range l {
			if cc.hasPartition(tp) && !slices.Contains(tps, tp) {
				tps = append(tps, tp)
			}
		}
	}
	if len(tps) > 0 {
		sortPartitions(tps)
		if err := c.updateLeaderAndIsrCache(tps); err != nil {
			return err
		}
		c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), tps)
	}
	return c.meta.DeleteIsrChangeNotifications(cc.epoch, names)
}

// updateLeaderAndIsrCache reads partitions' states from ZooKeeper into the
// context.
func (c *Controller) updateLeaderAndIsrCache(tps []TopicPartition) error {
	cc := c.ctx
	for i, r := range c.readPartitionStates(tps) {
		if r.err != nil {
			return r.err
		}
		if r.found {
			cc.leadership[tps[i]] = r.li
		}
	}
	return nil
}

// processLogDirEventNotification sends LeaderAndIsr for every replica on the
// brokers that reported a failed log dir; replicas on the dead dir answer
// KAFKA_STORAGE_ERROR and are then taken offline.
func (c *Controller) processLogDirEventNotification() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	names, err := c.children(zkmeta.LogDirEventNotificationPath)
	if err != nil {
		return err
	}
	names = sequenceNames(names, zkmeta.LogDirEventPrefix)
	var ids []int32
	for _, n := range names {
		id, err := c.meta.GetLogDirEventNotification(n)
		if isNoNode(err) {
			continue
		}
		if errors.Is(err, zkmeta.ErrBadData) || errors.Is(err, zkmeta.ErrInvalid) {
			c.log.Error().Err(err).Str("notification", n).Msg("ignoring a malformed log dir event notification")
			continue
		}
		if err != nil {
			return err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		slices.Sort(ids)
		c.log.Info().Ints32("brokers", ids).Msg("log dir failure")
		if err := c.replicaStateChanges(cc.replicasOnBrokers(ids), onlineReplica); err != nil {
			return err
		}
	}
	return c.meta.DeleteLogDirEventNotifications(cc.epoch, names)
}
