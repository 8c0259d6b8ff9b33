// Package harness runs real ZooKeeper server processes for tests and benchmarks: zkd built
// from this module, and Apache ZooKeeper from Debian's zookeeper package.
//
// Every server is standalone on 127.0.0.1 with its own directory holding zoo.cfg, data/ and
// the process log. A server counts as started once a srvr four-letter command answers with
// "Zookeeper version:", which is what zkServer.sh's status check relies on too.
//
// Tests use Zkd and ApacheZK (harness_testing.go); tools call StartZkd and StartApacheZK.
package harness
