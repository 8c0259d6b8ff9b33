package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

var zkACL = zk.WorldACL(zk.PermAll)

// startCluster starts broker first, waits until it is the controller, then
// starts the others and waits until the controller knows them all.
func startCluster(t *testing.T, first int32, others ...int32) (*cluster, *testBroker) {
	cl := newCluster(t)
	cl.start(first)
	ctrl := cl.waitActive(first)
	for _, id := range others {
		cl.start(id)
	}
	cl.waitLive(ctrl, append([]int32{first}, others...)...)
	return cl, ctrl
}

// waitLive waits until the controller sees exactly these brokers live.
func (cl *cluster) waitLive(ctrl *testBroker, ids ...int32) {
	cl.t.Helper()
	want := slices.Sorted(slices.Values(ids))
	waitFor(cl.t, fmt.Sprintf("controller %d to see brokers %v", ctrl.id, want), func() bool {
		var got []int32
		ctrl.inspect(func(cc *controllerContext) {
			if cc != nil {
				got = cc.liveOrShuttingDownBrokerIDs()
			}
		})
		return slices.Equal(got, want)
	})
}

// rawState reads a state znode as JSON, to check the exact keys Kafka writes.
func rawState(t *testing.T, cl *cluster, topic string, p int32) (map[string]any, int32) {
	t.Helper()
	data, stat, err := cl.adminZK.Get(zkmeta.PartitionStatePath(topic, p))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("state %q: %v", data, err)
	}
	return m, stat.Version
}

func isrOf(m map[string]any) []int32 {
	var out []int32
	for _, x := range m["isr"].([]any) {
		out = append(out, int32(x.(float64)))
	}
	return out
}

func TestTopicCreation(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3)
	epochs := map[int32]int64{}
	for id, b := range cl.brokers {
		epochs[id] = b.epoch
	}
	mark := cl.net.mark()
	assignment := map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}, 2: {3, 1, 2}}
	topicID := cl.createTopic("orders", assignment)

	for p, replicas := range assignment {
		cl.waitState("orders", p, "online", func(s *zkmeta.PartitionState) bool { return true })
		m, v := rawState(t, cl, "orders", p)
		if len(m) != 5 || m["version"] != float64(1) || m["controller_epoch"] != float64(1) ||
			m["leader"] != float64(replicas[0]) || m["leader_epoch"] != float64(0) || !slices.Equal(isrOf(m), replicas) || v != 0 {
			t.Errorf("partition %d state %v (zkVersion %d)", p, m, v)
		}
	}

	// Every replica hears LeaderAndIsr(isNew) for its partitions.
	for id := int32(1); id <= 3; id++ {
		waitFor(t, fmt.Sprintf("LeaderAndIsr for all partitions at broker %d", id), func() bool {
			n := 0
			for _, d := range cl.net.since(mark) {
				if r, ok := d.req.(*kmsg.LeaderAndISRRequest); ok && d.to.ID == id {
					for p := range assignment {
						if _, _, ok := lairPartition(r, "orders", p); ok {
							n++
						}
					}
				}
			}
			return n >= len(assignment)
		})
	}
	for _, d := range cl.net.since(mark) {
		r, ok := d.req.(*kmsg.LeaderAndISRRequest)
		if !ok {
			continue
		}
		if r.Version != 6 || r.ControllerID != 1 || r.ControllerEpoch != 1 || r.BrokerEpoch != epochs[d.to.ID] || r.Type != 0 {
			t.Errorf("LeaderAndIsr to %d header: v%d controller %d epoch %d broker epoch %d (want %d)",
				d.to.ID, r.Version, r.ControllerID, r.ControllerEpoch, r.BrokerEpoch, epochs[d.to.ID])
		}
		leaders := map[int32]bool{}
		for p, replicas := range assignment {
			ps, id, ok := lairPartition(r, "orders", p)
			if !ok {
				continue
			}
			leaders[ps.Leader] = true
			if !ps.IsNew || ps.Leader != replicas[0] || ps.LeaderEpoch != 0 || ps.ZKVersion != 0 || ps.ControllerEpoch != 1 ||
				!slices.Equal(ps.ISR, replicas) || !slices.Equal(ps.Replicas, replicas) || id != topicID ||
				len(ps.AddingReplicas) != 0 || len(ps.RemovingReplicas) != 0 || ps.LeaderRecoveryState != 0 {
				t.Errorf("LeaderAndIsr to %d for partition %d: %+v topic id %v", d.to.ID, p, ps, id)
			}
		}
		var live []int32
		for _, l := range r.LiveLeaders {
			live = append(live, l.BrokerID)
			if l.Host != "127.0.0.1" || l.Port != 9000+l.BrokerID {
				t.Errorf("live leader %+v", l)
			}
			if !leaders[l.BrokerID] {
				t.Errorf("live leader %d leads no partition of the request", l.BrokerID)
			}
		}
		if len(live) != len(leaders) {
			t.Errorf("live leaders %v, leaders %v", live, leaders)
		}
	}

	// Every broker hears the partitions in an UpdateMetadata v7 that lists
	// all live brokers with their listeners.
	for id := int32(1); id <= 3; id++ {
		var um *kmsg.UpdateMetadataRequest
		waitFor(t, fmt.Sprintf("UpdateMetadata with the topic at broker %d", id), func() bool {
			for _, r := range requestsTo[*kmsg.UpdateMetadataRequest](cl.net, id) {
				if _, _, ok := umPartition(r, "orders", 2); ok {
					um = r
					return true
				}
			}
			return false
		})
		if um.Version != 7 || um.ControllerID != 1 || um.ControllerEpoch != 1 || um.BrokerEpoch != epochs[id] {
			t.Errorf("UpdateMetadata to %d header %+v", id, um)
		}
		for p, replicas := range assignment {
			ps, tid, ok := umPartition(um, "orders", p)
			if !ok || tid != topicID || ps.Leader != replicas[0] || ps.LeaderEpoch != 0 || ps.ZKVersion != 0 ||
				!slices.Equal(ps.ISR, replicas) || !slices.Equal(ps.Replicas, replicas) || len(ps.OfflineReplicas) != 0 || ps.ControllerEpoch != 1 {
				t.Errorf("UpdateMetadata to %d partition %d: %+v", id, p, ps)
			}
		}
		checkLiveBrokers(t, um, 1, 2, 3)
	}
}

