package log

import (
	"errors"
	"os"
	"testing"
	"time"
)

// segmentedLog makes a log of n segments with one 3-record batch each; the
// batch of segment i has timestamp ts0 + i seconds.
func segmentedLog(t *testing.T, cfg Config, n int, ts0 int64) *Log {
	t.Helper()
	b := valueBatch(3, 50, 0)
	cfg.SegmentBytes = int64(len(b)) + 1
	l := mustOpen(t, partitionDir(t), cfg)
	for i := range n {
		mustAppend(t, l, valueBatch(3, 50, ts0+int64(i)*1000))
	}
	l.SetHighWatermark(l.LogEndOffset())
	return l
}

func TestRetentionByTime(t *testing.T) {
	clock := &fakeClock{ms: 100_000}
	cfg := testConfig(clock)
	cfg.RetentionMs = 10_000
	l := segmentedLog(t, cfg, 5, 100_000) // timestamps 100s..104s
	defer l.Close()
	clock.ms = 112_000 // segments 0 and 1 are more than 10 s old
	res, err := l.DeleteOldSegments()
	if err != nil || !equalInts(res.DeletedSegments, []int64{0, 3}) || res.LogStartOffset != 6 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := l.Read(5, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new log start: %v", err)
	}
	for _, base := range []int64{0, 3} {
		if _, err := os.Stat(segPath(l.Dir(), base, logSuffix)); !os.IsNotExist(err) {
			t.Fatalf("segment %d still on disk: %v", base, err)
		}
	}
	// Everything expired: the active segment stays.
	clock.Advance(time.Hour)
	res, _ = l.DeleteOldSegments()
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{12}) || l.LogStartOffset() != 12 {
		t.Fatalf("segments %v, log start %d, %+v", got, l.LogStartOffset(), res)
	}
	if r, err := l.Read(12, 1000); err != nil || r.FirstOffset != 12 {
		t.Fatalf("active segment read: %+v %v", r, err)
	}
}

func TestRetentionBySize(t *testing.T) {
	cfg := testConfig(&fakeClock{ms: 100_000})
	l := segmentedLog(t, cfg, 5, 100_000)
	defer l.Close()
	segSize := l.Size() / 5
	l.cfg.RetentionBytes = 2*segSize + segSize/2 // keep 2.5 segments' worth: delete 2
	res, err := l.DeleteOldSegments()
	if err != nil || !equalInts(res.DeletedSegments, []int64{0, 3}) || res.DeletedBytes != 2*segSize {
		t.Fatalf("%+v %v", res, err)
	}
	l.cfg.RetentionBytes = 0 // never the active segment
	l.DeleteOldSegments()
	if got := l.SegmentBaseOffsets(); !equalInts(got, []int64{12}) {
		t.Fatalf("segments %v", got)
	}
}

func TestRetentionStopsAtHighWatermark(t *testing.T) {
	clock := &fakeClock{ms: 100_000}
	cfg := testConfig(clock)
	cfg.RetentionMs = 0
	l := segmentedLog(t, cfg, 5, 1)
	defer l.Close()
	l.SetHighWatermark(4) // inside segment 3..5
	res, _ := l.DeleteOldSegments()
	if !equalInts(res.DeletedSegments, []int64{0}) {
		t.Fatalf("deleted %v with the high watermark at 4", res.DeletedSegments)
	}
}

func TestCompactPolicyDoesNotDeleteByTime(t *testing.T) {
	clock := &fakeClock{ms: 100_000}
	cfg := testConfig(clock)
	cfg.RetentionMs = 0
	cfg.CleanupPolicy = CleanupCompact
	l := segmentedLog(t, cfg, 3, 1)
	defer l.Close()
	if res, _ := l.DeleteOldSegments(); len(res.DeletedSegments) != 0 {
		t.Fatalf("compacted topic lost segments by time: %v", res.DeletedSegments)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	l := segmentedLog(t, testConfig(&fakeClock{}), 4, 1)
	defer l.Close()
	l.SetHighWatermark(9)
	if _, err := l.DeleteRecordsBefore(10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past the high watermark: %v", err)
	}
	lso, err := l.DeleteRecordsBefore(7)
	if err != nil || lso != 7 || l.LogStartOffset() != 7 {
		t.Fatalf("lso %d %v", lso, err)
	}
	if _, err := l.Read(6, 10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	if r, err := l.Read(7, 10); err != nil || r.FirstOffset != 6 {
		t.Fatalf("read at log start returns its whole batch: %+v %v", r, err)
	}
	if lso, _ := l.DeleteRecordsBefore(3); lso != 7 {
		t.Fatalf("the log start offset moved back to %d", lso)
	}
	// Retention removes the segments wholly below the log start offset.
	res, _ := l.DeleteOldSegments()
	if !equalInts(res.DeletedSegments, []int64{0, 3}) || l.LogStartOffset() != 7 {
		t.Fatalf("%+v, log start %d", res, l.LogStartOffset())
	}
}

func TestRemovedFilesStayReadableForDeleteDelay(t *testing.T) {
	clock := &fakeClock{ms: 100_000}
	cfg := testConfig(clock)
	cfg.FileDeleteDelayMs = 60_000
	cfg.RetentionMs = 1000
	l := segmentedLog(t, cfg, 3, 1)
	defer l.Close()
	r, err := l.Read(0, 1000) // a fetch in flight
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := l.DeleteOldSegments(); len(res.DeletedSegments) != 2 {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(segPath(l.Dir(), 0, logSuffix+deletedSuffix)); err != nil {
		t.Fatalf("removed segment not renamed to .deleted: %v", err)
	}
	if b, err := r.AppendTo(nil); err != nil || int64(len(b)) != r.Size {
		t.Fatalf("in-flight read of a removed segment failed: %v", err)
	}
	clock.Advance(61 * time.Second)
	l.DeleteOldSegments()
	if _, err := os.Stat(segPath(l.Dir(), 0, logSuffix+deletedSuffix)); !os.IsNotExist(err) {
		t.Fatalf(".deleted file survived file.delete.delay.ms: %v", err)
	}
}
