package zkmeta

import (
	"errors"
	"sync"
	"testing"

	"github.com/go-zookeeper/zk"
)

// race runs RegisterController for every client at once and returns the
// winner's index and epoch; every loser must name the winner.
func race(t *testing.T, clients []*Client, ids []int32) (int, Epoch) {
	t.Helper()
	var wg sync.WaitGroup
	epochs := make([]Epoch, len(clients))
	errs := make([]error, len(clients))
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			epochs[i], errs[i] = clients[i].RegisterController(ids[i], 0)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("two winners: %d and %d", ids[winner], ids[i])
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no winner: %v", errs)
	}
	for i, err := range errs {
		if i == winner {
			continue
		}
		var ce *ControllerExistsError
		if !errors.As(err, &ce) || !errors.Is(err, ErrControllerExists) || ce.ControllerID != ids[winner] {
			t.Errorf("loser %d: %v, want controller %d", ids[i], err, ids[winner])
		}
	}
	return winner, epochs[winner]
}

func TestControllerElection(t *testing.T) {
	s := startServer(t)
	var clients []*Client
	var conns []*zk.Conn
	ids := []int32{1, 2, 3}
	for range ids {
		c, conn := newClient(t, s, "")
		clients, conns = append(clients, c), append(conns, conn)
	}

	w, e := race(t, clients, ids)
	if e.Epoch != 1 {
		t.Errorf("first controller epoch %d, want 1", e.Epoch)
	}
	got, err := clients[0].GetControllerEpoch()
	if err != nil || got != e {
		t.Errorf("/controller_epoch %+v %v, want %+v", got, err, e)
	}
	if data, _, _ := conns[0].Get("/controller_epoch"); string(data) != "1" {
		t.Errorf("/controller_epoch data %q", data)
	}
	info, err := clients[0].GetController()
	if err != nil || info.BrokerID != ids[w] || info.Version != 2 || info.TimestampMs != 1700000000000 || info.KRaftControllerEpoch != -1 {
		t.Errorf("/controller %+v %v", info, err)
	}

	// A lost reply: the read-back recognises our own successful election.
	if again, err := clients[w].checkControllerAndEpoch(ids[w], e.Epoch); err != nil || again != e {
		t.Errorf("read-back: %+v %v", again, err)
	}
	// While the controller lives, an election round only reports it.
	var ce *ControllerExistsError
	if _, err := clients[(w+1)%3].RegisterController(ids[(w+1)%3], 0); !errors.As(err, &ce) || ce.ControllerID != ids[w] {
		t.Errorf("election with a live controller: %v", err)
	}

	// The controller's session ends: /controller goes away and the others
	// elect a new one with epoch + 1.
	conns[w].Close()
	waitGone(t, conns[(w+1)%3], "/controller")
	var rest []*Client
	var restIDs []int32
	for i := range clients {
		if i != w {
			rest, restIDs = append(rest, clients[i]), append(restIDs, ids[i])
		}
	}
	w2, e2 := race(t, rest, restIDs)
	if e2.Epoch != e.Epoch+1 || e2.EpochZkVersion != e.EpochZkVersion+1 {
		t.Errorf("second election %+v after %+v", e2, e)
	}
	if id, err := rest[0].GetControllerID(); err != nil || id != restIDs[w2] {
		t.Errorf("controller id %d %v", id, err)
	}

	// Resigning deletes /controller inside the fence.
	if err := rest[w2].ResignController(e2); err != nil {
		t.Fatal(err)
	}
	if _, err := rest[0].GetControllerID(); !errors.Is(err, zk.ErrNoNode) {
		t.Errorf("after resign: %v", err)
	}
	// The next election starts from the stored epoch.
	if e3, err := rest[0].RegisterController(restIDs[0], 0); err != nil || e3.Epoch != 3 {
		t.Errorf("third election %+v %v", e3, err)
	}
}

// A stale read of /controller_epoch (another controller got in between)
// makes the multi fail with BADVERSION; the read-back then names the
// winner, and nothing of ours was written.
func TestControllerElectionLosesOnStaleEpoch(t *testing.T) {
	s := startServer(t)
	a, connA := newClient(t, s, "")
	b, _ := newClient(t, s, "")
	if _, err := a.RegisterController(1, 0); err != nil {
		t.Fatal(err)
	}
	// b finds /controller present before the multi, so simulate the
	// interleaving directly: b read epoch 0 at zkVersion 0, then a won.
	next := int32(1)
	_, _, err := b.multi(
		&zk.CreateRequest{Path: ControllerPath, Data: []byte(`{}`), Acl: b.acl, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: ControllerEpochPath, Data: EncodeControllerEpoch(next), Version: 0},
	)
	if !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("multi: %v", err)
	}
	var ce *ControllerExistsError
	if _, err := b.checkControllerAndEpoch(2, next); !errors.As(err, &ce) || ce.ControllerID != 1 {
		t.Errorf("read-back: %v", err)
	}
	// With /controller gone the read-back reports the controller moved.
	connA.Close()
	waitGone(t, b.conn.(*zk.Conn), ControllerPath)
	if _, err := b.checkControllerAndEpoch(2, next); !errors.Is(err, ErrControllerMoved) {
		t.Errorf("read-back without controller: %v", err)
	}
	if e, _ := b.GetControllerEpoch(); e.Epoch != 1 {
		t.Errorf("epoch changed by a failed multi: %+v", e)
	}
}

func TestControllerEpochCreatedWhenMissing(t *testing.T) {
	s := startServer(t)
	c, conn := newClient(t, s, "")
	if _, err := c.GetControllerEpoch(); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("fresh cluster has /controller_epoch: %v", err)
	}
	e, err := c.getOrCreateControllerEpoch()
	if err != nil || e != (Epoch{InitialControllerEpoch, InitialControllerEpochZkVersion}) {
		t.Fatalf("%+v %v", e, err)
	}
	if data, _, _ := conn.Get("/controller_epoch"); string(data) != "0" {
		t.Errorf("initial /controller_epoch %q", data)
	}
	// NODEEXISTS path: reads the stored value.
	if _, err := conn.Set("/controller_epoch", []byte("41"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.create(ControllerEpochPath, []byte("0"), 0); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatal(err)
	}
	if e, err := c.RegisterController(7, 0); err != nil || e.Epoch != 42 || e.EpochZkVersion != 2 {
		t.Errorf("election from stored epoch 41: %+v %v", e, err)
	}
}
