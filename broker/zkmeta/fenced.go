package zkmeta

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
)

// fencedMulti runs ops in one multi whose first op is
// check(/controller_epoch, fence.EpochZkVersion), as
// KafkaZkClient.retryRequestsUntilConnected(requests, expectedControllerEpochZkVersion)
// wraps every controller request. If the check fails the result wraps
// ErrControllerMoved and nothing was applied. The returned responses exclude
// the check. A fence of Unfenced adds no check, as Kafka does for
// MatchAnyVersion.
func (c *Client) fencedMulti(fence Epoch, ops ...any) ([]zk.MultiResponse, error) {
	fenced := fence.EpochZkVersion >= 0
	if fenced {
		ops = append([]any{&zk.CheckVersionRequest{Path: c.Abs(ControllerEpochPath), Version: fence.EpochZkVersion}}, ops...)
	}
	resps, failed, err := c.multi(ops...)
	if fenced && len(resps) > 0 {
		resps = resps[1:]
	}
	if err == nil {
		return resps, nil
	}
	if fenced && (failed == 0 || failed < 0 && c.fenceBroken(fence, err)) {
		return nil, fmt.Errorf("%w: /controller_epoch zkVersion is not %d (%v)", ErrControllerMoved, fence.EpochZkVersion, err)
	}
	return resps, err
}

// fenceBroken decides, for a server that gave no per-op results, whether a
// failed multi failed on the epoch check.
func (c *Client) fenceBroken(fence Epoch, err error) bool {
	if !errors.Is(err, zk.ErrBadVersion) && !errors.Is(err, zk.ErrNoNode) {
		return false
	}
	ok, stat, serr := c.exists(ControllerEpochPath)
	return serr == nil && (!ok || stat.Version != fence.EpochZkVersion)
}

// fencedCreate creates path inside the fence; NODEEXISTS is passed through.
func (c *Client) fencedCreate(fence Epoch, path string, data []byte) error {
	_, err := c.fencedMulti(fence, &zk.CreateRequest{Path: c.Abs(path), Data: data, Acl: c.acl, Flags: zk.FlagPersistent})
	if err != nil {
		return fmt.Errorf("zkmeta: create %s: %w", path, err)
	}
	return nil
}

// fencedSet is a conditional setData inside the fence; it returns the new
// zkVersion. BADVERSION on the znode itself wraps ErrVersionConflict.
func (c *Client) fencedSet(fence Epoch, path string, data []byte, version int32) (int32, error) {
	resps, err := c.fencedMulti(fence, &zk.SetDataRequest{Path: c.Abs(path), Data: data, Version: version})
	if errors.Is(err, zk.ErrBadVersion) && !errors.Is(err, ErrControllerMoved) {
		err = fmt.Errorf("%w: expected zkVersion %d (%w)", ErrVersionConflict, version, err)
	}
	if err != nil {
		return 0, fmt.Errorf("zkmeta: set %s: %w", path, err)
	}
	if len(resps) == 1 && resps[0].Stat != nil {
		return resps[0].Stat.Version, nil
	}
	_, stat, err := c.get(path)
	if err != nil {
		return 0, err
	}
	return stat.Version, nil
}

// fencedDelete deletes path inside the fence; a missing path is not an error
// (Kafka's deletes treat NONODE as done).
func (c *Client) fencedDelete(fence Epoch, path string) error {
	_, err := c.fencedMulti(fence, &zk.DeleteRequest{Path: c.Abs(path), Version: MatchAnyVersion})
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("zkmeta: delete %s: %w", path, err)
	}
	return nil
}

// fencedDeleteRecursive is KafkaZkClient.deleteRecursive: children first,
// each delete fenced.
func (c *Client) fencedDeleteRecursive(fence Epoch, path string) error {
	kids, err := c.children(path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	slices.Sort(kids)
	for _, k := range kids {
		if err := c.fencedDeleteRecursive(fence, path+"/"+k); err != nil {
			return err
		}
	}
	err = c.fencedDelete(fence, path)
	if errors.Is(err, zk.ErrNotEmpty) {
		// A child appeared meanwhile; go round again, as deleteRecursive does.
		return c.fencedDeleteRecursive(fence, path)
	}
	return err
}

// SetTopicAssignment rewrites /brokers/topics/<t> inside the fence
// (KafkaZkClient.setTopicAssignment: reassignment, topic-id backfill, added
// partitions). expectedVersion is the znode's zkVersion or MatchAnyVersion;
// the new zkVersion is returned.
func (c *Client) SetTopicAssignment(fence Epoch, topic string, a *TopicAssignment, expectedVersion int32) (int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return 0, err
	}
	data, err := EncodeTopicAssignment(a)
	if err != nil {
		return 0, err
	}
	return c.fencedSet(fence, TopicPath(topic), data, expectedVersion)
}

