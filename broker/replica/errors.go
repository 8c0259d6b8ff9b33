package replica

import "errors"

// Outcomes the broker translates to Kafka error codes.
var (
	ErrStaleControllerEpoch    = errors.New("stale controller epoch")      // STALE_CONTROLLER_EPOCH
	ErrNotLeaderOrFollower     = errors.New("not leader or follower")      // NOT_LEADER_OR_FOLLOWER
	ErrUnknownTopicOrPartition = errors.New("unknown topic or partition")  // UNKNOWN_TOPIC_OR_PARTITION
	ErrFencedLeaderEpoch       = errors.New("fenced leader epoch")         // FENCED_LEADER_EPOCH
	ErrUnknownLeaderEpoch      = errors.New("unknown leader epoch")        // UNKNOWN_LEADER_EPOCH
	ErrNotEnoughReplicas       = errors.New("not enough in-sync replicas") // NOT_ENOUGH_REPLICAS
	ErrInconsistentTopicID     = errors.New("inconsistent topic id")       // INCONSISTENT_TOPIC_ID
	ErrStorage                 = errors.New("log storage error")           // KAFKA_STORAGE_ERROR
)
