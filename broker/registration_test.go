package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// The broker epoch is the czxid of /brokers/ids/<id> (KIP-380), and a
// restarted broker whose crashed process left its registration behind takes
// the id over at once.
func TestBrokerEpochIsRegistrationCzxid(t *testing.T) {
	c := newTestCluster(t)
	cfg := c.testConfig(4)
	b := c.startWith(cfg, nil)
	_, stat, err := b.zkConn.Get(b.meta.Abs(zkmeta.BrokerIDPath(4)))
	if err != nil {
		t.Fatal(err)
	}
	if b.Epoch() != stat.Czxid || stat.EphemeralOwner != b.zkConn.SessionID() {
		t.Fatalf("epoch %d, czxid %d, owner %x, session %x", b.Epoch(), stat.Czxid, stat.EphemeralOwner, b.zkConn.SessionID())
	}
	session, _ := os.ReadFile(filepath.Join(cfg.LogDirs[0], sessionFile))
	if strings.TrimSpace(string(session)) == "" {
		t.Fatal("no session file")
	}

	// A second broker with the same id and log dir while the first one's
	// session lives: it replaces the registration of "its own previous
	// process" (the first broker plays the crashed one).
	cfg2 := *cfg
	b2 := c.startWith(&cfg2, nil)
	_, stat2, err := b2.zkConn.Get(b2.meta.Abs(zkmeta.BrokerIDPath(4)))
	if err != nil {
		t.Fatal(err)
	}
	if stat2.Czxid <= stat.Czxid || b2.Epoch() != stat2.Czxid {
		t.Fatalf("re-registration: czxid %d after %d, epoch %d", stat2.Czxid, stat.Czxid, b2.Epoch())
	}
}
