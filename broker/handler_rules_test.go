package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func rawSend(t *testing.T, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	s := NewSender(7, "PLAINTEXT", b.log)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := s.SendTo(ctx, b.ID(), b.registrationInfo(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestMinInsyncReplicasAndLogAppendTime(t *testing.T) {
	c := newTestCluster(t)
	b := c.start(1, nil)
	two, appendTime := "2", "LogAppendTime"
	c.createTopic("strict", 1, map[string]*string{"min.insync.replicas": &two, "message.timestamp.type": &appendTime})
	ctx := ctxTimeout(t, 20*time.Second)

	all := c.client(kgo.DefaultProduceTopic("strict"), kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	err := all.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with an ISR of 1 and min.insync.replicas=2: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	one := c.client(kgo.DefaultProduceTopic("strict"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	before := time.Now().Add(-time.Second).UnixMilli()
	old := time.Unix(1000, 0)
	r := &kgo.Record{Value: []byte("y"), Timestamp: old}
	if err := one.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatalf("acks=1 ignores min.insync.replicas: %v", err)
	}
	if r.Offset != 0 {
		t.Fatalf("offset %d: the refused acks=all batch was appended", r.Offset)
	}
	// LogAppendTime: the broker's clock replaces the producer's timestamp.
	cons := c.client(kgo.ConsumeTopics("strict"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	got := fs.Records()[0]
	if got.Timestamp.UnixMilli() < before || got.Attrs.TimestampType() != 1 {
		t.Fatalf("record timestamp %v (log append time %v), want the broker's clock", got.Timestamp, got.Attrs.TimestampType())
	}
	_ = b
}

func TestMetadataAutoCreateAndLeaderNotAvailable(t *testing.T) {
	c := newTestCluster(t)
	b := c.startWith(c.testConfig(1), nil) // no controller: nobody elects leaders
	fc := newFakeController(t, b)
	fc.updateMetadata(8, "", nil, 0) // the broker learns it is alive

	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation = 9, true
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("fresh")}}
	resp := rawSend(t, b, req).(*kmsg.MetadataResponse)
	if resp.Topics[0].ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("auto-created topic: %v, want LEADER_NOT_AVAILABLE", kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	}
	if ok, _, err := b.zkConn.Exists(b.meta.Abs(zkmeta.TopicPath("fresh"))); err != nil || !ok {
		t.Fatalf("/brokers/topics/fresh not written: %v %v", ok, err)
	}
	// Asked again before a controller elected a leader: still not available.
	resp = rawSend(t, b, req).(*kmsg.MetadataResponse)
	if resp.Topics[0].ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("second ask: %v", kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	}
	// Without permission to create: UNKNOWN_TOPIC_OR_PARTITION, nothing written.
	req.AllowAutoTopicCreation = false
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("not-created")}}
	resp = rawSend(t, b, req).(*kmsg.MetadataResponse)
	if resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("no auto-create: %v", kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	}
	if ok, _, _ := b.zkConn.Exists(b.meta.Abs(zkmeta.TopicPath("not-created"))); ok {
		t.Fatal("topic written although auto creation was not allowed")
	}
	// A partition whose leader is not alive.
	fc.updateMetadata(8, "orphan", map[int32]int32{0: 5}, 0)
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("orphan")}}
	resp = rawSend(t, b, req).(*kmsg.MetadataResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code || p.Leader != -1 {
		t.Fatalf("dead leader: %+v", p)
	}
	// v1+: null topics is all topics, empty is none; v0: empty is all.
	req.Topics = nil
	if resp = rawSend(t, b, req).(*kmsg.MetadataResponse); len(resp.Topics) != 1 {
		t.Fatalf("null topic list: %d topics", len(resp.Topics))
	}
	req.Topics = []kmsg.MetadataRequestTopic{}
	if resp = rawSend(t, b, req).(*kmsg.MetadataResponse); len(resp.Topics) != 0 {
		t.Fatalf("empty topic list: %d topics", len(resp.Topics))
	}
	req.Version = 0
	if resp = rawSend(t, b, req).(*kmsg.MetadataResponse); len(resp.Topics) != 1 {
		t.Fatalf("v0 empty topic list: %d topics", len(resp.Topics))
	}
}

func TestFetchSessionsAndLeaderEpochs(t *testing.T) {
	c := newTestCluster(t)
	b := c.start(1, nil)
	c.createTopic("fe", 1, nil)

	f := kmsg.NewPtrFetchRequest()
	f.Version, f.ReplicaID, f.SessionID, f.SessionEpoch = 12, -1, 77, 1
	if r := rawSend(t, b, f).(*kmsg.FetchResponse); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session id: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	// A new-session request (id 0, epoch 0) is answered sessionless.
	f.SessionID, f.SessionEpoch = 0, 0
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fe"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, 5
	ft.Partitions = []kmsg.FetchRequestTopicPartition{fp}
	f.Topics = []kmsg.FetchRequestTopic{ft}
	r := rawSend(t, b, f).(*kmsg.FetchResponse)
	if r.ErrorCode != 0 || r.SessionID != 0 {
		t.Fatalf("new session: error %v session %d", kerr.ErrorForCode(r.ErrorCode), r.SessionID)
	}
	if code := r.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("a leader epoch from the future: %v", kerr.ErrorForCode(code))
	}
	// Offset beyond the log end.
	f.Topics[0].Partitions[0].CurrentLeaderEpoch = -1
	f.Topics[0].Partitions[0].FetchOffset = 99
	r = rawSend(t, b, f).(*kmsg.FetchResponse)
	if code := r.Topics[0].Partitions[0].ErrorCode; code != kerr.OffsetOutOfRange.Code {
		t.Fatalf("offset 99 of an empty log: %v", kerr.ErrorForCode(code))
	}
	if r.Topics[0].Partitions[0].RecordBatches == nil {
		t.Fatal("record set is null; librdkafka needs it empty")
	}
}
