package integration

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestBrokerdBadInput sends a real brokerd what clients should never send.
// Framing and header errors close that connection only (as Kafka's
// SocketServer does); bad records, names and configs get Kafka's error code
// on an open connection; a witness connection and a franz-go client keep
// working throughout.
func TestBrokerdBadInput(t *testing.T) {
	b := harness.StartBrokerdT(t, harness.BrokerdConfig{})
	const topic = "victim"
	createTopicAndWait(t, []string{b.Addr()}, topic, 1, nil)

	dial := func(t *testing.T) *harness.KafkaConn {
		t.Helper()
		c, err := harness.DialKafka(b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	witness := dial(t)
	stillServing := func(t *testing.T) {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 7
		req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
		resp, err := witness.Request(req)
		if err != nil {
			t.Fatalf("the witness connection broke: %v", err)
		}
		if md := resp.(*kmsg.MetadataResponse); len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
			t.Fatalf("witness metadata: %+v", md.Topics)
		}
	}
	expectClosed := func(t *testing.T, c *harness.KafkaConn) {
		t.Helper()
		if err := c.ExpectClosed(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		stillServing(t)
	}
	logEnd := func(t *testing.T) int64 {
		t.Helper()
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version = 1
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := witness.Request(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].Offset
	}
	produce := func(c *harness.KafkaConn, version int16, acks int16, topic string, records []byte) (*kmsg.ProduceResponse, error) {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = version, acks, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		if acks == 0 {
			return nil, c.WriteRaw(harness.Frame(99, "raw", req))
		}
		resp, err := c.Request(req)
		if err != nil {
			return nil, err
		}
		return resp.(*kmsg.ProduceResponse), nil
	}
	wantCode := func(t *testing.T, what string, got int16, want *kerr.Error) {
		t.Helper()
		if got != want.Code {
			t.Fatalf("%s: error %d (%v), want %s", what, got, kerr.ErrorForCode(got), want.Message)
		}
	}

	t.Run("oversized frame", func(t *testing.T) {
		c := dial(t)
		// 200 MiB announced, above socket.request.max.bytes (100 MiB): refused
		// before anything is read or allocated.
		if err := c.WriteRaw(binary.BigEndian.AppendUint32(nil, 200<<20)); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("negative frame size", func(t *testing.T) {
		c := dial(t)
		if err := c.WriteRaw([]byte{0xff, 0xff, 0xff, 0xf0}); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("truncated header", func(t *testing.T) {
		c := dial(t)
		if err := c.WriteRaw([]byte{0, 0, 0, 5, 0, 3, 0, 1, 0}); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("truncated frame", func(t *testing.T) {
		c := dial(t)
		frame := harness.Frame(1, "raw", kmsg.NewPtrMetadataRequest())
		if err := c.WriteRaw(frame[:len(frame)-3]); err != nil {
			t.Fatal(err)
		}
		c.Close() // the rest never comes
		stillServing(t)
	})
	t.Run("unknown api key", func(t *testing.T) {
		c := dial(t)
		frame := harness.Frame(1, "raw", kmsg.NewPtrMetadataRequest())
		binary.BigEndian.PutUint16(frame[4:], 9999)
		if err := c.WriteRaw(frame); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("api key not served", func(t *testing.T) {
		c := dial(t)
		req := kmsg.NewPtrSASLHandshakeRequest() // known to Kafka, not served here
		if err := c.WriteRaw(harness.Frame(1, "raw", req)); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("unsupported version", func(t *testing.T) {
		c := dial(t)
		req := kmsg.NewPtrProduceRequest()
		req.Version = 2 // below the served range (3-9)
		if err := c.WriteRaw(harness.Frame(1, "raw", req)); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("ApiVersions above the served range", func(t *testing.T) {
		c := dial(t)
		// A client from the future: header v2, v77, a body with fields
		// nobody knows yet.
		future := kmsg.NewPtrApiVersionsRequest()
		future.Version, future.ClientSoftwareName, future.ClientSoftwareVersion = 3, "future", "9.9"
		frame := append(harness.Frame(1, "raw", future), 1, 2, 3, 4)
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		binary.BigEndian.PutUint16(frame[6:], 77)
		if err := c.WriteRaw(frame); err != nil {
			t.Fatal(err)
		}
		v0 := kmsg.NewPtrApiVersionsRequest()
		resp, err := c.ReadResponse(v0, 1)
		if err != nil {
			t.Fatal(err)
		}
		av := resp.(*kmsg.ApiVersionsResponse)
		wantCode(t, "ApiVersions v77", av.ErrorCode, kerr.UnsupportedVersion)
		if len(av.ApiKeys) < 10 {
			t.Fatalf("the v0 fallback lists %d api keys", len(av.ApiKeys))
		}
		// The connection stays usable: the client retries with a version we serve.
		v3 := kmsg.NewPtrApiVersionsRequest()
		v3.Version, v3.ClientSoftwareName, v3.ClientSoftwareVersion = 3, "test", "1.0"
		r3, err := c.Request(v3)
		if err != nil || r3.(*kmsg.ApiVersionsResponse).ErrorCode != 0 {
			t.Fatalf("ApiVersions v3 after the fallback: %v %+v", err, r3)
		}
	})
	t.Run("malformed body", func(t *testing.T) {
		c := dial(t)
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 1
		frame := harness.Frame(1, "raw", req)
		// Replace the topic array with a length of one million and no data.
		frame = append(frame[:len(frame)-4], 0, 0x0f, 0x42, 0x40)
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		if err := c.WriteRaw(frame); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
	})
	t.Run("corrupt CRC", func(t *testing.T) {
		c := dial(t)
		before := logEnd(t)
		batch := harness.RecordBatch(time.Now().UnixMilli(), []byte("one"), []byte("two"))
		batch[len(batch)-2] ^= 0xff // a record byte, covered by the CRC
		resp, err := produce(c, 7, -1, topic, batch)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "corrupt batch", resp.Topics[0].Partitions[0].ErrorCode, kerr.CorruptMessage)
		if after := logEnd(t); after != before {
			t.Fatalf("log end moved from %d to %d: a corrupt batch was appended", before, after)
		}
		// The same connection goes on: an intact batch is accepted.
		good := harness.RecordBatch(time.Now().UnixMilli(), []byte("ok"))
		resp, err = produce(c, 7, -1, topic, good)
		if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 || resp.Topics[0].Partitions[0].BaseOffset != before {
			t.Fatalf("intact batch after a corrupt one: %v %+v", err, resp)
		}
	})
	t.Run("corrupt batch with acks=0 closes", func(t *testing.T) {
		c := dial(t)
		before := logEnd(t)
		batch := harness.RecordBatch(time.Now().UnixMilli(), []byte("zero"))
		batch[len(batch)-1] ^= 0x55
		if _, err := produce(c, 7, 0, topic, batch); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
		if after := logEnd(t); after != before {
			t.Fatalf("log end moved from %d to %d", before, after)
		}
	})
	t.Run("record batch rules", func(t *testing.T) {
		c := dial(t)
		one := harness.RecordBatch(time.Now().UnixMilli(), []byte("a"))
		resp, _ := produce(c, 7, -1, topic, append(append([]byte{}, one...), one...))
		wantCode(t, "two batches", resp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidRecord)
		old := append([]byte{}, one...)
		old[16] = 1 // magic 1
		resp, _ = produce(c, 7, -1, topic, old)
		wantCode(t, "magic 1", resp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidRecord)
		resp, _ = produce(c, 7, 2, topic, one)
		wantCode(t, "acks=2", resp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidRequiredAcks)
		resp, _ = produce(c, 7, -1, "no-such-topic", one)
		wantCode(t, "unknown topic", resp.Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
	})
	t.Run("message.max.bytes boundary", func(t *testing.T) {
		c := dial(t)
		const max = 1048588
		exact := batchOfSize(t, max)
		resp, _ := produce(c, 9, -1, topic, exact)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("a batch of exactly message.max.bytes: %v", kerr.ErrorForCode(code))
		}
		resp, _ = produce(c, 9, -1, topic, batchOfSize(t, max+1))
		wantCode(t, "one byte over message.max.bytes", resp.Topics[0].Partitions[0].ErrorCode, kerr.MessageTooLarge)
	})
	t.Run("invalid topic names", func(t *testing.T) {
		c := dial(t)
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = 5, 5000
		for _, name := range []string{"bad name", "..", "", string(bytes.Repeat([]byte("x"), 250)), "ünïcode"} {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := c.Request(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.(*kmsg.CreateTopicsResponse).Topics {
			wantCode(t, "create "+rt.Topic, rt.ErrorCode, kerr.InvalidTopicException)
		}
		md := kmsg.NewPtrMetadataRequest()
		md.Version, md.AllowAutoTopicCreation = 9, true
		md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("bad name")}}
		mresp, err := c.Request(md)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "metadata for an invalid name", mresp.(*kmsg.MetadataResponse).Topics[0].ErrorCode, kerr.InvalidTopicException)
	})
	t.Run("bad configs", func(t *testing.T) {
		c := dial(t)
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = 5, 5000
		for _, kv := range [][2]string{{"retention.ms", "forever"}, {"cleanup.policy", "shred"}, {"no.such.key", "1"}, {"min.insync.replicas", "0"}} {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "cfg-"+kv[0], 1, 1
			rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: kv[0], Value: kmsg.StringPtr(kv[1])}}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := c.Request(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.(*kmsg.CreateTopicsResponse).Topics {
			wantCode(t, "create "+rt.Topic, rt.ErrorCode, kerr.InvalidConfig)
			if rt.ErrorMessage == nil || *rt.ErrorMessage == "" {
				t.Fatalf("%s: no error message", rt.Topic)
			}
		}
		inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("5")}}
		inc.Resources = append(inc.Resources, res)
		iresp, err := c.Request(inc)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "APPEND to a non-list config", iresp.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode, kerr.InvalidConfig)
	})

	// After all of it, an ordinary client works.
	cl := kgoClient(t, []string{b.Addr()}, kgo.DefaultProduceTopic(topic))
	if err := cl.ProduceSync(timeoutCtx(t, 10*time.Second), &kgo.Record{Value: []byte("still fine")}).FirstErr(); err != nil {
		t.Fatalf("produce after the bad input: %v", err)
	}
	if b.Exited() {
		t.Fatal("brokerd exited")
	}
}

// batchOfSize builds a one-record batch of exactly n bytes.
func batchOfSize(t *testing.T, n int) []byte {
	t.Helper()
	v := n - 80
	for i := 0; i < 100; i++ {
		b := harness.RecordBatch(time.Now().UnixMilli(), bytes.Repeat([]byte("m"), v))
		switch {
		case len(b) == n:
			return b
		case len(b) < n:
			v += n - len(b)
		default:
			v -= len(b) - n
		}
	}
	t.Fatalf("cannot build a batch of %d bytes", n)
	return nil
}