// checkLiveBrokers checks UpdateMetadata's broker list against brokerInfo.
func checkLiveBrokers(t *testing.T, um *kmsg.UpdateMetadataRequest, ids ...int32) {
	t.Helper()
	if len(um.LiveBrokers) != len(ids) {
		t.Errorf("live brokers %d, want %v", len(um.LiveBrokers), ids)
		return
	}
	for i, b := range um.LiveBrokers {
		want := brokerInfo(ids[i])
		if b.ID != ids[i] || b.Rack == nil || *b.Rack != want.Rack || len(b.Endpoints) != 2 {
			t.Errorf("live broker %+v, want id %d", b, ids[i])
			continue
		}
		e0, e1 := b.Endpoints[0], b.Endpoints[1]
		if e0.ListenerName != "PLAINTEXT" || e0.SecurityProtocol != 0 || e0.Host != "127.0.0.1" || e0.Port != 9000+b.ID ||
			e1.ListenerName != "EXTERNAL" || e1.SecurityProtocol != 3 || e1.Host != fmt.Sprintf("b%d.example", b.ID) || e1.Port != 19000+b.ID {
			t.Errorf("endpoints of %d: %+v", b.ID, b.Endpoints)
		}
	}
}

// A partition whose replicas are partly down starts with the live ones; one
// with no live replica stays New until a replica's broker starts.
func TestTopicCreationWithOfflineReplicas(t *testing.T) {
	cl, _ := startCluster(t, 1, 2)
	cl.createTopic("half", map[int32][]int32{0: {4, 2}})
	cl.createTopic("none", map[int32][]int32{0: {5}})
	s, _ := cl.waitState("half", 0, "online", func(*zkmeta.PartitionState) bool { return true })
	if s.Leader != 2 || !slices.Equal(s.Isr, []int32{2}) || s.LeaderEpoch != 0 {
		t.Errorf("half-0 %+v, want leader 2 isr [2]", s)
	}
	waitFor(t, "UpdateMetadata with the offline replica", func() bool {
		for _, r := range requestsTo[*kmsg.UpdateMetadataRequest](cl.net, 1) {
			if ps, _, ok := umPartition(r, "half", 0); ok && slices.Equal(ps.OfflineReplicas, []int32{4}) {
				return true
			}
		}
		return false
	})
	if ok, _ := cl.admin.Exists(zkmeta.PartitionStatePath("none", 0)); ok {
		t.Fatal("a partition without live replicas got a state")
	}
	cl.start(5)
	s, _ = cl.waitState("none", 0, "online once broker 5 starts", func(*zkmeta.PartitionState) bool { return true })
	if s.Leader != 5 || !slices.Equal(s.Isr, []int32{5}) || s.LeaderEpoch != 0 {
		t.Errorf("none-0 %+v", s)
	}
}

