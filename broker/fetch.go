package broker

// Fetch, key 1, versions 4-13 (RecordBatch v2 only). Consumers read up to
// the high watermark (the last stable offset too: there are no
// transactions), a replica (replica_id >= 0) up to the log end. Per
// partition: UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER unless this
// broker leads it; v9+ current_leader_epoch gives FENCED_LEADER_EPOCH or
// UNKNOWN_LEADER_EPOCH; an offset outside [log start, log end] is
// OFFSET_OUT_OF_RANGE; v13 names topics by id (UNKNOWN_TOPIC_ID). Batches go
// out whole as stored; the first partition with data always gets at least
// one batch (KIP-74), later ones only what fits in max_bytes.
//
// Long poll: when less than min_bytes is readable and max_wait_ms > 0, the
// fetch waits on every partition's waiter set (woken by appends that move the
// high watermark and by leadership changes) and answers as soon as min_bytes
// is readable, a partition errors, or max_wait_ms passes (DelayedFetch).
//
// Fetch sessions (KIP-227, v7+) are answered sessionless, as Kafka allows:
// session id 0 in every response, so clients send full fetches. A request
// naming a session id is FETCH_SESSION_ID_NOT_FOUND.

import (
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/replica"
)

func init() { regKey(kmsg.Fetch, 4, 13, handleFetch) }

// noRecords is an empty, non-null record set: librdkafka refuses a null one
// ("invalid MessageSetSize -1"), and Kafka always sends a size.
var noRecords = []byte{}

// fetchPart is one requested partition resolved to its response slot.
type fetchPart struct {
	tp       log.TopicPartition
	in       *kmsg.FetchRequestTopicPartition
	out      *kmsg.FetchResponseTopicPartition
	p        *replica.Partition // nil when the partition errored
	resolved error              // an error found before reading (unknown topic id)
	buf      *[]byte            // pooled buffer holding out.RecordBatches
}

// recordBufs pools the buffers fetched records are read into: a consumer
// fetching at full speed would otherwise allocate (and zero) megabytes per
// response.
var recordBufs sync.Pool

// maxPooledRecords is the largest records buffer kept in the pool.
const maxPooledRecords = 16 << 20

func getRecordBuf(n int) *[]byte {
	if v, ok := recordBufs.Get().(*[]byte); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	} else if ok {
		recordBufs.Put(v)
	}
	b := make([]byte, n, max(n, 1<<20))
	return &b
}

func (fp *fetchPart) releaseBuf() {
	if fp.buf != nil {
		if cap(*fp.buf) <= maxPooledRecords {
			recordBufs.Put(fp.buf)
		}
		fp.buf = nil
	}
}

// releaseAll returns every partition's buffer; the writer calls it once the
// response is encoded.
func releaseAll(parts []*fetchPart) func() {
	return func() {
		for _, fp := range parts {
			fp.releaseBuf()
		}
	}
}

func handleFetch(b *Broker, _ *reqContext, req *kmsg.FetchRequest) reply {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.Version >= 7 {
		switch {
		case req.SessionID != 0:
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
			return respond(resp)
		case req.SessionEpoch > 0:
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			return respond(resp)
		}
	}
	snap := b.cache.load()
	var parts []*fetchPart
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i := range req.Topics {
		t := &req.Topics[i]
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		var idErr error
		if req.Version >= 13 {
			if name, ok := snap.topicIDs[t.TopicID]; ok {
				rt.Topic = name
			} else {
				idErr = kerr.UnknownTopicID
			}
		}
		rt.Partitions = make([]kmsg.FetchResponseTopicPartition, len(t.Partitions))
		for j := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition = t.Partitions[j].Partition
			rp.RecordBatches = noRecords
			parts = append(parts, &fetchPart{
				tp: log.TopicPartition{Topic: rt.Topic, Partition: rp.Partition},
				in: &t.Partitions[j], out: rp, resolved: idErr,
			})
		}
	}
	replica := req.ReplicaID >= 0
	bytes, errored := b.readFetch(parts, req.MaxBytes, replica)
	minBytes := max(req.MinBytes, 1)
	if req.MaxWaitMillis <= 0 || int(bytes) >= int(minBytes) || errored || len(parts) == 0 {
		return reply{resp: resp, release: releaseAll(parts)}
	}
	later := make(chan kmsg.Response, 1)
	go b.longPoll(resp, parts, req, replica, later)
	return reply{later: later, release: releaseAll(parts)}
}

