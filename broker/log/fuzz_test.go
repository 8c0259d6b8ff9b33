package log

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func fuzzSeeds() [][]byte {
	a := valueBatch(3, 20, 1000)
	b := encodeBatch(batchSpec{BaseOffset: 3, Codec: CodecGzip}, testRecord{Key: []byte("k"), Value: []byte("v"), Timestamp: 5})
	torn := append(append([]byte(nil), a...), b[:30]...)
	return [][]byte{a, b, append(append([]byte(nil), a...), b...), torn, {}, make([]byte, 61)}
}

// headerWellFormed is the model of a valid header, written independently of
// checkHeader.
func headerWellFormed(b []byte) bool {
	be := binary.BigEndian
	base := int64(be.Uint64(b[0:]))
	delta := int64(int32(be.Uint32(b[23:])))
	count := int64(int32(be.Uint32(b[57:])))
	return b[16] == 2 && delta >= 0 && count >= 0 && count <= delta+1 && base >= 0 && base <= math.MaxInt64-delta-1
}

// FuzzValidateBatch: ValidateBatch never panics, accepts only batches whose
// length and CRC-32C check out independently, and accepts exactly the
// well-formed headers once length and CRC are made right.
func FuzzValidateBatch(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ValidateBatch(data)
		if err == nil {
			if int64(len(data)) != h.Size() || crc32.Checksum(data[21:], crc32.MakeTable(crc32.Castagnoli)) != h.CRC || !headerWellFormed(data) {
				t.Fatalf("accepted a batch that does not re-verify: %+v", h)
			}
		}
		if len(data) < batchHeaderSize {
			if err == nil {
				t.Fatal("accepted a batch shorter than its header")
			}
			return
		}
		fixed := append([]byte(nil), data...)
		binary.BigEndian.PutUint32(fixed[8:], uint32(len(fixed)-12))
		binary.BigEndian.PutUint32(fixed[17:], crc32.Checksum(fixed[21:], crc32.MakeTable(crc32.Castagnoli)))
		if _, err := ValidateBatch(fixed); (err == nil) != headerWellFormed(fixed) {
			t.Fatalf("well-formed %v but ValidateBatch says %v", headerWellFormed(fixed), err)
		}
	})
}

// validPrefix is the model of recovery: the longest prefix of whole valid
// batches with increasing offsets that fit the segment's relative offsets.
func validPrefix(data []byte) int {
	n, next := 0, int64(0)
	for len(data) > 0 {
		b, rest, h, err := nextBatch(data)
		if err != nil || h.BaseOffset < next || h.LastOffset() > math.MaxInt32 {
			break
		}
		n += len(b)
		next = h.LastOffset() + 1
		data = rest
	}
	return n
}

// FuzzRecovery: arbitrary bytes as a segment file. Open never panics nor
// fails, keeps exactly the valid prefix, and the recovered log reads back
// and passes a clean reopen's index checks.
func FuzzRecovery(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(fastTempDir(t), "t-0")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(segmentFileName(dir, 0, logSuffix), data, 0o644)
		cfg := DefaultConfig()
		cfg.IndexIntervalBytes = 64
		l, rep, err := Open(dir, cfg)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		want := validPrefix(data)
		got, err := os.ReadFile(segmentFileName(dir, 0, logSuffix))
		if err != nil || !bytes.Equal(got, data[:want]) {
			t.Fatalf("recovered %d bytes, the valid prefix is %d (%s)", len(got), want, rep)
		}
		var read []byte
		for off := l.LogStartOffset(); off < l.LogEndOffset(); {
			r, err := l.Read(off, 1<<20)
			if err != nil || r.Empty() {
				t.Fatalf("read %d of [%d, %d]: %+v %v", off, l.LogStartOffset(), l.LogEndOffset(), r, err)
			}
			b, _ := r.AppendTo(nil)
			read = append(read, b...)
			last, _ := ParseBatchHeader(b[len(b)-int(lastBatchSize(b)):])
			off = last.LastOffset() + 1
		}
		if !bytes.Equal(read, got) {
			t.Fatalf("read back %d bytes of %d", len(read), len(got))
		}
		l.Close()
		cfg.CleanShutdown = true
		l2, rep2, err := Open(dir, cfg)
		if err != nil || len(rep2.RebuiltIndexes) != 0 {
			t.Fatalf("clean reopen: %s %v", rep2, err)
		}
		l2.Close()
	})
}

func lastBatchSize(b []byte) int64 {
	var last int64
	for pos := int64(0); pos < int64(len(b)); {
		last = int64(be32(b[pos+offBatchLength:])) + logOverhead
		pos += last
	}
	return last
}

// fastTempDir is a temporary directory on tmpfs when there is one: recovery
// fsyncs, which costs a disk flush per call on /tmp.
func fastTempDir(t testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "brokerlog-fuzz-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
