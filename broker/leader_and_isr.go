package broker

// LeaderAndIsr, key 4, versions 0-7: controller -> broker. Makes this broker
// leader or follower of partitions (ReplicaManager.becomeLeaderOrFollower,
// reference/kafka.md 2.8): refused whole for an older broker epoch
// (STALE_BROKER_EPOCH) or an older controller (STALE_CONTROLLER_EPOCH); per
// partition, a leader epoch that is not newer is STALE_CONTROLLER_EPOCH, a
// broker outside the replicas UNKNOWN_TOPIC_OR_PARTITION, a topic id
// differing from the log's INCONSISTENT_TOPIC_ID.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/replica"
)

func init() { regKey(kmsg.LeaderAndISR, 0, 7, handleLeaderAndIsr) }

func handleLeaderAndIsr(b *Broker, _ *reqContext, req *kmsg.LeaderAndISRRequest) reply {
	var states []replica.PartitionState
	add := func(topic string, id [16]byte, p kmsg.LeaderAndISRRequestTopicPartition) {
		states = append(states, replica.PartitionState{
			Topic: topic, Partition: p.Partition, TopicID: replica.TopicID(id), ControllerEpoch: p.ControllerEpoch,
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, ISR: p.ISR, PartitionEpoch: p.ZKVersion,
			Replicas: p.Replicas, IsNew: p.IsNew,
		})
	}
	for _, p := range req.PartitionStates { // v0-v1
		add(p.Topic, [16]byte{}, p)
	}
	for _, t := range req.TopicStates { // v2+
		for _, p := range t.PartitionStates {
			add(t.Topic, t.TopicID, p)
		}
	}

	var results map[log.TopicPartition]error
	var whole error
	if req.Version >= 2 && b.brokerEpochStale(req.BrokerEpoch) {
		whole = kerr.StaleBrokerEpoch
		b.log.Info().Int64("requestEpoch", req.BrokerEpoch).Int64("epoch", b.Epoch()).
			Msg("ignoring LeaderAndIsr for an older broker epoch")
	} else {
		results, whole = b.replicas.BecomeLeaderOrFollower(req.ControllerID, req.ControllerEpoch, states)
		if whole != nil {
			b.log.Warn().Err(whole).Int32("controller", req.ControllerID).Msg("ignoring LeaderAndIsr")
		}
	}

	resp := req.ResponseKind().(*kmsg.LeaderAndISRResponse)
	resp.ErrorCode = errorCode(whole)
	code := func(topic string, partition int32) int16 {
		if whole != nil {
			return errorCode(whole)
		}
		return errorCode(results[log.TopicPartition{Topic: topic, Partition: partition}])
	}
	if req.Version < 5 {
		for _, s := range states {
			rp := kmsg.NewLeaderAndISRResponseTopicPartition()
			rp.Topic, rp.Partition, rp.ErrorCode = s.Topic, s.Partition, code(s.Topic, s.Partition)
			resp.Partitions = append(resp.Partitions, rp)
		}
		return respond(resp)
	}
	for _, t := range req.TopicStates {
		rt := kmsg.NewLeaderAndISRResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.PartitionStates {
			rp := kmsg.NewLeaderAndISRResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code(t.Topic, p.Partition)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(resp)
}
