package kguard

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Check against the decode it guards, on the same bodies. Compare the ns/op
// of each check/kmsg pair.

func produceBody(b *testing.B, partitions int, recordBytes int) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = -1
	req.TimeoutMillis = 30000
	topic := kmsg.NewProduceRequestTopic()
	topic.Topic = "orders"
	rng := rand.New(rand.NewPCG(1, 1))
	for p := 0; p < partitions; p++ {
		part := kmsg.NewProduceRequestTopicPartition()
		part.Partition = int32(p)
		part.Records = make([]byte, recordBytes)
		for i := range part.Records {
			part.Records[i] = byte(rng.Uint32())
		}
		topic.Partitions = append(topic.Partitions, part)
	}
	req.Topics = append(req.Topics, topic)
	body := req.AppendTo(nil)
	if err := Check(0, 9, body); err != nil {
		b.Fatal(err)
	}
	return body
}

func metadataBody(b *testing.B, topics int) []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	req.AllowAutoTopicCreation = true
	for i := 0; i < topics; i++ {
		t := kmsg.NewMetadataRequestTopic()
		name := fmt.Sprintf("payments.events-%d", i)
		t.Topic = &name
		req.Topics = append(req.Topics, t)
	}
	body := req.AppendTo(nil)
	if err := Check(3, 12, body); err != nil {
		b.Fatal(err)
	}
	return body
}

func benchPair(b *testing.B, key, version int16, body []byte) {
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := Check(key, version, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kmsg", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		req := kmsg.RequestForKey(key)
		req.SetVersion(version)
		for b.Loop() {
			if err := req.ReadFrom(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// One 1 MiB batch, and the same MiB split over 64 partitions.
func BenchmarkProduceV9OneMiB(b *testing.B) {
	b.Run("1x1MiB", func(b *testing.B) { benchPair(b, 0, 9, produceBody(b, 1, 1<<20)) })
	b.Run("64x16KiB", func(b *testing.B) { benchPair(b, 0, 9, produceBody(b, 64, 16<<10)) })
}

// A client's metadata refresh for 10 topics, and an admin's for 1000.
func BenchmarkMetadataV12(b *testing.B) {
	b.Run("10topics", func(b *testing.B) { benchPair(b, 3, 12, metadataBody(b, 10)) })
	b.Run("1000topics", func(b *testing.B) { benchPair(b, 3, 12, metadataBody(b, 1000)) })
}

// What kmsg spends on a lying tagged-field count in a 7-byte ApiVersions v3
// body (compare ns/op across counts: it grows with the count, not the body;
// 2^32-1 costs about a minute), next to Check refusing it.
func BenchmarkLyingTagCount(b *testing.B) {
	for _, shift := range []int{10, 16} {
		count := uint32(1) << shift
		body := []byte{1, 1, byte(count) | 0x80, byte(count>>7) | 0x80, byte(count >> 14)}
		b.Run(fmt.Sprintf("count=2^%d/check", shift), func(b *testing.B) {
			for b.Loop() {
				if Check(18, 3, body) == nil {
					b.Fatal("accepted")
				}
			}
		})
		b.Run(fmt.Sprintf("count=2^%d/kmsg", shift), func(b *testing.B) {
			req := kmsg.NewPtrApiVersionsRequest()
			req.SetVersion(3)
			for b.Loop() {
				_ = req.ReadFrom(body)
			}
		})
	}
}
