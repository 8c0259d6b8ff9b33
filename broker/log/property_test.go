package log

import (
	"math/rand"
	"testing"
)

// linearBatch is the model: scan every batch of the log in order.
type linearBatch struct {
	h        BatchHeader
	segment  int64
	position int64
}

func linearScan(t *testing.T, l *Log) []linearBatch {
	t.Helper()
	var out []linearBatch
	for _, base := range l.SegmentBaseOffsets() {
		data := fileBytes(t, segPath(l.Dir(), base, logSuffix))
		var pos int64
		for len(data) > 0 {
			b, rest, h, err := nextBatch(data)
			if err != nil {
				t.Fatalf("segment %d at %d: %v", base, pos, err)
			}
			out = append(out, linearBatch{h: h, segment: base, position: pos})
			pos += int64(len(b))
			data = rest
		}
	}
	return out
}

// TestPropertyReadMatchesLinearScan: for random logs (batch sizes, record
// counts, segment and index settings) and random offsets and byte limits,
// Read returns exactly the batches a linear scan of the segment finds.
func TestPropertyReadMatchesLinearScan(t *testing.T) {
	const seed = 20260101
	rng := rand.New(rand.NewSource(seed))
	defer func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	}()
	for round := range 20 {
		cfg := testConfig(&fakeClock{})
		cfg.SegmentBytes = int64(2000 + rng.Intn(30000))
		cfg.IndexIntervalBytes = int64(rng.Intn(3000))
		l := mustOpen(t, partitionDir(t), cfg)
		for range 50 + rng.Intn(150) {
			mustAppend(t, l, valueBatch(1+rng.Intn(8), rng.Intn(300), int64(rng.Intn(1000))))
		}
		model := linearScan(t, l)
		for range 200 {
			target := rng.Int63n(l.LogEndOffset())
			maxBytes := rng.Intn(4000)
			maxOffset := target + 1 + rng.Int63n(l.LogEndOffset()-target)
			got, err := l.ReadUpTo(target, maxBytes, maxOffset)
			if err != nil {
				t.Fatalf("round %d: read %d: %v", round, target, err)
			}
			want := modelRead(model, target, maxBytes, maxOffset)
			if got.Position != want.Position || got.Size != want.Size || got.FirstOffset != want.FirstOffset {
				t.Fatalf("round %d: ReadUpTo(%d, %d, %d) = pos %d size %d first %d; linear scan: pos %d size %d first %d",
					round, target, maxBytes, maxOffset, got.Position, got.Size, got.FirstOffset, want.Position, want.Size, want.FirstOffset)
			}
			// The offset index lookup is a floor over the entries.
			checkIndexLookup(t, l, target)
		}
		l.Close()
	}
}

func modelRead(model []linearBatch, target int64, maxBytes int, maxOffset int64) Records {
	i := 0
	for i < len(model) && model[i].h.LastOffset() < target {
		i++
	}
	if i == len(model) || model[i].h.LastOffset() >= maxOffset {
		return Records{FirstOffset: -1}
	}
	first := model[i]
	r := Records{Position: first.position, Size: first.h.Size(), FirstOffset: first.h.BaseOffset}
	for j := i + 1; j < len(model) && model[j].segment == first.segment; j++ {
		if r.Size+model[j].h.Size() > int64(maxBytes) || model[j].h.LastOffset() >= maxOffset {
			break
		}
		r.Size += model[j].h.Size()
	}
	return r
}

func checkIndexLookup(t *testing.T, l *Log, target int64) {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := l.segments[l.floorSegment(target)]
	gotOff, gotPos := s.index.lookup(target)
	wantOff, wantPos := s.base, int64(0)
	for i := range s.index.entries() {
		if off, pos := s.index.entry(i); off <= target {
			wantOff, wantPos = off, pos
		}
	}
	if gotOff != wantOff || gotPos != wantPos {
		t.Fatalf("index lookup %d: (%d, %d), linear (%d, %d)", target, gotOff, gotPos, wantOff, wantPos)
	}
}
