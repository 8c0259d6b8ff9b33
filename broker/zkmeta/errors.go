package zkmeta

import (
	"errors"
	"fmt"
)

// Sentinel errors. Wrapped errors carry the operation and path; test with
// errors.Is.
var (
	// ErrBadData: a znode holds data that is not the record Kafka writes there
	// (not JSON, a missing field, a field of the wrong JSON type).
	ErrBadData = errors.New("zkmeta: malformed znode data")
	// ErrUnsupportedVersion: the record's "version" is not one Kafka wrote.
	// Errors wrapping it also wrap ErrBadData.
	ErrUnsupportedVersion = errors.New("zkmeta: unsupported record version")
	// ErrInvalid: a record or argument that Kafka would refuse to write
	// (an empty ISR, an illegal topic name, a negative broker id, ...).
	ErrInvalid = errors.New("zkmeta: invalid record")

	// ErrControllerMoved is Kafka's ControllerMovedException: the
	// /controller_epoch zkVersion is no longer the one this controller
	// wrote, so another broker has been elected since. The write was not
	// applied; the caller must resign.
	ErrControllerMoved = errors.New("zkmeta: controller moved")
	// ErrControllerExists: an election found /controller held by a broker.
	// The error is a *ControllerExistsError naming it.
	ErrControllerExists = errors.New("zkmeta: a controller is already registered")
	// ErrBrokerIDInUse: /brokers/ids/<id> exists and is owned by another
	// live session. The error is a *BrokerIDInUseError.
	ErrBrokerIDInUse = errors.New("zkmeta: broker id is already registered")

	// ErrVersionConflict is ZooKeeper's BADVERSION on a conditional write
	// (a partition state, a topic assignment, the producer id block): the
	// znode changed since it was read.
	ErrVersionConflict = errors.New("zkmeta: znode version conflict")
	// ErrTopicExists: /brokers/topics/<t> already exists.
	ErrTopicExists = errors.New("zkmeta: topic already exists")
	// ErrTopicMarkedForDeletion: /admin/delete_topics/<t> already exists.
	ErrTopicMarkedForDeletion = errors.New("zkmeta: topic is already marked for deletion")
	// ErrPartitionStateExists: a partition state znode that should be new
	// already exists.
	ErrPartitionStateExists = errors.New("zkmeta: partition state already exists")
)

// ControllerExistsError is returned by RegisterController when another broker
// (or this one, from an earlier attempt whose epoch did not match) holds
// /controller. It matches ErrControllerExists.
type ControllerExistsError struct {
	ControllerID int32
}

func (e *ControllerExistsError) Error() string {
	return fmt.Sprintf("zkmeta: broker %d is already the controller", e.ControllerID)
}

// Is makes errors.Is(err, ErrControllerExists) true.
func (e *ControllerExistsError) Is(target error) bool { return target == ErrControllerExists }

// BrokerIDInUseError is returned by RegisterBroker when /brokers/ids/<id>
// belongs to another session. It matches ErrBrokerIDInUse.
type BrokerIDInUseError struct {
	BrokerID     int32
	OwnerSession int64 // ephemeralOwner of the existing znode
	OurSession   int64
}

func (e *BrokerIDInUseError) Error() string {
	return fmt.Sprintf("zkmeta: broker id %d is already registered by another session (owner 0x%x, ours 0x%x)",
		e.BrokerID, e.OwnerSession, e.OurSession)
}

// Is makes errors.Is(err, ErrBrokerIDInUse) true.
func (e *BrokerIDInUseError) Is(target error) bool { return target == ErrBrokerIDInUse }

// badData builds an error wrapping ErrBadData that names the record.
func badData(record, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadData, record, fmt.Sprintf(format, args...))
}

// badVersion builds an error wrapping ErrUnsupportedVersion and ErrBadData.
func badVersion(record string, v int64, supported string) error {
	return fmt.Errorf("%w: %s: version %d (supported: %s) (%w)", ErrUnsupportedVersion, record, v, supported, ErrBadData)
}

// invalid builds an error wrapping ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
