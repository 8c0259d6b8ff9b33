package log

// RetentionResult says what DeleteOldSegments removed.
type RetentionResult struct {
	DeletedSegments []int64 // base offsets
	DeletedBytes    int64
	LogStartOffset  int64 // after the deletion
}

// DeleteOldSegments applies retention at Config.Now (UnifiedLog.deleteOldSegments),
// deleting whole segments from the oldest while one of these holds:
//   - the next segment starts at or below the log start offset (DeleteRecords);
//   - cleanup.policy has delete and the segment's largest timestamp is more
//     than retention.ms old;
//   - cleanup.policy has delete and the log without the segment is still at
//     least retention.bytes.
//
// The active segment is never deleted, nor a segment holding offsets at or
// above the high watermark. The log start offset moves up to the first
// remaining segment. Removed files whose file.delete.delay.ms passed are
// deleted too. A background task calls this every
// log.retention.check.interval.ms.
func (l *Log) DeleteOldSegments() (RetentionResult, error) {
	if err := l.lockWriter(); err != nil {
		return RetentionResult{}, err
	}
	defer l.writeMu.Unlock()
	now := l.cfg.nowMs()
	n, bytes := l.retentionPrefix(now)
	res := RetentionResult{DeletedBytes: bytes}
	if n == 0 {
		res.LogStartOffset = l.logStartOffset.Load()
		return res, l.reap(now, false)
	}
	deleted := append([]*segment(nil), l.segments[:n]...)
	for _, s := range deleted {
		res.DeletedSegments = append(res.DeletedSegments, s.base)
	}
	l.mu.Lock()
	l.segments = append([]*segment(nil), l.segments[n:]...)
	l.logStartOffset.Store(max(l.logStartOffset.Load(), l.segments[0].base))
	l.highWatermark.Store(max(l.highWatermark.Load(), l.logStartOffset.Load()))
	res.LogStartOffset = l.logStartOffset.Load()
	l.mu.Unlock()
	return res, l.removeSegments(deleted)
}

// retentionPrefix counts the leading segments retention deletes, and their
// bytes. Segments without any timestamp are not aged (Kafka falls back to the
// file's mtime; a v2 batch always carries a timestamp).
func (l *Log) retentionPrefix(now int64) (int, int64) {
	lso, hw := l.logStartOffset.Load(), l.highWatermark.Load()
	var total int64
	for _, s := range l.segments {
		total += s.size
	}
	sizeOver := int64(-1)
	if l.deletePolicy && l.cfg.RetentionBytes >= 0 {
		sizeOver = total - l.cfg.RetentionBytes
	}
	n, bytes := 0, int64(0)
	for i, s := range l.segments[:len(l.segments)-1] {
		nextBase := l.segments[i+1].base
		if nextBase > hw {
			break // never delete what consumers cannot read yet
		}
		byStart := nextBase <= lso
		byTime := l.deletePolicy && l.cfg.RetentionMs >= 0 && s.maxTimestamp >= 0 && now-s.maxTimestamp > l.cfg.RetentionMs
		bySize := sizeOver >= 0 && sizeOver-s.size >= 0
		if !byStart && !byTime && !bySize {
			break
		}
		sizeOver -= s.size
		bytes += s.size
		n++
	}
	return n, bytes
}
