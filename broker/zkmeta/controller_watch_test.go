package zkmeta

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func nextEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not fire")
		return zk.Event{}
	}
}

// The watch helpers apply the chroot to the watched path, and the watches
// fire on the changes the controller reacts to.
func TestControllerWatches(t *testing.T) {
	s := startServer(t)
	c, _ := newClient(t, s, "/kafka")
	if !c.CanWatch() {
		t.Fatal("a *zk.Conn cannot watch?")
	}

	names, ch, err := c.ChildrenW(BrokerIDsPath)
	if err != nil || len(names) != 0 {
		t.Fatalf("ChildrenW: %v %v", names, err)
	}
	epoch, err := c.RegisterBroker(testBroker(3), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/kafka/brokers/ids" || c.Rel(ev.Path) != BrokerIDsPath {
		t.Errorf("child event %+v", ev)
	}
	if names, err := c.Children(BrokerIDsPath); err != nil || !slices.Equal(names, []string{"3"}) {
		t.Errorf("Children: %v %v", names, err)
	}

	b, ch, err := c.GetBrokerW(3)
	if err != nil || b.Epoch != epoch || b.ID != 3 {
		t.Fatalf("GetBrokerW: %+v %v", b, err)
	}
	info := testBroker(3)
	info.Endpoints[0].Port = 1
	data, _ := EncodeBrokerInfo(info)
	if _, err := c.set(BrokerIDPath(3), data, MatchAnyVersion); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Type != zk.EventNodeDataChanged {
		t.Errorf("broker data event %+v", ev)
	}
	if _, _, err := c.GetBrokerW(9); !errors.Is(err, zk.ErrNoNode) {
		t.Errorf("missing broker: %v", err)
	}

	ok, _, ch, err := c.ExistsW(PreferredReplicaElectionPath)
	if err != nil || ok {
		t.Fatalf("ExistsW: %v %v", ok, err)
	}
	if tps, err := c.GetPreferredReplicaElection(); err != nil || tps != nil {
		t.Errorf("no election requested: %v %v", tps, err)
	}
	want := []TopicPartition{{Topic: "t", Partition: 1}}
	if err := c.createRecursive(PreferredReplicaElectionPath, EncodePreferredReplicaElection(want)); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Type != zk.EventNodeCreated {
		t.Errorf("exists event %+v", ev)
	}
	if tps, err := c.GetPreferredReplicaElection(); err != nil || !slices.Equal(tps, want) {
		t.Errorf("election request: %v %v", tps, err)
	}
	if ok, err := c.Exists(PreferredReplicaElectionPath); err != nil || !ok {
		t.Errorf("Exists: %v %v", ok, err)
	}

	if _, err := c.CreateTopic("t", &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{3}}}}, nil); err != nil {
		t.Fatal(err)
	}
	a, v, ch, err := c.GetTopicAssignmentW("t")
	if err != nil || v != 0 || a.TopicID.IsZero() {
		t.Fatalf("GetTopicAssignmentW: %+v %d %v", a, v, err)
	}
	if err := c.DeleteTopicZNodes(Unfenced, "t"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Type != zk.EventNodeDeleted {
		t.Errorf("topic event %+v", ev)
	}
	if _, _, _, err := c.GetTopicAssignmentW("../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad topic name: %v", err)
	}

	name, err := c.CreateLogDirEventNotification(3)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.GetLogDirEventNotification(name); err != nil || id != 3 {
		t.Errorf("log dir event: %d %v", id, err)
	}
}

// DeleteOwnController removes /controller only when this session created it.
func TestDeleteOwnController(t *testing.T) {
	s := startServer(t)
	c1, _ := newClient(t, s, "")
	c2, _ := newClient(t, s, "")
	if _, err := c1.RegisterController(1, 0); err != nil {
		t.Fatal(err)
	}
	if deleted, err := c2.DeleteOwnController(); err != nil || deleted {
		t.Errorf("another session deleted /controller: %v %v", deleted, err)
	}
	if deleted, err := c1.DeleteOwnController(); err != nil || !deleted {
		t.Errorf("own /controller: %v %v", deleted, err)
	}
	if deleted, err := c1.DeleteOwnController(); err != nil || deleted {
		t.Errorf("missing /controller: %v %v", deleted, err)
	}
}
