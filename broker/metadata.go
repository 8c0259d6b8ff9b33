package broker

// Metadata, key 3, versions 0-12, answered from the UpdateMetadata-fed cache
// (KafkaApis.handleTopicMetadataRequest). Brokers are the live brokers with
// an endpoint on the listener the request came in on. Topic list semantics:
// v0 empty = all topics; v1+ null = all, empty = none. A topic not in the
// cache is auto-created when auto.create.topics.enable is on and the request
// allows it (v4+ allow_auto_topic_creation), and answered
// LEADER_NOT_AVAILABLE until the controller has elected its leaders, else
// UNKNOWN_TOPIC_OR_PARTITION; an invalid name is INVALID_TOPIC_EXCEPTION.
// A partition whose leader is not live is LEADER_NOT_AVAILABLE (leader -1);
// one whose leader lacks this listener is LISTENER_NOT_FOUND. v10+ topic ids
// (UNKNOWN_TOPIC_ID when a requested id is unknown).

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.Metadata, 0, 12, handleMetadata) }

// authorizedOperationsOmitted is -2^31: "not requested" in Metadata and
// DescribeCluster.
const authorizedOperationsOmitted = -2147483648

func handleMetadata(b *Broker, rc *reqContext, req *kmsg.MetadataRequest) reply {
	snap := b.cache.load()
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	resp.ClusterID = kmsg.StringPtr(b.clusterID)
	resp.ControllerID = snap.controllerID
	resp.AuthorizedOperations = authorizedOperationsOmitted
	for _, id := range snap.aliveBrokers() {
		hp, ok := snap.endpoint(id, rc.listener)
		if !ok {
			continue
		}
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port, mb.Rack = id, hp.host, hp.port, snap.brokers[id].rack
		resp.Brokers = append(resp.Brokers, mb)
	}

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, name := range snap.topicNames() {
			resp.Topics = append(resp.Topics, b.describeTopic(snap, snap.topics[name], rc.listener, req.Version))
		}
		return respond(resp)
	}
	autoCreate := b.cfg.AutoCreateTopicsEnable && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		name := ""
		if rt.Topic != nil {
			name = *rt.Topic
		}
		if name == "" && rt.TopicID != ([16]byte{}) {
			n, ok := snap.topicIDs[rt.TopicID]
			if !ok {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID, mt.ErrorCode, mt.AuthorizedOperations = rt.TopicID, kerr.UnknownTopicID.Code, authorizedOperationsOmitted
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			name = n
		}
		if t, ok := snap.topics[name]; ok {
			resp.Topics = append(resp.Topics, b.describeTopic(snap, t, rc.listener, req.Version))
			continue
		}
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic, mt.AuthorizedOperations = kmsg.StringPtr(name), authorizedOperationsOmitted
		mt.ErrorCode = b.missingTopicError(name, autoCreate)
		resp.Topics = append(resp.Topics, mt)
	}
	return respond(resp)
}

// missingTopicError is the error for a requested topic not in the cache,
// auto-creating it when allowed (AutoTopicCreationManager with ZooKeeper).
func (b *Broker) missingTopicError(name string, autoCreate bool) int16 {
	if err := zkmeta.ValidateTopicName(name); err != nil {
		return kerr.InvalidTopicException.Code
	}
	if !autoCreate {
		return kerr.UnknownTopicOrPartition.Code
	}
	assignment, err := b.planTopic(topicSpec{name: name, partitions: -1, replicationFactor: -1})
	if err == nil {
		_, err = b.writeTopic(name, assignment, nil)
	}
	var ce *codedError
	switch {
	case err == nil, errors.As(err, &ce) && ce.code == kerr.TopicAlreadyExists:
		return kerr.LeaderNotAvailable.Code
	case errors.As(err, &ce):
		b.log.Info().Err(err).Str("topic", name).Msg("cannot auto-create topic")
		return ce.code.Code
	default:
		b.log.Warn().Err(err).Str("topic", name).Msg("cannot auto-create topic")
		return kerr.UnknownTopicOrPartition.Code
	}
}

func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}

func (b *Broker) describeTopic(snap *metadataSnapshot, t *cachedTopic, listener string, version int16) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID, mt.IsInternal = kmsg.StringPtr(t.name), t.id, isInternalTopic(t.name)
	mt.AuthorizedOperations = authorizedOperationsOmitted
	for _, p := range t.sortedPartitions() {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.LeaderEpoch = p.partition, p.leaderEpoch
		mp.Replicas, mp.ISR, mp.OfflineReplicas = p.replicas, p.isr, p.offline
		mp.Leader = p.leader
		if _, live := snap.brokers[p.leader]; !live {
			mp.Leader, mp.ErrorCode = -1, kerr.LeaderNotAvailable.Code
		} else if _, ok := snap.endpoint(p.leader, listener); !ok {
			mp.Leader, mp.ErrorCode = -1, kerr.ListenerNotFound.Code
		}
		if version == 0 {
			// v0 clients expect only reachable replicas (errorUnavailableEndpoints).
			mp.Replicas = liveOnly(snap, mp.Replicas)
			mp.ISR = liveOnly(snap, mp.ISR)
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

func liveOnly(snap *metadataSnapshot, ids []int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if _, ok := snap.brokers[id]; ok {
			out = append(out, id)
		}
	}
	return out
}
