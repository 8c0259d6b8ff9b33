package controller

import (
	"fmt"
	"slices"
	"testing"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func liveSet(ids ...int32) func(int32) bool {
	return func(r int32) bool { return slices.Contains(ids, r) }
}

func TestOfflineElection(t *testing.T) {
	cur := leaderAndIsr{Leader: 1, LeaderEpoch: 4, Isr: []int32{1, 3, 2}, PartitionEpoch: 9}
	for _, c := range []struct {
		name       string
		assignment []int32
		isr        []int32
		live       []int32
		unclean    bool
		ok         bool
		leader     int32
		newIsr     []int32
		recovering bool
	}{
		// First in assignment order, not ISR order.
		{"assignment order", []int32{1, 2, 3}, []int32{1, 3, 2}, []int32{2, 3}, false, true, 2, []int32{3, 2}, false},
		{"skips replicas outside the ISR", []int32{1, 2, 3}, []int32{1, 3}, []int32{2, 3}, false, true, 3, []int32{3}, false},
		{"no live ISR member", []int32{1, 2, 3}, []int32{1}, []int32{2, 3}, false, false, 0, nil, false},
		{"unclean: first live replica, alone in the ISR", []int32{1, 2, 3}, []int32{1}, []int32{3, 2}, true, true, 2, []int32{2}, true},
		{"unclean but nobody live", []int32{1, 2}, []int32{1}, nil, true, false, 0, nil, false},
		{"unclean not needed", []int32{1, 2, 3}, []int32{1, 3}, []int32{2, 3}, true, true, 3, []int32{3}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := cur
			in.Isr = c.isr
			got, ok := electOffline(in, c.assignment, liveSet(c.live...), c.unclean)
			if ok != c.ok {
				t.Fatalf("ok %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			recovering := got.LeaderRecoveryState == zkmeta.LeaderRecovering
			if got.Leader != c.leader || !slices.Equal(got.Isr, c.newIsr) || got.LeaderEpoch != 5 || got.PartitionEpoch != 9 || recovering != c.recovering {
				t.Errorf("got %+v, want leader %d isr %v epoch 5 recovering %v", got, c.leader, c.newIsr, c.recovering)
			}
		})
	}
}

func TestPreferredAndControlledShutdownElection(t *testing.T) {
	cur := leaderAndIsr{Leader: 2, LeaderEpoch: 1, Isr: []int32{2, 1, 3}}
	if got, ok := electPreferred(cur, []int32{1, 2, 3}, liveSet(1, 2, 3)); !ok || got.Leader != 1 || !slices.Equal(got.Isr, cur.Isr) || got.LeaderEpoch != 2 {
		t.Errorf("preferred: %+v %v", got, ok)
	}
	if _, ok := electPreferred(cur, []int32{1, 2, 3}, liveSet(2, 3)); ok {
		t.Error("preferred replica elected while dead")
	}
	if _, ok := electPreferred(leaderAndIsr{Isr: []int32{2, 3}}, []int32{1, 2, 3}, liveSet(1, 2, 3)); ok {
		t.Error("preferred replica elected outside the ISR (only the preferred replica may be chosen)")
	}
	shutting := liveSet(2)
	got, ok := electControlledShutdown(cur, []int32{2, 3, 1}, liveSet(1, 2, 3), shutting)
	if !ok || got.Leader != 3 || !slices.Equal(got.Isr, []int32{1, 3}) || got.LeaderEpoch != 2 {
		t.Errorf("controlled shutdown: %+v %v", got, ok)
	}
	if _, ok := electControlledShutdown(leaderAndIsr{Leader: 2, Isr: []int32{2}}, []int32{2, 3}, liveSet(2, 3), shutting); ok {
		t.Error("controlled shutdown elected a replica outside the ISR")
	}
}

func TestRemoveFromIsr(t *testing.T) {
	for _, c := range []struct {
		cur     leaderAndIsr
		replica int32
		want    leaderAndIsr
	}{
		{leaderAndIsr{Leader: 1, LeaderEpoch: 3, Isr: []int32{1, 2}}, 2, leaderAndIsr{Leader: 1, LeaderEpoch: 4, Isr: []int32{1}}},
		{leaderAndIsr{Leader: 1, LeaderEpoch: 3, Isr: []int32{1, 2}}, 1, leaderAndIsr{Leader: -1, LeaderEpoch: 4, Isr: []int32{2}}},
		// The last member stays; the leader becomes -1.
		{leaderAndIsr{Leader: 1, LeaderEpoch: 3, Isr: []int32{1}}, 1, leaderAndIsr{Leader: -1, LeaderEpoch: 4, Isr: []int32{1}}},
	} {
		got := removeFromIsr(c.cur, c.replica)
		if got.Leader != c.want.Leader || got.LeaderEpoch != c.want.LeaderEpoch || !slices.Equal(got.Isr, c.want.Isr) {
			t.Errorf("remove %d from %+v: %+v, want %+v", c.replica, c.cur, got, c.want)
		}
	}
}

func TestLeaderImbalance(t *testing.T) {
	// Broker 1 prefers ten partitions; broker 2 prefers two.
	var parts []partitionLeader
	for i := int32(0); i < 10; i++ {
		parts = append(parts, partitionLeader{tp: TopicPartition{Topic: "a", Partition: i}, preferred: 1, leader: 1, hasLeader: true})
	}
	parts = append(parts,
		partitionLeader{tp: TopicPartition{Topic: "b", Partition: 0}, preferred: 2, leader: 2, hasLeader: true},
		partitionLeader{tp: TopicPartition{Topic: "b", Partition: 1}, preferred: 2, leader: -1, hasLeader: false})
	if got := leaderImbalance(parts, 10); len(got) != 0 {
		t.Errorf("balanced cluster reported %+v", got)
	}
	// One of ten led elsewhere: exactly 10%, not above it.
	parts[3].leader = 2
	if got := leaderImbalance(parts, 10); len(got) != 0 {
		t.Errorf("10%% imbalance reported: %+v", got)
	}
	parts[7].leader = 3
	got := leaderImbalance(parts, 10)
	if len(got) != 1 || got[0].broker != 1 || got[0].ratio != 0.2 ||
		fmt.Sprint(got[0].notPreferred) != "[a-3 a-7]" {
		t.Errorf("20%% imbalance: %+v", got)
	}
	// A partition without a leader (no state) does not count.
	parts[11].hasLeader, parts[11].leader = true, 1
	got = leaderImbalance(parts, 10)
	if len(got) != 2 || got[1].broker != 2 || got[1].ratio != 0.5 {
		t.Errorf("broker 2 at 50%%: %+v", got)
	}
	if got := leaderImbalance(parts, 50); len(got) != 0 {
		t.Errorf("threshold 50%%: %+v", got)
	}
}
