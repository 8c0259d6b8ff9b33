package broker

// DeleteRecords, key 21, versions 0-2: moves a partition's log start offset
// (UnifiedLog.maybeIncrementLogStartOffset); -1 means the high watermark.
// An offset above the high watermark is OFFSET_OUT_OF_RANGE; a compact-only
// topic is POLICY_VIOLATION. With a single replica the low watermark is the
// leader's new log start offset at once.

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
)

func init() { regKey(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(b *Broker, _ *reqContext, req *kmsg.DeleteRecordsRequest) reply {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for _, in := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = in.Partition
			low, err := b.deleteRecords(log.TopicPartition{Topic: t.Topic, Partition: in.Partition}, in.Offset)
			rp.LowWatermark, rp.ErrorCode = low, errorCode(err)
			if err != nil {
				rp.LowWatermark = -1
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(resp)
}

func (b *Broker) deleteRecords(tp log.TopicPartition, offset int64) (int64, error) {
	p, err := b.leaderFor(tp)
	if err != nil {
		return -1, err
	}
	l := p.Log()
	if policy := l.Config().CleanupPolicy; !strings.Contains(policy, log.CleanupDelete) {
		return -1, kafkaError(kerr.PolicyViolation, "Records of partition "+tp.String()+" can not be deleted due to the configured policy")
	}
	hw := l.HighWatermark()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, kafkaError(kerr.OffsetOutOfRange, "Cannot increment the log start offset beyond the high watermark")
	}
	return l.DeleteRecordsBefore(offset)
}
