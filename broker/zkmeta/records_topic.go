package zkmeta

import (
	"slices"
	"strconv"
)

// ReplicaAssignment is one partition's replicas (ReplicaAssignment.scala).
// Order matters: Replicas[0] is the preferred leader. During a reassignment
// Replicas is the union of the old and target sets and Adding/Removing say
// which members are transitional (KIP-455).
type ReplicaAssignment struct {
	Replicas         []int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// TopicAssignment is /brokers/topics/<t> (TopicZNode).
type TopicAssignment struct {
	// Version read from the znode: 1 (<= 2.3), 2 (2.4-2.7) or 3 (2.8+).
	// Encode always writes 3, as TopicZNode.encode does in 3.x.
	Version int32
	// TopicID is the KIP-516 id; ZeroUuid when the znode has none.
	TopicID    Uuid
	Partitions map[int32]ReplicaAssignment
}

// PartitionIDs returns the partition numbers in ascending order.
func (t *TopicAssignment) PartitionIDs() []int32 {
	ids := make([]int32, 0, len(t.Partitions))
	for p := range t.Partitions {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	return ids
}

// Validate checks what AdminZkClient.validateTopicCreate and the controller
// rely on: partitions numbered from 0 without gaps and non-empty replica
// lists of distinct non-negative broker ids. A common replication factor is
// not required (a reassignment changes it for some partitions only).
func (t *TopicAssignment) Validate() error {
	if len(t.Partitions) == 0 {
		return invalid("topic assignment has no partitions")
	}
	for _, p := range t.PartitionIDs() {
		if p < 0 || int(p) >= len(t.Partitions) {
			return invalid("partitions must be numbered 0..%d, found %d", len(t.Partitions)-1, p)
		}
		a := t.Partitions[p]
		if len(a.Replicas) == 0 {
			return invalid("partition %d has no replicas", p)
		}
		for _, l := range [][]int32{a.Replicas, a.AddingReplicas, a.RemovingReplicas} {
			if err := validateBrokerList(l); err != nil {
				return invalid("partition %d: %v", p, err)
			}
		}
	}
	return nil
}

func validateBrokerList(l []int32) error {
	seen := make(map[int32]bool, len(l))
	for _, id := range l {
		if id < 0 {
			return invalid("broker id %d is negative", id)
		}
		if seen[id] {
			return invalid("broker %d listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// EncodeTopicAssignment renders /brokers/topics/<t> version 3 as
// TopicZNode.encode does:
//
//	{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{},"removing_replicas":{},"topic_id":"..."}
//
// adding_replicas/removing_replicas list only partitions being reassigned;
// topic_id is omitted when TopicID is zero.
func EncodeTopicAssignment(t *TopicAssignment) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	replicas := make(map[int32][]int32, len(t.Partitions))
	adding := map[int32][]int32{}
	removing := map[int32][]int32{}
	for p, a := range t.Partitions {
		replicas[p] = a.Replicas
		if len(a.AddingReplicas) > 0 {
			adding[p] = a.AddingReplicas
		}
		if len(a.RemovingReplicas) > 0 {
			removing[p] = a.RemovingReplicas
		}
	}
	w := newJSONWriter()
	w.int("version", 3)
	w.raw("partitions", appendPartitionMap(nil, replicas))
	w.raw("adding_replicas", appendPartitionMap(nil, adding))
	w.raw("removing_replicas", appendPartitionMap(nil, removing))
	if !t.TopicID.IsZero() {
		w.str("topic_id", t.TopicID.String())
	}
	return w.bytes(), nil
}

// DecodeTopicAssignment parses versions 1..3 (TopicZNode.decode):
// adding_replicas, removing_replicas and topic_id may be missing.
func DecodeTopicAssignment(data []byte) (*TopicAssignment, error) {
	const rec = "topic assignment"
	o := parseObject(rec, data)
	t := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{}}
	t.Version = o.version(1, 3)
	if s, ok := o.optStr("topic_id"); ok {
		id, err := ParseUuid(s)
		if err != nil {
			o.fail(badData(rec, "field \"topic_id\": %v", err))
		}
		t.TopicID = id
	}
	parts := decodePartitionMap(o, "partitions", true)
	adding := decodePartitionMap(o, "adding_replicas", false)
	removing := decodePartitionMap(o, "removing_replicas", false)
	if o.err != nil {
		return nil, o.err
	}
	for p, r := range parts {
		t.Partitions[p] = ReplicaAssignment{Replicas: r, AddingReplicas: adding[p], RemovingReplicas: removing[p]}
	}
	return t, nil
}

// decodePartitionMap reads {"0":[1,2],...}; keys must be decimal partition
// numbers.
func decodePartitionMap(o *jsonObject, key string, required bool) map[int32][]int32 {
	var raw map[string][]int32
	if !o.decode(key, required, "an object of integer arrays", &raw) {
		return nil
	}
	m := make(map[int32][]int32, len(raw))
	for k, v := range raw {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil || p < 0 {
			o.fail(badData(o.record, "field %q: partition key %q is not a partition number", key, truncate([]byte(k))))
			return nil
		}
		if v == nil {
			v = []int32{}
		}
		m[int32(p)] = v
	}
	return m
}

// Leader values with a meaning (LeaderAndIsr.scala).
const (
	NoLeader           int32 = -1 // LeaderAndIsr.NoLeader
	LeaderDuringDelete int32 = -2 // LeaderAndIsr.LeaderDuringDelete
	// InitialLeaderEpoch is LeaderAndIsr.InitialLeaderEpoch.
	InitialLeaderEpoch int32 = 0
)

// Leader recovery states (KIP-704).
const (
	LeaderRecovered  int8 = 0
	LeaderRecovering int8 = 1
)

// PartitionState is /brokers/topics/<t>/partitions/<p>/state
// (TopicPartitionStateZNode, LeaderIsrAndControllerEpoch). The znode's
// zkVersion, the "partition epoch", is not part of the JSON; readers return
// it beside the record.
type PartitionState struct {
	ControllerEpoch int32
	Leader          int32
	LeaderEpoch     int32
	Isr             []int32
	// LeaderRecoveryState is written only when not LeaderRecovered (3.2+).
	LeaderRecoveryState int8
}

// Validate checks the invariants Kafka keeps when writing a state: the ISR is
// never empty (pre KIP-966, the last member stays with leader -1), has
// distinct non-negative ids, and the leader, when there is one, is in it.
func (s *PartitionState) Validate() error {
	if len(s.Isr) == 0 {
		return invalid("partition state with an empty ISR (Kafka keeps the last member with leader -1)")
	}
	if err := validateBrokerList(s.Isr); err != nil {
		return invalid("isr: %v", err)
	}
	if s.Leader < NoLeader {
		return invalid("leader %d is not a broker id or -1", s.Leader)
	}
	if s.Leader >= 0 && !slices.Contains(s.Isr, s.Leader) {
		return invalid("leader %d is not in the ISR %v", s.Leader, s.Isr)
	}
	if s.LeaderEpoch < 0 || s.ControllerEpoch < 0 {
		return invalid("negative epoch (leader_epoch %d, controller_epoch %d)", s.LeaderEpoch, s.ControllerEpoch)
	}
	if s.LeaderRecoveryState != LeaderRecovered && s.LeaderRecoveryState != LeaderRecovering {
		return invalid("leader_recovery_state %d", s.LeaderRecoveryState)
	}
	return nil
}

// EncodePartitionState renders the state znode with exactly Kafka's keys:
//
//	{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}
//
// plus "leader_recovery_state":1 only while RECOVERING.
func EncodePartitionState(s *PartitionState) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	w := newJSONWriter()
	w.int("controller_epoch", int64(s.ControllerEpoch))
	w.int("leader", int64(s.Leader))
	w.int("version", 1)
	w.int("leader_epoch", int64(s.LeaderEpoch))
	w.raw("isr", appendInt32List(nil, s.Isr))
	if s.LeaderRecoveryState != LeaderRecovered {
		w.int("leader_recovery_state", int64(s.LeaderRecoveryState))
	}
	return w.bytes(), nil
}

// DecodePartitionState parses the state znode (TopicPartitionStateZNode.decode).
// It does not apply Validate: a state another writer left is reported as is.
func DecodePartitionState(data []byte) (*PartitionState, error) {
	o := parseObject("partition state", data)
	s := &PartitionState{}
	o.version(1, 1)
	s.ControllerEpoch = o.int32("controller_epoch")
	s.Leader = o.int32("leader")
	s.LeaderEpoch = o.int32("leader_epoch")
	s.Isr = o.int32List("isr", true)
	if r, ok := o.optInt32("leader_recovery_state", 0, false); ok {
		if r != int32(LeaderRecovered) && r != int32(LeaderRecovering) {
			o.fail(badData("partition state", "leader_recovery_state %d is not 0 or 1", r))
		}
		s.LeaderRecoveryState = int8(r)
	}
	if o.err != nil {
		return nil, o.err
	}
	return s, nil
}
