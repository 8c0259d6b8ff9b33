package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// controllerZnode reads /controller as raw JSON.
func controllerZnode(t *testing.T, cl *cluster) map[string]any {
	t.Helper()
	data, _, err := cl.adminZK.Get(zkmeta.ControllerPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("/controller %q: %v", data, err)
	}
	return m
}

func controllerEpoch(t *testing.T, cl *cluster) string {
	t.Helper()
	data, _, err := cl.adminZK.Get(zkmeta.ControllerEpochPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestExactlyOneControllerAndFailover(t *testing.T) {
	cl := newCluster(t)
	for id := int32(1); id <= 3; id++ {
		cl.start(id)
	}
	first := cl.waitActive(-1)
	if e, _ := first.ctrl.Active(); e != 1 {
		t.Errorf("first controller epoch %d, want 1", e)
	}
	if got := controllerEpoch(t, cl); got != "1" {
		t.Errorf("/controller_epoch %q, want 1", got)
	}
	m := controllerZnode(t, cl)
	if m["brokerid"] != float64(first.id) || m["version"] != float64(2) || m["kraftControllerEpoch"] != float64(-1) {
		t.Errorf("/controller %v", m)
	}
	if _, ok := m["timestamp"].(string); !ok {
		t.Errorf("/controller timestamp is not a string: %v", m)
	}
	// The losers stay inactive and agree on who won.
	time.Sleep(100 * time.Millisecond) // give a wrong second winner a chance to appear
	if a := cl.active(); a != first {
		t.Fatalf("active controller changed to %v", a)
	}
	for _, b := range cl.brokers {
		if b == first {
			continue
		}
		b.inspect(func(cc *controllerContext) {
			if cc != nil || b.ctrl.activeID != first.id {
				t.Errorf("broker %d: context %v, thinks %d is controller", b.id, cc != nil, b.ctrl.activeID)
			}
		})
	}

	// Close the controller's session: another broker takes over with the
	// next epoch.
	old := first.id
	cl.kill(old)
	second := cl.waitActive(-1)
	if second.id == old {
		t.Fatal("dead broker still controller")
	}
	if e, _ := second.ctrl.Active(); e != 2 {
		t.Errorf("second controller epoch %d, want 2", e)
	}
	if got := controllerEpoch(t, cl); got != "2" {
		t.Errorf("/controller_epoch %q, want 2", got)
	}
	if m := controllerZnode(t, cl); m["brokerid"] != float64(second.id) {
		t.Errorf("/controller %v, want broker %d", m, second.id)
	}

	// A clean stop resigns: /controller is deleted and the last broker
	// takes over with epoch 3.
	second.stop()
	delete(cl.brokers, second.id)
	third := cl.waitActive(-1)
	if e, _ := third.ctrl.Active(); e != 3 {
		t.Errorf("third controller epoch %d, want 3", e)
	}
	if _, ok := second.ctrl.Active(); ok {
		t.Error("stopped controller still active")
	}
}

// A /controller creation event can be handled after the znode is gone again:
// the controller that created it stopped in the meantime. Its deletion fires
// no event of its own (the one-shot watch was spent on the creation), so the
// creation event itself must lead to a campaign, or the cluster stays
// without a controller. This happened in CI when a newly elected controller
// was stopped at once.
func TestLateCreationEventStillCampaigns(t *testing.T) {
	cl := newCluster(t)
	first := cl.start(1)
	cl.waitActive(1)
	b := cl.start(2)
	waitFor(t, "broker 2 to follow broker 1", func() bool {
		id := int32(-2)
		b.inspect(func(*controllerContext) { id = b.ctrl.activeID })
		return id == 1
	})

	// Broker 2's loop stalls; when it goes on, the first thing it handles
	// is its armed /controller watch reporting a creation.
	entered, release := make(chan struct{}), make(chan struct{})
	b.ctrl.queue.put(evFunc{f: func() {
		close(entered)
		<-release
		key := watchKey{watchExists, zkmeta.ControllerPath}
		tok, ok := b.ctrl.watches[key]
		if !ok {
			t.Error("broker 2 holds no /controller watch")
			return
		}
		if err := b.ctrl.processWatch(evWatch{key: key, token: tok, ev: zk.Event{Type: zk.EventNodeCreated}}); err != nil {
			t.Errorf("processWatch: %v", err)
		}
	}})
	<-entered
	first.stop() // deletes /controller
	delete(cl.brokers, first.id)
	close(release)

	if second := cl.waitActive(2); second != b {
		t.Fatalf("active controller %d, want 2", second.id)
	}
	if got := controllerEpoch(t, cl); got != "2" {
		t.Errorf("/controller_epoch %q, want 2", got)
	}
}

// A controller that is paused while another is elected (a zombie) finds its
// next write fenced: the write is not applied, it answers NOT_CONTROLLER and
// stops acting at once.
func TestZombieControllerIsFenced(t *testing.T) {
	cl := newCluster(t)
	a := cl.start(1)
	cl.waitActive(1)
	cl.start(2)
	cl.start(3)
	// All three live before the topic, so its ISR is [1 2 3] and the zombie's
	// shrink to [1 2] is a real write (one the controller would otherwise
	// answer without writing, as a retry of a change already made).
	cl.waitLive(a, 1, 2, 3)
	cl.createTopic("z", map[int32][]int32{0: {1, 2, 3}})
	cl.waitState("z", 0, "online", func(s *zkmeta.PartitionState) bool { return s.Leader == 1 && len(s.Isr) == 3 })
	_, before := cl.state("z", 0)

	// The zombie: broker 1's loop is stuck while an AlterPartition from
	// the leader (broker 1 itself) waits in its queue.
	resume := a.pause()
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 1
	req.BrokerID = 1
	req.BrokerEpoch = a.epoch
	at := kmsg.NewAlterPartitionRequestTopic()
	at.Topic = "z"
	ap := kmsg.NewAlterPartitionRequestTopicPartition()
	ap.Partition = 0
	ap.LeaderEpoch = 0
	ap.PartitionEpoch = before
	ap.NewISR = []int32{1, 2}
	at.Partitions = append(at.Partitions, ap)
	req.Topics = append(req.Topics, at)
	replies := make(chan *kmsg.AlterPartitionResponse, 1)
	go func() { replies <- a.ctrl.HandleAlterPartition(context.Background(), req) }()
	waitFor(t, "the AlterPartition to be queued", func() bool { return a.ctrl.queue.len() >= 1 })

	// Meanwhile the world moves on: /controller is deleted (as when the
	// zombie's session expires) and broker 2 or 3 is elected.
	if err := cl.adminZK.Delete(zkmeta.ControllerPath, -1); err != nil {
		t.Fatal(err)
	}
	var next *testBroker
	waitFor(t, "a new controller", func() bool {
		for _, b := range []*testBroker{cl.brokers[2], cl.brokers[3]} {
			if _, ok := b.ctrl.Active(); ok {
				next = b
				return true
			}
		}
		return false
	})
	if got := controllerEpoch(t, cl); got != "2" {
		t.Fatalf("/controller_epoch %q, want 2", got)
	}
	if _, ok := a.ctrl.Active(); !ok {
		t.Fatal("the paused controller should still believe it is active")
	}

	resume()
	resp := <-replies
	if resp.ErrorCode != errNotController {
		t.Errorf("zombie AlterPartition: error %d, want NOT_CONTROLLER", resp.ErrorCode)
	}
	s, v := cl.state("z", 0)
	if v != before || len(s.Isr) != 3 {
		t.Errorf("zombie write was applied: state %+v version %d (was %d)", s, v, before)
	}
	waitFor(t, "the zombie to stop acting", func() bool { _, ok := a.ctrl.Active(); return !ok })
	a.inspect(func(cc *controllerContext) {
		if cc != nil {
			t.Error("zombie kept its controller context")
		}
	})
	if !strings.Contains(cl.logs.String(), "controller moved") {
		t.Error("no 'controller moved' log line")
	}
	// It stays a follower of the new controller and sends nothing more.
	mark := cl.net.mark()
	time.Sleep(200 * time.Millisecond)
	for _, d := range cl.net.since(mark) {
		if d.from == 1 {
			t.Errorf("zombie sent %s after resigning", kmsg.NameForKey(d.req.Key()))
		}
	}
	if _, ok := next.ctrl.Active(); !ok {
		t.Error("new controller lost its role")
	}
}

// A controller whose session expires (its connection cut for longer than
// the session timeout) stops acting as soon as it hears of the expiry, and
// campaigns again on its new session.
func TestSessionExpiryResignsAndReelects(t *testing.T) {
	if raceEnabled {
		t.Skip("go-zookeeper races with itself when it sets watches on a new session (see race_test.go)")
	}
	cl := newCluster(t)
	p := newProxy(t, cl.addr)
	a := cl.startVia(1, p.addr(), time.Second)
	cl.waitActive(1)
	cl.start(2)
	waitFor(t, "broker 1 to learn of broker 2", func() bool {
		ok := false
		a.inspect(func(cc *controllerContext) { ok = cc != nil && cc.isLive(2) })
		return ok
	})

	p.setCut(true)
	// The server expires broker 1's session: its /controller goes and
	// broker 2 takes over. Broker 1, cut off, cannot know yet and still
	// believes it is the controller.
	b := cl.brokers[2]
	waitFor(t, "broker 2 to take over", func() bool { _, ok := b.ctrl.Active(); return ok })
	if e, _ := b.ctrl.Active(); e != 2 {
		t.Errorf("epoch %d after expiry, want 2", e)
	}
	p.setCut(false)
	waitFor(t, "broker 1 to notice its expired session", func() bool { _, ok := a.ctrl.Active(); return !ok })
	// It campaigns on its new session but broker 2 holds the role.
	waitFor(t, "broker 1 to follow broker 2", func() bool {
		id := int32(-2)
		a.inspect(func(*controllerContext) { id = a.ctrl.activeID })
		return id == 2
	})

	// Now broker 2 leaves: broker 1, on its new session, is elected.
	cl.kill(2)
	c := cl.waitActive(1)
	if e, _ := c.ctrl.Active(); e != 3 {
		t.Errorf("epoch %d, want 3", e)
	}
}

// A /controller of this broker's own session that this controller did not
// write in its current role (left over, e.g. from a failed failover) is
// deleted, and the election runs again.
func TestStaleOwnControllerIsReplaced(t *testing.T) {
	cl := newCluster(t)
	conn := connect(t, cl.addr, sessionTimeout)
	defer conn.Close()
	meta := newMeta(t, conn)
	if _, err := meta.RegisterController(7, 0); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BrokerID: 7, Meta: meta, Sender: cl.net.sender(7), Log: zerolog.New(cl.logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "controller 7 elected again", func() bool { e, ok := c.Active(); return ok && e == 2 })
	if got := controllerEpoch(t, cl); got != "2" {
		t.Errorf("/controller_epoch %q", got)
	}
}
