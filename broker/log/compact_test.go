package log

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// compactedLog appends keyed updates (n batches of 1-4 records over
// nkeys keys, some tombstones) and returns the log and every record
// appended, by offset.
func compactedLog(t *testing.T, cfg Config, rng *rand.Rand, n, nkeys int, codec int8) (*Log, map[int64]testRecord) {
	t.Helper()
	cfg.CleanupPolicy = CleanupCompact
	cfg.SegmentBytes = 1500
	cfg.IndexIntervalBytes = 200
	l := mustOpen(t, partitionDir(t), cfg)
	all := map[int64]testRecord{}
	for i := range n {
		recs := make([]testRecord, 1+rng.Intn(4))
		for j := range recs {
			k := []byte(fmt.Sprintf("k%d", rng.Intn(nkeys)))
			v := []byte(fmt.Sprintf("v%d-%d", i, j))
			if rng.Intn(8) == 0 {
				v = nil // tombstone
			}
			recs[j] = testRecord{Key: k, Value: v, Timestamp: 1000 + int64(i)}
		}
		if rng.Intn(10) == 0 {
			recs = append(recs, testRecord{Value: []byte("no key"), Timestamp: 1000 + int64(i)})
		}
		base, _, _, err := l.Append(encodeBatch(batchSpec{Codec: codec}, recs...), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range recs {
			all[base+int64(j)] = r
		}
	}
	l.SetHighWatermark(l.LogEndOffset())
	return l, all
}

// expectCompacted is the model: in the cleanable range (below limit) keep the
// last record per key, dropping keyless records and, when dropTombstones,
// tombstones; keep everything at or above limit.
func expectCompacted(all map[int64]testRecord, limit int64, dropTombstones bool) []int64 {
	last := map[string]int64{}
	for off, r := range all {
		if off < limit && r.Key != nil && off > last[string(r.Key)]-1 {
			if cur, ok := last[string(r.Key)]; !ok || off > cur {
				last[string(r.Key)] = off
			}
		}
	}
	var out []int64
	for off := int64(0); off < int64(len(all)); off++ {
		r := all[off]
		if off >= limit {
			out = append(out, off)
			continue
		}
		if r.Key == nil || last[string(r.Key)] != off || (dropTombstones && r.Value == nil) {
			continue
		}
		out = append(out, off)
	}
	return out
}

func offsetsOf(t *testing.T, l *Log, all map[int64]testRecord) []int64 {
	t.Helper()
	_, recs := decodeAll(t, readAll(t, l, l.LogStartOffset()))
	var out []int64
	for _, r := range recs {
		want := all[r.Offset]
		if r.Key != string(want.Key) || r.Tombstone != (want.Value == nil) {
			t.Fatalf("offset %d holds key %q tombstone %v, appended key %q value %q", r.Offset, r.Key, r.Tombstone, want.Key, want.Value)
		}
		out = append(out, r.Offset)
	}
	return out
}

func TestCompactionKeepsLastValuePerKey(t *testing.T) {
	for _, codec := range []int8{CodecNone, CodecGzip} {
		t.Run(fmt.Sprint("codec", codec), func(t *testing.T) {
			clock := &fakeClock{ms: 2000}
			cfg := testConfig(clock)
			cfg.DeleteRetentionMs = 60_000
			l, all := compactedLog(t, cfg, rand.New(rand.NewSource(42)), 120, 10, codec)
			defer l.Close()
			bases := l.SegmentBaseOffsets()
			active := bases[len(bases)-1]
			sizeBefore := l.Size()

			res, err := l.Clean()
			if err != nil {
				t.Fatal(err)
			}
			got := offsetsOf(t, l, all)
			if want := expectCompacted(all, active, false); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after cleaning (%+v):\n got %v\nwant %v", res, got, want)
			}
			if res.RecordsRemoved == 0 || l.Size() >= sizeBefore || l.LogEndOffset() != int64(len(all)) {
				t.Fatalf("nothing compacted: %+v, size %d -> %d", res, sizeBefore, l.Size())
			}
			// Tombstones are kept until delete.retention.ms passed.
			clock.Advance(2 * time.Minute)
			res, err = l.Clean()
			if err != nil {
				t.Fatal(err)
			}
			got = offsetsOf(t, l, all)
			if want := expectCompacted(all, active, true); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after the tombstone horizon (%+v):\n got %v\nwant %v", res, got, want)
			}
			if res.TombstonesRemoved == 0 {
				t.Fatalf("no tombstone removed: %+v", res)
			}
			// Nothing left to do: a third pass changes nothing.
			if res, _ := l.Clean(); res.SegmentsCleaned != 0 {
				t.Fatalf("idempotent pass rewrote %+v", res)
			}
			// The compacted log reopens (indexes checked), reads every offset and
			// keeps appending.
			dir := l.Dir()
			l.Close()
			cfg.CleanupPolicy = CleanupCompact
			cfg.RecoveryPoint = 0
			l2 := mustOpen(t, dir, cfg)
			defer l2.Close()
			if fmt.Sprint(offsetsOf(t, l2, all)) != fmt.Sprint(got) {
				t.Fatal("reopened compacted log differs")
			}
			for off := int64(0); off < l2.LogEndOffset(); off++ {
				if r, err := l2.Read(off, 1); err != nil || r.Empty() {
					t.Fatalf("read %d after compaction: %+v %v", off, r, err)
				}
			}
		})
	}
}

