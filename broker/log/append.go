package log

import (
	"fmt"
	"sync"
)

// Append appends one or more RecordBatch v2 back to back and returns the
// first and last offsets and the largest max timestamp.
//
// With assignOffsets (the leader), each batch gets the next offsets and the
// partition leader epoch leaderEpoch, patched in place in batches (both
// fields are outside the CRC), and LogAppendTime topics get their max
// timestamp set; each batch must hold exactly lastOffsetDelta+1 records, as
// LogValidator requires of producers. Without it (a follower), the leader's
// offsets are kept and must continue the log; leaderEpoch is ignored.
//
// Only batch headers are read and every CRC is checked; records are never
// decoded. Nothing is appended when any batch is invalid.
func (l *Log) Append(batches []byte, leaderEpoch int32, assignOffsets bool) (baseOffset, lastOffset, maxTimestamp int64, err error) {
	if err := l.lockWriter(); err != nil {
		return -1, -1, noTimestamp, err
	}
	defer l.writeMu.Unlock()
	if err := l.validateAppend(batches, assignOffsets); err != nil {
		return -1, -1, noTimestamp, err
	}
	baseOffset, lastOffset, maxTimestamp = -1, -1, noTimestamp
	next, now := l.logEndOffset.Load(), int64(0)
	if assignOffsets && l.cfg.MessageTimestampType == LogAppendTime {
		now = l.cfg.nowMs()
	}
	for rest := batches; len(rest) > 0; {
		n := int64(int32(be32(rest[offBatchLength:]))) + logOverhead
		b := rest[:n]
		rest = rest[n:]
		if assignOffsets {
			setBaseOffset(b, next)
			setLeaderEpoch(b, leaderEpoch)
			if now != 0 {
				setLogAppendTime(b, now)
			}
		}
		h, _ := ParseBatchHeader(b)
		if baseOffset < 0 {
			baseOffset = h.BaseOffset
		}
		next, lastOffset = h.LastOffset()+1, h.LastOffset()
		maxTimestamp = max(maxTimestamp, h.MaxTimestamp)
	}
	if err := l.write(batches); err != nil {
		return -1, -1, noTimestamp, err
	}
	return baseOffset, lastOffset, maxTimestamp, nil
}

// validateAppend checks every batch before anything is patched or written.
func (l *Log) validateAppend(batches []byte, assignOffsets bool) error {
	if len(batches) == 0 {
		return fmt.Errorf("%w: no record batch to append", ErrInvalidRecord)
	}
	next := l.logEndOffset.Load()
	for rest := batches; len(rest) > 0; {
		b, r, h, err := nextBatch(rest)
		if err != nil {
			return err
		}
		rest = r
		if h.Size() > l.cfg.MaxMessageBytes || h.Size() > l.cfg.SegmentBytes {
			return fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d and segment.bytes %d",
				ErrMessageTooLarge, len(b), l.cfg.MaxMessageBytes, l.cfg.SegmentBytes)
		}
		if assignOffsets {
			if h.RecordCount == 0 || int64(h.RecordCount) != int64(h.LastOffsetDelta)+1 {
				return fmt.Errorf("%w: %d records with last offset delta %d", ErrInvalidRecord, h.RecordCount, h.LastOffsetDelta)
			}
			next += int64(h.LastOffsetDelta) + 1
			continue
		}
		if h.BaseOffset < next {
			return fmt.Errorf("%w: batch offsets [%d, %d] do not follow %d", ErrUnexpectedAppendOffset, h.BaseOffset, h.LastOffset(), next)
		}
		next = h.LastOffset() + 1
	}
	return nil
}

