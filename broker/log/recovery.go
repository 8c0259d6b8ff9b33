package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// RecoveryReport says what Open found and changed. Nothing is logged by the
// package; the broker logs the report.
type RecoveryReport struct {
	RecoveredSegments []int64      // validated batch by batch, indexes rebuilt (LogSegment.recover)
	RebuiltIndexes    []int64      // other segments whose index files were missing or failed the sanity check
	Truncations       []Truncation // invalid bytes cut off the end of a segment
	DeletedSegments   []int64      // segments after a truncation, removed as LogLoader does
	CompletedSwaps    []int64      // compactions finished from .swap files
	RemovedFiles      []string     // leftover .deleted, .cleaned, stale .swap and orphan index files
	ResetTo           int64        // -1, or the offset the log restarted at because its end was below the checkpointed start
}

// Truncation is one cut: Bytes invalid bytes from Position of segment Segment.
type Truncation struct {
	Segment  int64
	Position int64
	Bytes    int64
	Reason   error
}

// Changed reports whether recovery dropped any data.
func (r RecoveryReport) Changed() bool {
	return len(r.Truncations) > 0 || len(r.DeletedSegments) > 0 || r.ResetTo >= 0
}

func (r RecoveryReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recovered %d segments, rebuilt %d indexes", len(r.RecoveredSegments), len(r.RebuiltIndexes))
	for _, t := range r.Truncations {
		fmt.Fprintf(&b, "; truncated %d bytes of segment %d at position %d: %v", t.Bytes, t.Segment, t.Position, t.Reason)
	}
	if len(r.DeletedSegments) > 0 {
		fmt.Fprintf(&b, "; deleted segments %v", r.DeletedSegments)
	}
	if len(r.CompletedSwaps) > 0 {
		fmt.Fprintf(&b, "; completed swaps %v", r.CompletedSwaps)
	}
	if len(r.RemovedFiles) > 0 {
		fmt.Fprintf(&b, "; removed %v", r.RemovedFiles)
	}
	if r.ResetTo >= 0 {
		fmt.Fprintf(&b, "; log end below log start, reset to %d", r.ResetTo)
	}
	return b.String()
}

// load is LogLoader.load: temporary files, swaps, segments, recovery of the
// unflushed part, then the offsets.
func (l *Log) load() (RecoveryReport, error) {
	rep := RecoveryReport{ResetTo: -1}
	bases, err := l.prepareFiles(&rep)
	if err != nil {
		return rep, err
	}
	buf := make([]byte, 0, 1<<20)
	if err := l.loadSegments(bases, buf, &rep); err != nil {
		return rep, err
	}
	if !l.cfg.CleanShutdown {
		if err := l.recoverUnflushed(buf, &rep); err != nil {
			return rep, err
		}
	}
	return rep, l.initOffsets(&rep)
}

