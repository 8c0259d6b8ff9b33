package zkmeta

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

func testBroker(id int32) *BrokerInfo {
	return &BrokerInfo{ID: id, JmxPort: -1,
		Endpoints: []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "127.0.0.1", Port: 9092 + id}}}
}

func TestRegisterBroker(t *testing.T) {
	s := startServer(t)
	c1, conn1 := newClient(t, s, "")
	c2, conn2 := newClient(t, s, "")

	epoch, err := c1.RegisterBroker(testBroker(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	data, stat, err := conn1.Get("/brokers/ids/1")
	if err != nil {
		t.Fatal(err)
	}
	if epoch != stat.Czxid || epoch <= 0 {
		t.Errorf("broker epoch %d, czxid %d", epoch, stat.Czxid)
	}
	if stat.EphemeralOwner != conn1.SessionID() {
		t.Errorf("owner 0x%x, session 0x%x", stat.EphemeralOwner, conn1.SessionID())
	}
	// The checked ephemeral is create(null)+setData(version 0) in one multi,
	// so the znode is at version 1 and holds the JSON with the clock's time.
	if stat.Version != 1 || !strings.Contains(string(data), `"timestamp":"1700000000000"`) {
		t.Errorf("version %d data %s", stat.Version, data)
	}

	// Re-registration by the same session (a retry after a lost reply)
	// succeeds with the same epoch.
	again, err := c1.RegisterBroker(testBroker(1), 0)
	if err != nil || again != epoch {
		t.Errorf("re-register: epoch %d err %v, want %d", again, err, epoch)
	}

	// Another live session cannot take the id.
	_, err = c2.RegisterBroker(testBroker(1), 0)
	var inUse *BrokerIDInUseError
	if !errors.Is(err, ErrBrokerIDInUse) || !errors.As(err, &inUse) || inUse.OwnerSession != conn1.SessionID() ||
		!strings.Contains(err.Error(), "broker id 1 is already registered by another session") {
		t.Fatalf("second session: %v", err)
	}
	// ... even when it claims the owner is its own previous session, as long
	// as that is not true.
	if _, err := c2.RegisterBroker(testBroker(1), 12345); !errors.Is(err, ErrBrokerIDInUse) {
		t.Fatalf("second session with an unrelated prev session: %v", err)
	}

	// A second broker id registers next to it; GetAllBrokers sees both with
	// their epochs.
	epoch2, err := c2.RegisterBroker(testBroker(2), 0)
	if err != nil || epoch2 <= epoch {
		t.Fatalf("broker 2: %d %v", epoch2, err)
	}
	all, err := c2.GetAllBrokers()
	if err != nil || len(all) != 2 || all[0].ID != 1 || all[0].Epoch != epoch || all[1].ID != 2 || all[1].Epoch != epoch2 {
		t.Fatalf("GetAllBrokers: %+v %v", all, err)
	}
	if all[1].Endpoints[0].Port != 9094 || all[1].TimestampMs != 1700000000000 {
		t.Errorf("broker 2 read back: %+v", all[1].BrokerInfo)
	}

	// The registration disappears with its session; the id is then free
	// and the new registration has a larger epoch (a bounced broker).
	conn1.Close()
	waitGone(t, conn2, "/brokers/ids/1")
	if ids, err := c2.GetBrokerIDs(); err != nil || len(ids) != 1 || ids[0] != 2 {
		t.Errorf("ids after close: %v %v", ids, err)
	}
	c3, _ := newClient(t, s, "")
	epoch3, err := c3.RegisterBroker(testBroker(1), 0)
	if err != nil || epoch3 <= epoch2 {
		t.Errorf("re-register after close: %d %v", epoch3, err)
	}
}

// A registration left by this process's previous (expired, not yet reaped)
// session is deleted and re-created (ZOOKEEPER-2985, KAFKA-7165).
func TestRegisterBrokerReplacesPreviousSession(t *testing.T) {
	s := startServer(t)
	old, oldConn := newClient(t, s, "")
	if _, err := old.RegisterBroker(testBroker(5), 0); err != nil {
		t.Fatal(err)
	}
	c, conn := newClient(t, s, "")
	epoch, err := c.RegisterBroker(testBroker(5), oldConn.SessionID())
	if err != nil {
		t.Fatal(err)
	}
	_, stat, err := conn.Get("/brokers/ids/5")
	if err != nil || stat.EphemeralOwner != conn.SessionID() || stat.Czxid != epoch {
		t.Fatalf("stat %+v err %v", stat, err)
	}
}

func TestRegisterBrokerRejectsBadInfo(t *testing.T) {
	s := startServer(t)
	c, conn := newClient(t, s, "")
	if _, err := c.RegisterBroker(&BrokerInfo{ID: 1}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no endpoints: %v", err)
	}
	if ok, _, _ := conn.Exists("/brokers/ids/1"); ok {
		t.Error("invalid registration written")
	}
}

func TestGenerateBrokerID(t *testing.T) {
	s := startServer(t)
	c, _ := newClient(t, s, "")
	for want := int32(1001); want <= 1003; want++ {
		if id, err := c.GenerateBrokerID(1000); err != nil || id != want {
			t.Fatalf("got %d %v, want %d", id, err, want)
		}
	}
}

func TestChroot(t *testing.T) {
	s := startServer(t)
	c, conn := newClient(t, s, "/kafka/prod")
	if _, err := c.RegisterBroker(testBroker(1), 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(PersistentPaths(), "/brokers/ids/1") {
		if ok, _, err := conn.Exists("/kafka/prod" + p); err != nil || !ok {
			t.Errorf("%s missing under the chroot: %v", p, err)
		}
	}
	if ok, _, _ := conn.Exists("/brokers"); ok {
		t.Error("/brokers created outside the chroot")
	}
	e, err := c.RegisterController(1, 0)
	if err != nil || e.Epoch != 1 {
		t.Fatalf("controller under chroot: %+v %v", e, err)
	}
	created, err := c.CreateConfigChangeNotification("topics/t")
	if err != nil || created != "/config/changes/config_change_0000000000" {
		t.Errorf("sequential create under chroot returned %q %v", created, err)
	}
	if ok, _, _ := conn.Exists("/kafka/prod/controller"); !ok {
		t.Error("controller not under chroot")
	}
	// Idempotent.
	if err := c.CreatePersistentPaths(); err != nil {
		t.Error(err)
	}
	_ = zk.ErrNoNode
}
