package zkmeta

import (
	"errors"
	"testing"

	"github.com/go-zookeeper/zk"
)

// setupTopic elects a controller and creates topic t with two partitions,
// their states written by that controller.
func setupTopic(t *testing.T) (*Client, *zk.Conn, Epoch) {
	t.Helper()
	s := startServer(t)
	c, conn := newClient(t, s, "")
	fence, err := c.RegisterController(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1, 2}}, 1: {Replicas: []int32{2, 1}}}}
	if _, err := c.CreateTopic("t", a, map[string]string{"retention.ms": "1000"}); err != nil {
		t.Fatal(err)
	}
	for p, leader := range []int32{1, 2} {
		st := &PartitionState{ControllerEpoch: fence.Epoch, Leader: leader, LeaderEpoch: 0, Isr: []int32{1, 2}}
		v, err := c.CreatePartitionState(fence, "t", int32(p), st)
		if err != nil || v != 0 {
			t.Fatalf("create state %d: %d %v", p, v, err)
		}
	}
	return c, conn, fence
}

func TestFencedWritesFailAfterNewElection(t *testing.T) {
	c, conn, zombie := setupTopic(t)

	// A second controller is elected behind the first one's back (its
	// session expired but it has not noticed): simulate by deleting
	// /controller and electing broker 2.
	if err := conn.Delete("/controller", -1); err != nil {
		t.Fatal(err)
	}
	successor, err := c.RegisterController(2, 0)
	if err != nil || successor.Epoch != zombie.Epoch+1 {
		t.Fatalf("successor %+v %v", successor, err)
	}

	before := snapshot(t, conn, "/")
	_, stateVersion, err := c.GetPartitionState("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	zombieState := &PartitionState{ControllerEpoch: zombie.Epoch, Leader: 2, LeaderEpoch: 1, Isr: []int32{2}}
	assign := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{2}}}}
	writes := map[string]error{
		"UpdatePartitionState":  errOnly(c.UpdatePartitionState(zombie, "t", 0, zombieState, stateVersion)),
		"CreatePartitionState":  errOnly(c.CreatePartitionState(zombie, "t", 5, zombieState)),
		"SetTopicAssignment":    errOnly(c.SetTopicAssignment(zombie, "t", assign, MatchAnyVersion)),
		"DeleteTopicZNodes":     c.DeleteTopicZNodes(zombie, "t"),
		"DeleteTopicConfig":     c.DeleteTopicConfig(zombie, "t"),
		"CompleteTopicDeletion": c.CompleteTopicDeletion(zombie, "t"),
		"ResignController":      c.ResignController(zombie),
	}
	for name, err := range writes {
		if !errors.Is(err, ErrControllerMoved) {
			t.Errorf("%s by the zombie: %v, want ErrControllerMoved", name, err)
		}
	}
	if after := snapshot(t, conn, "/"); !sameSnapshot(before, after) {
		t.Errorf("a fenced write changed ZooKeeper:\nbefore %v\nafter  %v", before, after)
	}

	// The successor's writes go through.
	v, err := c.UpdatePartitionState(successor, "t", 0, &PartitionState{ControllerEpoch: successor.Epoch, Leader: 2, LeaderEpoch: 1, Isr: []int32{2}}, stateVersion)
	if err != nil || v != stateVersion+1 {
		t.Errorf("successor update: %d %v", v, err)
	}
}

