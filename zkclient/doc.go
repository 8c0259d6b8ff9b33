// Package zkclient is a ZooKeeper client on the jute package: one session
// over one TCP connection at a time, reconnecting to the ensemble and
// resuming the session, as the Java client's ClientCnxn does.
//
// Why not github.com/go-zookeeper/zk, which the rest of the project's tests
// use: its v1.0.4 API has no addWatch (persistent and persistent-recursive
// watches), removeWatches, getEphemerals, getAllChildrenNumber, whoAmI or
// getConfig-with-watch, and no generic way to send an opcode it does not
// know, so zkcli could not offer half of zkCli.sh's commands on it. The
// records are already in jute (the server decodes them), so the client is
// the connection state machine only.
//
// The watch model is the Java client's with one watcher: every event goes to
// Config.OnEvent (the "default watcher"), in the order the server sent it,
// from one goroutine. The client keeps the Java ZKWatchManager's books
// (data, exist, child, persistent, persistent-recursive watches by path) so
// that it can re-register them after a reconnect (setWatches2) and check
// removeWatches locally.
//
// Requests issued while disconnected wait for the next connection attempt;
// if that attempt fails they fail with jute.ErrConnectionLoss, as queued
// packets do in ClientCnxn.cleanup.
package zkclient
