package controller

import (
	"maps"
	"slices"
	"strconv"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Topic creation and partition addition (reference/kafka.md 2.9): the broker
// that handles CreateTopics or CreatePartitions writes /brokers/topics/<t>;
// the controller's watches bring the new partitions online.

// processTopicChange: /brokers/topics changed.
func (c *Controller) processTopicChange() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	names, err := c.children(zkmeta.TopicsPath)
	if err != nil {
		return err
	}
	topics := map[string]bool{}
	var added []string
	for _, t := range names {
		topics[t] = true
		if !cc.allTopics[t] {
			added = append(added, t)
		}
	}
	var deleted []string
	for _, t := range slices.Sorted(maps.Keys(cc.allTopics)) {
		if !topics[t] {
			deleted = append(deleted, t)
		}
	}
	cc.allTopics = topics
	reads, err := c.readTopics(added)
	if err != nil {
		return err
	}
	for _, t := range deleted {
		cc.removeTopic(t)
	}
	if err := c.processTopicIDs(reads); err != nil {
		return err
	}
	var newPartitions []TopicPartition
	for _, r := range reads {
		for _, p := range r.assignment.PartitionIDs() {
			tp := TopicPartition{Topic: r.topic, Partition: p}
			cc.setAssignment(tp, fromZkAssignment(r.assignment.Partitions[p]))
			newPartitions = append(newPartitions, tp)
		}
	}
	if len(added) > 0 || len(deleted) > 0 {
		c.log.Info().Strs("new", added).Strs("deleted", deleted).Msg("topic change")
	}
	if len(newPartitions) > 0 {
		return c.onNewPartitionCreation(newPartitions)
	}
	return nil
}

// processPartitionModifications: a topic's assignment changed; new
// partitions are brought online, unless the topic is being deleted (then the
// assignment is put back).
func (c *Controller) processPartitionModifications(topic string) error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	a, _, err := c.readTopic(topic)
	if isNoNode(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var added []TopicPartition
	for _, p := range a.PartitionIDs() {
		tp := TopicPartition{Topic: topic, Partition: p}
		if !cc.hasPartition(tp) {
			added = append(added, tp)
		}
	}
	if len(added) == 0 {
		return nil
	}
	if cc.isTopicQueuedUpForDeletion(topic) {
		c.log.Warn().Str("topic", topic).Int("partitions", len(added)).
			Msg("skipping the addition of partitions to a topic being deleted; restoring its assignment")
		return c.restorePartitionAssignment(topic)
	}
	c.log.Info().Str("topic", topic).Int("partitions", len(added)).Msg("new partitions")
	for _, tp := range added {
		cc.setAssignment(tp, fromZkAssignment(a.Partitions[tp.Partition]))
	}
	return c.onNewPartitionCreation(added)
}

// restorePartitionAssignment writes back the assignment of the partitions
// that have state znodes, undoing an addition made during deletion.
func (c *Controller) restorePartitionAssignment(topic string) error {
	cc := c.ctx
	existing, err := c.meta.GetPartitionIDs(topic)
	if err != nil && !isNoNode(err) {
		return err
	}
	a := &zkmeta.TopicAssignment{TopicID: cc.topicIDs[topic], Partitions: map[int32]zkmeta.ReplicaAssignment{}}
	for _, p := range existing {
		ra := cc.assignment(TopicPartition{Topic: topic, Partition: p})
		a.Partitions[p] = zkmeta.ReplicaAssignment{Replicas: ra.Replicas, AddingReplicas: ra.AddingReplicas, RemovingReplicas: ra.RemovingReplicas}
	}
	if len(a.Partitions) == 0 {
		return nil
	}
	_, err = c.meta.SetTopicAssignment(cc.epoch, topic, a, zkmeta.MatchAnyVersion)
	return err
}

// onNewPartitionCreation: New, then Online with leader = first live replica;
// the replicas go New and then Online.
func (c *Controller) onNewPartitionCreation(tps []TopicPartition) error {
	cc := c.ctx
	sortPartitions(tps)
	if _, err := c.partitionStateChanges(tps, newPartition, offlineElection); err != nil {
		return err
	}
	if err := c.replicaStateChanges(cc.replicasForPartitions(tps), newReplica); err != nil {
		return err
	}
	if _, err := c.partitionStateChanges(tps, onlinePartition, offlineElection); err != nil {
		return err
	}
	return c.replicaStateChanges(cc.replicasForPartitions(tps), onlineReplica)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
