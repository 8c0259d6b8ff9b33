// Package controller is Kafka's ZooKeeper-mode controller (KafkaController,
// Apache Kafka 2.8-3.4): the one broker that won the ephemeral /controller
// decides every partition's leader and ISR, writes them to ZooKeeper and tells
// the brokers with LeaderAndIsr, UpdateMetadata and StopReplica requests.
//
// # Shape
//
// One goroutine (Run) is the event loop of ControllerEventManager: ZooKeeper
// watch callbacks, the broker-to-controller RPCs (ControlledShutdown,
// AlterPartition), responses of controller requests and timers only enqueue
// events; the loop processes them one at a time and is the only code that
// reads or writes the controller's state. The pieces, by file:
//
//   - election.go: campaigning for /controller, failover (building the
//     context from ZooKeeper), resignation, session expiry.
//   - context.go, states.go: the controller context (live brokers and their
//     epochs, assignments, leaders and ISRs with their zkVersions, partition
//     and replica states, topics being deleted).
//   - rules.go: the leader election rules of PartitionLeaderElectionAlgorithms
//     and Election.scala as pure functions.
//   - partitions.go, replicas.go: the partition and replica state machines.
//   - batch.go, channel.go: ControllerBrokerRequestBatch (LeaderAndIsr and
//     StopReplica per broker, then UpdateMetadata to all) and
//     ControllerChannelManager (one queue and sender goroutine per broker, so
//     a slow or dead broker holds up nobody else; a request is retried until
//     it is answered or the broker leaves).
//   - brokers.go, topics.go, deletion.go, shutdown.go, alterpartition.go,
//     rebalance.go, notifications.go: the event handlers.
//
// # Fencing
//
// Every ZooKeeper write the controller makes goes through zkmeta's fenced
// writes: a multi whose first op checks the /controller_epoch zkVersion this
// controller wrote when it was elected (KAFKA-6082). A write that fails that
// check returns zkmeta.ErrControllerMoved and the controller resigns at once:
// it drops its in-memory state, its request queues and its watches' meaning,
// and only campaigns again when /controller is free.
//
// # Sessions
//
// The controller shares the broker's ZooKeeper session. It notices a lost
// session from its watches (EventNotWatching) and by polling the session id;
// either way it resigns at once, forgets its watches and campaigns again
// once the client has a new session. The broker re-registers
// /brokers/ids/<id> itself; the controller sees that like any broker change.
//
// # Deviations from Kafka
//
//   - Partition reassignment (/admin/reassign_partitions and the
//     AlterPartitionReassignments API), the ElectLeaders API, the
//     feature-versioning checks of /feature and delegation tokens are not
//     implemented; a reassignment in progress (adding/removing replicas in
//     /brokers/topics/<t>) is carried to the brokers but not driven.
//   - AlterPartition: a write rejected by the fence answers NOT_CONTROLLER
//     (Kafka: UNKNOWN_SERVER_ERROR) and resigns at once; a request from a
//     broker that is not the leader answers NOT_LEADER_OR_FOLLOWER, and an
//     ISR without its leader, with a replica twice or an unknown leader
//     recovery state answers INVALID_REQUEST (Kafka would write them or
//     fail the whole request).
//   - ControlledShutdown from a broker that is not registered answers
//     BROKER_NOT_AVAILABLE (Kafka: UNKNOWN_SERVER_ERROR when the request has
//     a broker epoch).
//   - The leader-and-ISR retry loops after BADVERSION stop after 50 rounds
//     (Kafka loops without a bound).
//   - Kafka's ZooKeeper client blocks a request until it is connected
//     again; zkmeta gives up after a few retries. An event that failed that
//     way may be half done, so the controller then rebuilds its state from
//     ZooKeeper under the same epoch (a failover without an election).
package controller
