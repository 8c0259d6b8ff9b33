package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// alterReq builds an AlterPartition for one partition (by name before v2,
// by topic id from v2).
func alterReq(version int16, broker int32, epoch int64, topic string, id zkmeta.Uuid, p, leaderEpoch, partitionEpoch int32, isr ...int32) *kmsg.AlterPartitionRequest {
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = version
	req.BrokerID = broker
	req.BrokerEpoch = epoch
	t := kmsg.NewAlterPartitionRequestTopic()
	if version >= 2 {
		t.TopicID = id
	} else {
		t.Topic = topic
	}
	ap := kmsg.NewAlterPartitionRequestTopicPartition()
	ap.Partition = p
	ap.LeaderEpoch = leaderEpoch
	ap.PartitionEpoch = partitionEpoch
	ap.NewISR = isr
	t.Partitions = append(t.Partitions, ap)
	req.Topics = append(req.Topics, t)
	return req
}

// onlyPartition returns the single partition answer of a response.
func onlyPartition(t *testing.T, resp *kmsg.AlterPartitionResponse) kmsg.AlterPartitionResponseTopicPartition {
	t.Helper()
	if resp.ErrorCode != errNone || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("response: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

func TestAlterPartition(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3, 4)
	id := cl.createTopic("isr", map[int32][]int32{0: {2, 3, 4}})
	cl.waitState("isr", 0, "online", stateIs(2, 0, 2, 3, 4))
	// Broker 4 dies: the ISR shrinks and the leader epoch becomes 1.
	cl.kill(4)
	_, pe := cl.waitState("isr", 0, "ISR without 4", stateIs(2, 1, 2, 3))
	// The controller writes the state first and then tells the replicas: wait
	// for its LeaderAndIsr to reach them, or one could arrive after the mark
	// below and pass for one sent by the ISR change under test.
	for _, to := range []int32{2, 3} {
		waitFor(t, "LeaderAndIsr with leader epoch 1 after broker 4's death", func() bool {
			for _, d := range cl.net.since(0) {
				if r, ok := d.req.(*kmsg.LeaderAndISRRequest); ok && d.to.ID == to {
					if ps, _, ok := lairPartition(r, "isr", 0); ok && ps.LeaderEpoch == 1 {
						return true
					}
				}
			}
			return false
		})
	}
	b2 := cl.brokers[2]
	ctx := context.Background()
	call := func(req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
		return ctrl.ctrl.HandleAlterPartition(ctx, req)
	}

	// Top-level errors.
	if resp := cl.brokers[3].ctrl.HandleAlterPartition(ctx, alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe, 2)); resp.ErrorCode != errNotController {
		t.Errorf("non-controller: %d", resp.ErrorCode)
	}
	if resp := call(alterReq(2, 2, b2.epoch+1, "isr", id, 0, 1, pe, 2)); resp.ErrorCode != errStaleBrokerEpoch {
		t.Errorf("wrong broker epoch: %d", resp.ErrorCode)
	}
	if resp := call(alterReq(2, 4, 1, "isr", id, 0, 1, pe, 2)); resp.ErrorCode != errStaleBrokerEpoch {
		t.Errorf("dead broker: %d", resp.ErrorCode)
	}

	// Per-partition errors; none of them writes anything.
	for _, c := range []struct {
		name string
		req  *kmsg.AlterPartitionRequest
		want int16
	}{
		{"older leader epoch", alterReq(2, 2, b2.epoch, "isr", id, 0, 0, pe, 2), errFencedLeaderEpoch},
		{"newer leader epoch", alterReq(2, 2, b2.epoch, "isr", id, 0, 2, pe, 2), errNotController},
		{"newer partition epoch", alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe+1, 2), errNotController},
		{"stale partition epoch", alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe-1, 2), errInvalidUpdateVersion},
		{"ineligible replica v2", alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe, 2, 3, 4), errIneligibleReplica},
		{"ineligible replica v1", alterReq(1, 2, b2.epoch, "isr", id, 0, 1, pe, 2, 3, 4), errOperationNotAttempted},
		{"unknown partition", alterReq(1, 2, b2.epoch, "isr", id, 7, 1, pe, 2), errUnknownTopicOrPartition},
		{"unknown topic id", alterReq(2, 2, b2.epoch, "isr", zkmeta.Uuid{1}, 0, 1, pe, 2), errUnknownTopicID},
		{"not the leader", alterReq(1, 3, cl.brokers[3].epoch, "isr", id, 0, 1, pe, 3), errNotLeaderOrFollower},
		{"leader outside the ISR", alterReq(1, 2, b2.epoch, "isr", id, 0, 1, pe, 3), errInvalidRequest},
	} {
		resp := call(c.req)
		if p := onlyPartition(t, resp); p.ErrorCode != c.want {
			t.Errorf("%s: error %d, want %d", c.name, p.ErrorCode, c.want)
		}
		if c.req.Version >= 2 && resp.Topics[0].TopidID != c.req.Topics[0].TopicID {
			t.Errorf("%s: topic id %v in the answer", c.name, resp.Topics[0].TopidID)
		}
	}
	if _, v := cl.state("isr", 0); v != pe {
		t.Fatalf("a rejected AlterPartition wrote the state (zkVersion %d, was %d)", v, pe)
	}

	// A successful shrink: same leader epoch, next partition epoch, the
	// controller's epoch in the znode, and everyone hears the new ISR.
	mark := cl.net.mark()
	p := onlyPartition(t, call(alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe, 2)))
	if p.ErrorCode != errNone || p.LeaderID != 2 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{2}) || p.PartitionEpoch != pe+1 {
		t.Fatalf("ISR shrink answered %+v", p)
	}
	m, v := rawState(t, cl, "isr", 0)
	if v != pe+1 || m["leader"] != float64(2) || m["leader_epoch"] != float64(1) || m["controller_epoch"] != float64(1) ||
		!slices.Equal(isrOf(m), []int32{2}) || len(m) != 5 {
		t.Errorf("state after the shrink %v v%d", m, v)
	}
	for _, to := range []int32{1, 2, 3} {
		waitFor(t, "UpdateMetadata with the new ISR", func() bool {
			for _, d := range cl.net.since(mark) {
				if r, ok := d.req.(*kmsg.UpdateMetadataRequest); ok && d.to.ID == to {
					if ps, _, ok := umPartition(r, "isr", 0); ok && slices.Equal(ps.ISR, []int32{2}) && ps.ZKVersion == pe+1 {
						return true
					}
				}
			}
			return false
		})
	}
	for _, d := range cl.net.since(mark) {
		if _, ok := d.req.(*kmsg.LeaderAndISRRequest); ok {
			t.Errorf("an ISR change made by the leader sent LeaderAndIsr to %d", d.to.ID)
		}
	}

	// The same request again (its answer was lost): success with the
	// current state and no new write.
	p = onlyPartition(t, call(alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe, 2)))
	if p.ErrorCode != errNone || p.PartitionEpoch != pe+1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Errorf("idempotent retry answered %+v", p)
	}
	if _, v := cl.state("isr", 0); v != pe+1 {
		t.Errorf("idempotent retry wrote: zkVersion %d", v)
	}
	// A different ISR at the old partition epoch is stale.
	if p := onlyPartition(t, call(alterReq(2, 2, b2.epoch, "isr", id, 0, 1, pe, 2, 3))); p.ErrorCode != errInvalidUpdateVersion {
		t.Errorf("stale expansion: %d", p.ErrorCode)
	}
	// Expansion back, by name (v1).
	p = onlyPartition(t, call(alterReq(1, 2, b2.epoch, "isr", id, 0, 1, pe+1, 2, 3)))
	if p.ErrorCode != errNone || !slices.Equal(p.ISR, []int32{2, 3}) || p.PartitionEpoch != pe+2 {
		t.Errorf("expansion answered %+v", p)
	}
	if s, v := cl.state("isr", 0); !stateIs(2, 1, 2, 3)(s) || v != pe+2 {
		t.Errorf("state after the expansion %+v v%d", s, v)
	}
	ctrl.inspect(func(cc *controllerContext) {
		li := cc.leadership[TopicPartition{Topic: "isr", Partition: 0}]
		if li.PartitionEpoch != pe+2 || !slices.Equal(li.Isr, []int32{2, 3}) {
			t.Errorf("controller cache %+v", li)
		}
	})

	// A shutting-down broker may not rejoin the ISR (KIP-841).
	if resp := ctrl.ctrl.HandleControlledShutdown(ctx, shutdownReq(3, cl.brokers[3].epoch)); resp.ErrorCode != errNone {
		t.Fatalf("controlled shutdown of 3: %d", resp.ErrorCode)
	}
	s, v := cl.waitState("isr", 0, "ISR without 3", func(s *zkmeta.PartitionState) bool { return slices.Equal(s.Isr, []int32{2}) })
	if p := onlyPartition(t, call(alterReq(2, 2, b2.epoch, "isr", id, 0, s.LeaderEpoch, v, 2, 3))); p.ErrorCode != errIneligibleReplica {
		t.Errorf("shutting-down broker in the ISR: %d", p.ErrorCode)
	}
}

