package controller

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// stopReplicaDelete reports whether a StopReplica to broker to after mark
// asked to delete topic-p with the deletion sentinel epoch.
func (cl *cluster) gotStopReplicaDelete(mark int, to int32, topic string, p int32) bool {
	for _, d := range cl.net.since(mark) {
		r, ok := d.req.(*kmsg.StopReplicaRequest)
		if !ok || d.to.ID != to {
			continue
		}
		for _, tt := range r.Topics {
			for _, ps := range tt.PartitionStates {
				if tt.Topic == topic && ps.Partition == p && ps.Delete && ps.LeaderEpoch == -2 {
					return true
				}
			}
		}
	}
	return false
}

func (cl *cluster) topicGone(topic string) bool {
	for _, path := range []string{zkmeta.TopicPath(topic), zkmeta.TopicConfigPath(topic), zkmeta.DeleteTopicPath(topic)} {
		if ok, err := cl.admin.Exists(path); err != nil || ok {
			return false
		}
	}
	return true
}

func TestTopicDeletion(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("gone", map[int32][]int32{0: {2, 3}, 1: {3, 2}})
	cl.createTopic("kept", map[int32][]int32{0: {2, 3}})
	cl.waitState("gone", 1, "online", stateIs(3, 0, 3, 2))
	cl.waitState("kept", 0, "online", stateIs(2, 0, 2, 3))
	mark := cl.net.mark()
	if err := cl.admin.MarkTopicForDeletion("gone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "topic znodes, config and marker deleted", func() bool { return cl.topicGone("gone") })
	for _, b := range []int32{2, 3} {
		for p := int32(0); p < 2; p++ {
			if !cl.gotStopReplicaDelete(mark, b, "gone", p) {
				t.Errorf("broker %d got no StopReplica(delete) for gone-%d", b, p)
			}
		}
	}
	// Brokers were told the topic is being deleted (leader -2).
	for _, b := range []int32{1, 2, 3} {
		found := false
		for _, d := range cl.net.since(mark) {
			if r, ok := d.req.(*kmsg.UpdateMetadataRequest); ok && d.to.ID == b {
				if ps, _, ok := umPartition(r, "gone", 0); ok && ps.Leader == -2 {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("broker %d never heard leader -2 for gone-0", b)
		}
	}
	ctrl.inspect(func(cc *controllerContext) {
		if cc.allTopics["gone"] || len(cc.partitionsForTopic("gone")) > 0 || cc.topicsToBeDeleted["gone"] {
			t.Error("deleted topic still in the controller context")
		}
		for r := range cc.replicaStates {
			if r.Topic == "gone" {
				t.Errorf("replica state left for %v", r)
			}
		}
	})
	if _, v := cl.state("kept", 0); v != 0 {
		t.Errorf("the other topic was touched: zkVersion %d", v)
	}

	// The name can be used again.
	cl.createTopic("gone", map[int32][]int32{0: {3}})
	cl.waitState("gone", 0, "recreated", stateIs(3, 0, 3))
}

// Deletion stalls while a replica is offline and finishes when its broker
// returns.
func TestTopicDeletionStallsWhileReplicaOffline(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("stuck", map[int32][]int32{0: {2, 3}})
	cl.waitState("stuck", 0, "online", stateIs(2, 0, 2, 3))
	cl.kill(3)
	cl.waitState("stuck", 0, "ISR without 3", stateIs(2, 1, 2))

	mark := cl.net.mark()
	if err := cl.admin.MarkTopicForDeletion("stuck"); err != nil {
		t.Fatal(err)
	}
	r2 := partitionReplica{TopicPartition{Topic: "stuck", Partition: 0}, 2}
	r3 := partitionReplica{TopicPartition{Topic: "stuck", Partition: 0}, 3}
	// The dead replica goes DeletionIneligible and, once no deletion is in
	// flight, back to Offline to be retried (resumeDeletions); it is never
	// asked to delete while its broker is down.
	waitFor(t, "the live replica deleted and the dead one waiting", func() bool {
		var s2, s3 replicaState
		ctrl.inspect(func(cc *controllerContext) { s2, s3 = cc.replicaState(r2), cc.replicaState(r3) })
		return s2 == replicaDeletionSuccessful && (s3 == replicaDeletionIneligible || s3 == offlineReplica)
	})
	if !cl.gotStopReplicaDelete(mark, 2, "stuck", 0) {
		t.Error("no StopReplica(delete) to the live replica")
	}
	if ok, _ := cl.admin.Exists(zkmeta.TopicPath("stuck")); !ok {
		t.Fatal("topic deleted while a replica was offline")
	}
	ctrl.inspect(func(cc *controllerContext) {
		if !cc.topicsIneligibleForDeletion["stuck"] {
			t.Error("topic not marked ineligible for deletion")
		}
	})

	// Partitions added to a topic being deleted are refused: the
	// assignment is put back.
	a, v, err := cl.admin.GetTopicAssignment("stuck")
	if err != nil {
		t.Fatal(err)
	}
	a.Partitions[1] = zkmeta.ReplicaAssignment{Replicas: []int32{2}}
	if _, err := cl.admin.SetTopicAssignment(zkmeta.Unfenced, "stuck", a, v); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the assignment restored", func() bool {
		a, _, err := cl.admin.GetTopicAssignment("stuck")
		return err == nil && len(a.Partitions) == 1 && !a.TopicID.IsZero()
	})
	if ok, _ := cl.admin.Exists(zkmeta.PartitionStatePath("stuck", 1)); ok {
		t.Error("a partition was added to a topic being deleted")
	}

	mark = cl.net.mark()
	cl.start(3)
	waitFor(t, "deletion to finish after broker 3 returned", func() bool { return cl.topicGone("stuck") })
	if !cl.gotStopReplicaDelete(mark, 3, "stuck", 0) {
		t.Error("no StopReplica(delete) to the returned replica")
	}
}

// A replica that fails to delete stalls the deletion; it is retried when
// its broker restarts.
func TestTopicDeletionRetriesFailedReplica(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("err", map[int32][]int32{0: {2, 3}})
	cl.waitState("err", 0, "online", stateIs(2, 0, 2, 3))
	cl.net.mu.Lock()
	cl.net.stopErr[3] = errKafkaStorageError
	cl.net.mu.Unlock()
	if err := cl.admin.MarkTopicForDeletion("err"); err != nil {
		t.Fatal(err)
	}
	r3 := partitionReplica{TopicPartition{Topic: "err", Partition: 0}, 3}
	r2 := partitionReplica{TopicPartition{Topic: "err", Partition: 0}, 2}
	waitFor(t, "replica on 2 deleted, the one on 3 failed", func() bool {
		var s2, s3 replicaState
		ineligible := false
		ctrl.inspect(func(cc *controllerContext) {
			s2, s3 = cc.replicaState(r2), cc.replicaState(r3)
			ineligible = cc.topicsIneligibleForDeletion["err"]
		})
		return s2 == replicaDeletionSuccessful && (s3 == replicaDeletionIneligible || s3 == offlineReplica) && ineligible
	})
	if cl.topicGone("err") {
		t.Fatal("deleted although a replica failed")
	}
	cl.net.mu.Lock()
	cl.net.stopErr[3] = errNone
	cl.net.mu.Unlock()
	cl.kill(3)
	cl.start(3)
	waitFor(t, "deletion to finish", func() bool { return cl.topicGone("err") })
}

// With delete.topic.enable=false the marker is removed and the topic stays.
func TestTopicDeletionDisabled(t *testing.T) {
	cl := newCluster(t)
	cl.tune = func(c *Config) { c.DeleteTopicEnable = false }
	cl.start(1)
	cl.waitActive(1)
	cl.createTopic("stays", map[int32][]int32{0: {1}})
	cl.waitState("stays", 0, "online", stateIs(1, 0, 1))
	if err := cl.admin.MarkTopicForDeletion("stays"); err != nil {
		t.Fatal(err)
	}
	cl.waitGone(zkmeta.DeleteTopicPath("stays"))
	if ok, _ := cl.admin.Exists(zkmeta.TopicPath("stays")); !ok {
		t.Error("topic deleted with delete.topic.enable=false")
	}
}

// A deletion in progress survives a controller failover.
func TestTopicDeletionAcrossFailover(t *testing.T) {
	cl, _ := startCluster(t, 1, 2, 3)
	cl.createTopic("x", map[int32][]int32{0: {2, 3}})
	cl.waitState("x", 0, "online", stateIs(2, 0, 2, 3))
	cl.kill(3)
	if err := cl.admin.MarkTopicForDeletion("x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deletion to stall", func() bool {
		var s replicaState
		cl.brokers[1].inspect(func(cc *controllerContext) {
			s = cc.replicaState(partitionReplica{TopicPartition{Topic: "x", Partition: 0}, 2})
		})
		return s == replicaDeletionSuccessful
	})
	cl.kill(1)
	next := cl.waitActive(2)
	next.inspect(func(cc *controllerContext) {
		if !cc.topicsToBeDeleted["x"] || !cc.topicsIneligibleForDeletion["x"] {
			t.Error(fmt.Sprintf("new controller lost the pending deletion: queued %v ineligible %v",
				cc.topicsToBeDeleted["x"], cc.topicsIneligibleForDeletion["x"]))
		}
	})
	cl.start(3)
	waitFor(t, "deletion to finish under the new controller", func() bool { return cl.topicGone("x") })
}
