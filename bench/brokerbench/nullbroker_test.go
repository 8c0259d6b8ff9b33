package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestNullBrokerTakesProduce drives the null broker with the producer settings of the
// benchmark: every record is acknowledged, with consecutive offsets across batches.
func TestNullBrokerTakesProduce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go serveNull(l, "t")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.Addr().String()), kgo.DefaultProduceTopic("t"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite(), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 5000
	offsets := make(chan int64, n)
	for range n {
		cl.Produce(ctx, &kgo.Record{Value: make([]byte, 100)}, func(r *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
			offsets <- r.Offset
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(offsets)
	seen := make([]bool, n)
	for o := range offsets {
		if o < 0 || o >= n || seen[o] {
			t.Fatalf("offset %d: out of range or twice", o)
		}
		seen[o] = true
	}
}
