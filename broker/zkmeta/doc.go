// Package zkmeta is Kafka's ZooKeeper layout for brokerd: the znode paths,
// the JSON records stored in them, and the writes Kafka makes, including the
// zombie-controller fencing of KAFKA-6082. It follows Apache Kafka 2.8-3.4 in
// ZooKeeper mode (core/src/main/scala/kafka/zk/ZkData.scala and
// KafkaZkClient.scala); reference/kafka.md section 1 is the contract.
//
// The package has three layers:
//
//   - paths.go: the znode paths, as logical paths below the chroot
//     ("/brokers/ids/1"), and the persistent paths every broker creates.
//   - records_*.go: one Encode/Decode pair per record family. Encoders write
//     the fields, types and versions Kafka writes (timestamps and producer id
//     block bounds as JSON strings, "version":"1" as a string in /cluster/id,
//     /controller_epoch as bare decimal text) in a fixed key order; decoders
//     accept every version Kafka has written, match keys exactly, never panic
//     and name the record and field in their errors.
//   - Client: the reads and writes against a ZooKeeper session, with the
//     chroot applied. Broker registration is the checked ephemeral create of
//     KafkaZkClient.registerBroker; controller election is
//     registerControllerAndIncrementControllerEpoch; every controller write
//     is a multi whose first op checks the /controller_epoch zkVersion, so a
//     zombie controller's write fails with ErrControllerMoved and changes
//     nothing.
//
// # Chroot
//
// zookeeper.connect may end in a chroot ("zk1:2181,zk2:2181/kafka").
// go-zookeeper has no chroot support, so the Client prefixes every path with
// Config.Chroot itself: callers always use the logical paths from paths.go.
// ParseConnect splits a zookeeper.connect string into servers and chroot;
// CreatePersistentPaths creates the chroot znode first, as Kafka's
// KafkaZkClient.createChrootIfNecessary does. A caller that sets watches with
// the raw *zk.Conn uses Client.Abs to build the watched path and Client.Rel to
// map an event's path back.
//
// # Errors
//
// Expected outcomes are sentinels (ErrControllerMoved, ErrControllerExists,
// ErrBrokerIDInUse, ErrTopicExists, ErrVersionConflict, ...). A missing znode
// is reported by wrapping zk.ErrNoNode, so errors.Is(err, zk.ErrNoNode) works.
// Malformed znode data gives an error wrapping ErrBadData (and
// ErrUnsupportedVersion for an unknown record version).
package zkmeta
