package log

import (
	"encoding/binary"
	"fmt"
	"math"
)

// record is one decoded record of a batch (DefaultRecord). Only compaction
// and timestamp lookups decode records.
type record struct {
	raw       []byte // the whole record, length prefix included
	offset    int64  // base offset + offset delta
	timestamp int64  // base timestamp + timestamp delta
	key       []byte // nil when null
	nullKey   bool
	nullValue bool // a tombstone
}

// recordReader walks the varint-encoded records of an uncompressed body.
type recordReader struct {
	b   []byte
	pos int
	err error
}

func (r *recordReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.pos:])
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint at record byte %d", ErrCorruptMessage, r.pos)
		return 0
	}
	r.pos += n
	return v
}

// bytesField reads a length-prefixed field; -1 is null.
func (r *recordReader) bytesField() (b []byte, null bool) {
	n := r.varint()
	if r.err != nil {
		return nil, false
	}
	if n < 0 {
		if n != -1 {
			r.err = fmt.Errorf("%w: field length %d", ErrCorruptMessage, n)
		}
		return nil, true
	}
	if n > int64(len(r.b)-r.pos) {
		r.err = fmt.Errorf("%w: field of %d bytes with %d left", ErrCorruptMessage, n, len(r.b)-r.pos)
		return nil, false
	}
	b = r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, false
}

// decodeRecords calls fn for each of the count records in body (the
// uncompressed records part of a batch with header h).
func decodeRecords(h BatchHeader, body []byte, fn func(record) error) error {
	r := &recordReader{b: body}
	for i := int32(0); i < h.RecordCount; i++ {
		start := r.pos
		length := r.varint()
		if r.err != nil {
			return r.err
		}
		if length < 0 || length > int64(len(body)-r.pos) {
			return fmt.Errorf("%w: record %d of %d bytes with %d left", ErrCorruptMessage, i, length, len(body)-r.pos)
		}
		end := r.pos + int(length)
		rec := record{raw: body[start:end]}
		sub := &recordReader{b: body[:end], pos: r.pos + 1} // skip the attributes byte
		if length < 1 {
			return fmt.Errorf("%w: empty record %d", ErrCorruptMessage, i)
		}
		tsDelta := sub.varint()
		offDelta := sub.varint()
		rec.key, rec.nullKey = sub.bytesField()
		_, rec.nullValue = sub.bytesField()
		if sub.err != nil {
			return sub.err
		}
		if offDelta < 0 || offDelta > int64(h.LastOffsetDelta) || offDelta > math.MaxInt32 {
			return fmt.Errorf("%w: record %d has offset delta %d past %d", ErrCorruptMessage, i, offDelta, h.LastOffsetDelta)
		}
		rec.offset = h.BaseOffset + offDelta
		rec.timestamp = h.BaseTimestamp + tsDelta
		if err := fn(rec); err != nil {
			return err
		}
		r.pos = end
	}
	if r.pos != len(body) {
		return fmt.Errorf("%w: %d bytes after the last record", ErrCorruptMessage, len(body)-r.pos)
	}
	return nil
}

// batchRecords returns the uncompressed records body of a batch, through
// the codec for compressed batches.
func batchRecords(codec Codec, h BatchHeader, batch []byte) ([]byte, error) {
	body := batch[batchHeaderSize:]
	if c := h.Compression(); c != CodecNone {
		return codec.Decompress(c, body)
	}
	return body, nil
}
