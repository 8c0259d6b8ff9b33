package replica

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/zabkafka/zabkafka/broker/log"
)

// Partition is one partition hosted here (Kafka's Partition): its log, its
// role, and the leader state the controller gave it.
type Partition struct {
	tp       log.TopicPartition
	brokerID int32
	log      *log.Log

	// mu guards the leader state. Appends hold it shared, so a leadership
	// change waits for in-flight appends and no append happens under an
	// epoch that is no longer current.
	mu              sync.RWMutex
	topicID         TopicID
	leader          int32
	leaderEpoch     int32
	partitionEpoch  int32
	controllerEpoch int32
	isr             []int32
	replicas        []int32
	epochs          *epochCache
	stopped         bool

	hwMu     sync.Mutex // orders high watermark moves
	watchers watchers
}

// TopicPartition names the partition.
func (p *Partition) TopicPartition() log.TopicPartition { return p.tp }

// Log is the partition's log.
func (p *Partition) Log() *log.Log { return p.log }

// State is a snapshot of the leader state.
type State struct {
	TopicID        TopicID
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
	Replicas       []int32
	IsLeader       bool
}

// State returns the current leader state.
func (p *Partition) State() State {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return State{
		TopicID: p.topicID, Leader: p.leader, LeaderEpoch: p.leaderEpoch, PartitionEpoch: p.partitionEpoch,
		ISR: slices.Clone(p.isr), Replicas: slices.Clone(p.replicas), IsLeader: p.isLeaderLocked(),
	}
}

func (p *Partition) isLeaderLocked() bool { return !p.stopped && p.leader == p.brokerID }

// LeaderEpoch is the current leader epoch (-1 before the first LeaderAndIsr).
func (p *Partition) LeaderEpoch() int32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leaderEpoch
}

// HighWatermark is the offset below which records are committed.
func (p *Partition) HighWatermark() int64 { return p.log.HighWatermark() }

// checkLeaderEpoch validates a client's current_leader_epoch (KIP-320):
// older than ours is FENCED_LEADER_EPOCH, newer is UNKNOWN_LEADER_EPOCH,
// -1 skips the check.
func (p *Partition) checkLeaderEpochLocked(clientEpoch int32) error {
	switch {
	case clientEpoch < 0:
		return nil
	case clientEpoch < p.leaderEpoch:
		return fmt.Errorf("%w: %d is older than %d", ErrFencedLeaderEpoch, clientEpoch, p.leaderEpoch)
	case clientEpoch > p.leaderEpoch:
		return fmt.Errorf("%w: %d is newer than %d", ErrUnknownLeaderEpoch, clientEpoch, p.leaderEpoch)
	}
	return nil
}

// LeaderCheck fails unless this broker leads the partition, with the
// client's leader epoch checked as Fetch v9+ and ListOffsets v4+ do.
func (p *Partition) LeaderCheck(clientEpoch int32) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.isLeaderLocked() {
		return ErrNotLeaderOrFollower
	}
	return p.checkLeaderEpochLocked(clientEpoch)
}

// AppendResult is where a leader append landed.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64
	MaxTimestamp   int64
	LogStartOffset int64
}

// AppendAsLeader appends producer batches (already checked by the caller to
// be one RecordBatch v2) with the current leader epoch
// (Partition.appendRecordsToLeader). For acks=all it first checks that the
// ISR has at least minInsyncReplicas members (NOT_ENOUGH_REPLICAS, nothing
// written). The high watermark moves before it returns when the ISR is this
// broker alone.
func (p *Partition) AppendAsLeader(batches []byte, requiredAcks int16, minInsyncReplicas int32) (AppendResult, error) {
	p.mu.RLock()
	if !p.isLeaderLocked() {
		p.mu.RUnlock()
		return AppendResult{}, ErrNotLeaderOrFollower
	}
	if requiredAcks == -1 && int32(len(p.isr)) < minInsyncReplicas {
		n := len(p.isr)
		p.mu.RUnlock()
		return AppendResult{}, fmt.Errorf("%w: ISR has %d, min.insync.replicas is %d", ErrNotEnoughReplicas, n, minInsyncReplicas)
	}
	base, last, maxTs, err := p.log.Append(batches, p.leaderEpoch, true)
	soleReplica := len(p.isr) == 1 && p.isr[0] == p.brokerID
	p.mu.RUnlock()
	if err != nil {
		if errors.Is(err, log.ErrClosed) {
			return AppendResult{}, ErrNotLeaderOrFollower
		}
		return AppendResult{}, err
	}
	if soleReplica {
		p.advanceHighWatermark(p.log.LogEndOffset())
	}
	return AppendResult{BaseOffset: base, LastOffset: last, MaxTimestamp: maxTs, LogStartOffset: p.log.LogStartOffset()}, nil
}

// advanceHighWatermark moves the HW up (never down) and wakes waiters.
func (p *Partition) advanceHighWatermark(hw int64) {
	p.hwMu.Lock()
	if hw > p.log.HighWatermark() {
		p.log.SetHighWatermark(hw)
	}
	p.hwMu.Unlock()
	p.watchers.wakeAll()
}

// Watch registers w to be woken when the high watermark or the leadership
// changes. The caller re-checks its condition after registering, so a change
// between its check and the registration is not missed.
func (p *Partition) Watch(w *Waiter) { p.watchers.add(w) }

// Unwatch forgets w.
func (p *Partition) Unwatch(w *Waiter) { p.watchers.remove(w) }

// EpochForOffset is the leader epoch that wrote offset (-1 when unknown),
// for ListOffsets v4+.
func (p *Partition) EpochForOffset(offset int64) int32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if offset >= p.log.LogEndOffset() {
		return p.epochs.latest()
	}
	return p.epochs.epochFor(offset)
}

// makeLeader applies a LeaderAndIsr state naming this broker the leader
// (Partition.makeLeader): the new epoch starts at the log end offset, and a
// sole in-sync replica's high watermark is its log end.
func (p *Partition) makeLeader(s PartitionState) error {
	p.mu.Lock()
	p.setStateLocked(s)
	err := p.epochs.assign(s.LeaderEpoch, p.log.LogEndOffset())
	sole := len(p.isr) == 1 && p.isr[0] == p.brokerID
	p.mu.Unlock()
	if sole {
		p.advanceHighWatermark(p.log.LogEndOffset())
	} else {
		p.watchers.wakeAll()
	}
	return err
}

// makeFollower records that another broker leads. Replica fetching is not
// implemented yet: the partition only stops serving produce and fetch.
func (p *Partition) makeFollower(s PartitionState) {
	p.mu.Lock()
	p.setStateLocked(s)
	p.mu.Unlock()
	p.watchers.wakeAll()
}

func (p *Partition) setStateLocked(s PartitionState) {
	p.leader = s.Leader
	p.leaderEpoch = s.LeaderEpoch
	p.partitionEpoch = s.PartitionEpoch
	p.controllerEpoch = s.ControllerEpoch
	p.isr = slices.Clone(s.ISR)
	p.replicas = slices.Clone(s.Replicas)
	p.stopped = false
	if !s.TopicID.IsZero() {
		p.topicID = s.TopicID
	}
}

// stop makes the partition serve nothing (StopReplica).
func (p *Partition) stop(leaderEpoch int32) {
	p.mu.Lock()
	p.stopped = true
	if leaderEpoch >= 0 {
		p.leaderEpoch = max(p.leaderEpoch, leaderEpoch)
	}
	p.mu.Unlock()
	p.watchers.wakeAll()
}
