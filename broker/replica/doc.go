// Package replica holds the partitions this broker hosts (Kafka's
// ReplicaManager and Partition): it applies the controller's LeaderAndIsr and
// StopReplica decisions, appends producer batches to partitions it leads,
// keeps the high watermark, the leader epoch cache (leader-epoch-checkpoint)
// and partition.metadata, and wakes fetches and acks=all produces waiting for
// the high watermark to move.
//
// This version hosts single-replica partitions: a leader whose ISR is itself
// has HW = LEO after every append. Followers are recorded (so a produce to
// them answers NOT_LEADER_OR_FOLLOWER) but do not fetch yet; replication is
// the next step.
package replica
