package log

import (
	"errors"
	"sync"
	"testing"
)

func TestUpdateConfigTakesEffect(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	l := mustOpen(t, partitionDir(t), testConfig(clock))
	defer l.Close()
	batch := valueBatch(10, 100, clock.ms)
	for i := 0; i < 5; i++ {
		mustAppend(t, l, batch)
	}
	if n := len(l.SegmentBaseOffsets()); n != 1 {
		t.Fatalf("%d segments before the change", n)
	}

	// Smaller segments: the next appends roll.
	cfg := l.Config()
	cfg.SegmentBytes = int64(len(batch)) * 2
	cfg.MaxMessageBytes = int64(len(batch))
	if err := l.UpdateConfig(cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		mustAppend(t, l, batch)
	}
	if n := len(l.SegmentBaseOffsets()); n < 3 {
		t.Fatalf("segment.bytes change did not roll: %d segments", n)
	}
	// max.message.bytes applies at once.
	big := valueBatch(20, 100, clock.ms)
	if _, _, _, err := l.Append(big, 0, true); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("a batch over the new max.message.bytes: %v", err)
	}
	// retention.bytes: old segments go at the next pass.
	l.SetHighWatermark(l.LogEndOffset())
	cfg.RetentionBytes = int64(len(batch)) * 3
	if err := l.UpdateConfig(cfg); err != nil {
		t.Fatal(err)
	}
	res, err := l.DeleteOldSegments()
	if err != nil || len(res.DeletedSegments) == 0 || l.LogStartOffset() == 0 {
		t.Fatalf("retention after the change: %+v %v (log start %d)", res, err, l.LogStartOffset())
	}
	// An invalid config changes nothing.
	bad := cfg
	bad.CleanupPolicy = "shred"
	if err := l.UpdateConfig(bad); err == nil || l.Config().CleanupPolicy != cfg.CleanupPolicy {
		t.Fatalf("invalid config: %v, policy now %q", err, l.Config().CleanupPolicy)
	}
}

// UpdateConfig runs while appends and reads go on (the race detector checks
// the field-by-field swap).
func TestUpdateConfigConcurrentWithAppendsAndReads(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	l := mustOpen(t, partitionDir(t), testConfig(clock))
	defer l.Close()
	batch := valueBatch(5, 50, clock.ms)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			b := append([]byte(nil), batch...)
			if _, _, _, err := l.Append(b, 0, true); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			if _, err := l.Read(0, 4096); err != nil {
				t.Error(err)
				return
			}
			_, _, _, _ = l.OffsetForTimestamp(clock.ms)
		}
	}()
	go func() {
		defer wg.Done()
		cfg := l.Config()
		for i := 0; i < 200; i++ {
			cfg.SegmentBytes = int64(4096 + i*64)
			cfg.RetentionMs = int64(i)
			if err := l.UpdateConfig(cfg); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
}
