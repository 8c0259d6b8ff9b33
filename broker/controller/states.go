package controller

import (
	"slices"
	"strconv"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// TopicPartition names a partition.
type TopicPartition = zkmeta.TopicPartition

// partitionState is PartitionStateMachine's PartitionState, with Kafka's
// numbering.
type partitionState int8

const (
	newPartition         partitionState = 0
	onlinePartition      partitionState = 1
	offlinePartition     partitionState = 2
	nonExistentPartition partitionState = 3
)

func (s partitionState) String() string {
	switch s {
	case newPartition:
		return "NewPartition"
	case onlinePartition:
		return "OnlinePartition"
	case offlinePartition:
		return "OfflinePartition"
	case nonExistentPartition:
		return "NonExistentPartition"
	}
	return "PartitionState(" + strconv.Itoa(int(s)) + ")"
}

// validPrevious is PartitionState.validPreviousStates.
func (s partitionState) validPrevious(from partitionState) bool {
	switch s {
	case newPartition:
		return from == nonExistentPartition
	case onlinePartition, offlinePartition:
		return from == newPartition || from == onlinePartition || from == offlinePartition
	case nonExistentPartition:
		return from == offlinePartition
	}
	return false
}

// replicaState is ReplicaStateMachine's ReplicaState, with Kafka's numbering.
type replicaState int8

const (
	newReplica                replicaState = 1
	onlineReplica             replicaState = 2
	offlineReplica            replicaState = 3
	replicaDeletionStarted    replicaState = 4
	replicaDeletionSuccessful replicaState = 5
	replicaDeletionIneligible replicaState = 6
	nonExistentReplica        replicaState = 7
)

func (s replicaState) String() string {
	switch s {
	case newReplica:
		return "NewReplica"
	case onlineReplica:
		return "OnlineReplica"
	case offlineReplica:
		return "OfflineReplica"
	case replicaDeletionStarted:
		return "ReplicaDeletionStarted"
	case replicaDeletionSuccessful:
		return "ReplicaDeletionSuccessful"
	case replicaDeletionIneligible:
		return "ReplicaDeletionIneligible"
	case nonExistentReplica:
		return "NonExistentReplica"
	}
	return "ReplicaState(" + strconv.Itoa(int(s)) + ")"
}

// validPrevious is ReplicaState.validPreviousStates.
func (s replicaState) validPrevious(from replicaState) bool {
	switch s {
	case newReplica:
		return from == nonExistentReplica
	case onlineReplica, offlineReplica:
		return from == newReplica || from == onlineReplica || from == offlineReplica || from == replicaDeletionIneligible
	case replicaDeletionStarted:
		return from == offlineReplica
	case replicaDeletionSuccessful:
		return from == replicaDeletionStarted
	case replicaDeletionIneligible:
		return from == offlineReplica || from == replicaDeletionStarted
	case nonExistentReplica:
		return from == replicaDeletionSuccessful
	}
	return false
}

// partitionReplica is PartitionAndReplica: one replica of one partition.
type partitionReplica struct {
	TopicPartition
	Replica int32
}

func (r partitionReplica) String() string {
	return r.TopicPartition.String() + "@" + strconv.Itoa(int(r.Replica))
}

// leaderAndIsr is kafka.api.LeaderAndIsr: a partition's leader, leader epoch,
// ISR and recovery state, and the partition epoch (the state znode's
// zkVersion).
type leaderAndIsr struct {
	Leader              int32
	LeaderEpoch         int32
	Isr                 []int32
	LeaderRecoveryState int8
	PartitionEpoch      int32
}

// newLeaderAndIsr is LeaderAndIsr.newLeaderAndIsr: every controller-made
// change bumps the leader epoch by exactly one, so brokers accept it.
func (l leaderAndIsr) newLeaderAndIsr(leader int32, isr []int32) leaderAndIsr {
	return leaderAndIsr{Leader: leader, LeaderEpoch: l.LeaderEpoch + 1, Isr: slices.Clone(isr),
		LeaderRecoveryState: l.LeaderRecoveryState, PartitionEpoch: l.PartitionEpoch}
}

// newRecoveringLeaderAndIsr is the unclean election's variant (KIP-704).
func (l leaderAndIsr) newRecoveringLeaderAndIsr(leader int32, isr []int32) leaderAndIsr {
	n := l.newLeaderAndIsr(leader, isr)
	n.LeaderRecoveryState = zkmeta.LeaderRecovering
	return n
}

// equalsAllowStalePartitionEpoch is LeaderAndIsr.equalsAllowStalePartitionEpoch:
// the same leader, epoch, ISR (in order) and recovery state, at a partition
// epoch no newer than other's.
func (l leaderAndIsr) equalsAllowStalePartitionEpoch(other leaderAndIsr) bool {
	return l.Leader == other.Leader && l.LeaderEpoch == other.LeaderEpoch && slices.Equal(l.Isr, other.Isr) &&
		l.LeaderRecoveryState == other.LeaderRecoveryState && l.PartitionEpoch <= other.PartitionEpoch
}

// leadershipInfo is LeaderIsrAndControllerEpoch: a leaderAndIsr and the epoch
// of the controller that wrote it.
type leadershipInfo struct {
	leaderAndIsr
	ControllerEpoch int32
}

// fromZk turns a state znode into a leadershipInfo.
func fromZk(s *zkmeta.PartitionState, zkVersion int32) leadershipInfo {
	return leadershipInfo{
		leaderAndIsr: leaderAndIsr{Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, Isr: slices.Clone(s.Isr),
			LeaderRecoveryState: s.LeaderRecoveryState, PartitionEpoch: zkVersion},
		ControllerEpoch: s.ControllerEpoch,
	}
}

// toZk is the state znode a controller of epoch controllerEpoch writes.
func (l leaderAndIsr) toZk(controllerEpoch int32) *zkmeta.PartitionState {
	return &zkmeta.PartitionState{ControllerEpoch: controllerEpoch, Leader: l.Leader, LeaderEpoch: l.LeaderEpoch,
		Isr: slices.Clone(l.Isr), LeaderRecoveryState: l.LeaderRecoveryState}
}

// replicaAssignment is ReplicaAssignment: the full replica list (element 0 is
// the preferred leader) and the replicas a reassignment adds or removes.
type replicaAssignment struct {
	Replicas         []int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

func fromZkAssignment(a zkmeta.ReplicaAssignment) replicaAssignment {
	return replicaAssignment{Replicas: slices.Clone(a.Replicas), AddingReplicas: slices.Clone(a.AddingReplicas),
		RemovingReplicas: slices.Clone(a.RemovingReplicas)}
}

// removeReplica is ReplicaAssignment.removeReplica.
func (a replicaAssignment) removeReplica(r int32) replicaAssignment {
	del := func(l []int32) []int32 {
		return slices.DeleteFunc(slices.Clone(l), func(x int32) bool { return x == r })
	}
	return replicaAssignment{Replicas: del(a.Replicas), AddingReplicas: del(a.AddingReplicas), RemovingReplicas: del(a.RemovingReplicas)}
}

// sortPartitions orders partitions by topic, then partition.
func sortPartitions(l []TopicPartition) []TopicPartition {
	slices.SortFunc(l, comparePartitions)
	return l
}

func comparePartitions(a, b TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition) - int(b.Partition)
}

func sortReplicas(l []partitionReplica) []partitionReplica {
	slices.SortFunc(l, func(a, b partitionReplica) int {
		if c := comparePartitions(a.TopicPartition, b.TopicPartition); c != 0 {
			return c
		}
		return int(a.Replica) - int(b.Replica)
	})
	return l
}
