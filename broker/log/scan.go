package log

import (
	"fmt"
	"io"
	"sync"
)

// headerPool holds header buffers for readers: Read runs on many goroutines
// and must not allocate per call.
var headerPool = sync.Pool{New: func() any { return new([batchHeaderSize]byte) }}

// headerAt reads and checks the header of the batch at pos, which must end
// by limit. It reads 61 bytes: no records, no CRC.
func headerAt(r io.ReaderAt, pos, limit int64) (BatchHeader, error) {
	if limit-pos < batchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes at position %d are not a batch", ErrCorruptMessage, limit-pos, pos)
	}
	buf := headerPool.Get().(*[batchHeaderSize]byte)
	defer headerPool.Put(buf)
	if _, err := r.ReadAt(buf[:], pos); err != nil {
		return BatchHeader{}, fmt.Errorf("read batch header at %d: %w", pos, err)
	}
	h, _ := ParseBatchHeader(buf[:])
	if err := checkHeader(h); err != nil {
		return h, fmt.Errorf("batch at position %d: %w", pos, err)
	}
	if pos+h.Size() > limit {
		return h, fmt.Errorf("%w: batch at position %d of %d bytes passes the end %d", ErrCorruptMessage, pos, h.Size(), limit)
	}
	return h, nil
}

// batchReader reads whole batches sequentially through a buffer, validating
// each (header and CRC). Recovery, compaction and timestamp lookups use it;
// the append and fetch paths never do.
type batchReader struct {
	r        io.ReaderAt
	pos      int64 // position of the next batch
	limit    int64 // end of the readable bytes
	buf      []byte
	bufStart int64 // file position of buf[0]
}

func newBatchReader(r io.ReaderAt, pos, limit int64, bufSize int) *batchReader {
	return &batchReader{r: r, pos: pos, limit: limit, buf: make([]byte, 0, bufSize)}
}

// fill makes [pos, pos+n) available in buf.
func (br *batchReader) fill(pos, n int64) ([]byte, error) {
	if pos >= br.bufStart && pos+n <= br.bufStart+int64(len(br.buf)) {
		off := pos - br.bufStart
		return br.buf[off : off+n], nil
	}
	want := max(n, int64(cap(br.buf)))
	want = min(want, br.limit-pos)
	if int64(cap(br.buf)) < want {
		br.buf = make([]byte, 0, want)
	}
	br.buf = br.buf[:want]
	br.bufStart = pos
	if _, err := br.r.ReadAt(br.buf, pos); err != nil {
		br.buf = br.buf[:0]
		return nil, fmt.Errorf("read at %d: %w", pos, err)
	}
	return br.buf[:n], nil
}

// next returns the next valid batch and its position; the slice is valid
// until the following call. It returns io.EOF at the limit and an error
// wrapping ErrCorruptMessage or ErrInvalidRecord for a torn or corrupt batch.
func (br *batchReader) next() (batch []byte, pos int64, h BatchHeader, err error) {
	pos = br.pos
	if pos >= br.limit {
		return nil, pos, h, io.EOF
	}
	if br.limit-pos < batchHeaderSize {
		return nil, pos, h, fmt.Errorf("%w: %d bytes at position %d are not a batch", ErrCorruptMessage, br.limit-pos, pos)
	}
	hb, err := br.fill(pos, batchHeaderSize)
	if err != nil {
		return nil, pos, h, err
	}
	h, _ = ParseBatchHeader(hb)
	if err := checkHeader(h); err != nil {
		return nil, pos, h, fmt.Errorf("batch at position %d: %w", pos, err)
	}
	if pos+h.Size() > br.limit {
		return nil, pos, h, fmt.Errorf("%w: batch at position %d of %d bytes passes the end %d", ErrCorruptMessage, pos, h.Size(), br.limit)
	}
	batch, err = br.fill(pos, h.Size())
	if err != nil {
		return nil, pos, h, err
	}
	if _, err := ValidateBatch(batch); err != nil {
		return nil, pos, h, fmt.Errorf("batch at position %d: %w", pos, err)
	}
	br.pos = pos + h.Size()
	return batch, pos, h, nil
}
