package broker

// StopReplica, key 5, versions 0-4: controller -> broker. Stops serving
// partitions and, with delete, removes their logs (ReplicaManager.stopReplicas):
// refused whole for an older broker epoch or controller; per partition (v3+)
// a leader epoch older than the current one is FENCED_LEADER_EPOCH, -2 marks
// a topic deletion.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/replica"
)

func init() { regKey(kmsg.StopReplica, 0, 4, handleStopReplica) }

func handleStopReplica(b *Broker, _ *reqContext, req *kmsg.StopReplicaRequest) reply {
	var parts []replica.StopPartition
	for _, t := range req.Topics {
		switch {
		case req.Version == 0:
			parts = append(parts, replica.StopPartition{Topic: t.Topic, Partition: t.Partition,
				LeaderEpoch: replica.NoEpoch, Delete: req.DeletePartitions})
		case req.Version <= 2:
			for _, p := range t.Partitions {
				parts = append(parts, replica.StopPartition{Topic: t.Topic, Partition: p,
					LeaderEpoch: replica.NoEpoch, Delete: req.DeletePartitions})
			}
		default:
			for _, ps := range t.PartitionStates {
				parts = append(parts, replica.StopPartition{Topic: t.Topic, Partition: ps.Partition,
					LeaderEpoch: ps.LeaderEpoch, Delete: ps.Delete})
			}
		}
	}

	var results map[log.TopicPartition]error
	var whole error
	if req.Version >= 1 && b.brokerEpochStale(req.BrokerEpoch) {
		whole = kerr.StaleBrokerEpoch
	} else {
		results, whole = b.replicas.StopReplicas(req.ControllerID, req.ControllerEpoch, parts)
	}
	resp := req.ResponseKind().(*kmsg.StopReplicaResponse)
	resp.ErrorCode = errorCode(whole)
	for _, p := range parts {
		rp := kmsg.NewStopReplicaResponsePartition()
		rp.Topic, rp.Partition = p.Topic, p.Partition
		if whole != nil {
			rp.ErrorCode = errorCode(whole)
		} else {
			rp.ErrorCode = errorCode(results[log.TopicPartition{Topic: p.Topic, Partition: p.Partition}])
		}
		resp.Partitions = append(resp.Partitions, rp)
	}
	for _, p := range parts {
		if p.Delete {
			b.topicCfg.forget(p.Topic)
		}
	}
	return respond(resp)
}
