package zkmeta

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// Reads the controller needs beyond read.go.

// GetPreferredReplicaElection reads /admin/preferred_replica_election
// (KafkaZkClient.getPreferredReplicaElection); a missing znode is an empty
// list.
func (c *Client) GetPreferredReplicaElection() ([]TopicPartition, error) {
	data, _, err := c.get(PreferredReplicaElectionPath)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tps, err := DecodePreferredReplicaElection(data)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: %s: %w", PreferredReplicaElectionPath, err)
	}
	return tps, nil
}

// GetLogDirEventNotification reads one log_dir_event_<seq> (a bare name or a
// path) and returns its broker. A notification deleted meanwhile wraps
// zk.ErrNoNode.
func (c *Client) GetLogDirEventNotification(name string) (int32, error) {
	seq, err := ParseSequenceNumber(name, LogDirEventPrefix)
	if err != nil {
		return 0, err
	}
	path := LogDirEventSeqPath(FormatSequenceNumber(seq))
	data, _, err := c.get(path)
	if err != nil {
		return 0, err
	}
	id, err := DecodeLogDirEventNotification(data)
	if err != nil {
		return 0, fmt.Errorf("zkmeta: %s: %w", path, err)
	}
	return id, nil
}

// DeleteOwnController deletes /controller if this session created it,
// conditional on the znode's version so a successor's registration is never
// touched. It is for a controller that lost its fence (its epoch write was
// overtaken) while /controller still names its session: without the delete
// nobody would run the next election until the session ended. It reports
// whether it deleted the znode.
func (c *Client) DeleteOwnController() (bool, error) {
	ok, stat, err := c.exists(ControllerPath)
	if err != nil || !ok {
		return false, err
	}
	if stat.EphemeralOwner != c.conn.SessionID() {
		return false, nil
	}
	err = c.retry(func() error { return c.conn.Delete(c.Abs(ControllerPath), stat.Version) })
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("zkmeta: delete %s: %w", ControllerPath, err)
	}
	return true, nil
}
