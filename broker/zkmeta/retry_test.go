package zkmeta

import (
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// lossyConn applies writes but loses the reply of the first `lose` ones, as
// a connection dropped after the server committed: the Client must re-send
// and recognise its own write through the read-back paths Kafka has.
type lossyConn struct {
	*zk.Conn
	mu   sync.Mutex
	lose int
}

func (l *lossyConn) drop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lose > 0 {
		l.lose--
		return true
	}
	return false
}

func (l *lossyConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	r, err := l.Conn.Multi(ops...)
	if l.drop() {
		return nil, zk.ErrConnectionClosed
	}
	return r, err
}

func (l *lossyConn) Set(path string, data []byte, version int32) (*zk.Stat, error) {
	st, err := l.Conn.Set(path, data, version)
	if l.drop() {
		return nil, zk.ErrConnectionClosed
	}
	return st, err
}

// headerErrConn answers multis without per-op results, as a server that
// reports a failed multi only in the reply header would.
type headerErrConn struct{ *zk.Conn }

func (h headerErrConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	_, err := h.Conn.Multi(ops...)
	return nil, err
}

func wrapClient(t *testing.T, conn Conn) *Client {
	t.Helper()
	c, err := New(conn, Config{RetryBackoff: time.Millisecond, Rand: rand.New(rand.NewSource(2))})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePersistentPaths(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLostRepliesAreRecognised(t *testing.T) {
	s := startServer(t)
	lc := &lossyConn{Conn: connect(t, s)}
	c := wrapClient(t, lc)

	// Registration: the re-sent multi hits NODEEXISTS, the znode's owner
	// is our session, so it is ours.
	lc.lose = 1
	epoch, err := c.RegisterBroker(testBroker(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, stat, _ := lc.Conn.Get("/brokers/ids/1"); stat.Czxid != epoch {
		t.Errorf("epoch %d, czxid %d", epoch, stat.Czxid)
	}

	// Election: NODEEXISTS on the re-send; /controller names us and the
	// epoch is the one we wrote.
	lc.lose = 1
	fence, err := c.RegisterController(1, 0)
	if err != nil || fence != (Epoch{1, 1}) {
		t.Fatalf("election after a lost reply: %+v %v", fence, err)
	}

	// A conditional state update: BADVERSION on the re-send, the stored
	// bytes are ours at expected+1.
	a := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1}}}}
	if _, err := c.CreateTopic("t", a, nil); err != nil {
		t.Fatal(err)
	}
	st := &PartitionState{ControllerEpoch: 1, Leader: 1, Isr: []int32{1}}
	if _, err := c.CreatePartitionState(fence, "t", 0, st); err != nil {
		t.Fatal(err)
	}
	lc.lose = 1
	st2 := &PartitionState{ControllerEpoch: 1, Leader: 1, LeaderEpoch: 1, Isr: []int32{1}}
	if v, err := c.UpdatePartitionState(fence, "t", 0, st2, 0); err != nil || v != 1 {
		t.Errorf("update after a lost reply: %d %v", v, err)
	}

	// The producer id block: the lost Set is re-sent, hits BADVERSION, and
	// the read-back finds our block.
	lc.lose = 1
	b, err := c.AllocateProducerIDBlock(1)
	if err != nil || b != (ProducerIDBlock{1, 0, 999}) {
		t.Fatalf("block %+v %v", b, err)
	}
	last, _, _, _ := c.GetProducerIDBlock()
	if last != b {
		t.Errorf("returned %+v, stored %+v", b, last)
	}

	// Retries are bounded.
	lc.lose = 100
	if _, err := c.RegisterBroker(testBroker(2), 0); !errors.Is(err, zk.ErrConnectionClosed) {
		t.Errorf("endless connection loss: %v", err)
	}
}

func TestServerWithoutPerOpMultiResults(t *testing.T) {
	s := startServer(t)
	raw := connect(t, s)
	c := wrapClient(t, headerErrConn{raw})

	epoch, err := c.RegisterBroker(testBroker(1), 0)
	if _, stat, _ := raw.Get("/brokers/ids/1"); err != nil || stat.Czxid != epoch {
		t.Fatalf("register: %d %v", epoch, err)
	}
	fence, err := c.RegisterController(1, 0)
	if err != nil || fence != (Epoch{1, 1}) {
		t.Fatalf("election: %+v %v", fence, err)
	}
	a := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1}}}}
	if _, err := c.CreateTopic("t", a, nil); err != nil {
		t.Fatal(err)
	}
	st := &PartitionState{ControllerEpoch: 1, Leader: 1, Isr: []int32{1}}
	if _, err := c.CreatePartitionState(fence, "t", 0, st); err != nil {
		t.Fatal(err)
	}
	// BADVERSION on the state itself is a version conflict, not a fence.
	if _, err := c.UpdatePartitionState(fence, "t", 0, &PartitionState{ControllerEpoch: 1, Leader: 1, LeaderEpoch: 1, Isr: []int32{1}}, 7); !errors.Is(err, ErrVersionConflict) || errors.Is(err, ErrControllerMoved) {
		t.Errorf("stale state version: %v", err)
	}
	if v, err := c.UpdatePartitionState(fence, "t", 0, &PartitionState{ControllerEpoch: 1, Leader: 1, LeaderEpoch: 1, Isr: []int32{1}}, 0); err != nil || v != 1 {
		t.Errorf("update: %d %v", v, err)
	}
	// A bumped /controller_epoch is recognised as a fence failure.
	if _, err := raw.Set("/controller_epoch", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdatePartitionState(fence, "t", 0, &PartitionState{ControllerEpoch: 1, Leader: 1, LeaderEpoch: 2, Isr: []int32{1}}, 1); !errors.Is(err, ErrControllerMoved) {
		t.Errorf("fenced: %v", err)
	}
}

func TestConsumerOffsets(t *testing.T) {
	s := startServer(t)
	c, conn := newClient(t, s, "")
	if _, ok, err := c.GetConsumerOffset("g", "t", 0); ok || err != nil {
		t.Fatalf("no offset yet: %v %v", ok, err)
	}
	for _, off := range []int64{42, 1234} {
		if err := c.SetConsumerOffset("g", "t", 0, off); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := c.GetConsumerOffset("g", "t", 0); !ok || err != nil || got != off {
			t.Errorf("offset %d %v %v, want %d", got, ok, err, off)
		}
	}
	if data, _, _ := conn.Get("/consumers/g/offsets/t/0"); string(data) != "1234" {
		t.Errorf("stored %q", data)
	}
	if err := c.SetConsumerOffset("a/b", "t", 0, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad group: %v", err)
	}
}
