package controller

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// fuzzController is a controller with an in-memory context and no I/O:
// brokers 1-3 live (3 shutting down), topic "t" (id {7}) with partitions
// 0-2 assigned [1,2,3], partition 0 led by 1 at leader epoch 2, partition
// epoch 5, ISR [1,2]; partition 1 RECOVERING.
func fuzzController() *Controller {
	cc := newControllerContext(zkmeta.Epoch{Epoch: 1, EpochZkVersion: 1})
	for id := int32(1); id <= 3; id++ {
		cc.brokers[id] = liveBroker{info: brokerInfo(id), epoch: int64(100 + id)}
	}
	cc.shuttingDown[3] = true
	cc.allTopics["t"] = true
	cc.addTopicID("t", zkmeta.Uuid{7})
	for p := int32(0); p < 3; p++ {
		tp := TopicPartition{Topic: "t", Partition: p}
		cc.setAssignment(tp, replicaAssignment{Replicas: []int32{1, 2, 3}})
		li := leadershipInfo{leaderAndIsr: leaderAndIsr{Leader: 1, LeaderEpoch: 2, Isr: []int32{1, 2}, PartitionEpoch: 5}, ControllerEpoch: 1}
		if p == 1 {
			li.LeaderRecoveryState = zkmeta.LeaderRecovering
			li.Isr = []int32{1}
		}
		cc.leadership[tp] = li
	}
	return &Controller{cfg: Config{BrokerID: 1}, log: zerolog.Nop(), ctx: cc}
}

// FuzzAlterPartitionChecks builds AlterPartition requests (v0-v3) from
// arbitrary field values and runs the controller's checks on them. (The
// request is built, not decoded: kmsg's decoder is not what is under test,
// and it spends seconds on a tagged-field count of 2^32.) Invariants: no
// panic; a proposal the checks accept is a state znode zkmeta can write (a
// non-empty ISR without duplicates that holds the leader), from the
// current leader at the current epochs, with only live ISR members; a
// success without a write is the current state.
func FuzzAlterPartitionChecks(f *testing.F) {
	f.Add(uint8(2), int32(1), int64(101), int32(0), int32(2), int32(5), int8(0), []byte{1, 2}, []byte{})
	f.Add(uint8(3), int32(1), int64(101), int32(0), int32(2), int32(5), int8(0), []byte{1, 2}, []byte{101, 102})
	f.Add(uint8(1), int32(1), int64(101), int32(1), int32(2), int32(5), int8(1), []byte{1}, []byte{})
	f.Add(uint8(0), int32(2), int64(102), int32(0), int32(2), int32(4), int8(0), []byte{2, 2}, []byte{})
	f.Add(uint8(1), int32(1), int64(101), int32(2), int32(2), int32(5), int8(-3), []byte{1}, []byte{}) // found: a recovery state of -3
	f.Fuzz(func(t *testing.T, version uint8, broker int32, brokerEpoch int64, partition, leaderEpoch, partitionEpoch int32,
		recovery int8, isr, epochs []byte) {
		v := int16(version % 4)
		var members []int32
		for _, b := range isr {
			members = append(members, int32(int8(b)))
		}
		req := alterReq(v, broker, brokerEpoch, "t", zkmeta.Uuid{7}, partition, leaderEpoch, partitionEpoch, members...)
		p := &req.Topics[0].Partitions[0]
		p.LeaderRecoveryState = recovery
		if v >= 3 {
			for i, r := range members {
				e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
				e.BrokerID, e.BrokerEpoch = r, -1
				if i < len(epochs) {
					e.BrokerEpoch = int64(epochs[i])
				}
				p.NewEpochISR = append(p.NewEpochISR, e)
			}
		}
		c := fuzzController()
		tp := TopicPartition{Topic: "t", Partition: partition}
		proposed := c.proposedLeaderAndIsr(req, *p)
		res, write := c.checkAlterPartition(req, tp, *p, proposed)
		cur, known := c.ctx.leadership[tp]
		if !write {
			if res.code == errNone && (!known || !proposed.equalsAllowStalePartitionEpoch(cur.leaderAndIsr)) {
				t.Fatalf("success without a write for %+v (current %+v)", proposed, cur.leaderAndIsr)
			}
			return
		}
		if _, err := zkmeta.EncodePartitionState(proposed.toZk(1)); err != nil {
			t.Fatalf("accepted a proposal zkmeta cannot write: %+v: %v", proposed, err)
		}
		if proposed.LeaderEpoch != cur.LeaderEpoch || proposed.PartitionEpoch != cur.PartitionEpoch || proposed.Leader != cur.Leader {
			t.Fatalf("accepted %+v against %+v", proposed, cur.leaderAndIsr)
		}
		for _, r := range proposed.Isr {
			if !c.ctx.isLive(r) {
				t.Fatalf("accepted a non-live ISR member %d", r)
			}
		}
	})
}
