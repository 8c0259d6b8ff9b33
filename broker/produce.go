package broker

// Produce, key 0, versions 3-9 (RecordBatch v2 only, as Kafka's
// recommendation for a new broker and kfake). Per partition: the broker must
// lead it (UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER); the
// records must be exactly one batch of magic 2 (INVALID_RECORD), intact
// (CRC-32C: CORRUPT_MESSAGE, nothing appended), within max.message.bytes
// (MESSAGE_TOO_LARGE), zstd only from v7 (UNSUPPORTED_COMPRESSION_TYPE), not
// a control batch; acks=all checks min.insync.replicas first
// (NOT_ENOUGH_REPLICAS). Records are never decoded: the batch is validated
// by its header and CRC and appended as received, its offsets and leader
// epoch patched outside the CRC. acks=0 sends no response, and closes the
// connection on any error so the client notices (KafkaApis); acks=all
// answers once the high watermark passes the batch (at once for a sole
// in-sync replica), else REQUEST_TIMED_OUT at timeout_ms.

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/replica"
)

func init() { regKey(kmsg.Produce, 3, 9, handleProduce) }

// leaderFor returns the partition if this broker leads it, with Kafka's
// error otherwise: NOT_LEADER_OR_FOLLOWER when the cluster knows the
// partition, UNKNOWN_TOPIC_OR_PARTITION when it does not.
func (b *Broker) leaderFor(tp log.TopicPartition) (*replica.Partition, error) {
	p, err := b.replicas.Leader(tp)
	if errors.Is(err, replica.ErrUnknownTopicOrPartition) {
		if t, ok := b.cache.load().topics[tp.Topic]; ok {
			if _, ok := t.partitions[tp.Partition]; ok {
				return nil, replica.ErrNotLeaderOrFollower
			}
		}
	}
	return p, err
}

// producePending is an acks=all partition waiting for the high watermark.
type producePending struct {
	p      *replica.Partition
	rp     *kmsg.ProduceResponseTopicPartition
	last   int64
	minISR int32
}

func handleProduce(b *Broker, _ *reqContext, req *kmsg.ProduceRequest) reply {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	validAcks := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	var firstErr error
	var waiting []producePending
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		t := &req.Topics[i]
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		for j := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition = t.Partitions[j].Partition
			var err error
			var pend *producePending
			switch {
			case !validAcks:
				err = kerr.InvalidRequiredAcks
			case req.TransactionID != nil:
				err = kafkaError(kerr.TransactionalIDAuthorizationFailed, "transactions are not supported by this brokerd")
			default:
				pend, err = b.produceOne(req, t.Topic, &t.Partitions[j], rp)
			}
			if err != nil {
				rp.ErrorCode = errorCode(err)
				rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
				if req.Version >= 8 {
					rp.ErrorMessage = errorMessage(err)
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			if pend != nil {
				waiting = append(waiting, *pend)
			}
		}
	}
	if req.Acks == 0 {
		if firstErr != nil {
			return reply{close: fmt.Errorf("acks=0 produce failed: %w", firstErr)}
		}
		return reply{none: true}
	}
	if len(waiting) == 0 {
		return respond(resp)
	}
	later := make(chan kmsg.Response, 1)
	go b.awaitProduce(resp, waiting, time.Duration(req.TimeoutMillis)*time.Millisecond, later)
	return reply{later: later}
}

