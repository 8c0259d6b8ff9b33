package replica

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/logmgr"
)

func newManager(t *testing.T, dir string) (*Manager, *logmgr.Manager) {
	t.Helper()
	logs, err := logmgr.Open(logmgr.Config{Dirs: []string{dir}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	return NewManager(Config{BrokerID: 1, Logs: logs, Log: zerolog.Nop()}), logs
}

// batch is a one-record RecordBatch v2 with a correct CRC (testdata, written
// with the broker package's test batch builder).
func batch(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "one-record-batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLeaderAppendMovesHighWatermarkAndWakesWaiters(t *testing.T) {
	m, _ := newManager(t, t.TempDir())
	tp := log.TopicPartition{Topic: "t", Partition: 0}
	res, err := m.BecomeLeaderOrFollower(9, 1, []PartitionState{{Topic: "t", Partition: 0, Leader: 1, LeaderEpoch: 3, ISR: []int32{1}, Replicas: []int32{1}}})
	if err != nil || res[tp] != nil {
		t.Fatalf("become leader: %v %v", err, res)
	}
	p, err := m.Leader(tp)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWaiter()
	p.Watch(w)
	r, err := p.AppendAsLeader(batch(t), -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.BaseOffset != 0 || p.HighWatermark() != 1 {
		t.Fatalf("append at %d, high watermark %d", r.BaseOffset, p.HighWatermark())
	}
	select {
	case <-w.C:
	case <-time.After(time.Second):
		t.Fatal("the waiter was not woken by the append")
	}
	// The leader epoch cache names epoch 3 from offset 0.
	if e := p.EpochForOffset(0); e != 3 {
		t.Fatalf("epoch of offset 0: %d", e)
	}
	if _, err := p.AppendAsLeader(batch(t), -1, 2); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("min.insync.replicas 2 with an ISR of 1: %v", err)
	}
	if _, err := p.AppendAsLeader(batch(t), 1, 2); err != nil {
		t.Fatalf("acks=1 ignores min.insync.replicas: %v", err)
	}
}

func TestEpochCacheAndPartitionMetadataSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	m, logs := newManager(t, dir)
	id := TopicID{1, 2, 3}
	states := []PartitionState{{Topic: "t", Partition: 0, TopicID: id, Leader: 1, LeaderEpoch: 0, ISR: []int32{1}, Replicas: []int32{1}}}
	if _, err := m.BecomeLeaderOrFollower(9, 1, states); err != nil {
		t.Fatal(err)
	}
	p, _ := m.Leader(log.TopicPartition{Topic: "t", Partition: 0})
	if _, err := p.AppendAsLeader(batch(t), 1, 1); err != nil {
		t.Fatal(err)
	}
	states[0].LeaderEpoch = 4
	if _, err := m.BecomeLeaderOrFollower(9, 2, states); err != nil {
		t.Fatal(err)
	}
	logs.Close()

	m2, _ := newManager(t, dir)
	states[0].LeaderEpoch = 5
	if _, err := m2.BecomeLeaderOrFollower(9, 3, states); err != nil {
		t.Fatal(err)
	}
	p2, err := m2.Leader(log.TopicPartition{Topic: "t", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	if e := p2.EpochForOffset(0); e != 0 {
		t.Fatalf("offset 0 was written in epoch 0, cache says %d", e)
	}
	if e := p2.EpochForOffset(p2.Log().LogEndOffset()); e != 5 {
		t.Fatalf("the current epoch is 5, cache says %d", e)
	}
	got, ok, err := ReadPartitionMetadata(p2.Log().Dir())
	if err != nil || !ok || got != id {
		t.Fatalf("partition.metadata: %v %v %v", got, ok, err)
	}
	cp, err := os.ReadFile(filepath.Join(p2.Log().Dir(), LeaderEpochCheckpointFile))
	// Epoch 4 wrote nothing: epoch 5 starting at the same offset replaces
	// it, as LeaderEpochFileCache.assign drops non-monotonic entries.
	if err != nil || string(cp) != "0\n2\n0 0\n5 1\n" {
		t.Fatalf("leader-epoch-checkpoint %q %v", cp, err)
	}
}

func TestStopReplicaFencingAndDelete(t *testing.T) {
	dir := t.TempDir()
	m, _ := newManager(t, dir)
	tp := log.TopicPartition{Topic: "t", Partition: 0}
	m.BecomeLeaderOrFollower(9, 1, []PartitionState{{Topic: "t", Partition: 0, Leader: 1, LeaderEpoch: 7, ISR: []int32{1}, Replicas: []int32{1}}})
	res, err := m.StopReplicas(9, 1, []StopPartition{{Topic: "t", Partition: 0, LeaderEpoch: 6, Delete: true}})
	if err != nil || !errors.Is(res[tp], ErrFencedLeaderEpoch) {
		t.Fatalf("older epoch: %v %v", err, res)
	}
	if _, err := m.StopReplicas(9, 0, nil); !errors.Is(err, ErrStaleControllerEpoch) {
		t.Fatalf("older controller: %v", err)
	}
	res, err = m.StopReplicas(9, 1, []StopPartition{{Topic: "t", Partition: 0, LeaderEpoch: EpochDuringDelete, Delete: true}})
	if err != nil || res[tp] != nil {
		t.Fatalf("delete: %v %v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "t-0")); !os.IsNotExist(err) {
		t.Fatalf("the partition directory is still there: %v", err)
	}
	if m.Partition(tp) != nil {
		t.Fatal("the partition is still hosted")
	}
}
