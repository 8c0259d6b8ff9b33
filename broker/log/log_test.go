package log

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendReadRoundTrip(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	l := mustOpen(t, partitionDir(t), testConfig(clock))
	defer l.Close()
	var want []byte
	for i := range 20 {
		b := valueBatch(1+i%5, 100, clock.ms+int64(i))
		base, last := mustAppend(t, l, b)
		if i == 0 && base != 0 {
			t.Fatalf("first base offset %d", base)
		}
		if last-base != int64(i%5) {
			t.Fatalf("batch %d: offsets [%d, %d]", i, base, last)
		}
		setBaseOffset(b, base)
		want = append(want, b...)
	}
	got := readAll(t, l, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, appended %d (stored bytes differ)", len(got), len(want))
	}
	hs, recs := decodeAll(t, got)
	for i := range recs {
		if recs[i].Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, recs[i].Offset)
		}
	}
	if l.LogEndOffset() != int64(len(recs)) || hs[len(hs)-1].LastOffset() != l.LogEndOffset()-1 {
		t.Fatalf("log end %d with %d records", l.LogEndOffset(), len(recs))
	}
	// Reading from the middle of a batch returns that whole batch.
	r, err := l.Read(hs[3].BaseOffset+1, 1)
	if err != nil || r.FirstOffset != hs[3].BaseOffset || r.Size != hs[3].Size() {
		t.Fatalf("read mid batch: %+v %v", r, err)
	}
}

func TestAppendPatchesOffsetAndEpochOutsideCRC(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	mustAppend(t, l, valueBatch(3, 10, 5))
	b := valueBatch(2, 10, 6)
	crc := binaryCRC(b)
	base, last, maxTs, err := l.Append(b, 7, true)
	if err != nil || base != 3 || last != 4 || maxTs != 6 {
		t.Fatalf("append: %d %d %d %v", base, last, maxTs, err)
	}
	h, err := ValidateBatch(b)
	if err != nil || h.BaseOffset != 3 || h.PartitionLeaderEpoch != 7 || h.CRC != crc {
		t.Fatalf("patched batch: %+v %v", h, err)
	}
}

func binaryCRC(b []byte) uint32 { h, _ := ParseBatchHeader(b); return h.CRC }

func TestAppendRejects(t *testing.T) {
	cfg := testConfig(&fakeClock{})
	cfg.MaxMessageBytes = 500
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	good := valueBatch(2, 10, 1)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 1
	badMagic := append([]byte(nil), good...)
	badMagic[offMagic] = 1
	badCount := valueBatch(2, 10, 1)
	badCount[offRecordCount+3] = 1 // header says 1 record for a delta of 1
	fixCRC(badCount)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"crc", badCRC, ErrCorruptMessage},
		{"magic", badMagic, ErrInvalidRecord},
		{"count", badCount, ErrInvalidRecord},
		{"short", good[:40], ErrCorruptMessage},
		{"torn", good[:len(good)-1], ErrCorruptMessage},
		{"trailing", append(append([]byte(nil), good...), 1, 2, 3), ErrCorruptMessage},
		{"too large", valueBatch(5, 100, 1), ErrMessageTooLarge},
		{"empty", nil, ErrInvalidRecord},
	} {
		if _, _, _, err := l.Append(tc.b, 0, true); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if l.LogEndOffset() != 0 || l.Size() != 0 {
		t.Fatalf("a rejected append changed the log: end %d size %d", l.LogEndOffset(), l.Size())
	}
}

func fixCRC(b []byte) {
	h := crcOf(b)
	b[offCRC], b[offCRC+1], b[offCRC+2], b[offCRC+3] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
}

func TestFollowerAppendKeepsOffsets(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	var batches []byte
	batches = append(batches, encodeBatch(batchSpec{BaseOffset: 0, LeaderEpoch: 3}, testRecord{Value: []byte("a")})...)
	batches = append(batches, encodeBatch(batchSpec{BaseOffset: 5, LeaderEpoch: 4}, testRecord{Value: []byte("b")}, testRecord{Value: []byte("c")})...)
	base, last, _, err := l.Append(batches, 99, false)
	if err != nil || base != 0 || last != 6 || l.LogEndOffset() != 7 {
		t.Fatalf("follower append: %d %d %v end %d", base, last, err, l.LogEndOffset())
	}
	hs, _ := decodeAll(t, readAll(t, l, 0))
	if len(hs) != 2 || hs[1].BaseOffset != 5 || hs[1].PartitionLeaderEpoch != 4 {
		t.Fatalf("stored %s %+v", describe(hs), hs)
	}
	// Offset 3 is a gap: reading it returns the batch after it.
	r, err := l.Read(3, 100)
	if err != nil || r.FirstOffset != 5 {
		t.Fatalf("read in gap: %+v %v", r, err)
	}
	old := encodeBatch(batchSpec{BaseOffset: 6}, testRecord{Value: []byte("x")})
	if _, _, _, err := l.Append(old, 0, false); !errors.Is(err, ErrUnexpectedAppendOffset) {
		t.Fatalf("overlapping follower append: %v", err)
	}
}

func TestReadBounds(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	var sizes []int64
	for range 10 {
		b := valueBatch(2, 50, 1)
		sizes = append(sizes, int64(len(b)))
		mustAppend(t, l, b)
	}
	if _, err := l.Read(21, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if r, err := l.Read(20, 100); err != nil || !r.Empty() {
		t.Fatalf("read at end: %+v %v", r, err)
	}
	// maxBytes smaller than one batch still returns that batch.
	if r, _ := l.Read(0, 1); r.Size != sizes[0] {
		t.Fatalf("min one batch: %d", r.Size)
	}
	// maxBytes covering 3.5 batches returns 3.
	if r, _ := l.Read(0, int(sizes[0]*3+sizes[0]/2)); r.Size != 3*sizes[0] {
		t.Fatalf("3 batches: %d", r.Size)
	}
	// Up to offset 7 (exclusive): batches [0,1] [2,3] [4,5]; [6,7] ends past 7.
	if r, _ := l.ReadUpTo(0, 1<<20, 7); r.Size != 3*sizes[0] {
		t.Fatalf("up to 7: %d", r.Size)
	}
	if r, _ := l.ReadUpTo(6, 1<<20, 7); !r.Empty() {
		t.Fatalf("batch straddling the bound must not be read: %+v", r)
	}
}