// write places validated batches in the active segment, rolling before a
// batch when shouldRoll says so. Consecutive batches for the same segment go
// out in one write and are published to readers only after it.
func (l *Log) write(batches []byte) error {
	pending, pendingCount, pendingFirstTs := 0, 0, int64(noTimestamp)
	for pos := 0; pos < len(batches); {
		h, _ := ParseBatchHeader(batches[pos:])
		s := l.active()
		if l.shouldRoll(s, int64(pending), pendingCount, pendingFirstTs, h) {
			if pending > 0 {
				if err := l.writeAndPublish(s, batches[pos-pending:pos]); err != nil {
					return err
				}
				pending, pendingCount = 0, 0
				continue // decide again on the published state
			}
			if err := l.roll(h.BaseOffset); err != nil {
				return err
			}
		}
		if pending == 0 {
			pendingFirstTs = h.MaxTimestamp
		}
		pending += int(h.Size())
		pendingCount++
		pos += int(h.Size())
	}
	return l.writeAndPublish(l.active(), batches[len(batches)-pending:])
}

// shouldRoll is LogSegment.shouldRoll for the next batch h, with pending
// bytes not yet published. The index checks are upper bounds while batches
// are pending; write then publishes and asks again, so the decision made is
// Kafka's.
func (l *Log) shouldRoll(s *segment, pending int64, pendingCount int, pendingFirstTs int64, h BatchHeader) bool {
	size := s.size + pending
	if size > l.cfg.SegmentBytes-h.Size() {
		return true
	}
	rollTs := s.rollTimestamp
	if s.size == 0 {
		rollTs = pendingFirstTs
	}
	if size > 0 {
		// segment.ms counts from the first batch's timestamp, or from when the
		// segment was created when batches carry none (timeWaitedForRoll).
		waited := l.cfg.nowMs() - s.createdMs
		if rollTs >= 0 {
			waited = h.MaxTimestamp - rollTs
		}
		if waited > l.cfg.SegmentMs {
			return true
		}
	}
	if s.index.entries()+pendingCount >= s.index.maxEntries || s.timeIndex.entries()+pendingCount >= s.timeIndex.maxEntries-1 {
		return true
	}
	return !s.index.canAppend(h.LastOffset()) || !s.index.canAppend(h.BaseOffset)
}

// writeAndPublish writes whole batches at the end of s, then makes them
// visible: indexes, sizes, log end offset.
func (l *Log) writeAndPublish(s *segment, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if _, err := s.log.WriteAt(data, s.size); err != nil {
		s.log.Truncate(s.size) // leave no partial batch behind
		return fmt.Errorf("append to %s: %w", s.log.Name(), err)
	}
	l.mu.Lock()
	var err error
	for pos := 0; pos < len(data) && err == nil; {
		h, _ := ParseBatchHeader(data[pos:])
		err = s.track(h, s.size, l.cfg.IndexIntervalBytes)
		pos += int(h.Size())
	}
	l.logEndOffset.Store(s.next)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return s.persistIndexes()
}

// roll seals the active segment and starts a new one at newBase (LocalLog.roll).
// The sealed segment is fsynced, so the recovery point moves to newBase.
func (l *Log) roll(newBase int64) error {
	old := l.active()
	if old.size == 0 && old.base == newBase {
		return nil
	}
	if err := old.seal(&l.mu); err != nil {
		return err
	}
	s, err := createSegment(l.dir, newBase, &l.cfg)
	if err != nil {
		return fmt.Errorf("roll to %d: %w", newBase, err)
	}
	l.mu.Lock()
	l.segments = append(l.segments, s)
	l.mu.Unlock()
	if newBase > l.recoveryPoint.Load() {
		l.recoveryPoint.Store(newBase)
	}
	if old.size == 0 {
		// An empty segment below a follower's gap holds nothing; drop it.
		l.mu.Lock()
		l.segments = append(l.segments[:len(l.segments)-2], s)
		l.mu.Unlock()
		return l.removeSegments([]*segment{old})
	}
	return nil
}

// seal is LogSegment.onBecomeInactiveSegment plus a flush: the time index
// gets the largest timestamp as its last entry, everything is fsynced and
// the index files are closed (their entries stay in memory).
func (s *segment) seal(mu *sync.RWMutex) error {
	mu.Lock()
	err := s.timeIndex.maybeAppend(s.maxTimestamp, s.offsetOfMaxTimestamp)
	mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.sync(); err != nil {
		return err
	}
	if err := s.index.close(); err != nil {
		return err
	}
	return s.timeIndex.close()
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