// A v3 AlterPartition (KIP-903) carries broker epochs; a member registered
// with another epoch is ineligible.
func TestAlterPartitionBrokerEpochs(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	id := cl.createTopic("e", map[int32][]int32{0: {2, 3}})
	_, pe := cl.waitState("e", 0, "online", stateIs(2, 0, 2, 3))
	req := func(e3 int64) *kmsg.AlterPartitionRequest {
		r := alterReq(2, 2, cl.brokers[2].epoch, "e", id, 0, 0, pe)
		r.Version = 3
		p := &r.Topics[0].Partitions[0]
		for _, m := range []struct {
			id    int32
			epoch int64
		}{{2, cl.brokers[2].epoch}, {3, e3}} {
			x := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
			x.BrokerID, x.BrokerEpoch = m.id, m.epoch
			p.NewEpochISR = append(p.NewEpochISR, x)
		}
		return r
	}
	// Shrink to [2] first, then expand with a wrong epoch for 3.
	shrink := alterReq(2, 2, cl.brokers[2].epoch, "e", id, 0, 0, pe, 2)
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), shrink)); p.ErrorCode != errNone {
		t.Fatalf("shrink: %d", p.ErrorCode)
	}
	pe++
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), req(cl.brokers[3].epoch-1))); p.ErrorCode != errIneligibleReplica {
		t.Errorf("stale member epoch: %d", p.ErrorCode)
	}
	if p := onlyPartition(t, ctrl.ctrl.HandleAlterPartition(context.Background(), req(cl.brokers[3].epoch))); p.ErrorCode != errNone || !slices.Equal(p.ISR, []int32{2, 3}) {
		t.Errorf("expansion with the right epochs: %+v", p)
	}
}
