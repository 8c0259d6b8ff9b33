package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
)

// Log is one partition's log (Kafka's UnifiedLog and LocalLog, without
// producer state and leader epochs, which belong to the replica layer).
type Log struct {
	dir                    string
	tp                     TopicPartition
	cfg                    Config
	deletePolicy, compacts bool

	// Lock order: cleanMu, then writeMu, then mu.
	cleanMu sync.Mutex   // one compaction at a time
	writeMu sync.Mutex   // the single writer: append, roll, truncate, retention, swap, flush, close
	mu      sync.RWMutex // segments and the in-memory state of each segment

	segments []*segment // mu; sorted by base offset, the last one is active
	closed   bool       // mu

	logStartOffset atomic.Int64
	logEndOffset   atomic.Int64
	highWatermark  atomic.Int64
	recoveryPoint  atomic.Int64

	graveyard []removedSegment // writeMu: files kept open for file.delete.delay.ms
}

// removedSegment is a segment renamed to .deleted, its log file still open
// for readers until file.delete.delay.ms passed (LocalLog.deleteSegmentFiles).
type removedSegment struct {
	seg       *segment
	removedMs int64
}

// Open opens or creates the log in dir, which must be named
// <topic>-<partition>. Segments from the recovery point on are validated
// batch by batch unless cfg.CleanShutdown says the last shutdown was clean;
// the report says what recovery found and changed.
func Open(dir string, cfg Config) (*Log, RecoveryReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, RecoveryReport{}, err
	}
	tp, ok := ParseTopicPartition(filepath.Base(dir))
	if !ok {
		return nil, RecoveryReport{}, fmt.Errorf("log dir %s: name is not <topic>-<partition>", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, RecoveryReport{}, err
	}
	l := &Log{dir: dir, tp: tp, cfg: cfg}
	l.deletePolicy, l.compacts, _ = parseCleanupPolicy(cfg.CleanupPolicy)
	rep, err := l.load()
	if err != nil {
		l.closeAll()
		return nil, rep, fmt.Errorf("open log %s: %w", dir, err)
	}
	return l, rep, nil
}

// Dir is the partition directory.
func (l *Log) Dir() string { return l.dir }

// TopicPartition is the partition this log holds.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// LogStartOffset is the first offset a consumer may read.
func (l *Log) LogStartOffset() int64 { return l.logStartOffset.Load() }

// LogEndOffset is the offset the next appended record gets.
func (l *Log) LogEndOffset() int64 { return l.logEndOffset.Load() }

// HighWatermark is the value last set by SetHighWatermark (or checkpointed).
func (l *Log) HighWatermark() int64 { return l.highWatermark.Load() }

// RecoveryPoint is the offset below which all data is fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// SetHighWatermark stores the high watermark decided by replication, kept
// within [LogStartOffset, LogEndOffset] as UnifiedLog.updateHighWatermark
// does, and returns the stored value.
func (l *Log) SetHighWatermark(hw int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	hw = min(max(hw, l.logStartOffset.Load()), l.logEndOffset.Load())
	l.highWatermark.Store(hw)
	return hw
}

// Size is the total size of the segment files in bytes.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// SegmentBaseOffsets lists the segments' base offsets, oldest first.
func (l *Log) SegmentBaseOffsets() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.segments))
	for i, s := range l.segments {
		out[i] = s.base
	}
	return out
}

// Checkpoint is the state the log directory's checkpoint files hold for
// this partition.
func (l *Log) Checkpoint() Checkpoint {
	return Checkpoint{
		RecoveryPoint:  l.recoveryPoint.Load(),
		LogStartOffset: l.logStartOffset.Load(),
		HighWatermark:  l.highWatermark.Load(),
	}
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// floorSegment returns the index of the last segment with base <= offset, or -1.
func (l *Log) floorSegment(offset int64) int {
	return sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset }) - 1
}

// lockWriter takes the writer lock and fails on a closed log.
func (l *Log) lockWriter() error {
	l.writeMu.Lock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		l.writeMu.Unlock()
		return ErrClosed
	}
	return nil
}

// Close seals the active segment's time index, fsyncs everything, moves the
// recovery point to the log end and closes the files (LogSegment.close).
// Removed segments are deleted now rather than after file.delete.delay.ms.
func (l *Log) Close() error {
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	err := l.active().seal(&l.mu)
	if err == nil {
		l.recoveryPoint.Store(l.logEndOffset.Load())
	}
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if cerr := l.closeAll(); err == nil {
		err = cerr
	}
	return err
}

// closeAll closes every file and reaps the graveyard (writer or Open).
func (l *Log) closeAll() error {
	var err error
	for _, s := range l.segments {
		if s.log != nil {
			if cerr := s.log.Close(); err == nil {
				err = cerr
			}
		}
		if cerr := s.index.close(); err == nil {
			err = cerr
		}
		if cerr := s.timeIndex.close(); err == nil {
			err = cerr
		}
	}
	if rerr := l.reap(0, true); err == nil {
		err = rerr
	}
	return err
}

// Delete closes the log and removes its directory. The directory is first
// renamed to <topic>-<partition>.<suffix>-delete, as Kafka does, so a crash
// during the removal never brings the partition back.
func (l *Log) Delete() error {
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	err := l.closeAll()
	gone := fmt.Sprintf("%s.%x-delete", l.dir, l.cfg.Now().UnixNano())
	if rerr := os.Rename(l.dir, gone); rerr != nil {
		return errors.Join(err, rerr)
	}
	if serr := syncDir(filepath.Dir(l.dir)); err == nil {
		err = serr
	}
	return errors.Join(err, os.RemoveAll(gone))
}

// removeSegments takes segments out of service (the caller already removed
// them from l.segments under mu) and deletes those whose delay has passed.
func (l *Log) removeSegments(segs []*segment) error {
	err := l.retire(segs)
	if rerr := l.reap(l.cfg.nowMs(), false); err == nil {
		err = rerr
	}
	return err
}

// retire renames segments' files to .deleted; they stay open for readers
// until file.delete.delay.ms passed (LocalLog.deleteSegmentFiles).
func (l *Log) retire(segs []*segment) error {
	now := l.cfg.nowMs()
	var err error
	for _, s := range segs {
		s.index.close()
		s.timeIndex.close()
		if rerr := s.renameFiles("", deletedSuffix); rerr != nil && err == nil {
			err = rerr
		}
		l.graveyard = append(l.graveyard, removedSegment{seg: s, removedMs: now})
	}
	if serr := syncDir(l.dir); err == nil {
		err = serr
	}
	return err
}

// reap closes and deletes removed segments whose delay has passed (all of
// them when force is set).
func (l *Log) reap(now int64, force bool) error {
	var err error
	kept := l.graveyard[:0]
	for _, r := range l.graveyard {
		if !force && now-r.removedMs < l.cfg.FileDeleteDelayMs {
			kept = append(kept, r)
			continue
		}
		r.seg.log.Close()
		for _, kind := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if rerr := os.Remove(segmentFileName(r.seg.dir, r.seg.base, kind+deletedSuffix)); rerr != nil &&
				!errors.Is(rerr, os.ErrNotExist) && err == nil {
				err = rerr
			}
		}
	}
	clear(l.graveyard[len(kept):])
	l.graveyard = kept
	return err
}
