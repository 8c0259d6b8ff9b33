package log

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// CleanResult says what Clean did.
type CleanResult struct {
	SegmentsCleaned   int   // segments rewritten
	SegmentsWritten   int   // segments they were merged into
	RecordsRemoved    int64 // older values, keyless records and expired tombstones
	TombstonesRemoved int64
	BytesBefore       int64
	BytesAfter        int64
}

// Clean compacts the log when cleanup.policy includes compact
// (LogCleaner.doClean): for every key only the record with the highest
// offset is kept; tombstones (null values) are dropped once their segment's
// largest timestamp is delete.retention.ms old; records without a key are
// dropped. Only sealed segments entirely below the high watermark are
// cleaned. Groups of consecutive segments are rewritten into one new
// segment each (.cleaned, then .swap, then .log, as Kafka does); batches
// keep their base offsets and last offset deltas, so offsets keep their
// gaps. Batches that are not changed are copied byte for byte.
//
// Appends and reads continue while the new segments are written; the
// writer lock is held only to swap them in.
func (l *Log) Clean() (CleanResult, error) {
	var res CleanResult
	if !l.compacts {
		return res, nil
	}
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	segs, err := l.cleanableSegments()
	if err != nil || len(segs) == 0 {
		return res, err
	}
	latest, err := l.buildOffsetMap(segs)
	if err != nil {
		return res, err
	}
	now := l.cfg.nowMs()
	for _, group := range l.groupSegments(segs) {
		if err := l.cleanGroup(group, latest, now, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// cleanableSegments are the sealed segments whose offsets are all below the
// high watermark (the first uncleanable offset is min(active segment base,
// high watermark), LogCleanerManager.cleanableOffsets).
func (l *Log) cleanableSegments() ([]*segment, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	hw := l.highWatermark.Load()
	var out []*segment
	for i, s := range l.segments[:len(l.segments)-1] {
		if l.segments[i+1].base > hw {
			break
		}
		out = append(out, s)
	}
	return out, nil
}

// eachBatch calls fn for every batch in the first size bytes of s.
func (l *Log) eachBatch(s *segment, size int64, fn func(batch []byte, h BatchHeader) error) error {
	br := newBatchReader(s.log, 0, size, 1<<20)
	for {
		batch, _, h, err := br.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("clean segment %d: %w", s.base, err)
		}
		if err := fn(batch, h); err != nil {
			return err
		}
	}
}

// decodable returns the uncompressed records of a data batch, or nil when
// the batch must be kept whole (control batch, unknown codec, bad records).
func (l *Log) decodable(batch []byte, h BatchHeader) []byte {
	if h.IsControl() {
		return nil
	}
	body, err := batchRecords(l.cfg.Codec, h, batch)
	if err != nil {
		return nil
	}
	if decodeRecords(h, body, func(record) error { return nil }) != nil {
		return nil
	}
	return body
}

// buildOffsetMap maps every key to its last offset in the cleanable
// segments (the cleaner's OffsetMap, exact rather than hashed).
func (l *Log) buildOffsetMap(segs []*segment) (map[string]int64, error) {
	latest := map[string]int64{}
	sizes := l.sizes(segs)
	for i, s := range segs {
		err := l.eachBatch(s, sizes[i], func(batch []byte, h BatchHeader) error {
			body := l.decodable(batch, h)
			if body == nil {
				return nil
			}
			return decodeRecords(h, body, func(r record) error {
				if !r.nullKey {
					latest[string(r.key)] = r.offset
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	return latest, nil
}

// sizes snapshots the committed sizes of segs.
func (l *Log) sizes(segs []*segment) []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(segs))
	for i, s := range segs {
		out[i] = s.size
	}
	return out
}

// groupSegments groups consecutive segments whose total size, index sizes
// and offset range fit one segment (LogCleaner.groupSegmentsBySize).
func (l *Log) groupSegments(segs []*segment) [][]*segment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var groups [][]*segment
	for len(segs) > 0 {
		g := segs[:1]
		size, idx, tidx := segs[0].size, len(segs[0].index.buf), len(segs[0].timeIndex.buf)
		for len(g) < len(segs) {
			s := segs[len(g)]
			if size+s.size > l.cfg.SegmentBytes ||
				int64(idx+len(s.index.buf)) > l.cfg.SegmentIndexBytes ||
				int64(tidx+len(s.timeIndex.buf)) > l.cfg.SegmentIndexBytes-timeIndexEntrySize ||
				s.next-1-g[0].base > math.MaxInt32 {
				break
			}
			size, idx, tidx = size+s.size, idx+len(s.index.buf), tidx+len(s.timeIndex.buf)
			g = segs[:len(g)+1]
		}
		groups = append(groups, g)
		segs = segs[len(g):]
	}
	return groups
}

// cleanGroup writes the group's retained batches to <base>.log.cleaned and
// swaps the result in. A single segment with nothing to remove is left alone.
func (l *Log) cleanGroup(group []*segment, latest map[string]int64, now int64, res *CleanResult) error {
	base := group[0].base
	path := segmentFileName(l.dir, base, logSuffix+cleanedSuffix)
	out, err := createCleanedSegment(l.dir, base, path, &l.cfg)
	if err != nil {
		return err
	}
	w := &cleanWriter{l: l, seg: out, buf: bufio.NewWriterSize(out.log, 1<<20)}
	var st groupStats
	sizes := l.sizes(group)
	for i, s := range group {
		retainDeletes := s.maxTimestamp < 0 || now-s.maxTimestamp <= l.cfg.DeleteRetentionMs
		st.bytesBefore += sizes[i]
		err := l.eachBatch(s, sizes[i], func(batch []byte, h BatchHeader) error {
			kept, err := l.filterBatch(batch, h, latest, retainDeletes, &st)
			if err != nil || kept == nil {
				return err
			}
			return w.write(kept)
		})
		if err != nil {
			out.closeFiles()
			os.Remove(path)
			return err
		}
	}
	if err := w.buf.Flush(); err != nil {
		out.closeFiles()
		os.Remove(path)
		return err
	}
	if st.removed == 0 && len(group) == 1 {
		out.closeFiles()
		return os.Remove(path)
	}
	if err := l.swap(group, sizes, out); err != nil {
		out.closeFiles()
		os.Remove(path)
		return err
	}
	res.SegmentsCleaned += len(group)
	res.SegmentsWritten++
	res.RecordsRemoved += st.removed
	res.TombstonesRemoved += st.tombstones
	res.BytesBefore += st.bytesBefore
	res.BytesAfter += out.size
	return nil
}

type groupStats struct {
	removed, tombstones, bytesBefore int64
}

// createCleanedSegment opens the .cleaned file; its index files get their
// final names and are written only after the swap.
func createCleanedSegment(dir string, base int64, path string, cfg *Config) (*segment, error) {
	s := newSegmentStruct(dir, base, cfg)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	s.log = f
	return s, nil
}

// cleanWriter appends retained batches to the cleaned segment and builds
// its indexes the way appends would.
type cleanWriter struct {
	l   *Log
	seg *segment
	buf *bufio.Writer
}

func (w *cleanWriter) write(batch []byte) error {
	h, _ := ParseBatchHeader(batch)
	if _, err := w.buf.Write(batch); err != nil {
		return err
	}
	return w.seg.track(h, w.seg.size, w.l.cfg.IndexIntervalBytes)
}

// filterBatch returns the batch to keep: the original bytes when every
// record stays, a rebuilt batch with the same base offset and last offset
// delta when some do, nil when none does. An emptied batch of an idempotent
// producer keeps its header (count 0) so producer state survives, as
// MemoryRecords.filterTo does.
func (l *Log) filterBatch(batch []byte, h BatchHeader, latest map[string]int64, retainDeletes bool, st *groupStats) ([]byte, error) {
	body := l.decodable(batch, h)
	if body == nil {
		return batch, nil
	}
	var kept []byte
	var count int32
	maxTs := int64(noTimestamp)
	var removed, tombstones int64
	err := decodeRecords(h, body, func(r record) error {
		keep := !r.nullKey && latest[string(r.key)] <= r.offset && (retainDeletes || !r.nullValue)
		if !keep {
			removed++
			if r.nullValue && !r.nullKey && latest[string(r.key)] <= r.offset {
				tombstones++
			}
			return nil
		}
		kept = append(kept, r.raw...)
		count++
		maxTs = max(maxTs, r.timestamp)
		return nil
	})
	if err != nil || removed == 0 {
		return batch, nil
	}
	st.removed += removed
	st.tombstones += tombstones
	if count == 0 && h.ProducerID < 0 {
		return nil, nil
	}
	return l.rebuildBatch(batch, h, kept, count, maxTs)
}

// rebuildBatch writes a batch with the original header fields, count
// records and a recomputed max timestamp (CreateTime) and CRC; compressed
// batches are recompressed, or stored uncompressed when the codec cannot
// compress.
func (l *Log) rebuildBatch(orig []byte, h BatchHeader, records []byte, count int32, maxTs int64) ([]byte, error) {
	attrs := uint16(h.Attributes)
	if c := h.Compression(); c != CodecNone && count > 0 {
		z, err := l.cfg.Codec.Compress(c, records)
		switch {
		case err == nil:
			records = z
		case errors.Is(err, ErrUnsupportedCodec):
			attrs &^= attrCompressionMask
		default:
			return nil, err
		}
	}
	be := binary.BigEndian
	b := make([]byte, batchHeaderSize, batchHeaderSize+len(records))
	copy(b, orig[:batchHeaderSize])
	be.PutUint32(b[offBatchLength:], uint32(batchHeaderSize-logOverhead+len(records)))
	be.PutUint16(b[offAttributes:], attrs)
	if h.Attributes&attrTimestampType == 0 && count > 0 {
		be.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	}
	be.PutUint32(b[offRecordCount:], uint32(count))
	b = append(b, records...)
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b, nil
}

// swap replaces the group by the cleaned segment (UnifiedLog.replaceSegments):
// .cleaned becomes .swap, the originals are retired to .deleted, .swap
// becomes .log. A crash at any step is finished or undone by Open. The
// group must still be in the log, sealed and unchanged.
func (l *Log) swap(group []*segment, sizes []int64, out *segment) error {
	if err := out.log.Sync(); err != nil {
		return err
	}
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()
	first := -1
	for i, s := range l.segments {
		if s == group[0] {
			first = i
		}
	}
	if first < 0 || first+len(group) >= len(l.segments) {
		return fmt.Errorf("clean segment %d: the log changed during cleaning", group[0].base)
	}
	for i, s := range group {
		if l.segments[first+i] != s || s.size != sizes[i] {
			return fmt.Errorf("clean segment %d: the log changed during cleaning", s.base)
		}
	}
	base := out.base
	if err := os.Rename(segmentFileName(l.dir, base, logSuffix+cleanedSuffix), segmentFileName(l.dir, base, logSuffix+swapSuffix)); err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	l.mu.Lock()
	segs := append([]*segment(nil), l.segments[:first]...)
	segs = append(segs, out)
	l.segments = append(segs, l.segments[first+len(group):]...)
	l.mu.Unlock()
	if err := l.retire(group); err != nil {
		return err
	}
	if err := os.Rename(segmentFileName(l.dir, base, logSuffix+swapSuffix), segmentFileName(l.dir, base, logSuffix)); err != nil {
		return err
	}
	// The index files get their final names only now that the originals'
	// are retired; a crash before this rebuilds them on open.
	if err := out.seal(&l.mu); err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	return l.reap(l.cfg.nowMs(), false)
}
