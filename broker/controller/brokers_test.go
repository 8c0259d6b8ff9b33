package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// waitTopicAnnounced waits until broker to has received an UpdateMetadata
// naming all the topic's partitions. Partition states are written before
// the controller tells the brokers, and a broker's UpdateMetadata follows its
// LeaderAndIsr on the one queue to it, so after this nothing the topic's
// creation sent broker to is still on its way: a test can mark the network
// and then count what later events send.
func (cl *cluster) waitTopicAnnounced(to int32, topic string, partitions int32) {
	cl.t.Helper()
	waitFor(cl.t, fmt.Sprintf("UpdateMetadata with %s at broker %d", topic, to), func() bool {
		for _, r := range requestsTo[*kmsg.UpdateMetadataRequest](cl.net, to) {
			all := true
			for p := range partitions {
				if _, _, ok := umPartition(r, topic, p); !ok {
					all = false
				}
			}
			if all {
				return true
			}
		}
		return false
	})
}

// waitLeaderAndIsr waits for a LeaderAndIsr to broker to after mark whose
// state of topic-p satisfies cond.
func (cl *cluster) waitLeaderAndIsr(mark int, to int32, topic string, p int32, what string,
	cond func(r *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool) {
	cl.t.Helper()
	waitFor(cl.t, fmt.Sprintf("LeaderAndIsr to %d for %s-%d: %s", to, topic, p, what), func() bool {
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.LeaderAndISRRequest); ok && d.to.ID == to {
				if ps, _, ok := lairPartition(r, topic, p); ok && cond(r, ps) {
					return true
				}
			}
		}
		return false
	})
}

func stateIs(leader, epoch int32, isr ...int32) func(s *zkmeta.PartitionState) bool {
	return func(s *zkmeta.PartitionState) bool {
		return s.Leader == leader && s.LeaderEpoch == epoch && slices.Equal(s.Isr, isr)
	}
}

func TestBrokerFailureAndReturn(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3, 4)
	cl.createTopic("f", map[int32][]int32{0: {2, 3, 4}, 1: {3, 4, 2}})
	cl.waitState("f", 0, "online", stateIs(2, 0, 2, 3, 4))
	cl.waitState("f", 1, "online", stateIs(3, 0, 3, 4, 2))
	// A late creation request is not a request to a broker known dead.
	cl.waitTopicAnnounced(2, "f", 2)

	// Broker 2 dies: f-0's leader moves to the next live ISR member in
	// assignment order and both ISRs lose broker 2, each with one leader
	// epoch bump.
	mark := cl.net.mark()
	cl.kill(2)
	cl.waitState("f", 0, "leader 3 after broker 2 died", stateIs(3, 1, 3, 4))
	cl.waitState("f", 1, "ISR shrunk after broker 2 died", stateIs(3, 1, 3, 4))
	for _, to := range []int32{3, 4} {
		cl.waitLeaderAndIsr(mark, to, "f", 0, "leader 3 epoch 1", func(_ *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
			return ps.Leader == 3 && ps.LeaderEpoch == 1 && slices.Equal(ps.ISR, []int32{3, 4}) && !ps.IsNew
		})
	}
	waitFor(t, "UpdateMetadata naming broker 2 offline", func() bool {
		for _, r := range requestsTo[*kmsg.UpdateMetadataRequest](cl.net, 4) {
			if ps, _, ok := umPartition(r, "f", 1); ok && slices.Equal(ps.OfflineReplicas, []int32{2}) && ps.LeaderEpoch == 1 {
				return len(r.LiveBrokers) == 3
			}
		}
		return false
	})
	for _, d := range cl.net.since(mark) {
		if d.to.ID == 2 {
			t.Errorf("dead broker 2 was sent %s", kmsg.NameForKey(d.req.Key()))
		}
	}

	cl.kill(3)
	cl.waitState("f", 0, "leader 4 after broker 3 died", stateIs(4, 2, 4))
	cl.waitState("f", 1, "leader 4 after broker 3 died", stateIs(4, 2, 4))

	// The last ISR member dies: no leader, and the ISR keeps that member
	// (it is never written empty).
	cl.kill(4)
	cl.waitState("f", 0, "no leader", stateIs(-1, 3, 4))
	cl.waitState("f", 1, "no leader", stateIs(-1, 3, 4))

	// Broker 2 comes back: it was not in the ISR, so the partitions stay
	// offline (no unclean election) but it hears about them.
	mark = cl.net.mark()
	cl.start(2)
	cl.waitLeaderAndIsr(mark, 2, "f", 0, "the offline state", func(_ *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
		return ps.Leader == -1 && ps.LeaderEpoch == 3
	})
	if s, _ := cl.state("f", 0); s.Leader != -1 {
		t.Errorf("unclean election happened: %+v", s)
	}

	// Broker 4, the last ISR member, comes back: the partitions are online
	// again with it as leader.
	mark = cl.net.mark()
	b4 := cl.start(4)
	cl.waitState("f", 0, "leader 4 again", stateIs(4, 4, 4))
	cl.waitState("f", 1, "leader 4 again", stateIs(4, 4, 4))
	cl.waitLeaderAndIsr(mark, 4, "f", 1, "leader 4 epoch 4", func(r *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
		return ps.Leader == 4 && ps.LeaderEpoch == 4 && r.BrokerEpoch == b4.epoch
	})
	// The returning broker first gets every partition with a leader.
	waitFor(t, "UpdateMetadata with all partitions to broker 4", func() bool {
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.UpdateMetadataRequest); ok && d.to.ID == 4 {
				_, _, ok0 := umPartition(r, "f", 0)
				_, _, ok1 := umPartition(r, "f", 1)
				return ok0 && ok1
			}
		}
		return false
	})
}

