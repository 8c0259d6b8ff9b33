package zkmeta

import (
	"encoding/json"
	"sort"
	"strconv"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return tp.Topic + "-" + itoa(tp.Partition) }

func sortPartitions(l []TopicPartition) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].Topic != l[j].Topic {
			return l[i].Topic < l[j].Topic
		}
		return l[i].Partition < l[j].Partition
	})
}

// appendPartitionList writes [{"topic":"t","partition":0},...] in the order
// given; extra, when non-nil, adds a "replicas" list per entry.
func appendPartitionList(b []byte, l []TopicPartition, extra func(i int) []int32) []byte {
	b = append(b, '[')
	for i, tp := range l {
		if i > 0 {
			b = append(b, ',')
		}
		w := newJSONWriter()
		w.str("topic", tp.Topic)
		w.int("partition", int64(tp.Partition))
		if extra != nil {
			w.raw("replicas", appendInt32List(nil, extra(i)))
		}
		b = append(b, w.bytes()...)
	}
	return append(b, ']')
}

type partitionEntry struct {
	Topic     *string  `json:"topic"`
	Partition *int32   `json:"partition"`
	Replicas  *[]int32 `json:"replicas"`
}

// decodePartitionList reads "partitions":[{"topic":..,"partition":..},...].
func decodePartitionList(o *jsonObject, withReplicas bool) ([]TopicPartition, [][]int32) {
	var raw []json.RawMessage
	if !o.decode("partitions", true, "an array", &raw) {
		return nil, nil
	}
	tps := make([]TopicPartition, 0, len(raw))
	var replicas [][]int32
	for i, r := range raw {
		e := parseObject(o.record+".partitions["+strconv.Itoa(i)+"]", r)
		tp := TopicPartition{Topic: e.str("topic"), Partition: e.int32("partition")}
		if withReplicas {
			replicas = append(replicas, e.int32List("replicas", true))
		}
		if e.err == nil && (tp.Partition < 0 || ValidateTopicName(tp.Topic) != nil) {
			e.fail(badData(e.record, "bad topic partition %q/%d", truncate([]byte(tp.Topic)), tp.Partition))
		}
		if e.err != nil {
			o.fail(e.err)
			return nil, nil
		}
		tps = append(tps, tp)
	}
	return tps, replicas
}

// EncodeIsrChangeNotification renders an isr_change_<seq> payload
// (IsrChangeNotificationSequenceZNode.encode, version 1), partitions sorted:
// {"version":1,"partitions":[{"topic":"t","partition":0}]}.
func EncodeIsrChangeNotification(partitions []TopicPartition) []byte {
	return encodePartitionSet(partitions)
}

// DecodeIsrChangeNotification parses an isr_change_<seq> payload.
func DecodeIsrChangeNotification(data []byte) ([]TopicPartition, error) {
	return decodePartitionSet("isr change notification", data)
}

// encodePartitionSet renders the {"version":1,"partitions":[...]} record
// that ISR change notifications and preferred replica elections share,
// partitions sorted.
func encodePartitionSet(partitions []TopicPartition) []byte {
	l := append([]TopicPartition(nil), partitions...)
	sortPartitions(l)
	w := newJSONWriter()
	w.int("version", 1)
	w.raw("partitions", appendPartitionList(nil, l, nil))
	return w.bytes()
}

// decodePartitionSet parses what encodePartitionSet writes; record names
// the znode in errors.
func decodePartitionSet(record string, data []byte) ([]TopicPartition, error) {
	o := parseObject(record, data)
	o.version(1, 1)
	tps, _ := decodePartitionList(o, false)
	if o.err != nil {
		return nil, o.err
	}
	return tps, nil
}

// LogDirFailureEvent is LogDirEventNotificationSequenceZNode.LogDirFailureEvent.
const LogDirFailureEvent = 1

// EncodeLogDirEventNotification renders a log_dir_event_<seq> payload:
// {"version":1,"broker":N,"event":1}.
func EncodeLogDirEventNotification(brokerID int32) []byte {
	w := newJSONWriter()
	w.int("version", 1)
	w.int("broker", int64(brokerID))
	w.int("event", LogDirFailureEvent)
	return w.bytes()
}

// DecodeLogDirEventNotification returns the broker of a log dir event.
func DecodeLogDirEventNotification(data []byte) (int32, error) {
	o := parseObject("log dir event notification", data)
	o.version(1, 1)
	id := o.int32("broker")
	if o.err != nil {
		return 0, o.err
	}
	return id, nil
}

// PartitionReassignment is one entry of the legacy /admin/reassign_partitions.
type PartitionReassignment struct {
	TopicPartition
	Replicas []int32
}

// EncodeReassignPartitions renders /admin/reassign_partitions
// (ReassignPartitionsZNode.encode):
// {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}.
func EncodeReassignPartitions(l []PartitionReassignment) []byte {
	tps := make([]TopicPartition, len(l))
	for i, r := range l {
		tps[i] = r.TopicPartition
	}
	w := newJSONWriter()
	w.int("version", 1)
	w.raw("partitions", appendPartitionList(nil, tps, func(i int) []int32 { return l[i].Replicas }))
	return w.bytes()
}

// DecodeReassignPartitions parses /admin/reassign_partitions.
func DecodeReassignPartitions(data []byte) ([]PartitionReassignment, error) {
	o := parseObject("partition reassignment", data)
	o.version(1, 1)
	tps, replicas := decodePartitionList(o, true)
	if o.err != nil {
		return nil, o.err
	}
	out := make([]PartitionReassignment, len(tps))
	for i := range tps {
		out[i] = PartitionReassignment{TopicPartition: tps[i], Replicas: replicas[i]}
	}
	return out, nil
}

// EncodePreferredReplicaElection renders /admin/preferred_replica_election:
// {"version":1,"partitions":[{"topic":"t","partition":0}]}.
func EncodePreferredReplicaElection(partitions []TopicPartition) []byte {
	return encodePartitionSet(partitions)
}

// DecodePreferredReplicaElection parses /admin/preferred_replica_election.
func DecodePreferredReplicaElection(data []byte) ([]TopicPartition, error) {
	return decodePartitionSet("preferred replica election", data)
}
