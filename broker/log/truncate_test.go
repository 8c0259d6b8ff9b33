package log

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"
)

func TestTruncateTo(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	for round := range 20 {
		cfg := recoveryConfig()
		dir := partitionDir(t)
		batches := writeLog(t, dir, cfg, rng, 50)
		l := mustOpen(t, dir, cfg)
		l.SetHighWatermark(l.LogEndOffset())
		target := rng.Int63n(l.LogEndOffset())
		if err := l.TruncateTo(target); err != nil {
			t.Fatal(err)
		}
		// Whole batches holding offsets >= target are gone.
		var want [][]byte
		for _, b := range batches {
			if h, _ := ParseBatchHeader(b); h.LastOffset() < target {
				want = append(want, b)
			}
		}
		if got := readAll(t, l, 0); !bytes.Equal(got, bytes.Join(want, nil)) {
			t.Fatalf("round %d: after TruncateTo(%d) the log differs", round, target)
		}
		if l.HighWatermark() > l.LogEndOffset() || l.RecoveryPoint() > l.LogEndOffset() || l.LogEndOffset() > target {
			t.Fatalf("round %d: end %d hw %d rp %d", round, l.LogEndOffset(), l.HighWatermark(), l.RecoveryPoint())
		}
		// The log keeps working, and the indexes it maintained pass the sanity
		// checks of a clean open and hold the same data as a full rebuild.
		b := valueBatch(2, 30, 5000)
		base, _ := mustAppend(t, l, b)
		setBaseOffset(b, base)
		setLeaderEpoch(b, 0)
		want = append(want, b)
		l.Close()
		clean := cfg
		clean.CleanShutdown = true
		l2, rep, err := Open(dir, clean)
		if err != nil || len(rep.RebuiltIndexes) != 0 {
			t.Fatalf("round %d: clean reopen after truncation: %s %v", round, rep, err)
		}
		if got := readAll(t, l2, 0); !bytes.Equal(got, bytes.Join(want, nil)) {
			t.Fatalf("round %d: data after truncate and append differs", round)
		}
		l2.Close()
		cfg.RecoveryPoint = 0
		l3, _, err := Open(dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, l3, 0); !bytes.Equal(got, bytes.Join(want, nil)) {
			t.Fatalf("round %d: data after recovery differs", round)
		}
		l3.Close()
	}
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	for range 5 {
		mustAppend(t, l, valueBatch(2, 10, 1))
	}
	if err := l.TruncateFullyAndStartAt(3); err != nil { // a segment with base 3 may not exist yet: reuse of names
		t.Fatal(err)
	}
	if l.LogStartOffset() != 3 || l.LogEndOffset() != 3 || l.HighWatermark() != 3 || !equalInts(l.SegmentBaseOffsets(), []int64{3}) {
		t.Fatalf("[%d, %d] hw %d %v", l.LogStartOffset(), l.LogEndOffset(), l.HighWatermark(), l.SegmentBaseOffsets())
	}
	if base, _ := mustAppend(t, l, valueBatch(1, 10, 1)); base != 3 {
		t.Fatalf("next append at %d", base)
	}
	if err := l.TruncateFullyAndStartAt(0); err != nil { // back to an offset whose file was just retired
		t.Fatal(err)
	}
	if _, err := l.Read(3, 10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past the new end: %v", err)
	}
}

func TestTruncateBelowFirstSegment(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	l.TruncateFullyAndStartAt(100)
	mustAppend(t, l, valueBatch(2, 10, 1))
	if err := l.TruncateTo(50); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 50 || l.LogStartOffset() != 50 {
		t.Fatalf("[%d, %d]", l.LogStartOffset(), l.LogEndOffset())
	}
}

func TestHighWatermarkIsClamped(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	mustAppend(t, l, valueBatch(4, 10, 1))
	if hw := l.SetHighWatermark(10); hw != 4 {
		t.Fatalf("hw %d above the log end", hw)
	}
	if hw := l.SetHighWatermark(-5); hw != 0 {
		t.Fatalf("hw %d below the log start", hw)
	}
}

func TestFlushMovesRecoveryPoint(t *testing.T) {
	l := mustOpen(t, partitionDir(t), testConfig(&fakeClock{}))
	defer l.Close()
	mustAppend(t, l, valueBatch(4, 10, 1))
	mustAppend(t, l, valueBatch(4, 10, 1))
	if l.RecoveryPoint() != 0 {
		t.Fatalf("recovery point %d before any flush", l.RecoveryPoint())
	}
	if err := l.FlushTo(4); err != nil || l.RecoveryPoint() != 4 {
		t.Fatalf("FlushTo(4): %d %v", l.RecoveryPoint(), err)
	}
	if err := l.Flush(); err != nil || l.RecoveryPoint() != 8 {
		t.Fatalf("Flush: %d %v", l.RecoveryPoint(), err)
	}
	l.Close()
	if _, _, _, err := l.Append(valueBatch(1, 1, 1), 0, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := l.Read(0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestDelete(t *testing.T) {
	dir := partitionDir(t)
	l := mustOpen(t, dir, testConfig(&fakeClock{}))
	mustAppend(t, l, valueBatch(4, 10, 1))
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := PartitionDirs(dir + "/.."); len(ents) != 0 {
		t.Fatalf("partition dirs left: %v", ents)
	}
}
