package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
	"github.com/zabkafka/zabkafka/zkserver/zkservertest"
)

// BenchmarkFailover measures one controller failover (election, reading
// every assignment and partition state, LeaderAndIsr/UpdateMetadata to the
// brokers) over an in-memory zkd, with the ZooKeeper reads issued one at a
// time (parallel=1, Kafka before KAFKA-5642) and pipelined (parallel=16).
// The ratio between the two is the point; compare them from one run.
func BenchmarkFailover(b *testing.B) {
	for _, partitions := range []int{1000} {
		s := zkservertest.Start(b)
		addr := s.Addr().String()
		admin := benchMeta(b, addr)
		if err := admin.CreatePersistentPaths(); err != nil {
			b.Fatal(err)
		}
		const brokers = 3
		for id := int32(1); id <= brokers; id++ {
			m := benchMeta(b, addr)
			if _, err := m.RegisterBroker(brokerInfo(id), 0); err != nil {
				b.Fatal(err)
			}
		}
		const perTopic = 10
		for ti := 0; ti < partitions/perTopic; ti++ {
			topic := fmt.Sprintf("bench%d", ti)
			a := &zkmeta.TopicAssignment{Partitions: map[int32]zkmeta.ReplicaAssignment{}}
			for p := int32(0); p < perTopic; p++ {
				r := []int32{p%brokers + 1, (p+1)%brokers + 1}
				a.Partitions[p] = zkmeta.ReplicaAssignment{Replicas: r}
			}
			if _, err := admin.CreateTopic(topic, a, nil); err != nil {
				b.Fatal(err)
			}
			parallel(perTopic, func(i int) {
				p := int32(i)
				st := &zkmeta.PartitionState{ControllerEpoch: 1, Leader: a.Partitions[p].Replicas[0], Isr: a.Partitions[p].Replicas}
				if _, err := admin.CreatePartitionState(zkmeta.Unfenced, topic, p, st); err != nil {
					b.Error(err)
				}
			})
		}
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("partitions=%d/parallel=%d", partitions, par), func(b *testing.B) {
				old := zkParallelism
				zkParallelism = par
				defer func() { zkParallelism = old }()
				for range b.N {
					benchOneFailover(b, addr)
				}
			})
		}
	}
}

func benchMeta(b *testing.B, addr string) *zkmeta.Client {
	b.Helper()
	conn := connect(b, addr, 10*time.Second)
	b.Cleanup(conn.Close)
	m, err := zkmeta.New(conn, zkmeta.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchOneFailover runs a fresh controller until it has finished its
// failover, then stops it (which frees /controller for the next round).
func benchOneFailover(b *testing.B, addr string) {
	b.StopTimer()
	meta := benchMeta(b, addr)
	c, err := New(Config{BrokerID: 100, Meta: meta, Sender: newFakeNet().sender(100), Log: zerolog.Nop(), DeleteTopicEnable: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.StartTimer()
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	for {
		if _, ok := c.Active(); ok {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	finished := make(chan struct{})
	c.queue.put(evFunc{f: func() { close(finished) }})
	<-finished
	b.StopTimer()
	cancel()
	<-done
	b.StartTimer()
}
