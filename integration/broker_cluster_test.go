package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestBrokerdThreeBrokersFranzGo: partitions of a new topic are spread over
// three brokerd processes, franz-go sends each partition to its leader, and
// follows a leader that comes back with a new epoch after a restart.
func TestBrokerdThreeBrokersFranzGo(t *testing.T) {
	c := startBrokerCluster(t, 3, nil)
	const topic, partitions = "spread", 9
	createTopicAndWait(t, c.seeds(), topic, partitions, nil)
	adm := kadm.NewClient(kgoClient(t, c.seeds()))
	ctx := timeoutCtx(t, 90*time.Second)

	leaders := func() map[int32]int32 {
		md, err := kadm.NewClient(kgoClient(t, c.seeds())).Metadata(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int32{}
		for p, pd := range md.Topics[topic].Partitions {
			out[p] = pd.Leader
		}
		return out
	}
	perBroker := map[int32]int{}
	for _, l := range leaders() {
		perBroker[l]++
	}
	for id := int32(1); id <= 3; id++ {
		if perBroker[id] != partitions/3 {
			t.Fatalf("leaders per broker %v: AdminUtils spreads 9 partitions 3 per broker", perBroker)
		}
	}

	// Every partition gets records; each broker's log holds only its own
	// partitions, so the client must have sent each batch to the leader.
	producer := kgoClient(t, c.seeds(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(round string) {
		for p := int32(0); p < partitions; p++ {
			for i := 0; i < 20; i++ {
				r := &kgo.Record{Topic: topic, Partition: p, Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("%s-%d-%d", round, p, i))}
				if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatalf("produce %s to partition %d: %v", round, p, err)
				}
			}
		}
	}
	produce("first")
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 20 {
			t.Errorf("partition %d ends at %d (%v), want 20", o.Partition, o.Offset, o.Err)
		}
	})

	// Broker 2 restarts: its partitions come back led by it with a higher
	// leader epoch, and the same client keeps producing to all partitions.
	before := map[int32]int32{}
	md, _ := adm.Metadata(ctx, topic)
	for p, pd := range md.Topics[topic].Partitions {
		before[p] = pd.LeaderEpoch
	}
	b2 := c.broker(2)
	if err := b2.Stop(); err != nil {
		t.Fatal(err)
	}
	c.brokers[1] = harness.RestartBrokerdT(t, b2)
	pollUntil(t, 30*time.Second, "broker 2 leading its partitions again", func() bool {
		md, err := kadm.NewClient(kgoClient(t, c.seeds())).Metadata(ctx, topic)
		if err != nil {
			return false
		}
		n := 0
		for p, pd := range md.Topics[topic].Partitions {
			if pd.Leader == 2 && pd.LeaderEpoch > before[p] {
				n++
			}
			if pd.Leader < 0 {
				return false
			}
		}
		return n == partitions/3
	})
	produce("second")
	consumer := kgoClient(t, c.seeds(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	perPartition := map[int32]int{}
	total := 0
	for total < partitions*40 {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { perPartition[r.Partition]++; total++ })
	}
	for p := int32(0); p < partitions; p++ {
		if perPartition[p] != 40 {
			t.Fatalf("partition %d has %d records, want 40 (20 before and 20 after the restart)", p, perPartition[p])
		}
	}
}