// A broker that re-registers (a new czxid) before the controller noticed it
// leave is handled as a failure followed by a startup, and its requests are
// stamped with the new broker epoch.
func TestBrokerBounce(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("b", map[int32][]int32{0: {2, 3}})
	cl.waitState("b", 0, "online", stateIs(2, 0, 2, 3))
	cl.waitTopicAnnounced(2, "b", 1) // no old-epoch creation request is left to arrive late
	oldEpoch := cl.brokers[2].epoch

	resume := ctrl.pause()
	cl.brokers[2].crash()
	cl.waitGone(zkmeta.BrokerIDPath(2))
	b2 := cl.start(2)
	if b2.epoch <= oldEpoch {
		t.Fatalf("new broker epoch %d not above %d", b2.epoch, oldEpoch)
	}
	mark := cl.net.mark()
	resume()

	cl.waitState("b", 0, "leader moved off the bounced broker", stateIs(3, 1, 3))
	cl.waitLeaderAndIsr(mark, 2, "b", 0, "follower of 3 with the new broker epoch", func(r *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
		return ps.Leader == 3 && ps.LeaderEpoch == 1 && r.BrokerEpoch == b2.epoch
	})
	for _, d := range cl.net.since(mark) {
		if d.to.ID == 2 && d.to.Epoch != b2.epoch {
			t.Errorf("request %s to broker 2 with target epoch %d, want %d", kmsg.NameForKey(d.req.Key()), d.to.Epoch, b2.epoch)
		}
	}
	ctrl.inspect(func(cc *controllerContext) {
		if cc.brokers[2].epoch != b2.epoch {
			t.Errorf("cached epoch %d, want %d", cc.brokers[2].epoch, b2.epoch)
		}
	})
}

// A registration rewritten with new endpoints reaches every broker.
func TestBrokerEndpointChange(t *testing.T) {
	cl, _ := startCluster(t, 1, 2)
	mark := cl.net.mark()
	info := brokerInfo(2)
	info.Endpoints[0].Host = "10.0.0.2"
	info.TimestampMs = 1
	data, err := zkmeta.EncodeBrokerInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.brokers[2].conn.Set(zkmeta.BrokerIDPath(2), data, -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "UpdateMetadata with the new endpoint", func() bool {
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.UpdateMetadataRequest); ok && d.to.ID == 1 {
				for _, b := range r.LiveBrokers {
					if b.ID == 2 && b.Endpoints[0].Host == "10.0.0.2" {
						return true
					}
				}
			}
		}
		return false
	})
}