func TestPartitionStateConditionalUpdate(t *testing.T) {
	c, _, fence := setupTopic(t)
	st, v0, err := c.GetPartitionState("t", 0)
	if err != nil || v0 != 0 || st.Leader != 1 || st.ControllerEpoch != fence.Epoch {
		t.Fatalf("%+v %d %v", st, v0, err)
	}

	// The controller shrinks the ISR: leader epoch bumps, zkVersion 0 -> 1.
	shrunk := &PartitionState{ControllerEpoch: fence.Epoch, Leader: 1, LeaderEpoch: 1, Isr: []int32{1}}
	v1, err := c.UpdatePartitionState(fence, "t", 0, shrunk, v0)
	if err != nil || v1 != 1 {
		t.Fatalf("update: %d %v", v1, err)
	}

	// A writer still holding zkVersion 0 is refused and changes nothing.
	stale := &PartitionState{ControllerEpoch: fence.Epoch, Leader: 2, LeaderEpoch: 1, Isr: []int32{2}}
	if _, err := c.UpdatePartitionState(fence, "t", 0, stale, v0); !errors.Is(err, ErrVersionConflict) || errors.Is(err, ErrControllerMoved) {
		t.Fatalf("stale zkVersion: %v", err)
	}
	if _, err := c.UpdateIsrAsLeader("t", 0, stale, v0); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("leader with stale zkVersion: %v", err)
	}
	got, v, err := c.GetPartitionState("t", 0)
	if err != nil || v != 1 || got.Leader != 1 || len(got.Isr) != 1 {
		t.Errorf("after refused writes: %+v v%d %v", got, v, err)
	}

	// Re-sending the write that already succeeded (its reply was lost) is
	// recognised by the read-back and reports success.
	if again, err := c.UpdatePartitionState(fence, "t", 0, shrunk, v0); err != nil || again != 1 {
		t.Errorf("retried write: %d %v", again, err)
	}

	// The leader expands the ISR itself, keeping the leader epoch and the
	// controller epoch, conditional on its cached zkVersion.
	expanded := &PartitionState{ControllerEpoch: fence.Epoch, Leader: 1, LeaderEpoch: 1, Isr: []int32{1, 2}}
	if v2, err := c.UpdateIsrAsLeader("t", 0, expanded, v1); err != nil || v2 != 2 {
		t.Errorf("leader ISR update: %d %v", v2, err)
	}

	// An existing state is not re-created; an empty ISR is never written.
	if _, err := c.CreatePartitionState(fence, "t", 0, expanded); !errors.Is(err, ErrPartitionStateExists) {
		t.Errorf("re-create: %v", err)
	}
	if _, err := c.UpdatePartitionState(fence, "t", 0, &PartitionState{Leader: -1}, 2); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty ISR: %v", err)
	}
}

func TestTopicLifecycle(t *testing.T) {
	c, conn, fence := setupTopic(t)

	a, v, err := c.GetTopicAssignment("t")
	if err != nil || v != 0 || a.Version != 3 || a.TopicID.IsZero() || len(a.Partitions) != 2 {
		t.Fatalf("assignment %+v v%d %v", a, v, err)
	}
	if ids, err := c.GetPartitionIDs("t"); err != nil || len(ids) != 2 || ids[1] != 1 {
		t.Errorf("partitions %v %v", ids, err)
	}
	if cfg, err := c.GetEntityConfig(ConfigTypeTopic, "t"); err != nil || cfg["retention.ms"] != "1000" {
		t.Errorf("config %v %v", cfg, err)
	}
	if topics, err := c.GetTopics(); err != nil || len(topics) != 1 || topics[0] != "t" {
		t.Errorf("topics %v %v", topics, err)
	}

	// Create-topic checks.
	one := &TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1}}}}
	if _, err := c.CreateTopic("t", one, nil); !errors.Is(err, ErrTopicExists) {
		t.Errorf("duplicate topic: %v", err)
	}
	if _, err := c.CreateTopic("a.b", one, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTopic("a_b", one, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("colliding topic: %v", err)
	}
	if _, err := c.CreateTopic("bad/name", one, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}

	// Add a partition: the controller rewrites the assignment conditionally.
	a.Partitions[2] = ReplicaAssignment{Replicas: []int32{1, 2}}
	if v1, err := c.SetTopicAssignment(fence, "t", a, v); err != nil || v1 != 1 {
		t.Fatalf("set assignment: %d %v", v1, err)
	}
	if _, err := c.SetTopicAssignment(fence, "t", a, v); !errors.Is(err, ErrVersionConflict) {
		t.Errorf("stale assignment write: %v", err)
	}
	got, _, _ := c.GetTopicAssignment("t")
	if got.TopicID != a.TopicID || len(got.Partitions) != 3 {
		t.Errorf("after add: %+v", got)
	}

	// Delete: mark, then the controller removes everything, marker last.
	if err := c.MarkTopicForDeletion("t"); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkTopicForDeletion("t"); !errors.Is(err, ErrTopicMarkedForDeletion) {
		t.Errorf("second mark: %v", err)
	}
	if err := c.MarkTopicForDeletion("nope"); !errors.Is(err, zk.ErrNoNode) {
		t.Errorf("mark unknown topic: %v", err)
	}
	if _, err := c.CreateTopic("t", one, nil); !errors.Is(err, ErrTopicExists) {
		t.Errorf("create while marked: %v", err)
	}
	if marked, err := c.GetTopicsMarkedForDeletion(); err != nil || len(marked) != 1 || marked[0] != "t" {
		t.Errorf("marked %v %v", marked, err)
	}
	if err := c.CompleteTopicDeletion(fence, "t"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/brokers/topics/t", "/config/topics/t", "/admin/delete_topics/t"} {
		if ok, _, _ := conn.Exists(p); ok {
			t.Errorf("%s survived deletion", p)
		}
	}
	// Idempotent: deleting again is fine.
	if err := c.CompleteTopicDeletion(fence, "t"); err != nil {
		t.Errorf("second deletion: %v", err)
	}
}

