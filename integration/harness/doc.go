// Package harness runs real ZooKeeper server processes for tests and benchmarks: zkd built
// from this module, and Apache ZooKeeper from Debian's zookeeper package.
//
// A standalone server runs on 127.0.0.1 with its own directory holding zoo.cfg, data/ and
// the process log, and counts as started once a srvr four-letter command answers with
// "Zookeeper version:", which is what zkServer.sh's status check relies on too.
//
// An Ensemble (ensemble*.go) runs members with the same zoo.cfg keys for both servers
// (server.N lines, initLimit, syncLimit, myid), starts them together and counts them ready
// when exactly one says "Mode: leader" in srvr and every other live member follows or
// observes. It kills, stops, pauses and restarts members, cuts connections between them with
// nftables (ensemble_netfilter.go) and starts outsiders that talk to them.
//
// Tests use Zkd, ApacheZK and StartTestEnsemble (harness_testing.go, ensemble_testing.go);
// tools call StartZkd, StartApacheZK and StartEnsemble.
package harness
