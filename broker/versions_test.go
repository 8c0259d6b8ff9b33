package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testBatch encodes a RecordBatch v2 with one record per value.
func testBatch(values ...string) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: records}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// TestEveryClientAPIVersion sends every version of every client API the
// broker advertises and checks that each is answered, at that version,
// without an error: sarama and kafka-go pick versions without negotiating.
func TestEveryClientAPIVersion(t *testing.T) {
	c := newTestCluster(t)
	b := c.start(1, nil)
	c.createTopic("ev", 1, nil)
	c.createTopic("cp", 1, nil)
	s := NewSender(7, "PLAINTEXT", b.log)
	t.Cleanup(s.Close)
	send := func(req kmsg.Request) kmsg.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := s.SendTo(ctx, b.ID(), b.registrationInfo(), req)
		if err != nil {
			t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
		}
		if resp.GetVersion() != req.GetVersion() {
			t.Fatalf("%s v%d answered as v%d", kmsg.NameForKey(req.Key()), req.GetVersion(), resp.GetVersion())
		}
		return resp
	}
	check := func(what string, v int16, code int16) {
		t.Helper()
		if code != 0 {
			t.Fatalf("%s v%d: %v", what, v, kerr.ErrorForCode(code))
		}
	}
	evID := b.cache.load().topics["ev"].id
	builders := map[kmsg.Key]func(v int16){
		kmsg.ApiVersions: func(v int16) {
			r := kmsg.NewPtrApiVersionsRequest()
			r.Version, r.ClientSoftwareName, r.ClientSoftwareVersion = v, "test", "1"
			resp := send(r).(*kmsg.ApiVersionsResponse)
			check("ApiVersions", v, resp.ErrorCode)
			if len(resp.ApiKeys) != len(apis) {
				t.Fatalf("ApiVersions lists %d keys, %d are registered", len(resp.ApiKeys), len(apis))
			}
		},
		kmsg.Metadata: func(v int16) {
			r := kmsg.NewPtrMetadataRequest()
			r.Version = v
			r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("ev")}}
			resp := send(r).(*kmsg.MetadataResponse)
			if len(resp.Topics) != 1 || len(resp.Brokers) != 1 || resp.Topics[0].Partitions[0].Leader != 1 {
				t.Fatalf("Metadata v%d: %+v", v, resp)
			}
			check("Metadata", v, resp.Topics[0].ErrorCode)
		},
		kmsg.Produce: func(v int16) {
			r := kmsg.NewPtrProduceRequest()
			r.Version, r.Acks, r.TimeoutMillis = v, -1, 5000
			r.Topics = []kmsg.ProduceRequestTopic{{Topic: "ev", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: testBatch(fmt.Sprint("produce v", v))}}}}
			resp := send(r).(*kmsg.ProduceResponse)
			check("Produce", v, resp.Topics[0].Partitions[0].ErrorCode)
		},
		kmsg.Fetch: func(v int16) {
			r := kmsg.NewPtrFetchRequest()
			r.Version, r.ReplicaID, r.MaxBytes, r.SessionEpoch = v, -1, 1<<20, -1
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic, ft.TopicID = "ev", evID
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
			ft.Partitions = []kmsg.FetchRequestTopicPartition{fp}
			r.Topics = []kmsg.FetchRequestTopic{ft}
			resp := send(r).(*kmsg.FetchResponse)
			check("Fetch", v, resp.ErrorCode)
			p := resp.Topics[0].Partitions[0]
			check("Fetch partition", v, p.ErrorCode)
			if len(p.RecordBatches) == 0 || p.HighWatermark < 1 {
				t.Fatalf("Fetch v%d returned no records (hw %d)", v, p.HighWatermark)
			}
		},
		kmsg.ListOffsets: func(v int16) {
			r := kmsg.NewPtrListOffsetsRequest()
			r.Version, r.ReplicaID = v, -1
			lt := kmsg.NewListOffsetsRequestTopic()
			lt.Topic = "ev"
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Timestamp, lp.MaxNumOffsets, lp.CurrentLeaderEpoch = -1, 1, -1
			lt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{lp}
			r.Topics = []kmsg.ListOffsetsRequestTopic{lt}
			resp := send(r).(*kmsg.ListOffsetsResponse)
			p := resp.Topics[0].Partitions[0]
			check("ListOffsets", v, p.ErrorCode)
			if (v == 0 && (len(p.OldStyleOffsets) != 1 || p.OldStyleOffsets[0] < 1)) || (v > 0 && p.Offset < 1) {
				t.Fatalf("ListOffsets v%d: %+v", v, p)
			}
		},
		kmsg.CreateTopics: func(v int16) {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.Version, r.TimeoutMillis = v, 10000
			ct := kmsg.NewCreateTopicsRequestTopic()
			ct.Topic, ct.NumPartitions, ct.ReplicationFactor = fmt.Sprint("ct-v", v), 1, 1
			r.Topics = []kmsg.CreateTopicsRequestTopic{ct}
			resp := send(r).(*kmsg.CreateTopicsResponse)
			check("CreateTopics", v, resp.Topics[0].ErrorCode)
		},
		kmsg.DeleteTopics: func(v int16) {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.Version, r.TimeoutMillis = v, 10000
			name := fmt.Sprint("ct-v", v)
			if v >= 6 {
				r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr(name)}}
			} else {
				r.TopicNames = []string{name}
			}
			resp := send(r).(*kmsg.DeleteTopicsResponse)
			check("DeleteTopics", v, resp.Topics[0].ErrorCode)
		},
		kmsg.CreatePartitions: func(v int16) {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.Version, r.TimeoutMillis = v, 10000
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "cp", Count: int32(v) + 2}}
			resp := send(r).(*kmsg.CreatePartitionsResponse)
			check("CreatePartitions", v, resp.Topics[0].ErrorCode)
		},
		kmsg.DescribeConfigs: func(v int16) {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Version, r.IncludeSynonyms, r.IncludeDocumentation = v, true, true
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "ev"},
				{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}}
			resp := send(r).(*kmsg.DescribeConfigsResponse)
			for _, res := range resp.Resources {
				check("DescribeConfigs", v, res.ErrorCode)
				if len(res.Configs) < 10 {
					t.Fatalf("DescribeConfigs v%d: %d configs", v, len(res.Configs))
				}
			}
		},
		kmsg.AlterConfigs: func(v int16) {
			r := kmsg.NewPtrAlterConfigsRequest()
			r.Version = v
			r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "ev",
				Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr(fmt.Sprint(100000 + int(v)))}}}}
			check("AlterConfigs", v, send(r).(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode)
		},
		kmsg.IncrementalAlterConfigs: func(v int16) {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r.Version = v
			r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "ev",
				Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("compact")}}}}
			check("IncrementalAlterConfigs", v, send(r).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode)
		},
		kmsg.DescribeCluster: func(v int16) {
			r := kmsg.NewPtrDescribeClusterRequest()
			r.Version = v
			resp := send(r).(*kmsg.DescribeClusterResponse)
			check("DescribeCluster", v, resp.ErrorCode)
			if len(resp.Brokers) != 1 || resp.ControllerID != 1 || resp.ClusterID != b.ClusterID() {
				t.Fatalf("DescribeCluster v%d: %+v", v, resp)
			}
		},
		kmsg.DeleteRecords: func(v int16) {
			r := kmsg.NewPtrDeleteRecordsRequest()
			r.Version, r.TimeoutMillis = v, 5000
			r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "ev", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: int64(v)}}}}
			resp := send(r).(*kmsg.DeleteRecordsResponse)
			p := resp.Topics[0].Partitions[0]
			check("DeleteRecords", v, p.ErrorCode)
			if p.LowWatermark != int64(v) {
				t.Fatalf("DeleteRecords v%d: low watermark %d", v, p.LowWatermark)
			}
		},
	}
	// Produce first so Fetch and ListOffsets have data; DeleteRecords last
	// among those that read.
	order := []kmsg.Key{kmsg.ApiVersions, kmsg.Metadata, kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.CreateTopics,
		kmsg.DeleteTopics, kmsg.CreatePartitions, kmsg.DescribeConfigs, kmsg.AlterConfigs, kmsg.IncrementalAlterConfigs,
		kmsg.DescribeCluster, kmsg.DeleteRecords}
	covered := map[int16]bool{}
	for _, k := range order {
		e := apis[int16(k)]
		for v := e.min; v <= e.max; v++ {
			builders[k](v)
		}
		covered[int16(k)] = true
	}
	for k := range apis {
		if !covered[k] && !interBroker(k) {
			t.Errorf("%s is served but not covered by this test", kmsg.NameForKey(k))
		}
	}
}
