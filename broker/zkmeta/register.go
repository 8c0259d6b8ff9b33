package zkmeta

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// RegisterBroker writes the broker's ephemeral /brokers/ids/<id> and returns
// the broker epoch (KIP-380): the czxid of the znode. It is
// KafkaZkClient.registerBroker, whose CheckedEphemeral does:
//
//  1. multi(create(path, null, EPHEMERAL), setData(path, json, version 0));
//  2. on NODEEXISTS read the znode: if its ephemeralOwner is this session the
//     earlier create succeeded (its reply was lost) and the znode is ours;
//     if the owner is prevSessionID, the session this process held before an
//     expiry whose ephemeral ZooKeeper has not yet removed (ZOOKEEPER-2985,
//     KAFKA-7165), delete it and create again; otherwise another live broker
//     has the id and the result is a *BrokerIDInUseError;
//  3. if the znode vanished between the create and the read, start again.
//
// A re-registration by the same session is a success and returns the same
// epoch; its data is not rewritten. prevSessionID is 0 when there was none.
// A zero TimestampMs is filled from the Client's clock.
func (c *Client) RegisterBroker(info *BrokerInfo, prevSessionID int64) (brokerEpoch int64, err error) {
	if info.TimestampMs == 0 {
		cp := *info
		cp.TimestampMs = c.now().UnixMilli()
		info = &cp
	}
	data, err := EncodeBrokerInfo(info)
	if err != nil {
		return 0, err
	}
	path := BrokerIDPath(info.ID)
	for attempt := 0; attempt < 10; attempt++ {
		stat, err := c.checkedEphemeralCreate(path, data)
		if err == nil {
			c.log.Info().Int32("broker", info.ID).Int64("epoch", stat.Czxid).
				Str("session", fmt.Sprintf("0x%x", c.conn.SessionID())).Msg("registered broker")
			return stat.Czxid, nil
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return 0, err
		}
		_, stat, err = c.get(path)
		if errors.Is(err, zk.ErrNoNode) {
			continue // the old ephemeral went away; create again
		}
		if err != nil {
			return 0, err
		}
		ours := c.conn.SessionID()
		switch owner := stat.EphemeralOwner; {
		case owner == ours:
			return stat.Czxid, nil
		case prevSessionID != 0 && owner == prevSessionID:
			c.log.Info().Int32("broker", info.ID).Str("session", fmt.Sprintf("0x%x", owner)).
				Msg("deleting registration left by our expired session")
			if err := c.retry(func() error { return c.conn.Delete(c.Abs(path), stat.Version) }); err != nil &&
				!errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return 0, fmt.Errorf("zkmeta: delete %s: %w", path, err)
			}
		default:
			return 0, &BrokerIDInUseError{BrokerID: info.ID, OwnerSession: owner, OurSession: ours}
		}
	}
	return 0, fmt.Errorf("zkmeta: registering broker %d: %s keeps changing", info.ID, path)
}

// checkedEphemeralCreate is CheckedEphemeral.create's multi; it returns the
// stat of the setData, whose Czxid is the create's zxid.
func (c *Client) checkedEphemeralCreate(path string, data []byte) (*zk.Stat, error) {
	resps, _, err := c.multi(
		&zk.CreateRequest{Path: c.Abs(path), Data: nil, Acl: c.acl, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: c.Abs(path), Data: data, Version: 0},
	)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: create ephemeral %s: %w", path, err)
	}
	if len(resps) < 2 || resps[1].Stat == nil {
		// A server that answers no per-op results: read the stat.
		_, stat, err := c.get(path)
		return stat, err
	}
	return resps[1].Stat, nil
}

// GenerateBrokerID hands out a broker id as KafkaZkClient.generateBrokerSequenceId
// does when broker.id.generation.enable is set: an unconditional setData on
// /brokers/seqid (created if missing) bumps its zkVersion, and the new
// version plus reserved.broker.max.id (default 1000) is the id, so the first
// generated id is 1001.
func (c *Client) GenerateBrokerID(reservedMaxID int32) (int32, error) {
	stat, err := c.set(BrokerSeqIDPath, nil, MatchAnyVersion)
	if errors.Is(err, zk.ErrNoNode) {
		if err := c.createRecursive(BrokerSeqIDPath, nil); err != nil {
			return 0, err
		}
		stat, err = c.set(BrokerSeqIDPath, nil, MatchAnyVersion)
	}
	if err != nil {
		return 0, err
	}
	return stat.Version + reservedMaxID, nil
}