func (b *Broker) produceOne(req *kmsg.ProduceRequest, topic string, in *kmsg.ProduceRequestTopicPartition,
	rp *kmsg.ProduceResponseTopicPartition) (*producePending, error) {
	tp := log.TopicPartition{Topic: topic, Partition: in.Partition}
	p, err := b.leaderFor(tp)
	if err != nil {
		return nil, err
	}
	if err := checkProducedBatch(in.Records, req.Version); err != nil {
		return nil, err
	}
	minISR := b.cfg.MinInsyncReplicas
	if o, err := b.topicCfg.overrides(topic); err == nil {
		minISR = b.cfg.minInsyncReplicasFor(o)
	}
	res, err := p.AppendAsLeader(in.Records, req.Acks, minISR)
	if err != nil {
		if !errors.Is(err, replica.ErrNotLeaderOrFollower) {
			b.log.Debug().Err(err).Str("partition", tp.String()).Msg("produce rejected")
		}
		return nil, err
	}
	rp.BaseOffset, rp.LogStartOffset, rp.LogAppendTime = res.BaseOffset, res.LogStartOffset, -1
	if p.Log().Config().MessageTimestampType == log.LogAppendTime {
		rp.LogAppendTime = res.MaxTimestamp
	}
	if req.Acks == -1 && p.HighWatermark() <= res.LastOffset {
		return &producePending{p: p, rp: rp, last: res.LastOffset, minISR: minISR}, nil
	}
	return nil, nil
}

// checkProducedBatch is what Kafka checks of a client's records before the
// log validates the CRC (ProduceRequest.validateRecords and LogValidator):
// exactly one RecordBatch v2, not a control batch, a known codec, zstd only
// from Produce v7.
func checkProducedBatch(records []byte, version int16) error {
	if len(records) < 17 {
		return kafkaError(kerr.CorruptMessage, fmt.Sprintf("record set of %d bytes is shorter than a batch header", len(records)))
	}
	if magic := int8(records[16]); magic != 2 {
		return kafkaError(kerr.InvalidRecord, fmt.Sprintf("Produce requests with version %d are only allowed to contain record batches with magic version 2, got %d", version, magic))
	}
	h, err := log.ParseBatchHeader(records)
	if err != nil {
		return err
	}
	if h.Size() != int64(len(records)) {
		if h.Size() < int64(len(records)) {
			return kafkaError(kerr.InvalidRecord, fmt.Sprintf("Produce requests with version %d are only allowed to contain exactly one record batch", version))
		}
		return kafkaError(kerr.CorruptMessage, fmt.Sprintf("batch length %d is beyond the %d bytes sent", h.Size(), len(records)))
	}
	if h.IsControl() {
		return kafkaError(kerr.InvalidRecord, "control batches may not be produced by clients")
	}
	switch c := h.Compression(); {
	case c > log.CodecZstd:
		return kafkaError(kerr.InvalidRecord, fmt.Sprintf("unknown compression codec %d", c))
	case c == log.CodecZstd && version < 7:
		return kafkaError(kerr.UnsupportedCompressionType, "zstd compression needs Produce v7 or later")
	}
	return nil
}

// awaitProduce completes an acks=all produce when every waiting partition's
// high watermark passed its batch, or at the timeout (REQUEST_TIMED_OUT).
// min.insync.replicas is checked again at completion
// (NOT_ENOUGH_REPLICAS_AFTER_APPEND: the data is in the log).
func (b *Broker) awaitProduce(resp *kmsg.ProduceResponse, waiting []producePending, timeout time.Duration, out chan<- kmsg.Response) {
	w := replica.NewWaiter()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, pp := range waiting {
			pp.p.Watch(w)
		}
		rest := waiting[:0]
		for _, pp := range waiting {
			st := pp.p.State()
			switch {
			case !st.IsLeader:
				pp.rp.ErrorCode = kerr.NotLeaderForPartition.Code
			case pp.p.HighWatermark() > pp.last:
				if int32(len(st.ISR)) < pp.minISR {
					pp.rp.ErrorCode = kerr.NotEnoughReplicasAfterAppend.Code
				}
			default:
				rest = append(rest, pp)
				continue
			}
			pp.p.Unwatch(w)
		}
		waiting = rest
		if len(waiting) == 0 {
			out <- resp
			return
		}
		select {
		case <-w.C:
		case <-deadline.C:
			for _, pp := range waiting {
				pp.p.Unwatch(w)
				pp.rp.ErrorCode = kerr.RequestTimedOut.Code
			}
			out <- resp
			return
		case <-b.ctx.Done():
			// The connection is closing; complete so its writer is not left waiting.
			out <- resp
			return
		}
	}
}
