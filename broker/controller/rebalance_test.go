package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// moveLeadershipAway leaves p0 of topic (assigned [2,3]) led by 3 with ISR
// [3,2]: broker 2 dies and comes back, and leader 3 re-admits it with
// AlterPartition.
func moveLeadershipAway(t *testing.T, cl *cluster, ctrl *testBroker, topic string) {
	t.Helper()
	cl.kill(2)
	_, pe := cl.waitState(topic, 0, "leader 3", stateIs(3, 1, 3))
	cl.start(2)
	cl.waitLive(ctrl, 1, 2, 3)
	req := alterReq(1, 3, cl.brokers[3].epoch, topic, zkmeta.Uuid{}, 0, 1, pe, 3, 2)
	resp := ctrl.ctrl.HandleAlterPartition(context.Background(), req)
	if p := onlyPartition(t, resp); p.ErrorCode != errNone {
		t.Fatalf("ISR expansion: %d", p.ErrorCode)
	}
}

func TestAutoPreferredLeaderRebalance(t *testing.T) {
	cl := newCluster(t)
	cl.tune = func(c *Config) {
		c.AutoLeaderRebalance = true
		c.FirstRebalanceDelay = 50 * time.Millisecond
		c.LeaderImbalanceCheckInterval = 100 * time.Millisecond
	}
	cl.start(1)
	ctrl := cl.waitActive(1)
	cl.start(2)
	cl.start(3)
	cl.waitLive(ctrl, 1, 2, 3)
	cl.createTopic("r", map[int32][]int32{0: {2, 3}})
	cl.waitState("r", 0, "online", stateIs(2, 0, 2, 3))
	cl.kill(2)
	cl.waitState("r", 0, "leader 3", stateIs(3, 1, 3))
	cl.start(2)
	cl.waitLive(ctrl, 1, 2, 3)

	// Broker 2 is back but not in the ISR: the check runs and must not
	// elect it.
	runs := func() int {
		n := 0
		ctrl.inspect(func(*controllerContext) { n = ctrl.ctrl.rebalanceRuns })
		return n
	}
	start := runs()
	waitFor(t, "two rebalance checks", func() bool { return runs() >= start+2 })
	s, pe := cl.state("r", 0)
	if !stateIs(3, 1, 3)(s) {
		t.Fatalf("preferred replica elected outside the ISR: %+v", s)
	}

	// Leader 3 takes 2 back into the ISR: the next check moves leadership
	// to the preferred replica, keeping the ISR.
	mark := cl.net.mark()
	req := alterReq(1, 3, cl.brokers[3].epoch, "r", zkmeta.Uuid{}, 0, 1, pe, 3, 2)
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), req)); p.ErrorCode != errNone {
		t.Fatalf("ISR expansion: %d", p.ErrorCode)
	}
	cl.waitState("r", 0, "leadership back on 2", stateIs(2, 2, 3, 2))
	for _, to := range []int32{2, 3} {
		cl.waitLeaderAndIsr(mark, to, "r", 0, "leader 2 epoch 2", func(_ *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
			return ps.Leader == 2 && ps.LeaderEpoch == 2
		})
	}
}

func TestPreferredReplicaElectionZnode(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("p", map[int32][]int32{0: {2, 3}, 1: {3, 2}})
	cl.waitState("p", 0, "online", stateIs(2, 0, 2, 3))
	moveLeadershipAway(t, cl, ctrl, "p")
	_, v1 := cl.state("p", 1)

	// The legacy tool asks for p-0 (movable), p-1 (already on its
	// preferred replica) and a partition that does not exist.
	data := zkmeta.EncodePreferredReplicaElection([]zkmeta.TopicPartition{
		{Topic: "p", Partition: 0}, {Topic: "p", Partition: 1}, {Topic: "nope", Partition: 0}})
	if _, err := cl.adminZK.Create(zkmeta.PreferredReplicaElectionPath, data, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	cl.waitState("p", 0, "leader 2 again", stateIs(2, 2, 3, 2))
	cl.waitGone(zkmeta.PreferredReplicaElectionPath)
	if _, v := cl.state("p", 1); v != v1 {
		t.Errorf("p-1 rewritten (zkVersion %d, was %d)", v, v1)
	}

	// The watch is armed again: a second request works too. Leader 3
	// takes 2 into p-1's ISR, then 3 dies and returns and 2 takes it back.
	s, v := cl.state("p", 1)
	req := alterReq(1, 3, cl.brokers[3].epoch, "p", zkmeta.Uuid{}, 1, s.LeaderEpoch, v, 3, 2)
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), req)); p.ErrorCode != errNone {
		t.Fatalf("ISR expansion: %d", p.ErrorCode)
	}
	cl.kill(3)
	cl.waitState("p", 1, "leader 2", func(s *zkmeta.PartitionState) bool { return s.Leader == 2 })
	cl.start(3)
	cl.waitLive(ctrl, 1, 2, 3)
	s, v = cl.state("p", 1)
	req = alterReq(1, 2, cl.brokers[2].epoch, "p", zkmeta.Uuid{}, 1, s.LeaderEpoch, v, 2, 3)
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), req)); p.ErrorCode != errNone {
		t.Fatalf("ISR expansion: %d", p.ErrorCode)
	}
	data = zkmeta.EncodePreferredReplicaElection([]zkmeta.TopicPartition{{Topic: "p", Partition: 1}})
	if _, err := cl.adminZK.Create(zkmeta.PreferredReplicaElectionPath, data, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	cl.waitState("p", 1, "leader 3 again", func(s *zkmeta.PartitionState) bool {
		return s.Leader == 3 && slices.Equal(s.Isr, []int32{2, 3})
	})
	cl.waitGone(zkmeta.PreferredReplicaElectionPath)
}
