package replica

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/logmgr"
)

// PartitionState is one partition of a LeaderAndIsr request.
type PartitionState struct {
	Topic           string
	Partition       int32
	TopicID         TopicID // zero when the request has none (v0-v4)
	ControllerEpoch int32
	Leader          int32
	LeaderEpoch     int32
	ISR             []int32
	PartitionEpoch  int32 // the state znode's zkVersion
	Replicas        []int32
	IsNew           bool
}

// StopPartition is one partition of a StopReplica request.
type StopPartition struct {
	Topic       string
	Partition   int32
	LeaderEpoch int32 // -2: the topic is being deleted; -1: no epoch
	Delete      bool
}

// Leader epochs with special meaning in controller requests
// (LeaderAndIsr.EpochDuringDelete and NoEpoch).
const (
	EpochDuringDelete int32 = -2
	NoEpoch           int32 = -1
)

// Config configures a Manager.
type Config struct {
	BrokerID int32
	Logs     *logmgr.Manager
	// LogConfig is a topic's log configuration, for logs created by
	// LeaderAndIsr.
	LogConfig func(topic string) (log.Config, error)
	Log       zerolog.Logger
}

// Manager is the set of partitions this broker hosts (ReplicaManager).
type Manager struct {
	cfg Config
	log zerolog.Logger

	// stateMu serialises controller requests, as Kafka's replicaStateChangeLock.
	stateMu         sync.Mutex
	controllerEpoch int32

	mu         sync.RWMutex
	partitions map[log.TopicPartition]*Partition
}

// NewManager returns an empty manager; partitions appear with LeaderAndIsr.
func NewManager(cfg Config) *Manager {
	return &Manager{cfg: cfg, log: cfg.Log, partitions: map[log.TopicPartition]*Partition{}, controllerEpoch: -1}
}

// Partition returns a hosted partition, or nil.
func (m *Manager) Partition(tp log.TopicPartition) *Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.partitions[tp]
}

// Leader returns the partition if this broker leads it: UNKNOWN_TOPIC_OR_PARTITION
// when it is not hosted here, NOT_LEADER_OR_FOLLOWER when another broker
// leads it.
func (m *Manager) Leader(tp log.TopicPartition) (*Partition, error) {
	p := m.Partition(tp)
	if p == nil {
		return nil, ErrUnknownTopicOrPartition
	}
	p.mu.RLock()
	ok := p.isLeaderLocked()
	p.mu.RUnlock()
	if !ok {
		return nil, ErrNotLeaderOrFollower
	}
	return p, nil
}

// Partitions lists the hosted partitions.
func (m *Manager) Partitions() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		out = append(out, p)
	}
	return out
}

// ControllerEpoch is the newest controller epoch seen in a request.
func (m *Manager) ControllerEpoch() int32 {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.controllerEpoch
}

// CheckControllerEpoch rejects a controller request from an older
// controller and remembers a newer epoch (used by UpdateMetadata too).
func (m *Manager) CheckControllerEpoch(epoch int32) error {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.checkControllerEpochLocked(epoch)
}

func (m *Manager) checkControllerEpochLocked(epoch int32) error {
	if epoch < m.controllerEpoch {
		return fmt.Errorf("%w: request from controller epoch %d, latest known is %d", ErrStaleControllerEpoch, epoch, m.controllerEpoch)
	}
	m.controllerEpoch = epoch
	return nil
}

// BecomeLeaderOrFollower applies a LeaderAndIsr request
// (ReplicaManager.becomeLeaderOrFollower). A request from an older
// controller is refused whole with ErrStaleControllerEpoch. Per partition: a
// state not naming this broker among its replicas is
// UNKNOWN_TOPIC_OR_PARTITION; a leader epoch not above the current one is
// STALE_CONTROLLER_EPOCH (an equal epoch only fills in a missing topic id); a
// topic id differing from the log's partition.metadata is
// INCONSISTENT_TOPIC_ID; otherwise the log is created if needed and the
// partition becomes leader or follower.
func (m *Manager) BecomeLeaderOrFollower(controllerID, controllerEpoch int32, states []PartitionState) (map[log.TopicPartition]error, error) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if err := m.checkControllerEpochLocked(controllerEpoch); err != nil {
		return nil, err
	}
	out := make(map[log.TopicPartition]error, len(states))
	for _, s := range states {
		tp := log.TopicPartition{Topic: s.Topic, Partition: s.Partition}
		err := m.applyState(tp, s)
		out[tp] = err
		ev := m.log.Info()
		if err != nil && !errors.Is(err, ErrStaleControllerEpoch) {
			ev = m.log.Warn().Err(err)
		} else if err != nil {
			ev = ev.Err(err) // a new controller resends current states: expected
		}
		ev.Str("partition", tp.String()).Int32("leader", s.Leader).Int32("leaderEpoch", s.LeaderEpoch).
			Ints32("isr", s.ISR).Int32("controller", controllerID).Int32("controllerEpoch", controllerEpoch).
			Msg("leader and isr")
	}
	return out, nil
}