// prepareFiles deletes leftovers and completes swaps as
// LogLoader.removeTempFilesAndCollectSwapFiles and completeSwapOperations do;
// it returns the base offsets of the .log files, sorted.
func (l *Log) prepareFiles(rep *RecoveryReport) ([]int64, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	remove := func(name string) error {
		rep.RemovedFiles = append(rep.RemovedFiles, name)
		return os.Remove(l.dir + string(os.PathSeparator) + name)
	}
	var swaps []int64
	minCleaned := int64(-1)
	logs := map[int64]bool{}
	indexes := map[int64][]string{}
	for _, e := range ents {
		base, kind, temp, ok := parseSegmentFileName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		switch {
		case temp == deletedSuffix:
			err = remove(e.Name())
		case temp == cleanedSuffix:
			// An interrupted compaction: the originals are intact.
			if minCleaned < 0 || base < minCleaned {
				minCleaned = base
			}
			err = remove(e.Name())
		case temp == swapSuffix && kind != logSuffix:
			err = remove(e.Name()) // indexes of swapped segments are rebuilt
		case temp == swapSuffix:
			swaps = append(swaps, base)
		case kind == logSuffix:
			logs[base] = true
		default:
			indexes[base] = append(indexes[base], e.Name())
		}
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(swaps, func(i, j int) bool { return swaps[i] < swaps[j] })
	for _, base := range swaps {
		if minCleaned >= 0 && base >= minCleaned {
			// Part of a cleaning that never finished its .cleaned -> .swap step.
			if err := remove(segmentFileName("", base, logSuffix+swapSuffix)); err != nil {
				return nil, err
			}
			continue
		}
		if err := l.completeSwap(base, logs, rep); err != nil {
			return nil, err
		}
	}
	var bases []int64
	for base := range logs {
		bases = append(bases, base)
	}
	for base, names := range indexes {
		if !logs[base] {
			for _, n := range names {
				// completeSwap may have removed it already.
				if err := remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, syncDir(l.dir)
}

// completeSwap finishes a compaction's replace step: the segments the .swap
// file covers are deleted, then it becomes a .log (LogLoader).
func (l *Log) completeSwap(base int64, logs map[int64]bool, rep *RecoveryReport) error {
	path := segmentFileName(l.dir, base, logSuffix+swapSuffix)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	next := base
	br := newBatchReader(f, 0, st.Size(), 64<<10)
	for {
		_, _, h, err := br.next()
		if err != nil {
			// A swap file was complete before it was renamed; stop at damage
			// and keep what is valid, as recovery of the segment will.
			break
		}
		next = h.LastOffset() + 1
	}
	f.Close()
	for old := range logs {
		if old >= base && old < next {
			for _, kind := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
				if err := os.Remove(segmentFileName(l.dir, old, kind)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			delete(logs, old)
		}
	}
	if err := os.Rename(path, segmentFileName(l.dir, base, logSuffix)); err != nil {
		return err
	}
	logs[base] = true
	rep.CompletedSwaps = append(rep.CompletedSwaps, base)
	return nil
}

// loadSegments opens every segment. Segments that will be recovered get
// their indexes from recovery; the others load theirs and rebuild them when
// they are missing or fail the sanity check (LogLoader.loadSegmentFiles).
func (l *Log) loadSegments(bases []int64, buf []byte, rep *RecoveryReport) error {
	rp := l.cfg.RecoveryPoint
	firstRecovered := len(bases)
	if !l.cfg.CleanShutdown {
		firstRecovered = max(0, sort.Search(len(bases), func(i int) bool { return bases[i] > rp })-1)
	}
	for i, base := range bases {
		s, err := openSegment(l.dir, base, &l.cfg)
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
		if i >= firstRecovered {
			continue
		}
		if err := l.loadIndexes(s); err != nil {
			rep.RebuiltIndexes = append(rep.RebuiltIndexes, base)
			t, err := l.recoverSegment(s, buf)
			if err != nil {
				return err
			}
			if t != nil {
				rep.Truncations = append(rep.Truncations, *t)
			}
		}
	}
	return nil
}

// loadIndexes reads and checks a segment's indexes and derives the
// segment's next offset and largest timestamp from them plus the batches
// after the last index entry (LogSegment.readNextOffset).
func (l *Log) loadIndexes(s *segment) error {
	if err := s.index.load(); err != nil {
		return err
	}
	if err := s.timeIndex.load(); err != nil {
		return err
	}
	if err := s.index.check(s.size); err != nil {
		return err
	}
	_, pos := s.index.lastEntry()
	s.bytesSinceIndex = s.size - pos
	tsLast, offLast := s.timeIndex.lastEntry()
	s.maxTimestamp, s.offsetOfMaxTimestamp = tsLast, offLast
	for pos < s.size {
		h, err := headerAt(s.log, pos, s.size)
		if err != nil {
			return err
		}
		if h.BaseOffset < s.next || h.BaseOffset < s.base {
			return fmt.Errorf("%w: batch at %d has base offset %d below %d", ErrCorruptMessage, pos, h.BaseOffset, s.next)
		}
		if h.MaxTimestamp > s.maxTimestamp {
			s.maxTimestamp, s.offsetOfMaxTimestamp = h.MaxTimestamp, h.LastOffset()
		}
		s.next = h.LastOffset() + 1
		pos += h.Size()
	}
	if s.size > 0 {
		h, err := headerAt(s.log, 0, s.size)
		if err != nil {
			return err
		}
		s.rollTimestamp = h.MaxTimestamp
	}
	return s.timeIndex.check(s.next)
}

// recoverSegment is LogSegment.recover: every batch is validated (length,
// CRC, offsets increasing and within the segment's relative range), the
// indexes are rebuilt, and invalid bytes at the end are truncated.
func (l *Log) recoverSegment(s *segment, buf []byte) (*Truncation, error) {
	fileSize := s.size
	s.resetIndexes()
	br := newBatchReader(s.log, 0, fileSize, 0)
	br.buf = buf[:0]
	var bad error
	for {
		_, pos, h, err := br.next()
		if err == io.EOF {
			break
		}
		if err == nil && (h.BaseOffset < s.next || !s.index.canAppend(h.LastOffset())) {
			err = fmt.Errorf("%w: batch at position %d has offsets [%d, %d] after %d in segment %d",
				ErrCorruptMessage, pos, h.BaseOffset, h.LastOffset(), s.next, s.base)
		}
		if err == nil {
			err = s.track(h, pos, l.cfg.IndexIntervalBytes)
		}
		if err != nil {
			if !errors.Is(err, ErrCorruptMessage) && !errors.Is(err, ErrInvalidRecord) {
				return nil, err // an I/O error is not corruption
			}
			bad = err
			break
		}
	}
	var t *Truncation
	if s.size < fileSize {
		if err := s.log.Truncate(s.size); err != nil {
			return nil, err
		}
		t = &Truncation{Segment: s.base, Position: s.size, Bytes: fileSize - s.size, Reason: bad}
	}
	if err := s.timeIndex.maybeAppend(s.maxTimestamp, s.offsetOfMaxTimestamp); err != nil {
		return nil, err
	}
	if err := s.index.rewrite(); err != nil {
		return nil, err
	}
	if err := s.timeIndex.rewrite(); err != nil {
		return nil, err
	}
	if err := s.sync(); err != nil {
		return nil, err
	}
	return t, nil
}

// recoverUnflushed is LogLoader.recoverLog: segments from the one holding
// the recovery point on are recovered; after the first truncation every
// later segment is deleted.
func (l *Log) recoverUnflushed(buf []byte, rep *RecoveryReport) error {
	start := max(0, l.floorSegment(l.cfg.RecoveryPoint))
	for i := start; i < len(l.segments); i++ {
		s := l.segments[i]
		rep.RecoveredSegments = append(rep.RecoveredSegments, s.base)
		t, err := l.recoverSegment(s, buf)
		if err != nil {
			return err
		}
		if t == nil {
			continue
		}
		rep.Truncations = append(rep.Truncations, *t)
		for _, later := range l.segments[i+1:] {
			rep.DeletedSegments = append(rep.DeletedSegments, later.base)
			rep.Truncations[len(rep.Truncations)-1].Bytes += later.size
		}
		if err := l.deleteSegmentFiles(l.segments[i+1:]); err != nil {
			return err
		}
		l.segments = l.segments[:i+1]
		break
	}
	return nil
}

// deleteSegmentFiles removes segments at once (recovery: no reader can have
// them open yet).
func (l *Log) deleteSegmentFiles(segs []*segment) error {
	for _, s := range segs {
		s.closeFiles()
		for _, kind := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := os.Remove(segmentFileName(l.dir, s.base, kind)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return syncDir(l.dir)
}

// initOffsets sets the log start and end offsets, the recovery point and the
// high watermark after loading, and opens the active segment for appends.
func (l *Log) initOffsets(rep *RecoveryReport) error {
	if len(l.segments) > 0 && l.active().next < l.cfg.LogStartOffset {
		// LogLoader: the log end is below the checkpointed log start offset, so
		// nothing in the log is valid any more.
		rep.ResetTo = l.cfg.LogStartOffset
		for _, s := range l.segments {
			rep.DeletedSegments = append(rep.DeletedSegments, s.base)
		}
		if err := l.deleteSegmentFiles(l.segments); err != nil {
			return err
		}
		l.segments = nil
	}
	if len(l.segments) == 0 {
		s, err := createSegment(l.dir, l.cfg.LogStartOffset, &l.cfg)
		if err != nil {
			return err
		}
		l.segments = []*segment{s}
	}
	for _, s := range l.segments[:len(l.segments)-1] {
		// Inactive segments keep their entries in memory, not their index files open.
		if err := s.index.close(); err != nil {
			return err
		}
		if err := s.timeIndex.close(); err != nil {
			return err
		}
	}
	act := l.active()
	if err := act.index.openForAppend(); err != nil {
		return err
	}
	if err := act.timeIndex.openForAppend(); err != nil {
		return err
	}
	leo := act.next
	l.logEndOffset.Store(leo)
	l.logStartOffset.Store(min(max(l.cfg.LogStartOffset, l.segments[0].base), leo))
	rp := min(l.cfg.RecoveryPoint, leo)
	if l.cfg.CleanShutdown {
		rp = leo
	}
	l.recoveryPoint.Store(rp)
	l.highWatermark.Store(min(max(l.cfg.HighWatermark, l.logStartOffset.Load()), leo))
	return nil
}
