package log

import (
	"math"
	"testing"
	"time"
)

func TestRollBySize(t *testing.T) {
	cfg := testConfig(&fakeClock{ms: 1000})
	b := valueBatch(1, 100, 1000)
	cfg.SegmentBytes = int64(len(b))*3 + 10 // three batches fit, the fourth rolls
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	for range 7 {
		mustAppend(t, l, b)
	}
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{0, 3, 6}) {
		t.Fatalf("segments %v", got)
	}
	if l.RecoveryPoint() != 6 {
		t.Fatalf("roll fsyncs the sealed segment: recovery point %d", l.RecoveryPoint())
	}
	if got := readAll(t, l, 0); len(got) != 7*len(b) {
		t.Fatalf("read across segments: %d bytes", len(got))
	}
}

func TestRollByTime(t *testing.T) {
	clock := &fakeClock{ms: 10_000}
	cfg := testConfig(clock)
	cfg.SegmentMs = 1000
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	// segment.ms counts from the first batch's timestamp, not the clock.
	mustAppend(t, l, valueBatch(1, 10, 5_000))
	mustAppend(t, l, valueBatch(1, 10, 6_000)) // waited exactly segment.ms: no roll
	mustAppend(t, l, valueBatch(1, 10, 6_001)) // past it: roll
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{0, 2}) {
		t.Fatalf("segments %v", got)
	}
	// The clock does not matter while batches carry timestamps.
	mustAppend(t, l, valueBatch(1, 10, 6_001))
	clock.Advance(2 * time.Second)
	mustAppend(t, l, valueBatch(1, 10, 6_001)) // still within segment.ms of the first batch's timestamp
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{0, 2}) {
		t.Fatalf("segments %v", got)
	}
}

func TestRollByTimeWithoutTimestamps(t *testing.T) {
	clock := &fakeClock{ms: 10_000}
	cfg := testConfig(clock)
	cfg.SegmentMs = 1000
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	mustAppend(t, l, valueBatch(1, 10, -1))
	clock.Advance(time.Second)
	mustAppend(t, l, valueBatch(1, 10, -1))
	clock.Advance(time.Millisecond)
	mustAppend(t, l, valueBatch(1, 10, -1))
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{0, 2}) {
		t.Fatalf("segments %v", got)
	}
}

func TestRollWhenIndexFull(t *testing.T) {
	cfg := testConfig(&fakeClock{})
	cfg.IndexIntervalBytes = 0                     // an index entry for every batch but the first
	cfg.SegmentIndexBytes = 3 * timeIndexEntrySize // 4 offset entries, 2 time entries (one kept for the roll)
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	for i := range 10 {
		mustAppend(t, l, valueBatch(1, 10, int64(100+i)))
	}
	got := l.SegmentBaseOffsets()
	// Time index: entries at batches 1 and 2 fill it (max 3 - 1 reserved), so
	// every segment holds 3 batches.
	if !equalInts(got, []int64{0, 3, 6, 9}) {
		t.Fatalf("segments %v", got)
	}
	l.mu.RLock()
	for _, s := range l.segments {
		if s.index.entries() > s.index.maxEntries || s.timeIndex.entries() > s.timeIndex.maxEntries {
			t.Errorf("segment %d: %d/%d offset entries, %d/%d time entries", s.base,
				s.index.entries(), s.index.maxEntries, s.timeIndex.entries(), s.timeIndex.maxEntries)
		}
	}
	l.mu.RUnlock()
}

func TestRollWhenRelativeOffsetOverflows(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	first := encodeBatch(batchSpec{BaseOffset: 0}, testRecord{Value: []byte("a")})
	far := encodeBatch(batchSpec{BaseOffset: math.MaxInt32 + 5}, testRecord{Value: []byte("b")})
	if _, _, _, err := l.Append(append(first, far...), 0, false); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{0, math.MaxInt32 + 5}) {
		t.Fatalf("segments %v", got)
	}
	r, err := l.Read(1, 1000)
	if err != nil || r.FirstOffset != math.MaxInt32+5 {
		t.Fatalf("read across the gap: %+v %v", r, err)
	}
}

func TestEmptyActiveSegmentIsReplacedOnGap(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	far := encodeBatch(batchSpec{BaseOffset: math.MaxInt32 + 100}, testRecord{Value: []byte("b")})
	if _, _, _, err := l.Append(far, 0, false); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{math.MaxInt32 + 100}) {
		t.Fatalf("segments %v", got)
	}
	if l.LogStartOffset() != 0 {
		t.Fatalf("log start %d", l.LogStartOffset())
	}
	if r, err := l.Read(0, 100); err != nil || r.FirstOffset != math.MaxInt32+100 {
		t.Fatalf("read from the start: %+v %v", r, err)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