// readFetch fills every partition's response from its log and returns the
// bytes read and whether any partition errored.
func (b *Broker) readFetch(parts []*fetchPart, maxBytes int32, replicaFetch bool) (int64, bool) {
	var total int64
	errored := false
	budget := int64(maxBytes)
	if budget <= 0 {
		budget = 1
	}
	for _, fp := range parts {
		fp.releaseBuf() // a long poll reads again
		n, err := b.readPartition(fp, budget-total, total == 0, replicaFetch)
		if err != nil {
			errored = true
			fp.out.ErrorCode = errorCode(err)
			fp.out.HighWatermark, fp.out.LastStableOffset, fp.out.LogStartOffset = -1, -1, -1
			fp.out.RecordBatches = noRecords
			continue
		}
		total += n
	}
	return total, errored
}

func (b *Broker) readPartition(fp *fetchPart, budget int64, first, replicaFetch bool) (int64, error) {
	if fp.resolved != nil {
		return 0, fp.resolved
	}
	p, err := b.leaderFor(fp.tp)
	if err != nil {
		return 0, err
	}
	fp.p = p
	if err := p.LeaderCheck(fp.in.CurrentLeaderEpoch); err != nil {
		return 0, err
	}
	l := p.Log()
	hw := l.HighWatermark()
	fp.out.HighWatermark, fp.out.LastStableOffset, fp.out.LogStartOffset = hw, hw, l.LogStartOffset()
	fp.out.PreferredReadReplica = -1
	fp.out.RecordBatches = noRecords
	upTo := hw
	if replicaFetch {
		upTo = l.LogEndOffset()
	}
	if fp.in.FetchOffset >= upTo && fp.in.FetchOffset <= l.LogEndOffset() && fp.in.FetchOffset >= l.LogStartOffset() {
		return 0, nil // nothing new yet; the offset is valid
	}
	limit := min(int64(fp.in.PartitionMaxBytes), budget)
	if limit <= 0 && !first {
		return 0, nil
	}
	recs, err := l.ReadUpTo(fp.in.FetchOffset, int(max(limit, 1)), upTo)
	if err != nil {
		if errors.Is(err, log.ErrOffsetOutOfRange) {
			return 0, err
		}
		return 0, err
	}
	if recs.Empty() || (!first && recs.Size > limit) {
		return 0, nil
	}
	fp.buf = getRecordBuf(int(recs.Size))
	if _, err := recs.ReadAt(*fp.buf, 0); err != nil {
		fp.releaseBuf()
		return 0, kafkaError(kerr.KafkaStorageError, err.Error())
	}
	fp.out.RecordBatches = *fp.buf
	return recs.Size, nil
}

// longPoll is DelayedFetch: it re-reads whenever a watched partition
// changes, and answers once min_bytes are readable, a partition errors, or
// max_wait_ms passed.
func (b *Broker) longPoll(resp *kmsg.FetchResponse, parts []*fetchPart, req *kmsg.FetchRequest, replicaFetch bool, out chan<- kmsg.Response) {
	w := replica.NewWaiter()
	deadline := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	defer deadline.Stop()
	watch := func(on bool) {
		for _, fp := range parts {
			if fp.p == nil {
				continue
			}
			if on {
				fp.p.Watch(w)
			} else {
				fp.p.Unwatch(w)
			}
		}
	}
	minBytes := max(req.MinBytes, 1)
	defer watch(false)
	for {
		watch(true)
		// Read after registering: an append between the first read and
		// the registration has woken nobody, but this read sees it.
		bytes, errored := b.readFetch(parts, req.MaxBytes, replicaFetch)
		if bytes >= int64(minBytes) || errored {
			out <- resp
			return
		}
		select {
		case <-w.C:
		case <-deadline.C:
			b.readFetch(parts, req.MaxBytes, replicaFetch)
			out <- resp
			return
		case <-b.ctx.Done():
			out <- resp
			return
		}
	}
}