// After a failover the new controller sends every broker an UpdateMetadata
// (the broker list) before any LeaderAndIsr.
func TestFailoverSendsUpdateMetadataFirst(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3)
	cl.createTopic("t", map[int32][]int32{0: {2, 3}, 1: {3, 2}})
	cl.waitState("t", 1, "online", func(*zkmeta.PartitionState) bool { return true })
	mark := cl.net.mark()
	cl.kill(1)
	next := cl.waitActive(-1)
	for _, id := range []int32{2, 3} {
		var got []delivery
		waitFor(t, fmt.Sprintf("the new controller's LeaderAndIsr at broker %d", id), func() bool {
			got = got[:0]
			seen := false
			for _, d := range cl.net.since(mark) {
				if d.from == next.id && d.to.ID == id {
					got = append(got, d)
					_, seen = d.req.(*kmsg.LeaderAndISRRequest)
					if seen {
						break
					}
				}
			}
			return seen
		})
		first, ok := got[0].req.(*kmsg.UpdateMetadataRequest)
		if !ok {
			t.Fatalf("broker %d: first request from the new controller is %s", id, kmsg.NameForKey(got[0].req.Key()))
		}
		if len(first.TopicStates) != 0 || first.ControllerEpoch != 2 {
			t.Errorf("first UpdateMetadata: %d topics, epoch %d", len(first.TopicStates), first.ControllerEpoch)
		}
		checkLiveBrokers(t, first, 2, 3)
		lair := got[len(got)-1].req.(*kmsg.LeaderAndISRRequest)
		if lair.ControllerEpoch != 2 {
			t.Errorf("LeaderAndIsr epoch %d", lair.ControllerEpoch)
		}
		for p := int32(0); p < 2; p++ {
			ps, _, ok := lairPartition(lair, "t", p)
			// The partition state still carries the epoch of the
			// controller that wrote it.
			if !ok || ps.IsNew || ps.ControllerEpoch != 1 || ps.LeaderEpoch != 0 {
				t.Errorf("broker %d partition %d after failover: %+v", id, p, ps)
			}
		}
	}
}

func TestPartitionAddition(t *testing.T) {
	cl, _ := startCluster(t, 1, 2)
	id := cl.createTopic("grow", map[int32][]int32{0: {1, 2}})
	cl.waitState("grow", 0, "online", func(*zkmeta.PartitionState) bool { return true })
	a, v, err := cl.admin.GetTopicAssignment("grow")
	if err != nil {
		t.Fatal(err)
	}
	mark := cl.net.mark()
	a.Partitions[1] = zkmeta.ReplicaAssignment{Replicas: []int32{2, 1}}
	if _, err := cl.admin.SetTopicAssignment(zkmeta.Unfenced, "grow", a, v); err != nil {
		t.Fatal(err)
	}
	s, _ := cl.waitState("grow", 1, "online", func(*zkmeta.PartitionState) bool { return true })
	if s.Leader != 2 || !slices.Equal(s.Isr, []int32{2, 1}) {
		t.Errorf("grow-1 %+v", s)
	}
	for _, b := range []int32{1, 2} {
		waitFor(t, fmt.Sprintf("LeaderAndIsr(isNew) for grow-1 at %d", b), func() bool {
			for _, d := range cl.net.since(mark) {
				if r, ok := d.req.(*kmsg.LeaderAndISRRequest); ok && d.to.ID == b {
					if ps, tid, ok := lairPartition(r, "grow", 1); ok && ps.IsNew && tid == id {
						return true
					}
				}
			}
			return false
		})
	}
	// The old partition was not touched.
	if _, v0 := cl.state("grow", 0); v0 != 0 {
		t.Errorf("grow-0 rewritten: zkVersion %d", v0)
	}
}

// A broker that does not answer holds up only its own queue; its requests
// are retried until it answers.
func TestSlowBrokerDoesNotBlockOthers(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3, 4)
	cl.net.setMode(3, modeHang)
	mark := cl.net.mark()
	cl.createTopic("q", map[int32][]int32{0: {2, 3, 4}})
	got := func(id int32) bool {
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.LeaderAndISRRequest); ok && d.to.ID == id {
				if _, _, ok := lairPartition(r, "q", 0); ok {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, "brokers 2 and 4 to get LeaderAndIsr", func() bool { return got(2) && got(4) })
	if got(3) {
		t.Fatal("the hung broker got its request")
	}
	cl.net.setMode(3, modeDown)
	cl.net.mu.Lock()
	before := cl.net.attempts[3]
	cl.net.mu.Unlock()
	waitFor(t, "retries to broker 3", func() bool {
		cl.net.mu.Lock()
		defer cl.net.mu.Unlock()
		return cl.net.attempts[3] >= before+3
	})
	cl.net.setMode(3, modeUp)
	waitFor(t, "broker 3 to get LeaderAndIsr after retries", func() bool { return got(3) })
}

// A topic written without a topic id (Kafka before 2.8) gets one from the
// controller, written back into its assignment and sent to the brokers.
func TestTopicIDBackfill(t *testing.T) {
	cl, _ := startCluster(t, 1, 2)
	mark := cl.net.mark()
	if _, err := cl.adminZK.Create(zkmeta.TopicPath("legacy"), []byte(`{"version":1,"partitions":{"0":[2,1]}}`), 0, zkACL); err != nil {
		t.Fatal(err)
	}
	cl.waitState("legacy", 0, "online", stateIs(2, 0, 2, 1))
	var id zkmeta.Uuid
	waitFor(t, "a topic id in the assignment", func() bool {
		a, _, err := cl.admin.GetTopicAssignment("legacy")
		if err != nil {
			return false
		}
		id = a.TopicID
		return !id.IsZero() && slices.Equal(a.Partitions[0].Replicas, []int32{2, 1})
	})
	cl.waitLeaderAndIsr(mark, 2, "legacy", 0, "with the new topic id", func(r *kmsg.LeaderAndISRRequest, _ kmsg.LeaderAndISRRequestTopicPartition) bool {
		_, tid, _ := lairPartition(r, "legacy", 0)
		return tid == id
	})
}
