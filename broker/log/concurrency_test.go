package log

import (
	"errors"
	"math/rand"
	"sync"
	"testing"
)

// TestConcurrentReadersAndWriter: readers at random offsets always get whole
// valid batches holding their offset while one writer appends, rolls and
// applies retention. Run with -race.
func TestConcurrentReadersAndWriter(t *testing.T) {
	clock := &fakeClock{ms: 1000}
	cfg := testConfig(clock)
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 256
	cfg.RetentionBytes = 64 << 10
	cfg.FileDeleteDelayMs = 1 << 40 // removed files stay readable for in-flight reads
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	mustAppend(t, l, valueBatch(2, 50, 1))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			buf := make([]byte, 0, 1<<16)
			for {
				select {
				case <-done:
					return
				default:
				}
				lso, leo := l.LogStartOffset(), l.LogEndOffset()
				off := lso + rng.Int63n(leo-lso)
				rec, err := l.Read(off, 1+rng.Intn(3000))
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue // retention moved the log start meanwhile
				}
				if err != nil {
					t.Errorf("read %d: %v", off, err)
					return
				}
				if buf, err = rec.AppendTo(buf[:0]); err != nil {
					t.Errorf("copy: %v", err)
					return
				}
				for b := buf; len(b) > 0; {
					_, rest, h, err := nextBatch(b)
					if err != nil {
						t.Errorf("read %d returned a bad batch: %v", off, err)
						return
					}
					if len(rest)+int(h.Size()) == len(buf) && (h.BaseOffset > off || h.LastOffset() < off) {
						t.Errorf("read %d starts with batch [%d, %d]", off, h.BaseOffset, h.LastOffset())
						return
					}
					b = rest
				}
			}
		}(int64(r))
	}
	for i := range 2000 {
		mustAppend(t, l, valueBatch(1+i%4, 20+i%200, int64(i)))
		l.SetHighWatermark(l.LogEndOffset())
		if i%100 == 0 {
			if _, err := l.DeleteOldSegments(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
}
