package log

import "testing"

func TestOffsetForTimestamp(t *testing.T) {
	cfg := testConfig(&fakeClock{})
	cfg.SegmentBytes = 400
	cfg.IndexIntervalBytes = 100
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	// Batch i holds offsets 3i..3i+2 with timestamps 1000+10i + {0, 5, 2}:
	// not sorted inside a batch.
	for i := range 20 {
		ts := int64(1000 + 10*i)
		l.Append(encodeBatch(batchSpec{}, testRecord{Value: []byte("a"), Timestamp: ts}, testRecord{Value: []byte("b"), Timestamp: ts + 5}, testRecord{Value: []byte("c"), Timestamp: ts + 2}), 0, true)
	}
	l.SetHighWatermark(l.LogEndOffset())
	for _, tc := range []struct{ ts, off, got int64 }{
		{0, 0, 1000}, {1000, 0, 1000}, {1001, 1, 1005}, {1003, 1, 1005}, {1006, 3, 1010},
		{1100, 30, 1100}, {1192, 58, 1195}, {1194, 58, 1195}, {1195, 58, 1195},
	} {
		off, ts, found, err := l.OffsetForTimestamp(tc.ts)
		if err != nil || !found || off != tc.off || ts != tc.got {
			t.Errorf("OffsetForTimestamp(%d) = %d at %d (found %v, %v), want %d at %d", tc.ts, off, ts, found, err, tc.off, tc.got)
		}
	}
	if _, _, found, _ := l.OffsetForTimestamp(1196); found {
		t.Error("a timestamp after every record was found")
	}
	if off, _, _, _ := l.OffsetForTimestamp(LatestTimestamp); off != 60 {
		t.Errorf("latest: %d", off)
	}
	if off, ts, _, _ := l.OffsetForTimestamp(MaxTimestampQuery); off != 58 || ts != 1195 {
		t.Errorf("max timestamp: %d at %d", off, ts)
	}
	l.DeleteRecordsBefore(31)
	if off, _, _, _ := l.OffsetForTimestamp(EarliestTimestamp); off != 31 {
		t.Errorf("earliest: %d", off)
	}
	if off, _, _, _ := l.OffsetForTimestamp(0); off != 31 {
		t.Errorf("a timestamp before the log start answers the log start: %d", off)
	}
}

func TestLogAppendTime(t *testing.T) {
	cfg := testConfig(&fakeClock{ms: 777_000})
	cfg.MessageTimestampType = LogAppendTime
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	b := valueBatch(3, 10, 5)
	if _, _, maxTs, err := l.Append(b, 0, true); err != nil || maxTs != 777_000 {
		t.Fatalf("%d %v", maxTs, err)
	}
	h, err := ValidateBatch(b)
	if err != nil || h.MaxTimestamp != 777_000 || h.Attributes&attrTimestampType == 0 {
		t.Fatalf("%+v %v", h, err)
	}
	if off, ts, _, _ := l.OffsetForTimestamp(700_000); off != 0 || ts != 777_000 {
		t.Fatalf("%d %d", off, ts)
	}
}
