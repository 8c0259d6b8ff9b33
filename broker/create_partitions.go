package broker

// CreatePartitions, key 37, versions 0-3. Served by the controller only.
// Partitions can only be added, never removed (the seeds: "分区数只能增加不能减少"):
// a count equal to or below the current one is INVALID_PARTITIONS. New
// partitions are assigned with AdminUtils continuing from the existing
// assignment (start index at partition 0's first replica) or taken from the
// request, and /brokers/topics/<t> is rewritten with its topic id kept; the
// controller's watch creates them. With timeout_ms > 0 the answer waits for
// their leaders.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(b *Broker, _ *reqContext, req *kmsg.CreatePartitionsRequest) reply {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	names := make([]string, len(req.Topics))
	for i, t := range req.Topics {
		names[i] = t.Topic
	}
	dups := duplicates(names)
	controller := b.isController()
	type wait struct{ idx, count int }
	var waitFor []wait
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		var err error
		switch {
		case contains(dups, t.Topic):
			err = kafkaError(kerr.InvalidRequest, "Duplicate topic in request.")
		case !controller:
			err = kafkaError(kerr.NotController, "This is not the correct controller for this cluster.")
		default:
			err = b.addPartitions(t, req.ValidateOnly)
		}
		if err != nil {
			rt.ErrorCode, rt.ErrorMessage = errorCode(err), errorMessage(err)
		} else if !req.ValidateOnly && req.TimeoutMillis > 0 {
			waitFor = append(waitFor, wait{len(resp.Topics), int(t.Count)})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(waitFor) == 0 {
		return respond(resp)
	}
	later := make(chan kmsg.Response, 1)
	go func() {
		done := func(s *metadataSnapshot) bool {
			for _, w := range waitFor {
				if !partitionsHaveLeaders(s, resp.Topics[w.idx].Topic, w.count) {
					return false
				}
			}
			return true
		}
		b.awaitMetadata(time.Duration(req.TimeoutMillis)*time.Millisecond, done)
		s := b.cache.load()
		for _, w := range waitFor {
			if !partitionsHaveLeaders(s, resp.Topics[w.idx].Topic, w.count) {
				resp.Topics[w.idx].ErrorCode = kerr.RequestTimedOut.Code
				resp.Topics[w.idx].ErrorMessage = kmsg.StringPtr("Timed out waiting for the new partitions' leaders.")
			}
		}
		later <- resp
	}()
	return reply{later: later}
}

// addPartitions is ZkAdminManager.createPartitions for one topic.
func (b *Broker) addPartitions(t kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	if err := zkmeta.ValidateTopicName(t.Topic); err != nil {
		return kafkaError(kerr.InvalidTopicException, err.Error())
	}
	marked, err := b.meta.GetTopicsMarkedForDeletion()
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	if slices.Contains(marked, t.Topic) {
		return kafkaError(kerr.InvalidTopicException, "The topic is queued for deletion.")
	}
	existing, version, err := b.meta.GetTopicAssignment(t.Topic)
	if errors.Is(err, zk.ErrNoNode) {
		return kafkaError(kerr.UnknownTopicOrPartition, fmt.Sprintf("The topic '%s' does not exist.", t.Topic))
	}
	if err != nil {
		return err
	}
	old := int32(len(existing.Partitions))
	switch {
	case t.Count == old:
		return kafkaError(kerr.InvalidPartitions, fmt.Sprintf("Topic already has %d partitions.", old))
	case t.Count < old:
		return kafkaError(kerr.InvalidPartitions, fmt.Sprintf("Topic currently has %d partitions, which is higher than the requested %d.", old, t.Count))
	}
	first := existing.Partitions[0].Replicas
	rf := len(first)
	add := t.Count - old
	alive := b.cache.load().aliveBrokers()
	var added map[int32][]int32
	if t.Assignment != nil {
		if int32(len(t.Assignment)) != add {
			return kafkaError(kerr.InvalidReplicaAssignment, fmt.Sprintf("Increasing the number of partitions by %d but %d assignments provided.", add, len(t.Assignment)))
		}
		added = map[int32][]int32{}
		for i, a := range t.Assignment {
			added[old+int32(i)] = a.Replicas
		}
		if err := validateAssignment(added, old, rf, alive); err != nil {
			return err
		}
	} else {
		start := slices.IndexFunc(alive, func(id int32) bool { return len(first) > 0 && id >= first[0] })
		start = max(start, 0)
		assignRandMu.Lock()
		added, err = assignReplicas(alive, add, int16(rf), start, start, old, assignRand)
		assignRandMu.Unlock()
		if err != nil {
			return err
		}
	}
	if validateOnly {
		return nil
	}
	next := *existing
	next.Version = 3
	next.Partitions = map[int32]zkmeta.ReplicaAssignment{}
	for p, a := range existing.Partitions {
		next.Partitions[p] = a
	}
	for p, r := range added {
		next.Partitions[p] = zkmeta.ReplicaAssignment{Replicas: r}
	}
	if _, err := b.meta.SetTopicAssignment(zkmeta.Unfenced, t.Topic, &next, version); err != nil {
		if errors.Is(err, zkmeta.ErrVersionConflict) {
			return kafkaError(kerr.ReassignmentInProgress, "The topic's assignment changed while adding partitions; retry.")
		}
		return err
	}
	b.log.Info().Str("topic", t.Topic).Int32("from", old).Int32("to", t.Count).Msg("added partitions")
	return nil
}
