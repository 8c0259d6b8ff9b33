package broker

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataCache is what this broker knows about the cluster, filled only by
// the controller's UpdateMetadata requests (ZkMetadataCache): live brokers
// with their endpoints, the controller id, and every partition's leader,
// epoch, ISR and replicas. Metadata, DescribeCluster and the admin handlers
// answer from it. Reads take no lock: an update builds a new snapshot.
type metadataCache struct {
	snap atomic.Pointer[metadataSnapshot]

	mu      sync.Mutex    // serialises updates
	changed chan struct{} // closed and replaced by every update
}

type metadataSnapshot struct {
	controllerID int32
	brokers      map[int32]*cachedBroker
	brokerIDs    []int32 // sorted
	topics       map[string]*cachedTopic
	topicIDs     map[[16]byte]string
}

type cachedBroker struct {
	id        int32
	rack      *string
	endpoints map[string]hostPort // by listener name
}

type hostPort struct {
	host string
	port int32
}

type cachedTopic struct {
	name       string
	id         [16]byte
	partitions map[int32]*cachedPartition
}

type cachedPartition struct {
	partition       int32
	controllerEpoch int32
	leader          int32
	leaderEpoch     int32
	isr             []int32
	replicas        []int32
	offline         []int32
	zkVersion       int32
}

func newMetadataCache() *metadataCache {
	c := &metadataCache{changed: make(chan struct{})}
	c.snap.Store(&metadataSnapshot{controllerID: -1, brokers: map[int32]*cachedBroker{},
		topics: map[string]*cachedTopic{}, topicIDs: map[[16]byte]string{}})
	return c
}

func (c *metadataCache) load() *metadataSnapshot { return c.snap.Load() }

// changes returns a channel closed at the next update.
func (c *metadataCache) changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// securityProtocolNames maps SecurityProtocol ids (UpdateMetadata
// endpoints) to names, which are also the default listener names.
var securityProtocolNames = map[int16]string{0: "PLAINTEXT", 1: "SSL", 2: "SASL_PLAINTEXT", 3: "SASL_SSL"}

// leaderDuringDelete is LeaderAndIsr.LeaderDuringDelete: UpdateMetadata says
// a topic is being deleted with this leader.
const leaderDuringDelete = -2

// apply installs an UpdateMetadata request (ZkMetadataCache.updateMetadata):
// the live broker list is replaced, partition states are added or replaced,
// and partitions whose leader is -2 are removed. It returns the topics whose
// partitions were removed.
func (c *metadataCache) apply(req *kmsg.UpdateMetadataRequest) (deleted []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.load()
	next := &metadataSnapshot{
		controllerID: req.ControllerID,
		brokers:      make(map[int32]*cachedBroker, len(req.LiveBrokers)),
		topics:       make(map[string]*cachedTopic, len(old.topics)),
		topicIDs:     make(map[[16]byte]string, len(old.topicIDs)),
	}
	for _, b := range req.LiveBrokers {
		cb := &cachedBroker{id: b.ID, rack: b.Rack, endpoints: map[string]hostPort{}}
		if req.Version == 0 {
			cb.endpoints["PLAINTEXT"] = hostPort{b.Host, b.Port}
		}
		for _, ep := range b.Endpoints {
			name := ep.ListenerName
			if req.Version < 3 || name == "" {
				name = securityProtocolNames[ep.SecurityProtocol]
			}
			cb.endpoints[name] = hostPort{ep.Host, ep.Port}
		}
		next.brokers[b.ID] = cb
		next.brokerIDs = append(next.brokerIDs, b.ID)
	}
	slices.Sort(next.brokerIDs)
	for name, t := range old.topics {
		next.topics[name] = t
	}
	touched := map[string]*cachedTopic{}
	topicFor := func(name string, id [16]byte) *cachedTopic {
		if t, ok := touched[name]; ok {
			if id != ([16]byte{}) {
				t.id = id
			}
			return t
		}
		t := &cachedTopic{name: name, partitions: map[int32]*cachedPartition{}}
		if prev, ok := next.topics[name]; ok {
			t.id = prev.id
			for p, st := range prev.partitions {
				t.partitions[p] = st
			}
		}
		if id != ([16]byte{}) {
			t.id = id
		}
		touched[name] = t
		next.topics[name] = t
		return t
	}
	put := func(t *cachedTopic, p kmsg.UpdateMetadataRequestTopicPartition) {
		if p.Leader == leaderDuringDelete {
			delete(t.partitions, p.Partition)
			return
		}
		t.partitions[p.Partition] = &cachedPartition{
			partition: p.Partition, controllerEpoch: p.ControllerEpoch, leader: p.Leader, leaderEpoch: p.LeaderEpoch,
			isr: slices.Clone(p.ISR), replicas: slices.Clone(p.Replicas), offline: slices.Clone(p.OfflineReplicas),
			zkVersion: p.ZKVersion,
		}
	}
	for _, p := range req.PartitionStates { // v0-v4
		put(topicFor(p.Topic, [16]byte{}), p)
	}
	for _, ts := range req.TopicStates { // v5+
		t := topicFor(ts.Topic, ts.TopicID)
		for _, p := range ts.PartitionStates {
			p.Topic = ts.Topic
			put(t, p)
		}
	}
	for name, t := range touched {
		if len(t.partitions) == 0 {
			delete(next.topics, name)
			deleted = append(deleted, name)
		}
	}
	for name, t := range next.topics {
		if t.id != ([16]byte{}) {
			next.topicIDs[t.id] = name
		}
	}
	sort.Strings(deleted)
	c.snap.Store(next)
	close(c.changed)
	c.changed = make(chan struct{})
	return deleted
}

// sortedPartitions lists a topic's partitions by id.
func (t *cachedTopic) sortedPartitions() []*cachedPartition {
	out := make([]*cachedPartition, 0, len(t.partitions))
	for _, p := range t.partitions {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].partition < out[j].partition })
	return out
}

// topicNames lists the cached topics, sorted.
func (s *metadataSnapshot) topicNames() []string {
	out := make([]string, 0, len(s.topics))
	for name := range s.topics {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// aliveBrokers lists the live brokers' ids, sorted.
func (s *metadataSnapshot) aliveBrokers() []int32 { return s.brokerIDs }

// endpoint is a live broker's endpoint on a listener.
func (s *metadataSnapshot) endpoint(id int32, listener string) (hostPort, bool) {
	b, ok := s.brokers[id]
	if !ok {
		return hostPort{}, false
	}
	hp, ok := b.endpoints[listener]
	return hp, ok
}
