package integration

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// testRecord is what a test produced, to compare with what it consumes.
type testRecord struct {
	key     []byte // nil = null key
	value   []byte
	headers []kgo.RecordHeader
}

func makeRecords(prefix string, n int) []testRecord {
	out := make([]testRecord, n)
	for i := range out {
		r := testRecord{value: []byte(fmt.Sprintf("%s-value-%d-%s", prefix, i, strings.Repeat("x", i%50)))}
		switch i % 3 {
		case 0:
			r.key = []byte(fmt.Sprintf("key-%d", i))
		case 1:
			r.key = nil // null key
		case 2:
			r.key = []byte{} // empty, not null
		}
		if i%2 == 0 {
			r.headers = []kgo.RecordHeader{{Key: "i", Value: []byte(fmt.Sprint(i))}, {Key: "null-value", Value: nil}}
		}
		out[i] = r
	}
	return out
}

// produceAll produces records to one partition of topic and waits for every
// acknowledgement.
func produceAll(t *testing.T, cl *kgo.Client, topic string, recs []testRecord) {
	t.Helper()
	ctx := timeoutCtx(t, 60*time.Second)
	for _, r := range recs {
		kr := &kgo.Record{Topic: topic, Key: r.key, Value: r.value, Headers: r.headers}
		cl.Produce(ctx, kr, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce to %s: %v", topic, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// consumeN reads n records of topic from the start.
func consumeN(t *testing.T, seeds []string, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := kgoClient(t, seeds, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := timeoutCtx(t, 60*time.Second)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s after %d records: %v", topic, len(out), err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func checkRecords(t *testing.T, got []*kgo.Record, want []testRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, g.Offset)
		}
		if (g.Key == nil) != (w.key == nil) || !bytes.Equal(g.Key, w.key) {
			t.Fatalf("record %d key %q (nil %v), want %q (nil %v)", i, g.Key, g.Key == nil, w.key, w.key == nil)
		}
		if !bytes.Equal(g.Value, w.value) {
			t.Fatalf("record %d value %q, want %q", i, g.Value, w.value)
		}
		if len(g.Headers) != len(w.headers) {
			t.Fatalf("record %d has %d headers, want %d", i, len(g.Headers), len(w.headers))
		}
		for j := range g.Headers {
			if g.Headers[j].Key != w.headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.headers[j].Value) {
				t.Fatalf("record %d header %d = %v, want %v", i, j, g.Headers[j], w.headers[j])
			}
		}
	}
}

// TestBrokerdSingleFranzGo runs franz-go against one real brokerd in dev
// mode (embedded zkd): acks, keys, headers, codecs, sizes, offsets, long
// polling and topic administration.
func TestBrokerdSingleFranzGo(t *testing.T) {
	b := harness.StartBrokerdT(t, harness.BrokerdConfig{Props: map[string]string{"log.retention.check.interval.ms": "200"}})
	seeds := []string{b.Addr()}
	adm := kadm.NewClient(kgoClient(t, seeds))

	t.Run("acks", func(t *testing.T) {
		for _, acks := range []struct {
			name string
			opt  kgo.Acks
		}{{"0", kgo.NoAck()}, {"1", kgo.LeaderAck()}, {"all", kgo.AllISRAcks()}} {
			topic := "acks-" + acks.name
			createTopicAndWait(t, seeds, topic, 1, nil)
			cl := kgoClient(t, seeds, kgo.RequiredAcks(acks.opt), kgo.DisableIdempotentWrite())
			recs := makeRecords(topic, 300)
			produceAll(t, cl, topic, recs)
			checkRecords(t, consumeN(t, seeds, topic, len(recs)), recs)
		}
	})

	t.Run("compression", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			codec kgo.CompressionCodec
		}{{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()},
			{"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}} {
			topic := "codec-" + c.name
			createTopicAndWait(t, seeds, topic, 1, nil)
			cl := kgoClient(t, seeds, kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(5*time.Millisecond))
			recs := makeRecords(topic, 500)
			produceAll(t, cl, topic, recs)
			checkRecords(t, consumeN(t, seeds, topic, len(recs)), recs)
		}
	})

	t.Run("message.max.bytes", func(t *testing.T) {
		const topic = "sizes"
		createTopicAndWait(t, seeds, topic, 1, nil)
		// The client's own limit is raised so the broker is the one deciding,
		// and nothing is compressed: the limit applies to the batch as sent.
		cl := kgoClient(t, seeds, kgo.ProducerBatchMaxBytes(8<<20), kgo.MaxBufferedBytes(64<<20),
			kgo.ProducerBatchCompression(kgo.NoCompression()))
		ctx := timeoutCtx(t, 30*time.Second)
		const maxMessageBytes = 1048588 // Kafka's default, which brokerd keeps
		fits := &kgo.Record{Topic: topic, Value: bytes.Repeat([]byte("a"), maxMessageBytes-100)}
		if err := cl.ProduceSync(ctx, fits).FirstErr(); err != nil {
			t.Fatalf("a batch just under message.max.bytes: %v", err)
		}
		tooBig := &kgo.Record{Topic: topic, Value: bytes.Repeat([]byte("b"), maxMessageBytes)}
		err := cl.ProduceSync(ctx, tooBig).FirstErr()
		if !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("a batch over message.max.bytes: got %v, want MESSAGE_TOO_LARGE", err)
		}
		got := consumeN(t, seeds, topic, 1, kgo.FetchMaxPartitionBytes(4<<20))
		if len(got[0].Value) != len(fits.Value) {
			t.Fatalf("consumed a %d-byte value, want %d", len(got[0].Value), len(fits.Value))
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := ends.Lookup(topic, 0); o.Offset != 1 {
			t.Fatalf("log end offset %d after one accepted and one refused record, want 1", o.Offset)
		}
	})

	t.Run("offsets", func(t *testing.T) {
		const topic = "offsets"
		createTopicAndWait(t, seeds, topic, 1, nil)
		cl := kgoClient(t, seeds)
		ctx := timeoutCtx(t, 30*time.Second)
		base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		for i := 0; i < 30; i++ {
			r := &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Minute)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		// From a timestamp: the first record at or after minute 12.
		at := kgoClient(t, seeds, kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(base.Add(12*time.Minute).UnixMilli())))
		fs := at.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		if first := fs.Records()[0]; first.Offset != 12 || string(first.Value) != "12" {
			t.Fatalf("consume from a timestamp started at offset %d (%s), want 12", first.Offset, first.Value)
		}
		listed, err := adm.ListOffsetsAfterMilli(ctx, base.Add(12*time.Minute+time.Second).UnixMilli(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := listed.Lookup(topic, 0); o.Offset != 13 {
			t.Fatalf("ListOffsets by timestamp gave %d, want 13", o.Offset)
		}
		// From the latest offset: only records produced afterwards.
		latest := kgoClient(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
			kgo.FetchMaxWait(500*time.Millisecond))
		pollCtx := timeoutCtx(t, 2*time.Second)
		if fs := latest.PollFetches(pollCtx); len(fs.Records()) != 0 {
			t.Fatalf("a consumer at the latest offset got %d old records", len(fs.Records()))
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("new")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		fs = latest.PollFetches(ctx)
		if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "new" || recs[0].Offset != 30 {
			t.Fatalf("a consumer at the latest offset got %v", recs)
		}
		// From the earliest offset: everything.
		if got := consumeN(t, seeds, topic, 31); string(got[0].Value) != "0" {
			t.Fatalf("earliest record %q", got[0].Value)
		}
	})

	t.Run("long poll", func(t *testing.T) {
		const topic = "longpoll"
		createTopicAndWait(t, seeds, topic, 1, nil)
		const maxWait = 10 * time.Second
		consumer := kgoClient(t, seeds, kgo.ConsumeTopics(topic), kgo.FetchMaxWait(maxWait),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		producer := kgoClient(t, seeds)
		ctx := timeoutCtx(t, 30*time.Second)
		got := make(chan time.Time, 1)
		go func() {
			fs := consumer.PollFetches(ctx)
			if len(fs.Records()) > 0 {
				got <- time.Now()
			}
			close(got)
		}()
		// Let the consumer's fetch reach the broker and park there.
		time.Sleep(700 * time.Millisecond)
		if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("wake")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		at, ok := <-got
		if !ok {
			t.Fatal("the consumer got nothing")
		}
		// The fetch was parked for up to 10 s; it must return as the
		// data arrives, not at max wait.
		if lag := at.Sub(acked); lag > maxWait/3 {
			t.Fatalf("the long-polling fetch returned %v after the produce; it waited for max wait", lag)
		}
	})

	t.Run("altered retention reaches the log", func(t *testing.T) {
		const topic = "retained"
		seg := "2048"
		createTopicAndWait(t, seeds, topic, 1, map[string]*string{"segment.bytes": &seg})
		cl := kgoClient(t, seeds, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
		ctx := timeoutCtx(t, 30*time.Second)
		for i := 0; i < 60; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: bytes.Repeat([]byte{'r'}, 300)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := starts.Lookup(topic, 0); o.Offset != 0 {
			t.Fatalf("log start %d before any retention", o.Offset)
		}
		limit := "4096"
		alt, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: &limit}}, topic)
		if err != nil || alt[0].Err != nil {
			t.Fatalf("alter: %v %v", err, alt)
		}
		// The config change notification reaches the broker, which applies
		// it to the open log; the next retention pass deletes old segments.
		pollUntil(t, 15*time.Second, "old segments to be deleted", func() bool {
			starts, err := adm.ListStartOffsets(ctx, topic)
			if err != nil {
				return false
			}
			o, _ := starts.Lookup(topic, 0)
			return o.Offset > 40
		})
	})

	t.Run("topic admin", func(t *testing.T) {
		ctx := timeoutCtx(t, 30*time.Second)
		retention := "3600000"
		created := createOne(t, adm, 2, 1, map[string]*string{"retention.ms": &retention}, "admin-topic")
		if created.Err != nil {
			t.Fatalf("create: %v", created.Err)
		}
		if created.NumPartitions != 2 || created.ReplicationFactor != 1 || created.ID == [16]byte{} {
			t.Fatalf("create answered %+v", created)
		}
		if dup := createOne(t, adm, 2, 1, nil, "admin-topic"); !errors.Is(dup.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("second create: %v, want TOPIC_ALREADY_EXISTS", dup.Err)
		}
		rf2 := createOne(t, adm, 1, 2, nil, "rf-two")
		if !errors.Is(rf2.Err, kerr.InvalidReplicationFactor) ||
			!strings.Contains(rf2.ErrMessage, "replication factor above 1 needs partition replication") {
			t.Fatalf("replication factor 2: %v %q", rf2.Err, rf2.ErrMessage)
		}
		if bad := createOne(t, adm, 1, 1, nil, "bad/name"); !errors.Is(bad.Err, kerr.InvalidTopicException) {
			t.Fatalf("invalid name: %v", bad.Err)
		}
		junk := "soon"
		if badCfg := createOne(t, adm, 1, 1, map[string]*string{"retention.ms": &junk}, "bad-config"); !errors.Is(badCfg.Err, kerr.InvalidConfig) {
			t.Fatalf("bad config: %v", badCfg.Err)
		}
		createTopicAndWait(t, seeds, "admin-wait", 1, nil) // leaders elected for a new topic

		describe := func(name string) kadm.Config {
			rcs, err := adm.DescribeTopicConfigs(ctx, "admin-topic")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := rcs.On("admin-topic", nil)
			if err != nil || rc.Err != nil {
				t.Fatalf("describe: %v %v", err, rc.Err)
			}
			for _, c := range rc.Configs {
				if c.Key == name {
					return c
				}
			}
			t.Fatalf("describe has no %s", name)
			return kadm.Config{}
		}
		if c := describe("retention.ms"); c.MaybeValue() != "3600000" || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
			t.Fatalf("retention.ms described as %q from %v", c.MaybeValue(), c.Source)
		}
		if c := describe("segment.bytes"); c.MaybeValue() != "1073741824" || c.Source.String() != "DEFAULT_CONFIG" {
			t.Fatalf("segment.bytes described as %q from %v", c.MaybeValue(), c.Source)
		}
		seg := "1048576"
		alt, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: &seg}}, "admin-topic")
		if err != nil || alt[0].Err != nil {
			t.Fatalf("alter: %v %v", err, alt)
		}
		if c := describe("segment.bytes"); c.MaybeValue() != seg {
			t.Fatalf("segment.bytes after alter: %q", c.MaybeValue())
		}
		if c := describe("retention.ms"); c.MaybeValue() != "3600000" {
			t.Fatalf("an incremental alter lost retention.ms: %q", c.MaybeValue())
		}
		neg := "-5"
		alt, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: &neg}}, "admin-topic")
		if err != nil || !errors.Is(alt[0].Err, kerr.InvalidConfig) {
			t.Fatalf("alter to a bad value: %v %v", err, alt)
		}
		unknown := "1"
		alt, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "no.such.config", Value: &unknown}}, "admin-topic")
		if err != nil || !errors.Is(alt[0].Err, kerr.InvalidConfig) {
			t.Fatalf("alter an unknown key: %v %v", err, alt)
		}

		grown, err := adm.UpdatePartitions(ctx, 4, "admin-topic")
		if err != nil || grown["admin-topic"].Err != nil {
			t.Fatalf("grow to 4 partitions: %v %v", err, grown)
		}
		shrunk, err := adm.UpdatePartitions(ctx, 3, "admin-topic")
		if err != nil || !errors.Is(shrunk["admin-topic"].Err, kerr.InvalidPartitions) {
			t.Fatalf("shrink to 3 partitions: %v %v, want INVALID_PARTITIONS", err, shrunk)
		}
		pollUntil(t, 10*time.Second, "4 partitions with leaders", func() bool {
			md, err := adm.Metadata(ctx, "admin-topic")
			if err != nil {
				return false
			}
			td := md.Topics["admin-topic"]
			if len(td.Partitions) != 4 {
				return false
			}
			for _, p := range td.Partitions {
				if p.Leader < 0 {
					return false
				}
			}
			return true
		})

		deleted, err := adm.DeleteTopics(ctx, "admin-topic")
		if err != nil || deleted["admin-topic"].Err != nil {
			t.Fatalf("delete: %v %v", err, deleted)
		}
		// A fresh client: kgo answers repeated metadata requests from its cache.
		md, err := kadm.NewClient(kgoClient(t, seeds)).Metadata(ctx, "admin-topic")
		if err != nil {
			t.Fatal(err)
		}
		if td, ok := md.Topics["admin-topic"]; ok && td.Err == nil {
			t.Fatalf("topic still in metadata after delete: %+v", td)
		}
		gone, err := adm.DeleteTopics(ctx, "admin-topic")
		if err != nil || !errors.Is(gone["admin-topic"].Err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("deleting a deleted topic: %v %v", err, gone)
		}
	})
}

// createOne creates one topic and returns its per-topic result.
func createOne(t *testing.T, adm *kadm.Client, partitions int32, rf int16, configs map[string]*string, name string) kadm.CreateTopicResponse {
	t.Helper()
	resps, err := adm.CreateTopics(timeoutCtx(t, 30*time.Second), partitions, rf, configs, name)
	if err != nil {
		t.Fatalf("create topics request: %v", err)
	}
	return resps[name]
}
