// Package zkservertest starts an in-memory zkd for the tests of packages
// that talk to ZooKeeper (clients, Kafka metadata): a real server on a
// loopback port, no process to build.
package zkservertest

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/zkserver"
)

// Start runs an in-memory standalone zkd on a free loopback port until the
// test ends. Ticks are 50 ms so sessions expire in well under a second,
// and TTL nodes are enabled.
func Start(t testing.TB) *zkserver.Server {
	t.Helper()
	cfg := zkserver.DefaultConfig()
	cfg.ClientPort = 0
	cfg.TickTime = 50 * time.Millisecond
	cfg.MinSessionTimeout, cfg.MaxSessionTimeout = 100*time.Millisecond, 10*time.Second
	cfg.ExtendedTypesEnabled = true
	s := zkserver.New(cfg, zerolog.Nop())
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}
