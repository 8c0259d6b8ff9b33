package controller

import (
	"maps"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Responses to the controller's requests, processed on the loop.

// processLeaderAndIsrResponse tracks replicas on failed log dirs: a
// partition answered KAFKA_STORAGE_ERROR is offline on that broker until it
// answers NONE again.
func (c *Controller) processLeaderAndIsrResponse(e evLeaderAndIsrResponse) error {
	if !c.isActive() || e.term != c.term {
		return nil
	}
	cc := c.ctx
	resp := e.resp
	if resp.ErrorCode != errNone {
		c.log.Error().Int32("from", e.broker).Int16("error_code", resp.ErrorCode).Msg("LeaderAndIsr answered with an error")
		return nil
	}
	var offline, online []TopicPartition
	note := func(tp TopicPartition, code int16) {
		switch code {
		case errKafkaStorageError:
			offline = append(offline, tp)
		case errNone:
			online = append(online, tp)
		}
	}
	for _, p := range resp.Partitions { // v0-v4
		note(TopicPartition{Topic: p.Topic, Partition: p.Partition}, p.ErrorCode)
	}
	for _, t := range resp.Topics { // v5+
		name, ok := cc.topicNames[zkmeta.Uuid(t.TopicID)]
		if !ok {
			continue
		}
		for _, p := range t.Partitions {
			note(TopicPartition{Topic: name, Partition: p.Partition}, p.ErrorCode)
		}
	}
	prev := cc.replicasOnOfflineDirs[e.broker]
	cur := map[TopicPartition]bool{}
	for tp := range prev {
		cur[tp] = true
	}
	for _, tp := range online {
		delete(cur, tp)
	}
	var newlyOffline []partitionReplica
	for _, tp := range offline {
		if !prev[tp] {
			newlyOffline = append(newlyOffline, partitionReplica{tp, e.broker})
		}
		cur[tp] = true
	}
	cc.replicasOnOfflineDirs[e.broker] = cur
	if len(newlyOffline) == 0 {
		return nil
	}
	c.log.Info().Int32("broker_id", e.broker).Int("replicas", len(newlyOffline)).Msg("replicas on an offline log dir")
	return c.onReplicasBecomeOffline(sortReplicas(newlyOffline))
}

func (c *Controller) processUpdateMetadataResponse(e evUpdateMetadataResponse) {
	if !c.isActive() || e.term != c.term {
		return
	}
	if e.resp.ErrorCode != errNone {
		c.log.Error().Int32("from", e.broker).Int16("error_code", e.resp.ErrorCode).Msg("UpdateMetadata answered with an error")
	}
}

// processStopReplicaResponse is TopicDeletionStopReplicaResponseReceived:
// replicas that failed to delete stall their topic; the others are done.
func (c *Controller) processStopReplicaResponse(e evStopReplicaResponse) error {
	if !c.isActive() || e.term != c.term {
		return nil
	}
	cc := c.ctx
	var failed, deleted []partitionReplica
	for _, tp := range sortPartitions(slices.Collect(maps.Keys(e.partitionErrors))) {
		if !cc.topicsWithDeletionStarted[tp.Topic] {
			continue
		}
		r := partitionReplica{tp, e.broker}
		if e.requestErr != errNone || e.partitionErrors[tp] != errNone {
			failed = append(failed, r)
		} else {
			deleted = append(deleted, r)
		}
	}
	if len(failed) > 0 {
		if err := c.failReplicaDeletion(failed); err != nil {
			return err
		}
	}
	if len(deleted) > 0 {
		return c.completeReplicaDeletion(deleted)
	}
	return nil
}
