package log

import (
	"fmt"
	"io"
	"math"
	"os"
)

// Records is a section of a segment file holding whole batches: what a
// fetch sends. The broker can hand File, Position and Size to sendfile, or
// use WriteTo / AppendTo. The file stays readable at least
// file.delete.delay.ms after its segment is removed.
type Records struct {
	File     *os.File // nil when empty
	Position int64    // of the first batch in File
	Size     int64
	// FirstOffset is the base offset of the first batch, -1 when empty.
	FirstOffset int64
}

// Empty reports a read that found no batch.
func (r Records) Empty() bool { return r.Size == 0 }

// ReadAt reads from the section, like io.SectionReader.
func (r Records) ReadAt(p []byte, off int64) (int, error) {
	if r.File == nil || off >= r.Size {
		return 0, io.EOF
	}
	if max := r.Size - off; int64(len(p)) > max {
		n, err := r.File.ReadAt(p[:max], r.Position+off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return r.File.ReadAt(p, r.Position+off)
}

// AppendTo appends the bytes to dst, for callers that reuse a buffer.
func (r Records) AppendTo(dst []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, make([]byte, r.Size)...)
	if r.Size == 0 {
		return dst, nil
	}
	if _, err := r.File.ReadAt(dst[n:], r.Position); err != nil {
		return dst[:n], fmt.Errorf("read %d bytes at %d of %s: %w", r.Size, r.Position, r.File.Name(), err)
	}
	return dst, nil
}

// WriteTo copies the section to w.
func (r Records) WriteTo(w io.Writer) (int64, error) {
	if r.Size == 0 {
		return 0, nil
	}
	return io.Copy(w, io.NewSectionReader(r.File, r.Position, r.Size))
}

// Read returns whole batches from the one holding offset, up to maxBytes,
// from a single segment (as LogSegment.read does). The first batch is always
// returned whole even when it is larger than maxBytes (KIP-74's
// minOneMessage), so a consumer always progresses. Reading at the log end
// returns no batch; outside [LogStartOffset, LogEndOffset] fails with
// ErrOffsetOutOfRange.
func (l *Log) Read(offset int64, maxBytes int) (Records, error) {
	return l.ReadUpTo(offset, maxBytes, math.MaxInt64)
}

// ReadUpTo is Read limited to batches whose last offset is below maxOffset:
// a consumer reads up to the high watermark, a follower up to the log end.
func (l *Log) ReadUpTo(offset int64, maxBytes int, maxOffset int64) (Records, error) {
	empty := Records{FirstOffset: -1}
	p, err := l.readPlan(offset, int64(maxBytes), maxOffset)
	if err != nil || p.seg == nil {
		return empty, err
	}
	s := p.seg
	pos, h, ok, err := s.firstPositionFrom(offset, p.startPos, p.size)
	if err != nil || !ok || h.LastOffset() >= p.maxOffset {
		return empty, err
	}
	out := Records{File: s.log, Position: pos, Size: h.Size(), FirstOffset: h.BaseOffset}
	limit := pos + max(int64(maxBytes), 0)
	end := out.Position + out.Size
	if p.jumpPos > end && p.jumpPos <= limit {
		// Every batch before an index entry that is itself below maxOffset is
		// below maxOffset: skip their headers.
		end = p.jumpPos
	}
	for end < p.size {
		h, err := headerAt(s.log, end, p.size)
		if err != nil {
			return empty, err
		}
		if end+h.Size() > limit || h.LastOffset() >= p.maxOffset {
			break
		}
		end += h.Size()
	}
	out.Size = end - out.Position
	return out, nil
}

// readPlan is what a read needs from the in-memory state, taken under the
// read lock: the segment, its committed size, where to start scanning, and
// a position the scan for the end may jump to.
type readPlan struct {
	seg       *segment
	size      int64
	startPos  int64
	maxOffset int64
	jumpPos   int64 // a batch boundary within maxBytes whose previous batches are below maxOffset
}

func (l *Log) readPlan(offset, maxBytes, maxOffset int64) (readPlan, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return readPlan{}, ErrClosed
	}
	lso, leo := l.logStartOffset.Load(), l.logEndOffset.Load()
	if offset < lso || offset > leo {
		return readPlan{}, fmt.Errorf("%w: offset %d, log %s has [%d, %d]", ErrOffsetOutOfRange, offset, l.tp, lso, leo)
	}
	maxOffset = min(maxOffset, leo)
	if offset >= maxOffset {
		return readPlan{}, nil
	}
	// A segment may end before the next one starts (compaction, follower
	// gaps) or be empty (compaction): then the batch holding offset is in a
	// later segment.
	i := max(l.floorSegment(offset), 0)
	for i < len(l.segments) && (l.segments[i].next <= offset || l.segments[i].size == 0) {
		i++
	}
	if i == len(l.segments) {
		return readPlan{}, nil
	}
	s := l.segments[i]
	_, startPos := s.index.lookup(offset)
	p := readPlan{seg: s, size: s.size, startPos: startPos, maxOffset: maxOffset, jumpPos: -1}
	// The last index entry at or below startPos+maxBytes that is below
	// maxOffset names a batch starting at a boundary within the limit.
	x := s.index
	if j := min(search(x.entries(), startPos+maxBytes, x.posAt), search(x.entries(), maxOffset-1, x.offsetAt)); j >= 0 {
		p.jumpPos = x.posAt(j)
	}
	return p, nil
}
