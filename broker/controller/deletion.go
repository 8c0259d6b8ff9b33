package controller

import (
	"maps"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Topic deletion (TopicDeletionManager.scala). DeleteTopics creates
// /admin/delete_topics/<t>. The controller takes the topic's partitions
// offline (UpdateMetadata then carries leader -2), sends StopReplica(delete)
// to every replica and, once every replica has answered success, deletes
// /brokers/topics/<t>, /config/topics/<t> and the marker, all fenced. A
// replica on a dead broker makes the topic ineligible: the deletion stalls
// and resumes when the broker comes back.

// fetchTopicDeletionsInProgress lists the marked topics (watching the
// markers) and those with an offline replica.
func (c *Controller) fetchTopicDeletionsInProgress() (toDelete, ineligible []string, err error) {
	cc := c.ctx
	toDelete, err = c.children(zkmeta.DeleteTopicsPath)
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(toDelete)
	for _, t := range slices.Sorted(maps.Keys(cc.allTopics)) {
		for _, r := range cc.replicasForTopic(t) {
			if !cc.isReplicaOnline(r.Replica, r.TopicPartition, false) {
				ineligible = append(ineligible, t)
				break
			}
		}
	}
	return toDelete, ineligible, nil
}

// initTopicDeletion is TopicDeletionManager.init.
func (c *Controller) initTopicDeletion(toDelete, ineligible []string) error {
	cc := c.ctx
	if !c.cfg.DeleteTopicEnable {
		return c.deleteTopicDeletionMarkers(toDelete)
	}
	for _, t := range toDelete {
		cc.topicsToBeDeleted[t] = true
	}
	for _, t := range ineligible {
		if cc.topicsToBeDeleted[t] {
			cc.topicsIneligibleForDeletion[t] = true
		}
	}
	return nil
}

func (c *Controller) deleteTopicDeletionMarkers(topics []string) error {
	for _, t := range topics {
		if err := c.meta.DeleteTopicDeletion(c.ctx.epoch, t); err != nil {
			if isFenceError(err) {
				return err
			}
			c.log.Warn().Err(err).Str("topic", t).Msg("cannot delete a topic deletion marker")
		}
	}
	return nil
}

// processTopicDeletion: /admin/delete_topics changed.
func (c *Controller) processTopicDeletion() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	names, err := c.children(zkmeta.DeleteTopicsPath)
	if err != nil {
		return err
	}
	slices.Sort(names)
	var toDelete, missing []string
	for _, t := range names {
		if cc.allTopics[t] {
			toDelete = append(toDelete, t)
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		c.log.Warn().Strs("topics", missing).Msg("ignoring the deletion of topics that do not exist")
		if err := c.deleteTopicDeletionMarkers(missing); err != nil {
			return err
		}
	}
	if !c.cfg.DeleteTopicEnable {
		if len(toDelete) > 0 {
			c.log.Info().Strs("topics", toDelete).Msg("delete.topic.enable is false; removing the deletion markers")
		}
		return c.deleteTopicDeletionMarkers(toDelete)
	}
	if len(toDelete) == 0 {
		return nil
	}
	c.log.Info().Strs("topics", toDelete).Msg("starting topic deletion")
	return c.enqueueTopicsForDeletion(toDelete)
}

func (c *Controller) enqueueTopicsForDeletion(topics []string) error {
	if !c.cfg.DeleteTopicEnable {
		return nil
	}
	for _, t := range topics {
		c.ctx.topicsToBeDeleted[t] = true
	}
	return c.resumeDeletions()
}

func (c *Controller) tryTopicDeletion() error {
	if !c.cfg.DeleteTopicEnable {
		return nil
	}
	return c.resumeDeletions()
}

// resumeDeletionForTopics makes topics eligible again (their offline
// replicas came back) and retries.
func (c *Controller) resumeDeletionForTopics(topics []string) error {
	if !c.cfg.DeleteTopicEnable {
		return nil
	}
	cc := c.ctx
	any := false
	for _, t := range topics {
		if cc.topicsToBeDeleted[t] {
			delete(cc.topicsIneligibleForDeletion, t)
			any = true
		}
	}
	if !any {
		return nil
	}
	return c.resumeDeletions()
}

// failReplicaDeletion moves replicas that could not be deleted to
// ReplicaDeletionIneligible and halts their topics' deletion.
func (c *Controller) failReplicaDeletion(replicas []partitionReplica) error {
	if !c.cfg.DeleteTopicEnable {
		return nil
	}
	cc := c.ctx
	var failed []partitionReplica
	var topics []string
	for _, r := range replicas {
		if cc.isTopicQueuedUpForDeletion(r.Topic) {
			failed = append(failed, r)
			if !slices.Contains(topics, r.Topic) {
				topics = append(topics, r.Topic)
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	c.log.Info().Strs("topics", topics).Int("replicas", len(failed)).Msg("replica deletion failed; halting deletion")
	if err := c.replicaStateChanges(failed, replicaDeletionIneligible); err != nil {
		return err
	}
	c.markTopicIneligibleForDeletion(topics)
	return c.resumeDeletions()
}

func (c *Controller) markTopicIneligibleForDeletion(topics []string) {
	if !c.cfg.DeleteTopicEnable {
		return
	}
	for _, t := range topics {
		if c.ctx.topicsToBeDeleted[t] {
			c.ctx.topicsIneligibleForDeletion[t] = true
		}
	}
}

// completeReplicaDeletion records replicas that answered StopReplica(delete)
// with success.
func (c *Controller) completeReplicaDeletion(replicas []partitionReplica) error {
	cc := c.ctx
	var ok []partitionReplica
	for _, r := range replicas {
		if cc.isTopicQueuedUpForDeletion(r.Topic) {
			ok = append(ok, r)
		}
	}
	if err := c.replicaStateChanges(ok, replicaDeletionSuccessful); err != nil {
		return err
	}
	return c.resumeDeletions()
}

func (c *Controller) isTopicEligibleForDeletion(topic string) bool {
	cc := c.ctx
	return cc.topicsToBeDeleted[topic] && !cc.isAnyReplicaInState(topic, replicaDeletionStarted) &&
		!cc.topicsIneligibleForDeletion[topic]
}

// resumeDeletions is TopicDeletionManager.resumeDeletions: finish topics
// whose replicas are all deleted, retry topics whose failed replicas may be
// back, and (re)start eligible topics.
func (c *Controller) resumeDeletions() error {
	cc := c.ctx
	var retry, start []string
	for _, t := range slices.Sorted(maps.Keys(cc.topicsToBeDeleted)) {
		if cc.areAllReplicasInState(t, replicaDeletionSuccessful) {
			if err := c.completeDeleteTopic(t); err != nil {
				return err
			}
			c.log.Info().Str("topic", t).Msg("topic deleted")
			continue
		}
		if !cc.isAnyReplicaInState(t, replicaDeletionStarted) && cc.isAnyReplicaInState(t, replicaDeletionIneligible) {
			retry = append(retry, t)
		}
		if c.isTopicEligibleForDeletion(t) {
			c.log.Info().Str("topic", t).Msg("topic deletion (re)started")
			start = append(start, t)
		}
	}
	if len(retry) > 0 {
		var failed []partitionReplica
		for _, t := range retry {
			failed = append(failed, cc.replicasInState(t, replicaDeletionIneligible)...)
		}
		if err := c.replicaStateChanges(failed, offlineReplica); err != nil {
			return err
		}
	}
	if len(start) > 0 {
		return c.onTopicDeletion(start)
	}
	return nil
}

// completeDeleteTopic removes the topic from ZooKeeper (fenced) and from the
// context.
func (c *Controller) completeDeleteTopic(topic string) error {
	cc := c.ctx
	if err := c.replicaStateChanges(cc.replicasInState(topic, replicaDeletionSuccessful), nonExistentReplica); err != nil {
		return err
	}
	if err := c.meta.CompleteTopicDeletion(cc.epoch, topic); err != nil {
		return err
	}
	cc.removeTopic(topic)
	return nil
}

// onTopicDeletion starts deleting topics: their partitions go Offline and
// NonExistent (once), every broker hears leader -2, then the replicas are
// deleted.
func (c *Controller) onTopicDeletion(topics []string) error {
	cc := c.ctx
	var unseen []TopicPartition
	var unseenTopics []string
	for _, t := range topics {
		if !cc.topicsWithDeletionStarted[t] {
			unseenTopics = append(unseenTopics, t)
			unseen = append(unseen, cc.partitionsForTopic(t)...)
		}
	}
	if len(unseen) > 0 {
		if _, err := c.partitionStateChanges(unseen, offlinePartition, offlineElection); err != nil {
			return err
		}
		if _, err := c.partitionStateChanges(unseen, nonExistentPartition, offlineElection); err != nil {
			return err
		}
	}
	for _, t := range unseenTopics {
		cc.topicsWithDeletionStarted[t] = true
	}
	var tps []TopicPartition
	for _, t := range topics {
		tps = append(tps, cc.partitionsForTopic(t)...)
	}
	c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), tps)
	return c.onPartitionDeletion(topics)
}

// onPartitionDeletion: replicas on dead brokers become ineligible (and stall
// their topic); live replicas not yet deleted go Offline (StopReplica, so
// followers stop fetching) and then DeletionStarted (StopReplica(delete)).
func (c *Controller) onPartitionDeletion(topics []string) error {
	cc := c.ctx
	var dead, retry []partitionReplica
	var ineligible []string
	for _, t := range topics {
		hasDead := false
		for _, r := range cc.replicasForTopic(t) {
			if !cc.isReplicaOnline(r.Replica, r.TopicPartition, false) {
				dead = append(dead, r)
				hasDead = true
			} else if cc.replicaState(r) != replicaDeletionSuccessful {
				retry = append(retry, r)
			}
		}
		if hasDead {
			ineligible = append(ineligible, t)
		}
	}
	if err := c.replicaStateChanges(dead, replicaDeletionIneligible); err != nil {
		return err
	}
	if err := c.replicaStateChanges(retry, offlineReplica); err != nil {
		return err
	}
	if err := c.replicaStateChanges(retry, replicaDeletionStarted); err != nil {
		return err
	}
	if len(ineligible) > 0 {
		c.log.Info().Strs("topics", ineligible).Msg("topic deletion halted: offline replicas")
		c.markTopicIneligibleForDeletion(ineligible)
	}
	return nil
}
