package zkmeta

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// Epoch is what a won controller election yields: the controller epoch
// written to /controller_epoch and that znode's zkVersion after the write.
// The zkVersion, not the epoch value, fences every later controller write
// (KAFKA-6082).
type Epoch struct {
	Epoch          int32
	EpochZkVersion int32
}

// Unfenced is the fence of writers that are not the controller (brokers,
// admin paths): Kafka's expectedControllerEpochZkVersion of
// ZkVersion.MatchAnyVersion, "no check".
var Unfenced = Epoch{Epoch: -1, EpochZkVersion: MatchAnyVersion}

// InitialControllerEpoch and InitialControllerEpochZkVersion are
// KafkaController's: /controller_epoch starts at 0, so the first controller
// ever has epoch 1.
const (
	InitialControllerEpoch          int32 = 0
	InitialControllerEpochZkVersion int32 = 0
)

// RegisterController runs one controller election round for brokerID, as
// KafkaController.elect and KafkaZkClient.registerControllerAndIncrementControllerEpoch do:
//
//  1. if /controller exists, return a *ControllerExistsError naming its
//     broker (elect stops there);
//  2. read /controller_epoch (epoch E, zkVersion V), creating it with 0 if
//     missing;
//  3. one multi: create the ephemeral /controller and setData
//     /controller_epoch = E+1 expecting V;
//  4. on success the new epoch is E+1 and the fence is the zkVersion the
//     setData returned; on NODEEXISTS or BADVERSION re-read /controller and
//     /controller_epoch: if they say brokerID with epoch E+1, the multi did
//     succeed (a lost reply), otherwise another broker won (a
//     *ControllerExistsError) or the winner already left (ErrControllerMoved;
//     the caller runs the election again when its /controller watch fires).
//
// A zero timestampMs is filled from the Client's clock.
func (c *Client) RegisterController(brokerID int32, timestampMs int64) (Epoch, error) {
	if id, err := c.GetControllerID(); err == nil {
		return Epoch{}, &ControllerExistsError{ControllerID: id}
	} else if !errors.Is(err, zk.ErrNoNode) {
		return Epoch{}, err
	}
	if timestampMs == 0 {
		timestampMs = c.now().UnixMilli()
	}
	data, err := EncodeControllerInfo(&ControllerInfo{BrokerID: brokerID, TimestampMs: timestampMs, KRaftControllerEpoch: -1})
	if err != nil {
		return Epoch{}, err
	}
	cur, err := c.getOrCreateControllerEpoch()
	if err != nil {
		return Epoch{}, err
	}
	next := cur.Epoch + 1
	resps, _, err := c.multi(
		&zk.CreateRequest{Path: c.Abs(ControllerPath), Data: data, Acl: c.acl, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: c.Abs(ControllerEpochPath), Data: EncodeControllerEpoch(next), Version: cur.EpochZkVersion},
	)
	switch {
	case err == nil && len(resps) == 2 && resps[1].Stat != nil:
		won := Epoch{Epoch: next, EpochZkVersion: resps[1].Stat.Version}
		c.log.Info().Int32("broker", brokerID).Int32("epoch", won.Epoch).Int32("epoch_zk_version", won.EpochZkVersion).
			Msg("became controller")
		return won, nil
	case err == nil, errors.Is(err, zk.ErrNodeExists), errors.Is(err, zk.ErrBadVersion):
		return c.checkControllerAndEpoch(brokerID, next)
	default:
		return Epoch{}, fmt.Errorf("zkmeta: controller election: %w", err)
	}
}

// checkControllerAndEpoch is registerControllerAndIncrementControllerEpoch's
// read-back after NODEEXISTS/BADVERSION.
func (c *Client) checkControllerAndEpoch(brokerID, next int32) (Epoch, error) {
	id, err := c.GetControllerID()
	if errors.Is(err, zk.ErrNoNode) {
		return Epoch{}, fmt.Errorf("%w: /controller went away while checking the election", ErrControllerMoved)
	}
	if err != nil {
		return Epoch{}, err
	}
	if id != brokerID {
		return Epoch{}, &ControllerExistsError{ControllerID: id}
	}
	e, err := c.GetControllerEpoch()
	if err != nil {
		return Epoch{}, err
	}
	if e.Epoch == next {
		return e, nil
	}
	return Epoch{}, fmt.Errorf("%w: /controller names broker %d but the epoch is %d, not %d", ErrControllerMoved, id, e.Epoch, next)
}

// getOrCreateControllerEpoch is maybeCreateControllerEpochZNode.
func (c *Client) getOrCreateControllerEpoch() (Epoch, error) {
	e, err := c.GetControllerEpoch()
	if !errors.Is(err, zk.ErrNoNode) {
		return e, err
	}
	_, err = c.create(ControllerEpochPath, EncodeControllerEpoch(InitialControllerEpoch), zk.FlagPersistent)
	if err == nil {
		c.log.Info().Int32("epoch", InitialControllerEpoch).Msg("created /controller_epoch")
		return Epoch{Epoch: InitialControllerEpoch, EpochZkVersion: InitialControllerEpochZkVersion}, nil
	}
	if errors.Is(err, zk.ErrNodeExists) {
		return c.GetControllerEpoch()
	}
	return Epoch{}, err
}

// ResignController deletes /controller inside the fence, as
// KafkaZkClient.deleteController does on resignation; a missing /controller
// is not an error.
func (c *Client) ResignController(fence Epoch) error {
	_, err := c.fencedMulti(fence, &zk.DeleteRequest{Path: c.Abs(ControllerPath), Version: MatchAnyVersion})
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}
