package broker

// ListOffsets, key 2, versions 0-7. -1 is the latest offset a consumer may
// read (the high watermark; the log end for the debugging consumer
// replica_id -2), -2 the log start offset, -3 (v7) the first record with the
// largest timestamp, anything else the first offset whose timestamp is >= it
// (records are decoded here, never on the fetch path), answered -1 when no
// committed record is that new. v0 returns an offsets array; v4+ the leader
// epoch of the offset, and checks current_leader_epoch.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
)

func init() { regKey(kmsg.ListOffsets, 0, 7, handleListOffsets) }

// debuggingConsumerID is ListOffsetsRequest.DEBUGGING_REPLICA_ID.
const debuggingConsumerID = -2

func handleListOffsets(b *Broker, _ *reqContext, req *kmsg.ListOffsetsRequest) reply {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		seen := map[int32]bool{}
		for _, in := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = in.Partition
			var err error
			if seen[in.Partition] {
				err = kerr.InvalidRequest
			} else {
				seen[in.Partition] = true
				err = b.listOffset(req, log.TopicPartition{Topic: t.Topic, Partition: in.Partition}, in, &rp)
			}
			if err != nil {
				rp.ErrorCode = errorCode(err)
				rp.Timestamp, rp.Offset, rp.LeaderEpoch, rp.OldStyleOffsets = -1, -1, -1, nil
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(resp)
}

func (b *Broker) listOffset(req *kmsg.ListOffsetsRequest, tp log.TopicPartition, in kmsg.ListOffsetsRequestTopicPartition,
	rp *kmsg.ListOffsetsResponseTopicPartition) error {
	p, err := b.leaderFor(tp)
	if err != nil {
		return err
	}
	if req.Version >= 4 {
		if err := p.LeaderCheck(in.CurrentLeaderEpoch); err != nil {
			return err
		}
	}
	l := p.Log()
	lastFetchable := l.HighWatermark()
	if req.ReplicaID == debuggingConsumerID {
		lastFetchable = l.LogEndOffset()
	}
	if req.Version == 0 {
		switch in.Timestamp {
		case log.LatestTimestamp:
			rp.OldStyleOffsets = []int64{lastFetchable}
		default:
			rp.OldStyleOffsets = []int64{l.LogStartOffset()}
		}
		if in.MaxNumOffsets <= 0 {
			rp.OldStyleOffsets = nil
		}
		return nil
	}
	rp.Timestamp, rp.LeaderEpoch = -1, -1
	switch in.Timestamp {
	case log.LatestTimestamp:
		rp.Offset = lastFetchable
		rp.LeaderEpoch = p.EpochForOffset(l.LogEndOffset())
	case log.EarliestTimestamp:
		rp.Offset = l.LogStartOffset()
		rp.LeaderEpoch = p.EpochForOffset(rp.Offset)
	default:
		if in.Timestamp < log.MaxTimestampQuery || (in.Timestamp == log.MaxTimestampQuery && req.Version < 7) {
			return kafkaError(kerr.InvalidRequest, "unknown special timestamp")
		}
		off, ts, found, err := l.OffsetForTimestamp(in.Timestamp)
		if err != nil {
			return err
		}
		if !found || off >= lastFetchable {
			rp.Offset = -1
			return nil
		}
		rp.Offset, rp.Timestamp, rp.LeaderEpoch = off, ts, p.EpochForOffset(off)
	}
	if req.Version < 4 {
		rp.LeaderEpoch = -1
	}
	return nil
}
