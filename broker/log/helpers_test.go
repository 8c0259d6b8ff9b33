package log

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testRecord is a record to encode; a nil Key or Value is encoded as null.
type testRecord struct {
	Key, Value []byte
	Timestamp  int64
	Headers    [][2][]byte
}

// batchSpec is the header of a batch to encode.
type batchSpec struct {
	BaseOffset    int64
	LeaderEpoch   int32
	Codec         int8
	ProducerID    int64
	LogAppendTime bool
}

// appendRecord encodes one DefaultRecord.
func appendRecord(dst []byte, r testRecord, offsetDelta int, baseTs int64) []byte {
	var body []byte
	body = append(body, 0) // attributes
	body = binary.AppendVarint(body, r.Timestamp-baseTs)
	body = binary.AppendVarint(body, int64(offsetDelta))
	body = appendNullable(body, r.Key)
	body = appendNullable(body, r.Value)
	body = binary.AppendVarint(body, int64(len(r.Headers)))
	for _, h := range r.Headers {
		body = appendNullable(body, h[0])
		body = appendNullable(body, h[1])
	}
	dst = binary.AppendVarint(dst, int64(len(body)))
	return append(dst, body...)
}

func appendNullable(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// encodeBatch builds a RecordBatch v2 the way a producer does: offset
// deltas 0..n-1, CRC-32C over attributes..end.
func encodeBatch(spec batchSpec, recs ...testRecord) []byte {
	if len(recs) == 0 {
		panic("encodeBatch: no records")
	}
	baseTs, maxTs := recs[0].Timestamp, recs[0].Timestamp
	for _, r := range recs {
		baseTs, maxTs = min(baseTs, r.Timestamp), max(maxTs, r.Timestamp)
	}
	var body []byte
	for i, r := range recs {
		body = appendRecord(body, r, i, baseTs)
	}
	if spec.Codec == CodecGzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	attrs := uint16(spec.Codec)
	if spec.LogAppendTime {
		attrs |= attrTimestampType
	}
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if spec.ProducerID > 0 {
		pid, epoch, seq = spec.ProducerID, 0, 0
	}
	be := binary.BigEndian
	b := make([]byte, batchHeaderSize, batchHeaderSize+len(body))
	be.PutUint64(b[offBaseOffset:], uint64(spec.BaseOffset))
	be.PutUint32(b[offBatchLength:], uint32(batchHeaderSize-logOverhead+len(body)))
	be.PutUint32(b[offLeaderEpoch:], uint32(spec.LeaderEpoch))
	b[offMagic] = 2
	be.PutUint16(b[offAttributes:], attrs)
	be.PutUint32(b[offLastOffsetDelta:], uint32(len(recs)-1))
	be.PutUint64(b[offBaseTimestamp:], uint64(baseTs))
	be.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[offProducerID:], uint64(pid))
	be.PutUint16(b[offProducerEpoch:], uint16(epoch))
	be.PutUint32(b[offBaseSequence:], uint32(seq))
	be.PutUint32(b[offRecordCount:], uint32(len(recs)))
	b = append(b, body...)
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b
}

// valueBatch is a batch of n keyless records of size bytes, all at ts.
func valueBatch(n, size int, ts int64) []byte {
	recs := make([]testRecord, n)
	for i := range recs {
		v := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		recs[i] = testRecord{Value: v, Timestamp: ts}
	}
	return encodeBatch(batchSpec{}, recs...)
}

// decodedRecord is what a consumer sees of a record.
type decodedRecord struct {
	Offset    int64
	Timestamp int64
	Key       string
	NullKey   bool
	Tombstone bool
}

// decodeAll parses batches back to back, checking each, and returns their
// headers and records.
func decodeAll(t testing.TB, b []byte) ([]BatchHeader, []decodedRecord) {
	t.Helper()
	var hs []BatchHeader
	var recs []decodedRecord
	for len(b) > 0 {
		batch, rest, h, err := nextBatch(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		body, err := batchRecords(stdCodec{}, h, batch)
		if err != nil {
			t.Fatalf("decompress: %v", err)
		}
		err = decodeRecords(h, body, func(r record) error {
			recs = append(recs, decodedRecord{Offset: r.offset, Timestamp: r.timestamp, Key: string(r.key), NullKey: r.nullKey, Tombstone: r.nullValue})
			return nil
		})
		if err != nil {
			t.Fatalf("records: %v", err)
		}
		hs = append(hs, h)
		b = rest
	}
	return hs, recs
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct{ ms int64 }

func (c *fakeClock) Now() time.Time          { return time.UnixMilli(c.ms) }
func (c *fakeClock) Advance(d time.Duration) { c.ms += d.Milliseconds() }

// testConfig is DefaultConfig on a fake clock, with deletes not delayed.
func testConfig(clock *fakeClock) Config {
	cfg := DefaultConfig()
	cfg.Now = clock.Now
	cfg.FileDeleteDelayMs = 0
	return cfg
}

func partitionDir(t testing.TB) string {
	return filepath.Join(t.TempDir(), "topic-0")
}

func mustOpen(t testing.TB, dir string, cfg Config) *Log {
	t.Helper()
	l, _, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, batch []byte) (int64, int64) {
	t.Helper()
	b := append([]byte(nil), batch...)
	base, last, _, err := l.Append(b, 0, true)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return base, last
}

// readAll reads every batch from offset to the log end.
func readAll(t testing.TB, l *Log, offset int64) []byte {
	t.Helper()
	var out []byte
	for offset < l.LogEndOffset() {
		r, err := l.Read(offset, 1<<20)
		if err != nil {
			t.Fatalf("read at %d: %v", offset, err)
		}
		if r.Empty() {
			break
		}
		b, err := r.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		hs, _ := decodeAll(t, b)
		out = append(out, b...)
		offset = hs[len(hs)-1].LastOffset() + 1
	}
	return out
}

func fileBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}

func segPath(dir string, base int64, suffix string) string { return segmentFileName(dir, base, suffix) }

func describe(hs []BatchHeader) string {
	var b bytes.Buffer
	for _, h := range hs {
		fmt.Fprintf(&b, "[%d..%d] ", h.BaseOffset, h.LastOffset())
	}
	return b.String()
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b[offAttributes:], castagnoli) }