// A log dir failure: the controller asks the broker about its replicas and
// takes those answered KAFKA_STORAGE_ERROR offline.
func TestLogDirFailure(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3)
	cl.createTopic("d", map[int32][]int32{0: {2, 3}, 1: {3, 2}})
	cl.waitState("d", 0, "online", stateIs(2, 0, 2, 3))
	cl.waitState("d", 1, "online", stateIs(3, 0, 3, 2))
	cl.net.mu.Lock()
	cl.net.storageErr[2] = map[TopicPartition]bool{{Topic: "d", Partition: 0}: true, {Topic: "d", Partition: 1}: true}
	cl.net.mu.Unlock()
	if _, err := cl.admin.CreateLogDirEventNotification(2); err != nil {
		t.Fatal(err)
	}
	cl.waitState("d", 0, "leader moved off the failed dir", stateIs(3, 1, 3))
	cl.waitState("d", 1, "ISR shrunk", stateIs(3, 1, 3))
	waitFor(t, "the notification to be deleted", func() bool {
		names, err := cl.admin.GetSequenceChildren(zkmeta.LogDirEventNotificationPath, zkmeta.LogDirEventPrefix)
		return err == nil && len(names) == 0
	})
}

// With unclean.leader.election.enable (here a topic override) a live
// replica outside the ISR may lead when no ISR member is left; the
// partition is then RECOVERING (KIP-704).
func TestUncleanLeaderElection(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3)
	a := &zkmeta.TopicAssignment{Partitions: map[int32]zkmeta.ReplicaAssignment{0: {Replicas: []int32{2, 3}}}}
	if _, err := cl.admin.CreateTopic("dirty", a, map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Fatal(err)
	}
	cl.createTopic("clean", map[int32][]int32{0: {2, 3}})
	cl.waitState("dirty", 0, "online", stateIs(2, 0, 2, 3))
	cl.waitState("clean", 0, "online", stateIs(2, 0, 2, 3))
	cl.kill(3)
	cl.waitState("dirty", 0, "ISR [2]", stateIs(2, 1, 2))
	cl.waitState("clean", 0, "ISR [2]", stateIs(2, 1, 2))
	cl.start(3)
	mark := cl.net.mark()
	cl.kill(2)
	cl.waitState("clean", 0, "no leader", stateIs(-1, 2, 2))
	m, _ := rawState(t, cl, "dirty", 0)
	waitFor(t, "unclean leader 3", func() bool {
		m, _ = rawState(t, cl, "dirty", 0)
		return m["leader"] == float64(3)
	})
	if m["leader_epoch"] != float64(2) || !slices.Equal(isrOf(m), []int32{3}) || m["leader_recovery_state"] != float64(1) {
		t.Errorf("dirty-0 after unclean election: %v", m)
	}
	cl.waitLeaderAndIsr(mark, 3, "dirty", 0, "recovering leader 3", func(_ *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
		return ps.Leader == 3 && ps.LeaderRecoveryState == 1
	})
}

// A handler that fails because ZooKeeper is unreachable for a while (but
// the session survives) may have left its event half done and its watch
// unarmed: the controller rebuilds its state from ZooKeeper, so the change
// is not lost.
func TestStateRebuiltAfterConnectionLoss(t *testing.T) {
	if raceEnabled {
		t.Skip("go-zookeeper races with itself when it reconnects with watches (see race_test.go)")
	}
	cl := newCluster(t)
	p := newProxy(t, cl.addr)
	ctrl := cl.startVia(1, p.addr(), 8*time.Second)
	cl.waitActive(1)
	cl.start(2)
	cl.waitLive(ctrl, 1, 2)

	resume := ctrl.pause()
	before := ctrl.ctrl.queue.len()
	cl.kill(2)
	waitFor(t, "the broker change to be queued", func() bool { return ctrl.ctrl.queue.len() > before })
	p.setCut(true)
	resume()
	waitFor(t, "the handler to fail", func() bool {
		return strings.Contains(cl.logs.String(), "the controller state will be rebuilt")
	})
	p.setCut(false)
	cl.waitLive(ctrl, 1)
	if !strings.Contains(cl.logs.String(), "rebuilding the controller state from ZooKeeper") {
		t.Error("no rebuild")
	}
	// The rebuilt controller still reacts to changes.
	cl.start(3)
	cl.waitLive(ctrl, 1, 3)
	if _, ok := ctrl.ctrl.Active(); !ok {
		t.Fatal("controller lost its role")
	}
}