func (m *Manager) applyState(tp log.TopicPartition, s PartitionState) error {
	if !slices.Contains(s.Replicas, m.cfg.BrokerID) {
		return fmt.Errorf("%w: broker %d is not a replica of %s (%v)", ErrUnknownTopicOrPartition, m.cfg.BrokerID, tp, s.Replicas)
	}
	p := m.Partition(tp)
	if p != nil {
		p.mu.RLock()
		cur, curID, stopped := p.leaderEpoch, p.topicID, p.stopped
		p.mu.RUnlock()
		if !s.TopicID.IsZero() && !curID.IsZero() && s.TopicID != curID {
			return fmt.Errorf("%w: %s has topic id %s, the request says %s", ErrInconsistentTopicID, tp, curID, s.TopicID)
		}
		newer := s.LeaderEpoch == EpochDuringDelete || s.LeaderEpoch == NoEpoch || s.LeaderEpoch > cur || stopped
		if !newer {
			if s.LeaderEpoch == cur && curID.IsZero() && !s.TopicID.IsZero() {
				p.mu.Lock()
				p.topicID = s.TopicID
				p.mu.Unlock()
				_ = writePartitionMetadata(p.log.Dir(), s.TopicID)
			}
			return fmt.Errorf("%w: leader epoch %d is not newer than %d", ErrStaleControllerEpoch, s.LeaderEpoch, cur)
		}
	} else {
		var err error
		if p, err = m.createPartition(tp, s.TopicID); err != nil {
			return err
		}
	}
	if s.Leader == m.cfg.BrokerID {
		if err := p.makeLeader(s); err != nil {
			return fmt.Errorf("%w: %v", ErrStorage, err)
		}
		return nil
	}
	p.makeFollower(s)
	return nil
}

// createPartition opens or creates the partition's log and checks its
// partition.metadata against the topic id.
func (m *Manager) createPartition(tp log.TopicPartition, id TopicID) (*Partition, error) {
	lc := log.DefaultConfig()
	if m.cfg.LogConfig != nil {
		var err error
		if lc, err = m.cfg.LogConfig(tp.Topic); err != nil {
			return nil, fmt.Errorf("%w: config of %s: %v", ErrStorage, tp, err)
		}
	}
	l, _, err := m.cfg.Logs.GetOrCreate(tp, lc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	onDisk, ok, err := ReadPartitionMetadata(l.Dir())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	if ok && !id.IsZero() && onDisk != id {
		return nil, fmt.Errorf("%w: the log of %s has topic id %s, the request says %s", ErrInconsistentTopicID, tp, onDisk, id)
	}
	if !ok && !id.IsZero() {
		if err := writePartitionMetadata(l.Dir(), id); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrStorage, err)
		}
	}
	if ok {
		id = onDisk
	}
	epochs, err := loadEpochCache(l.Dir())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	p := &Partition{tp: tp, brokerID: m.cfg.BrokerID, log: l, topicID: id, leader: -1, leaderEpoch: -1, epochs: epochs}
	m.mu.Lock()
	m.partitions[tp] = p
	m.mu.Unlock()
	return p, nil
}

// StopReplicas applies a StopReplica request (ReplicaManager.stopReplicas):
// refused whole from an older controller; per partition a leader epoch older
// than the current one is FENCED_LEADER_EPOCH; otherwise the partition stops
// serving and, with Delete, its log is deleted. Partitions not hosted here
// succeed (their log, if any, is still deleted).
func (m *Manager) StopReplicas(controllerID, controllerEpoch int32, parts []StopPartition) (map[log.TopicPartition]error, error) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if err := m.checkControllerEpochLocked(controllerEpoch); err != nil {
		return nil, err
	}
	out := make(map[log.TopicPartition]error, len(parts))
	for _, sp := range parts {
		tp := log.TopicPartition{Topic: sp.Topic, Partition: sp.Partition}
		err := m.stopPartition(tp, sp)
		out[tp] = err
		ev := m.log.Info()
		if err != nil {
			ev = m.log.Warn().Err(err)
		}
		ev.Str("partition", tp.String()).Bool("delete", sp.Delete).Int32("leaderEpoch", sp.LeaderEpoch).
			Int32("controller", controllerID).Int32("controllerEpoch", controllerEpoch).Msg("stop replica")
	}
	return out, nil
}

func (m *Manager) stopPartition(tp log.TopicPartition, sp StopPartition) error {
	if p := m.Partition(tp); p != nil {
		cur := p.LeaderEpoch()
		if sp.LeaderEpoch != EpochDuringDelete && sp.LeaderEpoch != NoEpoch && sp.LeaderEpoch < cur {
			return fmt.Errorf("%w: stop with leader epoch %d, current is %d", ErrFencedLeaderEpoch, sp.LeaderEpoch, cur)
		}
		p.stop(sp.LeaderEpoch)
		if sp.Delete {
			m.mu.Lock()
			delete(m.partitions, tp)
			m.mu.Unlock()
		}
	}
	if !sp.Delete {
		return nil
	}
	if err := m.cfg.Logs.Delete(tp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return nil
}