func TestCompactionLeavesActiveAndUnreplicatedAlone(t *testing.T) {
	l, all := compactedLog(t, testConfig(&fakeClock{ms: 2000}), rand.New(rand.NewSource(1)), 60, 3, CodecNone)
	defer l.Close()
	bases := l.SegmentBaseOffsets()
	l.SetHighWatermark(bases[2]) // only segments 0 and 1 lie below it
	if _, err := l.Clean(); err != nil {
		t.Fatal(err)
	}
	got := offsetsOf(t, l, all)
	want := expectCompacted(all, bases[2], false)
	// Keys in segments 0-1 are compacted against each other only.
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestCompactionSwapCompletedOnOpen(t *testing.T) {
	cfg := testConfig(&fakeClock{ms: 2000})
	l, all := compactedLog(t, cfg, rand.New(rand.NewSource(9)), 80, 5, CodecNone)
	dir := l.Dir()
	l.Close()
	crashed := filepath.Join(t.TempDir(), "topic-0")
	copyDir(t, dir, crashed)

	cfg.CleanupPolicy = CleanupCompact
	l = mustOpen(t, dir, cfg)
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.Clean(); err != nil {
		t.Fatal(err)
	}
	want := offsetsOf(t, l, all)
	cleanedFirst := fileBytes(t, segPath(dir, 0, logSuffix))
	l.Close()

	// The crash came after .cleaned became .swap and before the originals
	// were retired: Open must finish the swap.
	os.WriteFile(segPath(crashed, 0, logSuffix+swapSuffix), cleanedFirst, 0o644)
	os.WriteFile(segPath(crashed, 0, indexSuffix+swapSuffix), []byte("stale"), 0o644)
	l2, rep, err := Open(crashed, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if !equalInts(rep.CompletedSwaps, []int64{0}) {
		t.Fatalf("report: %s", rep)
	}
	if got := offsetsOf(t, l2, all); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after completing the swap:\n got %v\nwant %v", got, want)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.MkdirAll(to, 0o755)
	ents, _ := os.ReadDir(from)
	for _, e := range ents {
		b := fileBytes(t, filepath.Join(from, e.Name()))
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompactionOfIdempotentBatchKeepsEmptyHeader(t *testing.T) {
	cfg := testConfig(&fakeClock{ms: 2000})
	cfg.CleanupPolicy = CleanupCompact
	cfg.SegmentBytes = 200
	l := mustOpen(t, partitionDir(t), cfg)
	defer l.Close()
	l.Append(encodeBatch(batchSpec{ProducerID: 7}, testRecord{Key: []byte("k"), Value: []byte("old"), Timestamp: 1}), 0, true)
	l.Append(encodeBatch(batchSpec{}, testRecord{Key: []byte("k"), Value: []byte("new"), Timestamp: 2}), 0, true)
	l.Append(encodeBatch(batchSpec{}, testRecord{Key: []byte("x"), Value: []byte("y"), Timestamp: 3}), 0, true)
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.Clean(); err != nil {
		t.Fatal(err)
	}
	hs, recs := decodeAll(t, readAll(t, l, 0))
	if len(hs) < 2 || hs[0].ProducerID != 7 || hs[0].RecordCount != 0 || hs[0].LastOffset() != 0 || len(recs) != 2 {
		t.Fatalf("batches %s %+v, records %+v", describe(hs), hs, recs)
	}
	if !bytes.Equal([]byte(recs[0].Key), []byte("k")) || recs[0].Offset != 1 {
		t.Fatalf("records %+v", recs)
	}
}
