package zabnode

import (
	"net"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/zab/transport"
)

// TestEnsembleOverTCP runs the leader-crash scenario with the real
// transport on loopback: members restart on the same addresses.
func TestEnsembleOverTCP(t *testing.T) {
	members := map[uint64]transport.Member{}
	for id := uint64(1); id <= 3; id++ {
		members[id] = transport.Member{QuorumAddr: freeAddr(t), ElectionAddr: freeAddr(t)}
	}
	logSink := &testlog.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("transport log:\n%s", logSink.Tail(60))
		}
	})
	tcp := func(id uint64) (Transport, func()) {
		tr, err := transport.New(transport.Config{ID: id, Members: members, Logger: zerolog.New(logSink).With().Uint64("member", id).Logger()})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		return tr, func() { tr.Close() }
	}
	leaderCrashScenario(newEnsembleWith(t, 3, tcp))
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
