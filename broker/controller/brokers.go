package controller

import (
	"maps"
	"reflect"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Broker membership (reference/kafka.md 2.2): processBrokerChange compares
// /brokers/ids with the live set; new ids start, missing ids fail, and an id
// whose registration has a larger czxid (a broker that re-registered before
// we noticed it leave) fails and starts again.

func (c *Controller) processBrokerChange() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	regs, err := c.readLiveBrokers()
	if err != nil {
		return err
	}
	cur := map[int32]*zkmeta.BrokerRegistration{}
	for _, b := range regs {
		cur[b.ID] = b
	}
	var added, dead, bounced []int32
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		old, ok := cc.brokers[id]
		switch {
		case !ok:
			added = append(added, id)
		case cur[id].Epoch > old.epoch:
			bounced = append(bounced, id)
		}
	}
	for _, id := range cc.liveOrShuttingDownBrokerIDs() {
		if _, ok := cur[id]; !ok {
			dead = append(dead, id)
		}
	}
	c.log.Info().Ints32("new", added).Ints32("dead", dead).Ints32("bounced", bounced).
		Ints32("live", slices.Sorted(maps.Keys(cur))).Msg("broker change")

	for _, id := range added {
		cc.brokers[id] = liveBroker{info: cur[id].BrokerInfo, epoch: cur[id].Epoch}
		t, _ := cc.target(id)
		c.channels.addBroker(t)
	}
	for _, id := range bounced {
		c.channels.removeBroker(id)
	}
	for _, id := range dead {
		c.channels.removeBroker(id)
	}

	if len(added) > 0 {
		if err := c.onBrokerStartup(added); err != nil {
			return err
		}
	}
	if len(bounced) > 0 {
		for _, id := range bounced {
			delete(cc.brokers, id)
		}
		if err := c.onBrokerFailure(bounced); err != nil {
			return err
		}
		for _, id := range bounced {
			cc.brokers[id] = liveBroker{info: cur[id].BrokerInfo, epoch: cur[id].Epoch}
			t, _ := cc.target(id)
			c.channels.addBroker(t)
		}
		if err := c.onBrokerStartup(bounced); err != nil {
			return err
		}
	}
	if len(dead) > 0 {
		for _, id := range dead {
			delete(cc.brokers, id)
		}
		if err := c.onBrokerFailure(dead); err != nil {
			return err
		}
	}
	return nil
}

// onBrokerStartup: the existing brokers learn the new endpoints, the new
// brokers get every partition with a leader, then LeaderAndIsr for all their
// replicas; offline partitions may come back; stalled deletions resume.
func (c *Controller) onBrokerStartup(ids []int32) error {
	cc := c.ctx
	c.log.Info().Ints32("brokers", ids).Msg("broker startup")
	for _, id := range ids {
		delete(cc.replicasOnOfflineDirs, id)
	}
	var existing []int32
	for _, id := range cc.liveOrShuttingDownBrokerIDs() {
		if !slices.Contains(ids, id) {
			existing = append(existing, id)
		}
	}
	c.sendUpdateMetadataRequest(existing, nil)
	c.sendUpdateMetadataRequest(ids, cc.partitionsWithLeaders())
	replicas := cc.replicasOnBrokers(ids)
	if err := c.replicaStateChanges(replicas, onlineReplica); err != nil {
		return err
	}
	if _, err := c.triggerOnlinePartitionStateChange(""); err != nil {
		return err
	}
	var resume []string
	for _, r := range replicas {
		if cc.isTopicQueuedUpForDeletion(r.Topic) && !slices.Contains(resume, r.Topic) {
			resume = append(resume, r.Topic)
		}
	}
	if len(resume) > 0 {
		c.log.Info().Strs("topics", resume).Msg("replicas of topics being deleted are back; resuming their deletion")
		return c.resumeDeletionForTopics(resume)
	}
	return nil
}

// onBrokerFailure takes the dead brokers' replicas offline.
func (c *Controller) onBrokerFailure(ids []int32) error {
	cc := c.ctx
	c.log.Info().Ints32("brokers", ids).Msg("broker failure")
	for _, id := range ids {
		delete(cc.replicasOnOfflineDirs, id)
		delete(cc.shuttingDown, id)
	}
	return c.onReplicasBecomeOffline(cc.replicasOnBrokers(ids))
}

// onReplicasBecomeOffline: partitions led by them go offline and are
// elected again (OfflinePartition rule), the replicas leave their ISRs
// (OfflineReplica), replicas of topics being deleted stall the deletion, and
// if nothing changed everyone still hears that the broker is gone.
func (c *Controller) onReplicasBecomeOffline(replicas []partitionReplica) error {
	cc := c.ctx
	var forDeletion, notForDeletion []partitionReplica
	for _, r := range replicas {
		if cc.isTopicQueuedUpForDeletion(r.Topic) {
			forDeletion = append(forDeletion, r)
		} else {
			notForDeletion = append(notForDeletion, r)
		}
	}
	if _, err := c.partitionStateChanges(cc.partitionsWithOfflineLeader(), offlinePartition, offlineElection); err != nil {
		return err
	}
	results, err := c.triggerOnlinePartitionStateChange("")
	if err != nil {
		return err
	}
	if err := c.replicaStateChanges(notForDeletion, offlineReplica); err != nil {
		return err
	}
	if len(forDeletion) > 0 {
		if err := c.failReplicaDeletion(forDeletion); err != nil {
			return err
		}
	}
	allFailed := true
	for _, r := range results {
		if r.err == nil {
			allFailed = false
		}
	}
	if len(notForDeletion) == 0 && allFailed {
		c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), nil)
	}
	return nil
}

// processBrokerModification: a registration's data changed (new endpoints or
// features); everyone gets an UpdateMetadata with the new broker list.
func (c *Controller) processBrokerModification(id int32) error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	b, err := c.readBroker(id)
	if isNoNode(err) {
		return nil
	}
	if err != nil {
		return err
	}
	old, ok := cc.brokers[id]
	if !ok || b.Epoch != old.epoch {
		return nil // a new registration: processBrokerChange handles it
	}
	if reflect.DeepEqual(old.info.Endpoints, b.Endpoints) && reflect.DeepEqual(old.info.Features, b.Features) {
		return nil
	}
	c.log.Info().Int32("broker_id", id).Msg("broker registration updated")
	cc.brokers[id] = liveBroker{info: b.BrokerInfo, epoch: old.epoch}
	c.channels.updateTarget(Target{ID: id, Epoch: old.epoch, Info: b.BrokerInfo})
	c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), nil)
	return nil
}
