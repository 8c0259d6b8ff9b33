package broker

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProduceConsumeSingleBroker(t *testing.T) {
	c := newTestCluster(t)
	c.start(1, nil)
	c.createTopic("orders", 3, nil)

	cl := c.client(kgo.DefaultProduceTopic("orders"))
	ctx := ctxTimeout(t, 30*time.Second)
	const n = 300
	for i := 0; i < n; i++ {
		r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprintf("v%d", i)),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	consumer := c.client(kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for len(got) < n {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Headers) != 1 || r.Headers[0].Key != "h" || !bytes.Equal(r.Headers[0].Value, []byte("x")) {
				t.Errorf("record %s lost its header: %v", r.Value, r.Headers)
			}
			got[string(r.Value)] = true
		})
	}
	if len(got) != n {
		t.Fatalf("consumed %d distinct records, want %d", len(got), n)
	}
	_ = context.Background
}
