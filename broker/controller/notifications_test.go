package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// A leader on the pre-2.7 path writes the ISR itself and then an
// isr_change notification: the controller picks the new state up, tells
// every broker and deletes the notification.
func TestIsrChangeNotification(t *testing.T) {
	cl, ctrl := startCluster(t, 1, 2, 3)
	cl.createTopic("n", map[int32][]int32{0: {2, 3}, 1: {3, 2}})
	s, v := cl.waitState("n", 0, "online", stateIs(2, 0, 2, 3))
	cl.waitState("n", 1, "online", stateIs(3, 0, 3, 2))

	// Broker 2, the leader of n-0, shrinks its ISR (same leader and
	// controller epochs, conditional on its zkVersion).
	leader := cl.brokers[2].meta
	s.Isr = []int32{2}
	nv, err := leader.UpdateIsrAsLeader("n", 0, s, v)
	if err != nil {
		t.Fatal(err)
	}
	mark := cl.net.mark()
	if _, err := leader.CreateIsrChangeNotification([]zkmeta.TopicPartition{{Topic: "n", Partition: 0}, {Topic: "gone", Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []int32{1, 2, 3} {
		// Any UpdateMetadata since the mark may be the one: one sent for the
		// topic's creation can still arrive after the mark, and it is not.
		waitFor(t, "UpdateMetadata with the leader's ISR", func() bool {
			for _, d := range cl.net.since(mark) {
				if r, ok := d.req.(*kmsg.UpdateMetadataRequest); ok && d.to.ID == to {
					ps, _, ok := umPartition(r, "n", 0)
					_, _, other := umPartition(r, "n", 1)
					if ok && !other && slices.Equal(ps.ISR, []int32{2}) && ps.ZKVersion == nv && ps.LeaderEpoch == 0 {
						return true
					}
				}
			}
			return false
		})
	}
	waitFor(t, "the notification to be deleted", func() bool {
		names, err := cl.admin.GetSequenceChildren(zkmeta.IsrChangeNotificationPath, zkmeta.IsrChangePrefix)
		return err == nil && len(names) == 0
	})
	ctrl.inspect(func(cc *controllerContext) {
		li := cc.leadership[TopicPartition{Topic: "n", Partition: 0}]
		if li.PartitionEpoch != nv || !slices.Equal(li.Isr, []int32{2}) {
			t.Errorf("controller cache %+v", li)
		}
	})
	// The controller's next decision builds on the leader's write: broker 2
	// dies and n-0 has no live ISR member left.
	cl.kill(2)
	cl.waitState("n", 0, "no leader", stateIs(-1, 1, 2))

	// Notifications left from before a failover are deleted by the new
	// controller.
	if _, err := cl.admin.CreateIsrChangeNotification([]zkmeta.TopicPartition{{Topic: "n", Partition: 1}}); err != nil {
		t.Fatal(err)
	}
	cl.kill(1)
	cl.waitActive(3)
	waitFor(t, "notifications cleared after failover", func() bool {
		names, err := cl.admin.GetSequenceChildren(zkmeta.IsrChangeNotificationPath, zkmeta.IsrChangePrefix)
		return err == nil && len(names) == 0
	})
}
