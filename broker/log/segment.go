package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// segment is one .log file and its two indexes (LogSegment). Fields marked
// "mu" are guarded by Log.mu and written only by the log's writer; the
// others belong to the writer alone.
type segment struct {
	base      int64
	dir       string
	log       *os.File
	index     *offsetIndex // mu (entries)
	timeIndex *timeIndex   // mu (entries)

	size                 int64 // mu: bytes of whole batches in the file
	next                 int64 // mu: last offset + 1 of the last batch; base when empty
	maxTimestamp         int64 // mu: largest batch max timestamp; NO_TIMESTAMP when none
	offsetOfMaxTimestamp int64 // mu: last offset of the batch that first reached it

	bytesSinceIndex int64 // bytes appended since the last offset index entry
	rollTimestamp   int64 // max timestamp of the first batch (rollingBasedTimestamp)
	createdMs       int64 // when this process created or opened the segment
}

func newSegmentStruct(dir string, base int64, cfg *Config) *segment {
	return &segment{
		base:                 base,
		dir:                  dir,
		index:                newOffsetIndex(segmentFileName(dir, base, indexSuffix), base, cfg.SegmentIndexBytes),
		timeIndex:            newTimeIndex(segmentFileName(dir, base, timeIndexSuffix), base, cfg.SegmentIndexBytes),
		next:                 base,
		maxTimestamp:         noTimestamp,
		offsetOfMaxTimestamp: base,
		rollTimestamp:        noTimestamp,
		createdMs:            cfg.nowMs(),
	}
}

// createSegment makes a new empty active segment. An existing empty file of
// the same name is reused (a roll interrupted by a crash); a non-empty one
// is an error, as in LocalLog.roll.
func createSegment(dir string, base int64, cfg *Config) (*segment, error) {
	s := newSegmentStruct(dir, base, cfg)
	path := segmentFileName(dir, base, logSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		f.Close()
		if err == nil {
			err = fmt.Errorf("segment %s already exists with %d bytes", path, st.Size())
		}
		return nil, err
	}
	s.log = f
	for _, x := range []*indexFile{&s.index.indexFile, &s.timeIndex.indexFile} {
		if err := x.rewrite(); err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	return s, syncDir(dir)
}

// openSegment opens an existing .log file; the caller loads or rebuilds the
// indexes and sets size, next and the timestamps.
func openSegment(dir string, base int64, cfg *Config) (*segment, error) {
	s := newSegmentStruct(dir, base, cfg)
	f, err := os.OpenFile(segmentFileName(dir, base, logSuffix), os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s.log, s.size = f, st.Size()
	return s, nil
}

// track updates indexes and statistics for a batch just placed at pos, as
// LogSegment.append and LogSegment.recover do (they agree, so an index
// rebuilt by recovery equals the one built by appends).
func (s *segment) track(h BatchHeader, pos, indexInterval int64) error {
	if pos == 0 {
		s.rollTimestamp = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = h.MaxTimestamp, h.LastOffset()
	}
	if s.bytesSinceIndex > indexInterval {
		if err := s.index.append(h.LastOffset(), pos); err != nil {
			return err
		}
		if err := s.timeIndex.maybeAppend(s.maxTimestamp, s.offsetOfMaxTimestamp); err != nil {
			return err
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.Size()
	s.size = pos + h.Size()
	s.next = h.LastOffset() + 1
	return nil
}

// resetIndexes empties both indexes before a rebuild.
func (s *segment) resetIndexes() {
	s.index.buf, s.timeIndex.buf = s.index.buf[:0], s.timeIndex.buf[:0]
	s.index.written, s.timeIndex.written = 0, 0
	s.size, s.next, s.bytesSinceIndex = 0, s.base, 0
	s.maxTimestamp, s.offsetOfMaxTimestamp, s.rollTimestamp = noTimestamp, s.base, noTimestamp
}

// persistIndexes writes index entries added since the last call.
func (s *segment) persistIndexes() error {
	if err := s.index.persist(); err != nil {
		return err
	}
	return s.timeIndex.persist()
}

// sync fsyncs the log and the indexes.
func (s *segment) sync() error {
	if err := s.persistIndexes(); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.log.Name(), err)
	}
	if err := s.index.sync(); err != nil {
		return err
	}
	return s.timeIndex.sync()
}

// firstPositionFrom returns the position of the first batch with last offset
// >= offset, scanning headers from the index entry below it
// (LogSegment.translateOffset); ok is false when there is none.
func (s *segment) firstPositionFrom(offset, startPos, size int64) (pos int64, h BatchHeader, ok bool, err error) {
	for pos = startPos; pos < size; pos += h.Size() {
		if h, err = headerAt(s.log, pos, size); err != nil {
			return pos, h, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
	}
	return pos, h, false, nil
}

// closeFiles closes every open file, ignoring errors (failure paths).
func (s *segment) closeFiles() {
	if s.log != nil {
		s.log.Close()
	}
	s.index.close()
	s.timeIndex.close()
}

// renameFiles moves the segment's three files from one temporary suffix to another ("" removes
// it); missing index files are fine, they are rebuilt on open.
func (s *segment) renameFiles(fromSuffix, toSuffix string) error {
	for _, kind := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		from := segmentFileName(s.dir, s.base, kind+fromSuffix)
		to := segmentFileName(s.dir, s.base, kind+toSuffix)
		if err := os.Rename(from, to); err != nil && (kind == logSuffix || !errors.Is(err, fs.ErrNotExist)) {
			return err
		}
	}
	return nil
}