// CreatePartitionState creates /brokers/topics/<t>/partitions/<p>/state for a
// new partition, as KafkaZkClient.createTopicPartitionStatesRaw does: the
// partitions and partition znodes first (existing ones are fine), then the
// state, each in its own fenced multi. It returns the state's zkVersion (0),
// the first partition epoch. An existing state wraps ErrPartitionStateExists.
func (c *Client) CreatePartitionState(fence Epoch, topic string, partition int32, s *PartitionState) (int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return 0, err
	}
	if partition < 0 {
		return 0, invalid("partition %d is negative", partition)
	}
	data, err := EncodePartitionState(s)
	if err != nil {
		return 0, err
	}
	for _, p := range []string{TopicPartitionsPath(topic), TopicPartitionPath(topic, partition)} {
		if err := c.fencedCreate(fence, p, nil); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return 0, err
		}
	}
	err = c.fencedCreate(fence, PartitionStatePath(topic, partition), data)
	if errors.Is(err, zk.ErrNodeExists) {
		return 0, fmt.Errorf("%w: %w", ErrPartitionStateExists, err)
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// UpdatePartitionState writes a partition's leader and ISR, conditional on
// the state znode's zkVersion (the partition epoch) and inside the fence, as
// KafkaZkClient.updateLeaderAndIsr does. It returns the new zkVersion.
//
// A stale zkVersion wraps ErrVersionConflict; the controller then re-reads
// the state and runs its election again. Before reporting the conflict the
// znode is read back: if it holds exactly the bytes written at
// expectedVersion+1, the write did happen and its reply was lost (a
// connection-loss retry), and that is a success (ReplicationUtils'
// checker).
func (c *Client) UpdatePartitionState(fence Epoch, topic string, partition int32, s *PartitionState, expectedVersion int32) (int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return 0, err
	}
	data, err := EncodePartitionState(s)
	if err != nil {
		return 0, err
	}
	path := PartitionStatePath(topic, partition)
	v, err := c.fencedSet(fence, path, data, expectedVersion)
	if errors.Is(err, ErrVersionConflict) && expectedVersion >= 0 {
		if cur, stat, gerr := c.get(path); gerr == nil && stat.Version == expectedVersion+1 && bytes.Equal(cur, data) {
			return stat.Version, nil
		}
	}
	return v, err
}

// UpdateIsrAsLeader is the partition leader's own ISR write on the ZooKeeper
// path (ReplicationUtils.updateLeaderAndIsr, used before AlterPartition):
// unfenced, conditional on the cached zkVersion, with the same read-back as
// UpdatePartitionState. The state keeps the controller_epoch and leader_epoch
// of the LeaderAndIsr that made this broker leader.
func (c *Client) UpdateIsrAsLeader(topic string, partition int32, s *PartitionState, cachedZkVersion int32) (int32, error) {
	if cachedZkVersion < 0 {
		return 0, invalid("a leader's ISR update needs its cached zkVersion")
	}
	return c.UpdatePartitionState(Unfenced, topic, partition, s, cachedZkVersion)
}

// DeleteTopicZNodes deletes /brokers/topics/<t> and everything below it,
// fenced (KafkaZkClient.deleteTopicZNode).
func (c *Client) DeleteTopicZNodes(fence Epoch, topic string) error {
	if err := ValidateTopicName(topic); err != nil {
		return err
	}
	return c.fencedDeleteRecursive(fence, TopicPath(topic))
}

// DeleteTopicConfig deletes /config/topics/<t>, fenced
// (KafkaZkClient.deleteTopicConfigs).
func (c *Client) DeleteTopicConfig(fence Epoch, topic string) error {
	if err := ValidateTopicName(topic); err != nil {
		return err
	}
	return c.fencedDelete(fence, TopicConfigPath(topic))
}

// DeleteTopicDeletion deletes /admin/delete_topics/<t>, fenced
// (KafkaZkClient.deleteTopicDeletions).
func (c *Client) DeleteTopicDeletion(fence Epoch, topic string) error {
	if err := ValidateTopicName(topic); err != nil {
		return err
	}
	return c.fencedDelete(fence, DeleteTopicPath(topic))
}

// CompleteTopicDeletion removes a deleted topic's znodes in the order
// TopicDeletionManager.completeDeleteTopic uses: the topic (with its
// partition states), its config, then the deletion marker, so a controller
// that fails over midway still sees the marker and finishes the job.
func (c *Client) CompleteTopicDeletion(fence Epoch, topic string) error {
	if err := c.DeleteTopicZNodes(fence, topic); err != nil {
		return err
	}
	if err := c.DeleteTopicConfig(fence, topic); err != nil {
		return err
	}
	return c.DeleteTopicDeletion(fence, topic)
}

// DeleteIsrChangeNotifications deletes isr_change_<seq> children by name,
// fenced (KafkaZkClient.deleteIsrChangeNotifications); names may be bare
// ("isr_change_0000000001") or full paths.
func (c *Client) DeleteIsrChangeNotifications(fence Epoch, names []string) error {
	return c.deleteChildren(fence, IsrChangeNotificationPath, IsrChangePrefix, names)
}

// DeleteLogDirEventNotifications deletes log_dir_event_<seq> children by
// name, fenced (KafkaZkClient.deleteLogDirEventNotifications).
func (c *Client) DeleteLogDirEventNotifications(fence Epoch, names []string) error {
	return c.deleteChildren(fence, LogDirEventNotificationPath, LogDirEventPrefix, names)
}

func (c *Client) deleteChildren(fence Epoch, parent, prefix string, names []string) error {
	for _, n := range names {
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			n = n[i+1:]
		}
		if _, err := ParseSequenceNumber(n, prefix); err != nil {
			return err
		}
		if err := c.fencedDelete(fence, parent+"/"+n); err != nil {
			return err
		}
	}
	return nil
}

// DeletePartitionReassignment deletes the legacy /admin/reassign_partitions,
// fenced (KafkaZkClient.deletePartitionReassignment).
func (c *Client) DeletePartitionReassignment(fence Epoch) error {
	return c.fencedDelete(fence, ReassignPartitionsPath)
}

// DeletePreferredReplicaElection deletes /admin/preferred_replica_election,
// fenced (KafkaZkClient.deletePreferredReplicaElection).
func (c *Client) DeletePreferredReplicaElection(fence Epoch) error {
	return c.fencedDelete(fence, PreferredReplicaElectionPath)
}
