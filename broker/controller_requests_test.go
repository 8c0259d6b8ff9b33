package broker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
)

// fakeController sends controller requests to a broker built without a
// controller, as broker/controller would.
type fakeController struct {
	t      *testing.T
	b      *Broker
	s      *Sender
	epoch  int32
	topics map[string][16]byte
}

func newFakeController(t *testing.T, b *Broker) *fakeController {
	s := NewSender(99, "PLAINTEXT", b.log)
	t.Cleanup(s.Close)
	return &fakeController{t: t, b: b, s: s, epoch: 1, topics: map[string][16]byte{}}
}

func (fc *fakeController) send(req kmsg.Request) kmsg.Response {
	fc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fc.s.SendTo(ctx, fc.b.ID(), fc.b.registrationInfo(), req)
	if err != nil {
		fc.t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func (fc *fakeController) topicID(topic string) [16]byte {
	id, ok := fc.topics[topic]
	if !ok {
		id = [16]byte{byte(len(fc.topics) + 1), 7}
		fc.topics[topic] = id
	}
	return id
}

// leaderAndIsr makes this broker (or another, by id) leader of topic's partition.
func (fc *fakeController) leaderAndIsr(version int16, topic string, partition, leader, leaderEpoch int32, replicas []int32) *kmsg.LeaderAndISRResponse {
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = version, 99, fc.epoch, fc.b.Epoch()
	p := kmsg.NewLeaderAndISRRequestTopicPartition()
	p.Topic, p.Partition, p.ControllerEpoch, p.Leader, p.LeaderEpoch = topic, partition, fc.epoch, leader, leaderEpoch
	p.ISR, p.Replicas, p.IsNew = replicas, replicas, true
	if version < 2 {
		req.PartitionStates = append(req.PartitionStates, p)
	} else {
		ts := kmsg.NewLeaderAndISRRequestTopicState()
		ts.Topic, ts.PartitionStates = topic, []kmsg.LeaderAndISRRequestTopicPartition{p}
		if version >= 5 {
			ts.TopicID = fc.topicID(topic)
		}
		req.TopicStates = append(req.TopicStates, ts)
	}
	return fc.send(req).(*kmsg.LeaderAndISRResponse)
}

func (fc *fakeController) partitionCode(r *kmsg.LeaderAndISRResponse) int16 {
	if r.ErrorCode != 0 {
		return r.ErrorCode
	}
	if len(r.Partitions) > 0 {
		return r.Partitions[0].ErrorCode
	}
	return r.Topics[0].Partitions[0].ErrorCode
}

// updateMetadata tells the broker it is alive and that topic's partitions
// have the given leaders (leader -2: being deleted).
func (fc *fakeController) updateMetadata(version int16, topic string, leaders map[int32]int32, leaderEpoch int32) *kmsg.UpdateMetadataResponse {
	req := kmsg.NewPtrUpdateMetadataRequest()
	req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = version, 99, fc.epoch, fc.b.Epoch()
	addr := fc.b.Addr("PLAINTEXT").(interface{ String() string }).String()
	host, port := splitHostPort(fc.t, addr)
	lb := kmsg.NewUpdateMetadataRequestLiveBroker()
	lb.ID, lb.Host, lb.Port = fc.b.ID(), host, port
	ep := kmsg.NewUpdateMetadataRequestLiveBrokerEndpoint()
	ep.Host, ep.Port, ep.ListenerName, ep.SecurityProtocol = host, port, "PLAINTEXT", 0
	lb.Endpoints = []kmsg.UpdateMetadataRequestLiveBrokerEndpoint{ep}
	req.LiveBrokers = []kmsg.UpdateMetadataRequestLiveBroker{lb}
	var parts []kmsg.UpdateMetadataRequestTopicPartition
	for p, l := range leaders {
		ps := kmsg.NewUpdateMetadataRequestTopicPartition()
		ps.Topic, ps.Partition, ps.ControllerEpoch, ps.Leader, ps.LeaderEpoch = topic, p, fc.epoch, l, leaderEpoch
		ps.ISR, ps.Replicas = []int32{l}, []int32{l}
		parts = append(parts, ps)
	}
	if version < 5 {
		req.PartitionStates = parts
	} else if len(parts) > 0 {
		ts := kmsg.NewUpdateMetadataRequestTopicState()
		ts.Topic, ts.PartitionStates = topic, parts
		if version >= 7 {
			ts.TopicID = fc.topicID(topic)
		}
		req.TopicStates = []kmsg.UpdateMetadataRequestTopicState{ts}
	}
	return fc.send(req).(*kmsg.UpdateMetadataResponse)
}

func TestLeaderAndIsrEveryVersion(t *testing.T) {
	c := newTestCluster(t)
	b := c.startWith(c.testConfig(1), nil)
	fc := newFakeController(t, b)
	for v := int16(0); v <= 7; v++ {
		topic := "lai-v" + string(rune('0'+v))
		r := fc.leaderAndIsr(v, topic, 0, 1, 0, []int32{1})
		if code := fc.partitionCode(r); code != 0 {
			t.Fatalf("LeaderAndIsr v%d: %v", v, kerr.ErrorForCode(code))
		}
		p, err := b.replicas.Leader(log.TopicPartition{Topic: topic, Partition: 0})
		if err != nil || p.LeaderEpoch() != 0 {
			t.Fatalf("v%d: not leader: %v", v, err)
		}
		if v >= 5 {
			if id, ok, err := readTopicID(p.Log().Dir()); err != nil || !ok || id != fc.topicID(topic) {
				t.Fatalf("v%d: partition.metadata %v %v %v", v, id, ok, err)
			}
		}
	}
}

func TestLeaderAndIsrValidation(t *testing.T) {
	c := newTestCluster(t)
	b := c.startWith(c.testConfig(1), nil)
	fc := newFakeController(t, b)
	fc.epoch = 5
	if code := fc.partitionCode(fc.leaderAndIsr(6, "t", 0, 1, 3, []int32{1})); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	// Same leader epoch again: STALE_CONTROLLER_EPOCH for the partition.
	if code := fc.partitionCode(fc.leaderAndIsr(6, "t", 0, 1, 3, []int32{1})); code != kerr.StaleControllerEpoch.Code {
		t.Fatalf("same leader epoch: %v", kerr.ErrorForCode(code))
	}
	// Older controller: the whole request.
	fc.epoch = 4
	r := fc.leaderAndIsr(6, "t", 0, 1, 9, []int32{1})
	if r.ErrorCode != kerr.StaleControllerEpoch.Code {
		t.Fatalf("older controller: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	fc.epoch = 5
	// Stale broker epoch.
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 6, 99, 5, b.Epoch()-1
	if r := fc.send(req).(*kmsg.LeaderAndISRResponse); r.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Fatalf("stale broker epoch: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	// Not among the replicas.
	if code := fc.partitionCode(fc.leaderAndIsr(6, "elsewhere", 0, 2, 0, []int32{2})); code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("not a replica: %v", kerr.ErrorForCode(code))
	}
	// Another topic id for the same log.
	fc.topics["t"] = [16]byte{42}
	if code := fc.partitionCode(fc.leaderAndIsr(6, "t", 0, 1, 4, []int32{1})); code != kerr.InconsistentTopicID.Code {
		t.Fatalf("topic id change: %v", kerr.ErrorForCode(code))
	}
	delete(fc.topics, "t")
	// A newer epoch naming another leader makes this broker a follower:
	// produce is refused.
	fc.topics["t"] = [16]byte{1, 7}
	if code := fc.partitionCode(fc.leaderAndIsr(6, "t", 0, 2, 5, []int32{2, 1})); code != 0 {
		t.Fatalf("become follower: %v", kerr.ErrorForCode(code))
	}
	if _, err := b.replicas.Leader(log.TopicPartition{Topic: "t", Partition: 0}); err == nil {
		t.Fatal("still leader after becoming a follower")
	}
}

func TestStopReplicaAndUpdateMetadataEveryVersion(t *testing.T) {
	c := newTestCluster(t)
	b := c.startWith(c.testConfig(1), nil)
	fc := newFakeController(t, b)
	for v := int16(0); v <= 8; v++ {
		topic := "um-v" + string(rune('0'+v))
		if r := fc.updateMetadata(v, topic, map[int32]int32{0: 1, 1: 1}, 0); r.ErrorCode != 0 {
			t.Fatalf("UpdateMetadata v%d: %v", v, kerr.ErrorForCode(r.ErrorCode))
		}
		topicMeta, ok := b.cache.load().topics[topic]
		if !ok || len(topicMeta.partitions) != 2 || topicMeta.partitions[1].leader != 1 {
			t.Fatalf("UpdateMetadata v%d not in the cache: %+v", v, topicMeta)
		}
		if v >= 7 && topicMeta.id != fc.topicID(topic) {
			t.Fatalf("UpdateMetadata v%d lost the topic id", v)
		}
		// Leader -2: the topic is being deleted and leaves the cache.
		fc.updateMetadata(v, topic, map[int32]int32{0: -2, 1: -2}, 1)
		if _, ok := b.cache.load().topics[topic]; ok {
			t.Fatalf("UpdateMetadata v%d with leader -2 kept the topic", v)
		}
	}
	fc.epoch = 0
	if r := fc.updateMetadata(8, "old", map[int32]int32{0: 1}, 0); r.ErrorCode != kerr.StaleControllerEpoch.Code {
		t.Fatalf("UpdateMetadata from an older controller: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	fc.epoch = 1

	for v := int16(0); v <= 4; v++ {
		topic := "sr-v" + string(rune('0'+v))
		fc.leaderAndIsr(6, topic, 0, 1, 0, []int32{1})
		dir := filepath.Join(b.cfg.LogDirs[0], topic+"-0")
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrStopReplicaRequest()
		req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = v, 99, fc.epoch, b.Epoch()
		st := kmsg.NewStopReplicaRequestTopic()
		st.Topic = topic
		switch {
		case v == 0:
			st.Partition, req.DeletePartitions = 0, true
		case v <= 2:
			st.Partitions, req.DeletePartitions = []int32{0}, true
		default:
			ps := kmsg.NewStopReplicaRequestTopicPartitionState()
			ps.Partition, ps.LeaderEpoch, ps.Delete = 0, -2, true
			st.PartitionStates = []kmsg.StopReplicaRequestTopicPartitionState{ps}
		}
		req.Topics = []kmsg.StopReplicaRequestTopic{st}
		r := fc.send(req).(*kmsg.StopReplicaResponse)
		if r.ErrorCode != 0 || len(r.Partitions) != 1 || r.Partitions[0].ErrorCode != 0 {
			t.Fatalf("StopReplica v%d: %+v", v, r)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("StopReplica v%d with delete left %s (%v)", v, dir, err)
		}
	}
	// An older leader epoch is fenced.
	fc.leaderAndIsr(6, "fenced", 0, 1, 5, []int32{1})
	req := kmsg.NewPtrStopReplicaRequest()
	req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 3, 99, fc.epoch, b.Epoch()
	st := kmsg.NewStopReplicaRequestTopic()
	st.Topic = "fenced"
	ps := kmsg.NewStopReplicaRequestTopicPartitionState()
	ps.Partition, ps.LeaderEpoch = 0, 4
	st.PartitionStates = []kmsg.StopReplicaRequestTopicPartitionState{ps}
	req.Topics = []kmsg.StopReplicaRequestTopic{st}
	if r := fc.send(req).(*kmsg.StopReplicaResponse); r.Partitions[0].ErrorCode != kerr.FencedLeaderEpoch.Code {
		t.Fatalf("StopReplica with an older leader epoch: %v", kerr.ErrorForCode(r.Partitions[0].ErrorCode))
	}
}
