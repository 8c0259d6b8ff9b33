package log

import (
	"fmt"
	"math"
)

// TruncateTo removes every batch holding an offset >= offset, as a follower
// does after a leader change (UnifiedLog.truncateTo). A batch is removed
// whole, so the log end may end up below offset when offset is inside a
// batch. Truncating at or past the log end does nothing; below the first
// segment it empties the log and restarts it at offset.
func (l *Log) TruncateTo(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot truncate to %d", ErrOffsetOutOfRange, offset)
	}
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	if offset >= l.logEndOffset.Load() {
		return nil
	}
	if offset < l.segments[0].base {
		return l.truncateFullyAndStartAt(offset)
	}
	i := l.floorSegment(offset)
	s := l.segments[i]
	st, err := s.truncation(offset)
	if err != nil {
		return err
	}
	removed := append([]*segment(nil), l.segments[i+1:]...)
	l.mu.Lock()
	l.segments = l.segments[: i+1 : i+1] // appends after this copy, never overwrite
	s.apply(st, offset)
	l.setEndLocked(s.next)
	l.logStartOffset.Store(min(l.logStartOffset.Load(), offset))
	l.mu.Unlock()
	if err := s.log.Truncate(st.size); err != nil {
		return err
	}
	// The indexes may have lost entries, and a sealed segment becomes the
	// active one again: rewrite both files and keep them open.
	if err := s.index.rewrite(); err != nil {
		return err
	}
	if err := s.timeIndex.rewrite(); err != nil {
		return err
	}
	return l.removeSegments(removed)
}

// setEndLocked moves the log end and pulls the recovery point and the high
// watermark down with it.
func (l *Log) setEndLocked(leo int64) {
	l.logEndOffset.Store(leo)
	l.recoveryPoint.Store(min(l.recoveryPoint.Load(), leo))
	l.highWatermark.Store(min(l.highWatermark.Load(), leo))
}

// segmentTruncation is a segment's state after cutting it before the first
// batch holding an offset >= the target, computed without changing anything.
type segmentTruncation struct {
	size, next, maxTimestamp, offsetOfMaxTimestamp, bytesSinceIndex int64
}

// truncation reads the headers it needs (LogSegment.truncateTo and
// readLargestTimestamp): from the last index entry kept, or the offset
// index entry below the last time index entry kept, to the cut.
func (s *segment) truncation(offset int64) (segmentTruncation, error) {
	_, startPos := s.index.lookup(offset)
	cut, _, ok, err := s.firstPositionFrom(offset, startPos, s.size)
	if err != nil {
		return segmentTruncation{}, err
	}
	if !ok {
		cut = s.size
	}
	idxEntries := search(s.index.entries(), offset-1, s.index.offsetAt) + 1
	timeEntries := search(s.timeIndex.entries(), offset-1, s.timeIndex.offsetAt) + 1
	st := segmentTruncation{size: cut, next: s.base, maxTimestamp: noTimestamp, offsetOfMaxTimestamp: s.base}
	var lastIdxPos int64
	if idxEntries > 0 {
		_, lastIdxPos = s.index.entry(idxEntries - 1)
	}
	scanFrom := lastIdxPos
	if timeEntries > 0 {
		st.maxTimestamp, st.offsetOfMaxTimestamp = s.timeIndex.entry(timeEntries - 1)
		_, p := s.index.lookup(st.offsetOfMaxTimestamp)
		scanFrom = min(scanFrom, p)
	}
	st.bytesSinceIndex = cut - lastIdxPos
	for pos := scanFrom; pos < cut; {
		h, err := headerAt(s.log, pos, cut)
		if err != nil {
			return segmentTruncation{}, err
		}
		if h.MaxTimestamp > st.maxTimestamp {
			st.maxTimestamp, st.offsetOfMaxTimestamp = h.MaxTimestamp, h.LastOffset()
		}
		st.next = h.LastOffset() + 1
		pos += h.Size()
	}
	return st, nil
}

// apply installs a truncation in memory (under Log.mu).
func (s *segment) apply(st segmentTruncation, offset int64) {
	s.index.truncateTo(offset)
	s.timeIndex.truncateTo(offset)
	s.size, s.next = st.size, st.next
	s.maxTimestamp, s.offsetOfMaxTimestamp = st.maxTimestamp, st.offsetOfMaxTimestamp
	s.bytesSinceIndex = st.bytesSinceIndex
	if st.size == 0 {
		s.rollTimestamp, s.next = noTimestamp, s.base
	}
}

// TruncateFullyAndStartAt deletes every segment and restarts the log empty
// at offset (UnifiedLog.truncateFullyAndStartAt): a follower too far behind
// the leader's log start.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot start at %d", ErrOffsetOutOfRange, offset)
	}
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	return l.truncateFullyAndStartAt(offset)
}

func (l *Log) truncateFullyAndStartAt(offset int64) error {
	old := l.segments
	if err := l.retire(old); err != nil {
		return err
	}
	s, err := createSegment(l.dir, offset, &l.cfg)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.segments = []*segment{s}
	l.logEndOffset.Store(offset)
	l.logStartOffset.Store(offset)
	l.recoveryPoint.Store(offset)
	l.highWatermark.Store(offset)
	l.mu.Unlock()
	return l.reap(l.cfg.nowMs(), false)
}

// DeleteRecordsBefore advances the log start offset to offset (DeleteRecords,
// UnifiedLog.maybeIncrementLogStartOffset) and returns the log start offset.
// Offsets below it can no longer be read; the segments entirely below it are
// deleted by the next DeleteOldSegments. The offset may not pass the high
// watermark.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	if err := l.lockWriter(); err != nil {
		return -1, err
	}
	defer l.writeMu.Unlock()
	if hw := l.highWatermark.Load(); offset > hw || offset < 0 {
		return -1, fmt.Errorf("%w: cannot move the log start offset of %s to %d, high watermark is %d",
			ErrOffsetOutOfRange, l.tp, offset, hw)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset > l.logStartOffset.Load() {
		l.logStartOffset.Store(offset)
	}
	return l.logStartOffset.Load(), nil
}

// Flush fsyncs everything and moves the recovery point to the log end.
func (l *Log) Flush() error { return l.FlushTo(math.MaxInt64) }

// FlushTo fsyncs the segments holding offsets below offset that were not
// flushed yet and moves the recovery point there (UnifiedLog.flush).
func (l *Log) FlushTo(offset int64) error {
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	offset = min(offset, l.logEndOffset.Load())
	rp := l.recoveryPoint.Load()
	if offset <= rp {
		return nil
	}
	for _, s := range l.segments {
		if s.base < offset && s.next > rp {
			if err := s.sync(); err != nil {
				return err
			}
		}
	}
	l.recoveryPoint.Store(offset)
	return nil
}
