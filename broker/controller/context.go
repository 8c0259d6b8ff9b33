package controller

import (
	"maps"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// liveBroker is a registered broker and its epoch (the czxid of its
// /brokers/ids/<id>).
type liveBroker struct {
	info  *zkmeta.BrokerInfo
	epoch int64
}

// controllerContext is Kafka's ControllerContext: everything the active
// controller knows. Only the event loop touches it; it exists only while
// this broker is the controller.
type controllerContext struct {
	epoch zkmeta.Epoch

	brokers      map[int32]liveBroker // live or shutting down
	shuttingDown map[int32]bool

	allTopics   map[string]bool
	topicIDs    map[string]zkmeta.Uuid
	topicNames  map[zkmeta.Uuid]string
	assignments map[string]map[int32]replicaAssignment
	leadership  map[TopicPartition]leadershipInfo

	partitionStates       map[TopicPartition]partitionState
	replicaStates         map[partitionReplica]replicaState
	replicasOnOfflineDirs map[int32]map[TopicPartition]bool

	topicsToBeDeleted           map[string]bool
	topicsWithDeletionStarted   map[string]bool
	topicsIneligibleForDeletion map[string]bool
}

func newControllerContext(epoch zkmeta.Epoch) *controllerContext {
	return &controllerContext{
		epoch:                       epoch,
		brokers:                     map[int32]liveBroker{},
		shuttingDown:                map[int32]bool{},
		allTopics:                   map[string]bool{},
		topicIDs:                    map[string]zkmeta.Uuid{},
		topicNames:                  map[zkmeta.Uuid]string{},
		assignments:                 map[string]map[int32]replicaAssignment{},
		leadership:                  map[TopicPartition]leadershipInfo{},
		partitionStates:             map[TopicPartition]partitionState{},
		replicaStates:               map[partitionReplica]replicaState{},
		replicasOnOfflineDirs:       map[int32]map[TopicPartition]bool{},
		topicsToBeDeleted:           map[string]bool{},
		topicsWithDeletionStarted:   map[string]bool{},
		topicsIneligibleForDeletion: map[string]bool{},
	}
}

// liveOrShuttingDownBrokerIDs lists every registered broker, ascending.
func (cc *controllerContext) liveOrShuttingDownBrokerIDs() []int32 {
	return slices.Sorted(maps.Keys(cc.brokers))
}

// liveBrokerIDs lists the registered brokers that are not shutting down.
func (cc *controllerContext) liveBrokerIDs() []int32 {
	out := []int32{}
	for _, id := range cc.liveOrShuttingDownBrokerIDs() {
		if !cc.shuttingDown[id] {
			out = append(out, id)
		}
	}
	return out
}

func (cc *controllerContext) isLiveOrShuttingDown(id int32) bool {
	_, ok := cc.brokers[id]
	return ok
}

func (cc *controllerContext) isLive(id int32) bool {
	return cc.isLiveOrShuttingDown(id) && !cc.shuttingDown[id]
}

// isReplicaOnline is ControllerContext.isReplicaOnline: the broker is live
// (or shutting down, when asked) and the replica's log dir is not offline.
func (cc *controllerContext) isReplicaOnline(id int32, tp TopicPartition, includeShuttingDown bool) bool {
	online := cc.isLive(id)
	if includeShuttingDown {
		online = cc.isLiveOrShuttingDown(id)
	}
	return online && !cc.replicasOnOfflineDirs[id][tp]
}

// replicas is partitionReplicaAssignment: the full replica list, nil for an
// unknown partition.
func (cc *controllerContext) replicas(tp TopicPartition) []int32 {
	return cc.assignments[tp.Topic][tp.Partition].Replicas
}

func (cc *controllerContext) assignment(tp TopicPartition) replicaAssignment {
	return cc.assignments[tp.Topic][tp.Partition]
}

func (cc *controllerContext) setAssignment(tp TopicPartition, a replicaAssignment) {
	m := cc.assignments[tp.Topic]
	if m == nil {
		m = map[int32]replicaAssignment{}
		cc.assignments[tp.Topic] = m
	}
	m[tp.Partition] = a
}

func (cc *controllerContext) hasPartition(tp TopicPartition) bool {
	_, ok := cc.assignments[tp.Topic][tp.Partition]
	return ok
}

// liveReplicas filters tp's assignment to the online replicas, in
// assignment order.
func (cc *controllerContext) liveReplicas(tp TopicPartition, includeShuttingDown bool) []int32 {
	out := []int32{}
	for _, r := range cc.replicas(tp) {
		if cc.isReplicaOnline(r, tp, includeShuttingDown) {
			out = append(out, r)
		}
	}
	return out
}

// allPartitions lists every known partition, sorted.
func (cc *controllerContext) allPartitions() []TopicPartition {
	var out []TopicPartition
	for t, m := range cc.assignments {
		for p := range m {
			out = append(out, TopicPartition{Topic: t, Partition: p})
		}
	}
	return sortPartitions(out)
}

func (cc *controllerContext) partitionsForTopic(topic string) []TopicPartition {
	var out []TopicPartition
	for p := range cc.assignments[topic] {
		out = append(out, TopicPartition{Topic: topic, Partition: p})
	}
	return sortPartitions(out)
}

// partitionsOnBroker lists the partitions with a replica on id.
func (cc *controllerContext) partitionsOnBroker(id int32) []TopicPartition {
	var out []TopicPartition
	for _, tp := range cc.allPartitions() {
		if slices.Contains(cc.replicas(tp), id) {
			out = append(out, tp)
		}
	}
	return out
}

// replicasOnBrokers lists every replica hosted on the given brokers.
func (cc *controllerContext) replicasOnBrokers(ids []int32) []partitionReplica {
	var out []partitionReplica
	for _, tp := range cc.allPartitions() {
		for _, r := range cc.replicas(tp) {
			if slices.Contains(ids, r) {
				out = append(out, partitionReplica{tp, r})
			}
		}
	}
	return sortReplicas(out)
}

func (cc *controllerContext) replicasForTopic(topic string) []partitionReplica {
	var out []partitionReplica
	for _, tp := range cc.partitionsForTopic(topic) {
		for _, r := range cc.replicas(tp) {
			out = append(out, partitionReplica{tp, r})
		}
	}
	return out
}

func (cc *controllerContext) replicasForPartitions(tps []TopicPartition) []partitionReplica {
	var out []partitionReplica
	for _, tp := range tps {
		for _, r := range cc.replicas(tp) {
			out = append(out, partitionReplica{tp, r})
		}
	}
	return out
}

// onlineAndOfflineReplicas splits every replica by isReplicaOnline.
func (cc *controllerContext) onlineAndOfflineReplicas() (online, offline []partitionReplica) {
	for _, tp := range cc.allPartitions() {
		for _, r := range cc.replicas(tp) {
			if cc.isReplicaOnline(r, tp, false) {
				online = append(online, partitionReplica{tp, r})
			} else {
				offline = append(offline, partitionReplica{tp, r})
			}
		}
	}
	return online, offline
}

func (cc *controllerContext) partitionState(tp TopicPartition) partitionState {
	if s, ok := cc.partitionStates[tp]; ok {
		return s
	}
	return nonExistentPartition
}

func (cc *controllerContext) replicaState(r partitionReplica) replicaState {
	if s, ok := cc.replicaStates[r]; ok {
		return s
	}
	return nonExistentReplica
}

// partitionsInStates lists the partitions (of topic, or all when topic is
// "") in one of the states.
func (cc *controllerContext) partitionsInStates(topic string, states ...partitionState) []TopicPartition {
	var out []TopicPartition
	for tp, s := range cc.partitionStates {
		if (topic == "" || tp.Topic == topic) && slices.Contains(states, s) {
			out = append(out, tp)
		}
	}
	return sortPartitions(out)
}

// partitionsWithLeaders lists the partitions with leadership info.
func (cc *controllerContext) partitionsWithLeaders() []TopicPartition {
	out := slices.Collect(maps.Keys(cc.leadership))
	return sortPartitions(out)
}

// partitionsWithOfflineLeader is ControllerContext.partitionsWithOfflineLeader.
func (cc *controllerContext) partitionsWithOfflineLeader() []TopicPartition {
	var out []TopicPartition
	for tp, li := range cc.leadership {
		if !cc.isReplicaOnline(li.Leader, tp, false) && !cc.isTopicQueuedUpForDeletion(tp.Topic) {
			out = append(out, tp)
		}
	}
	return sortPartitions(out)
}

// partitionLeadersOnBroker is ControllerContext.partitionLeadersOnBroker: the
// partitions with more than one replica that id still leads; a
// ControlledShutdown response lists them.
func (cc *controllerContext) partitionLeadersOnBroker(id int32) []TopicPartition {
	var out []TopicPartition
	for tp, li := range cc.leadership {
		if !cc.isTopicQueuedUpForDeletion(tp.Topic) && li.Leader == id && len(cc.replicas(tp)) > 1 {
			out = append(out, tp)
		}
	}
	return sortPartitions(out)
}

// leaderEpochForStopReplica is ControllerContext.leaderEpoch: -2 for a topic
// being deleted, -1 without leadership info.
func (cc *controllerContext) leaderEpochForStopReplica(tp TopicPartition) int32 {
	if cc.isTopicQueuedUpForDeletion(tp.Topic) {
		return -2 // LeaderAndIsr.EpochDuringDelete
	}
	if li, ok := cc.leadership[tp]; ok {
		return li.LeaderEpoch
	}
	return -1 // LeaderAndIsr.NoEpoch
}

func (cc *controllerContext) addTopicID(topic string, id zkmeta.Uuid) {
	if id.IsZero() {
		return
	}
	cc.topicIDs[topic] = id
	cc.topicNames[id] = topic
}

// removeTopic is ControllerContext.removeTopic; it also drops the topic's
// partition and replica states, so a topic deleted outside the deletion
// protocol and created again starts from NonExistentPartition.
func (cc *controllerContext) removeTopic(topic string) {
	delete(cc.topicsToBeDeleted, topic)
	delete(cc.topicsWithDeletionStarted, topic)
	delete(cc.topicsIneligibleForDeletion, topic)
	delete(cc.allTopics, topic)
	if id, ok := cc.topicIDs[topic]; ok {
		delete(cc.topicNames, id)
		delete(cc.topicIDs, topic)
	}
	for _, tp := range cc.partitionsForTopic(topic) {
		delete(cc.leadership, tp)
		delete(cc.partitionStates, tp)
	}
	for r := range cc.replicaStates {
		if r.Topic == topic {
			delete(cc.replicaStates, r)
		}
	}
	delete(cc.assignments, topic)
}

func (cc *controllerContext) isTopicQueuedUpForDeletion(topic string) bool {
	return cc.topicsToBeDeleted[topic]
}

func (cc *controllerContext) replicasInState(topic string, s replicaState) []partitionReplica {
	var out []partitionReplica
	for _, r := range cc.replicasForTopic(topic) {
		if cc.replicaState(r) == s {
			out = append(out, r)
		}
	}
	return out
}

func (cc *controllerContext) areAllReplicasInState(topic string, s replicaState) bool {
	for _, r := range cc.replicasForTopic(topic) {
		if cc.replicaState(r) != s {
			return false
		}
	}
	return true
}

func (cc *controllerContext) isAnyReplicaInState(topic string, s replicaState) bool {
	for _, r := range cc.replicasForTopic(topic) {
		if cc.replicaState(r) == s {
			return true
		}
	}
	return false
}

// target is the Target of a live or shutting-down broker.
func (cc *controllerContext) target(id int32) (Target, bool) {
	b, ok := cc.brokers[id]
	if !ok {
		return Target{}, false
	}
	return Target{ID: id, Epoch: b.epoch, Info: b.info}, true
}
