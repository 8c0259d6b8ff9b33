package broker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// errReplicationUnsupported is how this single-replica brokerd refuses a
// replication factor above 1 (broker-contract.md).
const errReplicationUnsupported = "replication factor above 1 needs partition replication, which this brokerd does not have yet"

// topicSpec is one topic to create: CreateTopics' fields, or auto-creation's
// defaults (-1 means the broker default).
type topicSpec struct {
	name              string
	partitions        int32
	replicationFactor int16
	assignment        map[int32][]int32 // manual assignment, nil for none
	configs           map[string]string
}

var (
	assignRandMu sync.Mutex
	assignRand   = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))
)

// planTopic validates a topic to create and computes its replica assignment
// (ZkAdminManager.createTopics' checks, then AdminUtils). Errors carry the
// Kafka error code and message.
func (b *Broker) planTopic(spec topicSpec) (map[int32][]int32, error) {
	if err := zkmeta.ValidateTopicName(spec.name); err != nil {
		return nil, kafkaError(kerr.InvalidTopicException, err.Error())
	}
	if err := validateTopicConfigs(spec.configs); err != nil {
		return nil, kafkaError(kerr.InvalidConfig, err.Error())
	}
	alive := b.cache.load().aliveBrokers()
	if spec.assignment != nil {
		if spec.partitions != -1 || spec.replicationFactor != -1 {
			return nil, kafkaError(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignment were set. Both cannot be used at the same time.")
		}
		if err := validateAssignment(spec.assignment, 0, -1, alive); err != nil {
			return nil, err
		}
		for _, r := range spec.assignment {
			if len(r) > 1 {
				return nil, kafkaError(kerr.InvalidReplicationFactor, errReplicationUnsupported)
			}
		}
		return spec.assignment, nil
	}
	partitions, rf := spec.partitions, spec.replicationFactor
	if partitions == -1 {
		partitions = b.cfg.NumPartitions
	}
	if rf == -1 {
		rf = b.cfg.DefaultReplicationFactor
	}
	if rf > 1 {
		return nil, kafkaError(kerr.InvalidReplicationFactor, errReplicationUnsupported)
	}
	assignRandMu.Lock()
	defer assignRandMu.Unlock()
	return assignReplicas(alive, partitions, rf, -1, -1, 0, assignRand)
}

// validateAssignment checks a manual assignment as AdminUtils does:
// partition ids consecutive from first, no empty or duplicated replica lists,
// one replication factor (rf, or that of the first list when rf < 0), and
// only live brokers.
func validateAssignment(a map[int32][]int32, first int32, rf int, alive []int32) error {
	ids := make([]int32, 0, len(a))
	for p := range a {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	for i, p := range ids {
		if p != first+int32(i) {
			return kafkaError(kerr.InvalidReplicaAssignment, fmt.Sprintf("partitions should be a consecutive 0-based integer sequence, got %v", ids))
		}
		r := a[p]
		if len(r) == 0 {
			return kafkaError(kerr.InvalidReplicaAssignment, fmt.Sprintf("Replica list for partition %d is empty", p))
		}
		if rf < 0 {
			rf = len(r)
		}
		if len(r) != rf {
			return kafkaError(kerr.InvalidReplicaAssignment, "All partitions should have the same number of replicas")
		}
		seen := map[int32]bool{}
		var unknown []string
		for _, id := range r {
			if seen[id] {
				return kafkaError(kerr.InvalidReplicaAssignment, fmt.Sprintf("Duplicate replica assignment found: %v", r))
			}
			seen[id] = true
			if !slices.Contains(alive, id) {
				unknown = append(unknown, fmt.Sprint(id))
			}
		}
		if len(unknown) > 0 {
			return kafkaError(kerr.InvalidReplicaAssignment, "Unknown broker(s) in replica assignment: "+strings.Join(unknown, ", ")+".")
		}
	}
	return nil
}

// writeTopic writes a planned topic to ZooKeeper: /config/topics/<t>, then
// /brokers/topics/<t> (v3, with a new topic id). The controller's watch does
// the rest.
func (b *Broker) writeTopic(name string, assignment map[int32][]int32, configs map[string]string) (zkmeta.Uuid, error) {
	ta := &zkmeta.TopicAssignment{Version: 3, Partitions: map[int32]zkmeta.ReplicaAssignment{}}
	for p, r := range assignment {
		ta.Partitions[p] = zkmeta.ReplicaAssignment{Replicas: r}
	}
	if configs == nil {
		configs = map[string]string{}
	}
	id, err := b.meta.CreateTopic(name, ta, configs)
	switch {
	case errors.Is(err, zkmeta.ErrTopicExists):
		return id, kafkaError(kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", name))
	case errors.Is(err, zkmeta.ErrInvalid):
		return id, kafkaError(kerr.InvalidTopicException, err.Error())
	case err != nil:
		return id, err
	}
	b.topicCfg.forget(name)
	b.log.Info().Str("topic", name).Int("partitions", len(assignment)).Str("topicId", id.String()).Msg("created topic")
	return id, nil
}

// isController reports whether admin requests that Kafka sends to the
// controller (CreateTopics, DeleteTopics, CreatePartitions) may be served
// here. A broker built without a controller serves them (tests).
func (b *Broker) isController() bool {
	if b.ctrl == nil {
		return true
	}
	_, ok := b.ctrl.Active()
	return ok
}

// awaitMetadata waits until done holds for the metadata cache, up to
// timeout (the purgatory of DelayedCreatePartitions and
// DelayedDeleteTopics). It reports whether it held.
func (b *Broker) awaitMetadata(timeout time.Duration, done func(*metadataSnapshot) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ch := b.cache.changes()
		if done(b.cache.load()) {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return done(b.cache.load())
		case <-b.ctx.Done():
			return false
		}
	}
}

// partitionsHaveLeaders reports whether the cache has the topic with at
// least n partitions, each with a leader.
func partitionsHaveLeaders(s *metadataSnapshot, topic string, n int) bool {
	t, ok := s.topics[topic]
	if !ok || len(t.partitions) < n {
		return false
	}
	for _, p := range t.partitions {
		if p.leader < 0 {
			return false
		}
	}
	return true
}

// duplicates lists names appearing more than once, sorted.
func duplicates(names []string) []string {
	seen := map[string]int{}
	for _, n := range names {
		seen[n]++
	}
	var out []string
	for n, c := range seen {
		if c > 1 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
