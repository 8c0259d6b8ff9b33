package log

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// RecordBatch v2 layout (DefaultRecordBatch), big-endian. Only the header is
// read on append and read; records are decoded by compaction and timestamp
// lookups only.
const (
	offBaseOffset      = 0  // int64, patched by the broker, outside the CRC
	offBatchLength     = 8  // int32, bytes after this field
	offLeaderEpoch     = 12 // int32, patched by the leader, outside the CRC
	offMagic           = 16 // int8 = 2
	offCRC             = 17 // uint32, CRC-32C of bytes [21, end)
	offAttributes      = 21 // int16
	offLastOffsetDelta = 23 // int32
	offBaseTimestamp   = 27 // int64
	offMaxTimestamp    = 35 // int64
	offProducerID      = 43 // int64
	offProducerEpoch   = 51 // int16
	offBaseSequence    = 53 // int32
	offRecordCount     = 57 // int32
	batchHeaderSize    = 61 // RECORD_BATCH_OVERHEAD; records start here

	logOverhead = 12 // baseOffset + batchLength: the bytes batchLength does not count

	attrCompressionMask = 0x07
	attrTimestampType   = 0x08 // 1 = LogAppendTime
	attrTransactional   = 0x10
	attrControl         = 0x20

	noTimestamp = -1 // RecordBatch.NO_TIMESTAMP
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the fixed 61-byte header of a RecordBatch v2.
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32 // bytes after the BatchLength field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the batch's total size in bytes, header included.
func (h BatchHeader) Size() int64 { return int64(h.BatchLength) + logOverhead }

// LastOffset is the offset of the batch's last record (compaction may have
// removed it, but the offset stays taken).
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression is the codec in attribute bits 0-2 (0 none, 1 gzip, 2 snappy,
// 3 lz4, 4 zstd).
func (h BatchHeader) Compression() int8 { return int8(h.Attributes & attrCompressionMask) }

// IsControl reports a transaction marker batch.
func (h BatchHeader) IsControl() bool { return h.Attributes&attrControl != 0 }

// ParseBatchHeader decodes the header at the start of b without checking
// anything but its length.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < batchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes, a batch header needs %d", ErrCorruptMessage, len(b), batchHeaderSize)
	}
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(be.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(be.Uint32(b[offRecordCount:])),
	}, nil
}

// checkHeader validates what can be known from the header alone: magic,
// a batch length that fits the header, sane offset delta and record count.
// It is the structural part of DefaultRecordBatch.ensureValid.
func checkHeader(h BatchHeader) error {
	if h.Magic != 2 {
		return fmt.Errorf("%w: magic %d, only RecordBatch v2 (magic 2) is stored", ErrInvalidRecord, h.Magic)
	}
	if h.BatchLength < batchHeaderSize-logOverhead {
		return fmt.Errorf("%w: batch length %d is shorter than the header", ErrCorruptMessage, h.BatchLength)
	}
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return fmt.Errorf("%w: last offset delta %d, record count %d", ErrInvalidRecord, h.LastOffsetDelta, h.RecordCount)
	}
	if int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		// Compaction can make the count smaller than the delta + 1, never larger.
		return fmt.Errorf("%w: %d records in an offset delta of %d", ErrInvalidRecord, h.RecordCount, h.LastOffsetDelta)
	}
	if h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return fmt.Errorf("%w: base offset %d", ErrInvalidRecord, h.BaseOffset)
	}
	return nil
}

// ValidateBatch checks that b is exactly one well-formed RecordBatch v2:
// the header is sane, the batch length matches len(b) and the CRC-32C over
// bytes [21, end) matches. It never decodes records.
func ValidateBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if err := checkHeader(h); err != nil {
		return h, err
	}
	if h.Size() != int64(len(b)) {
		return h, fmt.Errorf("%w: batch length says %d bytes, have %d", ErrCorruptMessage, h.Size(), len(b))
	}
	if crc := crc32.Checksum(b[offAttributes:], castagnoli); crc != h.CRC {
		return h, fmt.Errorf("%w: CRC-32C is %08x, header says %08x", ErrCorruptMessage, crc, h.CRC)
	}
	return h, nil
}

// nextBatch splits the first batch off b (which may hold several batches
// back to back) and validates it.
func nextBatch(b []byte) (batch, rest []byte, h BatchHeader, err error) {
	if len(b) < batchHeaderSize {
		return nil, nil, BatchHeader{}, fmt.Errorf("%w: %d trailing bytes are not a batch", ErrCorruptMessage, len(b))
	}
	n := int64(int32(binary.BigEndian.Uint32(b[offBatchLength:]))) + logOverhead
	if n < batchHeaderSize || n > int64(len(b)) {
		return nil, nil, BatchHeader{}, fmt.Errorf("%w: batch length %d with %d bytes left", ErrCorruptMessage, n-logOverhead, len(b))
	}
	h, err = ValidateBatch(b[:n])
	return b[:n], b[n:], h, err
}

// setBaseOffset and setLeaderEpoch patch fields outside the CRC, as
// LogValidator does when it assigns offsets in place.
func setBaseOffset(b []byte, off int64) { binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off)) }

func setLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// setLogAppendTime marks the batch LogAppendTime and sets its max timestamp;
// both are inside the CRC, so the CRC is recomputed (DefaultRecordBatch.setMaxTimestamp).
func setLogAppendTime(b []byte, now int64) {
	be := binary.BigEndian
	be.PutUint16(b[offAttributes:], be.Uint16(b[offAttributes:])|attrTimestampType)
	be.PutUint64(b[offMaxTimestamp:], uint64(now))
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}
