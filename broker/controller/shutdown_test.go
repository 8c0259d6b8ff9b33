package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func shutdownReq(id int32, epoch int64) *kmsg.ControlledShutdownRequest {
	req := kmsg.NewPtrControlledShutdownRequest()
	req.Version = 3
	req.BrokerID = id
	req.BrokerEpoch = epoch
	return req
}

func remaining(resp *kmsg.ControlledShutdownResponse) []TopicPartition {
	var out []TopicPartition
	for _, p := range resp.PartitionsRemaining {
		out = append(out, TopicPartition{Topic: p.Topic, Partition: p.Partition})
	}
	return out
}

func TestControlledShutdown(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3, 4)
	cl.createTopic("led", map[int32][]int32{0: {2, 3, 4}})   // led by 2: leadership moves
	cl.createTopic("solo", map[int32][]int32{0: {2}})        // one replica: untouched, not listed
	cl.createTopic("follow", map[int32][]int32{0: {3, 2}})   // followed by 2: 2 leaves the ISR
	cl.createTopic("stranded", map[int32][]int32{0: {2, 5}}) // only 2 is live: cannot move
	cl.waitState("led", 0, "online", stateIs(2, 0, 2, 3, 4))
	cl.waitState("solo", 0, "online", stateIs(2, 0, 2))
	cl.waitState("follow", 0, "online", stateIs(3, 0, 3, 2))
	cl.waitState("stranded", 0, "online", stateIs(2, 0, 2))
	b2 := cl.brokers[2]

	// Not the controller, old epoch, unknown broker.
	if resp := cl.brokers[3].ctrl.HandleControlledShutdown(context.Background(), shutdownReq(2, b2.epoch)); resp.ErrorCode != errNotController {
		t.Errorf("non-controller answered %d", resp.ErrorCode)
	}
	if resp := ctrl.ctrl.HandleControlledShutdown(context.Background(), shutdownReq(2, b2.epoch-1)); resp.ErrorCode != errStaleBrokerEpoch {
		t.Errorf("stale epoch answered %d", resp.ErrorCode)
	}
	if resp := ctrl.ctrl.HandleControlledShutdown(context.Background(), shutdownReq(9, 1)); resp.ErrorCode != errBrokerNotAvailable {
		t.Errorf("unknown broker answered %d", resp.ErrorCode)
	}

	mark := cl.net.mark()
	resp := ctrl.ctrl.HandleControlledShutdown(context.Background(), shutdownReq(2, b2.epoch))
	if resp.ErrorCode != errNone || resp.Version != 3 {
		t.Fatalf("controlled shutdown: error %d version %d", resp.ErrorCode, resp.Version)
	}
	if got := remaining(resp); !slices.Equal(got, []TopicPartition{{Topic: "stranded", Partition: 0}}) {
		t.Errorf("partitions remaining %v, want [stranded-0]", got)
	}
	if s, v := cl.state("led", 0); !stateIs(3, 1, 3, 4)(s) || v != 1 {
		t.Errorf("led-0 %+v v%d, want leader 3 epoch 1 isr [3 4]", s, v)
	}
	if s, _ := cl.state("follow", 0); !stateIs(3, 1, 3)(s) {
		t.Errorf("follow-0 %+v, want leader 3 epoch 1 isr [3]", s)
	}
	if s, v := cl.state("solo", 0); !stateIs(2, 0, 2)(s) || v != 0 {
		t.Errorf("solo-0 changed: %+v v%d", s, v)
	}
	// The new leader and the remaining replicas hear it; broker 2 is told
	// to stop following.
	for _, to := range []int32{3, 4} {
		cl.waitLeaderAndIsr(mark, to, "led", 0, "leader 3", func(_ *kmsg.LeaderAndISRRequest, ps kmsg.LeaderAndISRRequestTopicPartition) bool {
			return ps.Leader == 3 && ps.LeaderEpoch == 1
		})
	}
	waitFor(t, "StopReplica(delete=false) for follow-0 to broker 2", func() bool {
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.StopReplicaRequest); ok && d.to.ID == 2 {
				for _, tt := range r.Topics {
					for _, ps := range tt.PartitionStates {
						if tt.Topic == "follow" && !ps.Delete && ps.LeaderEpoch == 0 {
							return true
						}
					}
				}
			}
		}
		return false
	})
	ctrl.inspect(func(cc *controllerContext) {
		if !cc.shuttingDown[2] || cc.isLive(2) || !cc.isLiveOrShuttingDown(2) {
			t.Error("broker 2 not marked shutting down")
		}
	})
	// A retry answers the same.
	resp = ctrl.ctrl.HandleControlledShutdown(context.Background(), shutdownReq(2, b2.epoch))
	if got := remaining(resp); resp.ErrorCode != errNone || !slices.Equal(got, []TopicPartition{{Topic: "stranded", Partition: 0}}) {
		t.Errorf("retry: error %d remaining %v", resp.ErrorCode, got)
	}

	// v1 requests carry no broker epoch and are not checked.
	old := shutdownReq(2, 0)
	old.Version = 1
	if resp := ctrl.ctrl.HandleControlledShutdown(context.Background(), old); resp.ErrorCode != errNone {
		t.Errorf("v1 request answered %d", resp.ErrorCode)
	}

	// Then the broker stops: it leaves the shutting-down set.
	cl.kill(2)
	cl.waitLive(ctrl, 1, 3, 4)
	ctrl.inspect(func(cc *controllerContext) {
		if cc.shuttingDown[2] {
			t.Error("dead broker still shutting down")
		}
	})
}

// A controller that is not running answers NOT_CONTROLLER at once.
func TestRPCWithoutRunningLoop(t *testing.T) {
	cl := newCluster(t)
	conn := connect(t, cl.addr, sessionTimeout)
	defer conn.Close()
	c, err := New(Config{BrokerID: 1, Meta: newMeta(t, conn), Sender: cl.net.sender(1)})
	if err != nil {
		t.Fatal(err)
	}
	if resp := c.HandleControlledShutdown(context.Background(), shutdownReq(1, 1)); resp.ErrorCode != errNotController {
		t.Errorf("ControlledShutdown answered %d", resp.ErrorCode)
	}
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	if resp := c.HandleAlterPartition(context.Background(), req); resp.ErrorCode != errNotController || resp.Version != 2 {
		t.Errorf("AlterPartition answered %d v%d", resp.ErrorCode, resp.Version)
	}
	if _, ok := c.Active(); ok {
		t.Error("active without running")
	}
}
