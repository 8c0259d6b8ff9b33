package controller

import "slices"

// The leader election rules of Kafka's PartitionLeaderElectionAlgorithms and
// Election.scala (reference/kafka.md 2.4), as pure functions: the caller
// passes the assignment (element 0 is the preferred replica), the ISR read
// from ZooKeeper and which replicas are live. "First" is always in
// assignment order, never in ISR order.

// electionStrategy is PartitionLeaderElectionStrategy.
type electionStrategy int8

const (
	// offlineElection (OfflinePartitionLeaderElectionStrategy): a leader
	// died, a partition is new, a broker started.
	offlineElection electionStrategy = iota
	// preferredElection (PreferredReplicaPartitionLeaderElectionStrategy):
	// auto-rebalance and /admin/preferred_replica_election.
	preferredElection
	// controlledShutdownElection: a broker asked to shut down.
	controlledShutdownElection
)

func (s electionStrategy) String() string {
	switch s {
	case offlineElection:
		return "OfflinePartition"
	case preferredElection:
		return "PreferredReplica"
	case controlledShutdownElection:
		return "ControlledShutdown"
	}
	return "unknown"
}

// offlinePartitionLeader is offlinePartitionLeaderElection: the first
// assigned replica that is live and in the ISR; failing that, with unclean
// election allowed, the first live assigned replica.
func offlinePartitionLeader(assignment, isr []int32, live func(int32) bool, unclean bool) (int32, bool) {
	for _, r := range assignment {
		if live(r) && slices.Contains(isr, r) {
			return r, true
		}
	}
	if unclean {
		for _, r := range assignment {
			if live(r) {
				return r, true
			}
		}
	}
	return -1, false
}

// preferredReplicaLeader is preferredReplicaPartitionLeaderElection: only
// the preferred replica, and only if it is live and in the ISR.
func preferredReplicaLeader(assignment, isr []int32, live func(int32) bool) (int32, bool) {
	if len(assignment) == 0 {
		return -1, false
	}
	r := assignment[0]
	if live(r) && slices.Contains(isr, r) {
		return r, true
	}
	return -1, false
}

// controlledShutdownLeader is controlledShutdownPartitionLeaderElection: the
// first assigned replica that is live (shutting-down brokers count as live
// here), in the ISR and not shutting down.
func controlledShutdownLeader(assignment, isr []int32, live func(int32) bool, shuttingDown func(int32) bool) (int32, bool) {
	for _, r := range assignment {
		if live(r) && slices.Contains(isr, r) && !shuttingDown(r) {
			return r, true
		}
	}
	return -1, false
}

// electOffline is Election.leaderForOffline for one partition: the new
// leader and ISR, or ok=false when no replica can lead. The ISR becomes the
// live part of the old ISR when the leader came from it, else just the
// leader, and then the partition is RECOVERING (KIP-704).
func electOffline(cur leaderAndIsr, assignment []int32, live func(int32) bool, unclean bool) (leaderAndIsr, bool) {
	leader, ok := offlinePartitionLeader(assignment, cur.Isr, live, unclean)
	if !ok {
		return leaderAndIsr{}, false
	}
	if !slices.Contains(cur.Isr, leader) {
		return cur.newRecoveringLeaderAndIsr(leader, []int32{leader}), true
	}
	isr := []int32{}
	for _, r := range cur.Isr {
		if live(r) {
			isr = append(isr, r)
		}
	}
	return cur.newLeaderAndIsr(leader, isr), true
}

// electPreferred is Election.leaderForPreferredReplica: the ISR is kept.
func electPreferred(cur leaderAndIsr, assignment []int32, live func(int32) bool) (leaderAndIsr, bool) {
	leader, ok := preferredReplicaLeader(assignment, cur.Isr, live)
	if !ok {
		return leaderAndIsr{}, false
	}
	return cur.newLeaderAndIsr(leader, cur.Isr), true
}

// electControlledShutdown is Election.leaderForControlledShutdown: the
// shutting-down brokers leave the ISR.
func electControlledShutdown(cur leaderAndIsr, assignment []int32, liveOrShuttingDown, shuttingDown func(int32) bool) (leaderAndIsr, bool) {
	leader, ok := controlledShutdownLeader(assignment, cur.Isr, liveOrShuttingDown, shuttingDown)
	if !ok {
		return leaderAndIsr{}, false
	}
	isr := []int32{}
	for _, r := range cur.Isr {
		if !shuttingDown(r) {
			isr = append(isr, r)
		}
	}
	return cur.newLeaderAndIsr(leader, isr), true
}

// removeFromIsr is the OfflineReplica transition's ISR shrink
// (ReplicaStateMachine.doRemoveReplicasFromIsr): the replica leaves the ISR
// unless it is the last member (the ISR is never written empty), the leader
// becomes -1 if it was the leader, and the leader epoch is bumped.
func removeFromIsr(cur leaderAndIsr, replica int32) leaderAndIsr {
	leader := cur.Leader
	if leader == replica {
		leader = -1 // LeaderAndIsr.NoLeader
	}
	isr := cur.Isr
	if len(isr) > 1 {
		isr = slices.DeleteFunc(slices.Clone(isr), func(r int32) bool { return r == replica })
	}
	return cur.newLeaderAndIsr(leader, isr)
}