func TestNotifications(t *testing.T) {
	c, conn, fence := setupTopic(t)

	if err := c.ChangeTopicConfig("t", map[string]string{"retention.ms": "5"}); err != nil {
		t.Fatal(err)
	}
	kids, err := c.GetSequenceChildren(ConfigChangesPath, ConfigChangePrefix)
	if err != nil || len(kids) != 1 || kids[0] != "config_change_0000000000" {
		t.Fatalf("config changes %v %v", kids, err)
	}
	data, _, _ := conn.Get(ConfigChangesPath + "/" + kids[0])
	if p, err := DecodeConfigChangeNotification(data); err != nil || p != "topics/t" {
		t.Errorf("notification %s: %q %v", data, p, err)
	}
	if cfg, _ := c.GetEntityConfig(ConfigTypeTopic, "t"); cfg["retention.ms"] != "5" {
		t.Errorf("config not updated: %v", cfg)
	}
	if err := c.ChangeEntityConfig(ConfigTypeBroker, DefaultBrokerConfigName, map[string]string{"log.retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}

	// ISR change notifications: created by leaders, read and deleted
	// (fenced) by the controller.
	for i := 0; i < 3; i++ {
		if _, err := c.CreateIsrChangeNotification([]TopicPartition{{"t", int32(i % 2)}}); err != nil {
			t.Fatal(err)
		}
	}
	names, err := c.GetSequenceChildren(IsrChangeNotificationPath, IsrChangePrefix)
	if err != nil || len(names) != 3 || names[2] != "isr_change_0000000002" {
		t.Fatalf("isr changes %v %v", names, err)
	}
	if tps, err := c.GetIsrChangeNotification(names[1]); err != nil || len(tps) != 1 || tps[0] != (TopicPartition{"t", 1}) {
		t.Errorf("isr change 1: %v %v", tps, err)
	}
	if err := c.DeleteIsrChangeNotifications(fence, names); err != nil {
		t.Fatal(err)
	}
	if names, _ := c.GetSequenceChildren(IsrChangeNotificationPath, IsrChangePrefix); len(names) != 0 {
		t.Errorf("left: %v", names)
	}
	if err := c.DeleteIsrChangeNotifications(fence, []string{"../controller"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}

	if _, err := c.CreateLogDirEventNotification(2); err != nil {
		t.Fatal(err)
	}
	names, _ = c.GetSequenceChildren(LogDirEventNotificationPath, LogDirEventPrefix)
	if len(names) != 1 {
		t.Fatalf("log dir events %v", names)
	}
	if err := c.DeleteLogDirEventNotifications(fence, names); err != nil {
		t.Fatal(err)
	}
}

func TestClusterIDAndProducerIDs(t *testing.T) {
	s := startServer(t)
	c1, conn := newClient(t, s, "")
	c2, _ := newClient(t, s, "")
	id, err := c1.GetOrCreateClusterID()
	if err != nil || len(id) != 22 {
		t.Fatalf("cluster id %q %v", id, err)
	}
	if id2, err := c2.GetOrCreateClusterID(); err != nil || id2 != id {
		t.Errorf("second broker got %q %v, want %q", id2, err, id)
	}
	data, _, _ := conn.Get("/cluster/id")
	if string(data) != `{"version":"1","id":"`+id+`"}` {
		t.Errorf("/cluster/id = %s", data)
	}

	b1, err := c1.AllocateProducerIDBlock(1)
	if err != nil || b1 != (ProducerIDBlock{1, 0, 999}) {
		t.Fatalf("first block %+v %v", b1, err)
	}
	b2, err := c2.AllocateProducerIDBlock(2)
	if err != nil || b2 != (ProducerIDBlock{2, 1000, 1999}) {
		t.Fatalf("second block %+v %v", b2, err)
	}
	if last, v, ok, err := c1.GetProducerIDBlock(); err != nil || !ok || last != b2 || v != 2 {
		t.Errorf("stored block %+v v%d %v %v", last, v, ok, err)
	}

	f := &FeatureInfo{Status: FeatureEnabled, Features: map[string]int16{}}
	if _, err := c1.SetFeature(f, MatchAnyVersion); err != nil {
		t.Fatal(err)
	}
	if v, err := c1.SetFeature(f, 0); err != nil || v != 1 {
		t.Errorf("feature update: %d %v", v, err)
	}
	if _, err := c1.SetFeature(f, 0); !errors.Is(err, ErrVersionConflict) {
		t.Errorf("stale feature update: %v", err)
	}
	if got, v, err := c1.GetFeature(); err != nil || got.Status != FeatureEnabled || v != 1 {
		t.Errorf("feature %+v %d %v", got, v, err)
	}
}

func errOnly(_ int32, err error) error { return err }
