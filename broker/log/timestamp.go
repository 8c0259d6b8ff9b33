package log

import (
	"errors"
	"io"
)

// Special timestamps of ListOffsets.
const (
	LatestTimestamp   = -1 // the log end offset
	EarliestTimestamp = -2 // the log start offset
	MaxTimestampQuery = -3 // the first record with the largest timestamp (KIP-734)
)

// OffsetForTimestamp answers ListOffsets: the first offset whose record
// timestamp is >= ts, and that timestamp (UnifiedLog.fetchOffsetByTimestamp).
// found is false when every record is older. The special values
// LatestTimestamp, EarliestTimestamp and MaxTimestampQuery are understood.
// Records are decoded here (never on the fetch path); a batch in a codec the
// Config's Codec cannot read is answered at batch granularity.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	switch ts {
	case LatestTimestamp:
		return l.LogEndOffset(), noTimestamp, true, nil
	case EarliestTimestamp:
		return l.LogStartOffset(), noTimestamp, true, nil
	case MaxTimestampQuery:
		if ts = l.largestTimestamp(); ts < 0 {
			return -1, noTimestamp, false, nil
		}
	}
	for i := 0; ; i++ {
		p, ok, err := l.timestampPlan(ts, i)
		if err != nil || !ok {
			return -1, noTimestamp, false, err
		}
		off, t, found, err := l.searchTimestamp(p, ts)
		if err != nil || found {
			return off, t, found, err
		}
		i = p.segIndex
	}
}

func (l *Log) largestTimestamp() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ts := int64(noTimestamp)
	for _, s := range l.segments {
		ts = max(ts, s.maxTimestamp)
	}
	return ts
}

// timestampPlan is the in-memory part of a timestamp lookup: the first
// segment from index from whose largest timestamp reaches ts, and where in
// it to start scanning (LogSegment.findOffsetByTimestamp).
type timestampPlan struct {
	seg         *segment
	segIndex    int
	size        int64
	pos         int64
	startOffset int64
}

func (l *Log) timestampPlan(ts int64, from int) (timestampPlan, bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return timestampPlan{}, false, ErrClosed
	}
	lso := l.logStartOffset.Load()
	for i := max(from, l.floorSegment(lso), 0); i < len(l.segments); i++ {
		s := l.segments[i]
		if s.maxTimestamp < ts || s.next <= lso {
			continue
		}
		_, off := s.timeIndex.lookup(ts)
		start := max(off, lso)
		_, pos := s.index.lookup(start)
		return timestampPlan{seg: s, segIndex: i, size: s.size, pos: pos, startOffset: start}, true, nil
	}
	return timestampPlan{}, false, nil
}

// searchTimestamp scans batches from the plan's position for the first
// record at or after startOffset with a timestamp >= ts.
func (l *Log) searchTimestamp(p timestampPlan, ts int64) (int64, int64, bool, error) {
	br := newBatchReader(p.seg.log, p.pos, p.size, 64<<10)
	for {
		batch, _, h, err := br.next()
		if err == io.EOF {
			return -1, noTimestamp, false, nil
		}
		if err != nil {
			return -1, noTimestamp, false, err
		}
		if h.LastOffset() < p.startOffset || h.MaxTimestamp < ts {
			continue
		}
		if h.Attributes&attrTimestampType != 0 {
			// LogAppendTime: every record carries the batch's timestamp.
			return max(h.BaseOffset, p.startOffset), h.MaxTimestamp, true, nil
		}
		body, err := batchRecords(l.cfg.Codec, h, batch)
		if errors.Is(err, ErrUnsupportedCodec) {
			return max(h.BaseOffset, p.startOffset), h.MaxTimestamp, true, nil
		}
		if err != nil {
			return -1, noTimestamp, false, err
		}
		var off, t int64 = -1, noTimestamp
		err = decodeRecords(h, body, func(r record) error {
			if r.offset >= p.startOffset && r.timestamp >= ts {
				off, t = r.offset, r.timestamp
				return io.EOF // stop
			}
			return nil
		})
		if off >= 0 {
			return off, t, true, nil
		}
		if err != nil {
			return -1, noTimestamp, false, err
		}
	}
}
