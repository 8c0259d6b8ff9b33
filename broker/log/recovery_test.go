package log

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"testing"
)

func recoveryConfig() Config {
	cfg := testConfig(&fakeClock{ms: 1_000_000})
	cfg.SegmentBytes = 8 << 10
	cfg.IndexIntervalBytes = 700
	return cfg
}

// writeLog appends random batches, closes the log and returns each stored
// batch in order.
func writeLog(t *testing.T, dir string, cfg Config, rng *rand.Rand, n int) [][]byte {
	t.Helper()
	l := mustOpen(t, dir, cfg)
	var out [][]byte
	for i := range n {
		b := valueBatch(1+rng.Intn(5), rng.Intn(400), 1000+int64(rng.Intn(50))+int64(i))
		base, _ := mustAppend(t, l, b)
		setBaseOffset(b, base)
		out = append(out, b)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// referenceIndexes builds a clean log from batches through follower appends
// and returns its index files by segment.
func referenceIndexes(t *testing.T, cfg Config, batches [][]byte) map[int64][2][]byte {
	t.Helper()
	dir := partitionDir(t)
	l := mustOpen(t, dir, cfg)
	for _, b := range batches {
		if _, _, _, err := l.Append(append([]byte(nil), b...), 0, false); err != nil {
			t.Fatal(err)
		}
	}
	bases := l.SegmentBaseOffsets()
	l.Close()
	return indexFiles(t, dir, bases)
}

func indexFiles(t *testing.T, dir string, bases []int64) map[int64][2][]byte {
	out := map[int64][2][]byte{}
	for _, base := range bases {
		out[base] = [2][]byte{fileBytes(t, segPath(dir, base, indexSuffix)), fileBytes(t, segPath(dir, base, timeIndexSuffix))}
	}
	return out
}

// checkRecovered reopens dir and checks that exactly want is stored and
// that the indexes equal those of a clean log holding want.
func checkRecovered(t *testing.T, dir string, cfg Config, want [][]byte) RecoveryReport {
	t.Helper()
	l, rep, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	got := readAll(t, l, 0)
	if !bytes.Equal(got, bytes.Join(want, nil)) {
		hs, _ := decodeAll(t, got)
		t.Fatalf("after recovery the log holds %s, want %d batches (%s)", describe(hs), len(want), rep)
	}
	wantEnd := int64(0)
	if len(want) > 0 {
		h, _ := ParseBatchHeader(want[len(want)-1])
		wantEnd = h.LastOffset() + 1
	}
	if l.LogEndOffset() != wantEnd {
		t.Fatalf("log end %d, want %d", l.LogEndOffset(), wantEnd)
	}
	bases := l.SegmentBaseOffsets()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		return rep
	}
	ref := referenceIndexes(t, cfg, want)
	got2 := indexFiles(t, dir, bases)
	for base, files := range ref {
		if !bytes.Equal(files[0], got2[base][0]) || !bytes.Equal(files[1], got2[base][1]) {
			t.Fatalf("segment %d: rebuilt indexes (%d, %d bytes) differ from a clean append's (%d, %d bytes)",
				base, len(got2[base][0]), len(got2[base][1]), len(files[0]), len(files[1]))
		}
	}
	for _, base := range bases {
		// A cut at a segment's first byte leaves it empty, as in Kafka; a clean
		// append would not have rolled to it yet.
		if _, ok := ref[base]; !ok && len(fileBytes(t, segPath(dir, base, logSuffix))) != 0 {
			t.Fatalf("segments %v, a clean append makes %d", bases, len(ref))
		}
	}
	return rep
}

// batchesBefore returns the batches stored entirely before byte cut of the
// segment file with base offset seg, plus all batches of earlier segments.
func batchesBefore(batches [][]byte, segBases []int64, seg, cut int64) [][]byte {
	var out [][]byte
	var pos int64
	cur := int64(-1)
	for _, b := range batches {
		h, _ := ParseBatchHeader(b)
		s := segBases[0]
		for _, base := range segBases {
			if base <= h.BaseOffset {
				s = base
			}
		}
		if s != cur {
			cur, pos = s, 0
		}
		if s > seg || (s == seg && pos+int64(len(b)) > cut) {
			break
		}
		out = append(out, b)
		pos += int64(len(b))
	}
	return out
}

func segmentBases(t *testing.T, dir string, cfg Config) []int64 {
	l := mustOpen(t, dir, cfg)
	defer l.Close()
	return l.SegmentBaseOffsets()
}

func TestRecoveryTornTail(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := range 15 {
		dir := partitionDir(t)
		cfg := recoveryConfig()
		batches := writeLog(t, dir, cfg, rng, 60)
		bases := segmentBases(t, dir, cfg)
		last := bases[len(bases)-1]
		path := segPath(dir, last, logSuffix)
		st, _ := os.Stat(path)
		cut := rng.Int63n(st.Size() + 1)
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		want := batchesBefore(batches, bases, last, cut)
		rep := checkRecovered(t, dir, cfg, want)
		if torn := st.Size() - cut; round > 0 && torn > 0 && cut > 0 && len(rep.Truncations) == 0 && !atBoundary(batches, bases, last, cut) {
			t.Fatalf("round %d: torn tail at %d not reported: %s", round, cut, rep)
		}
	}
}

func atBoundary(batches [][]byte, bases []int64, seg, cut int64) bool {
	kept := batchesBefore(batches, bases, seg, cut)
	var pos int64
	for _, b := range kept {
		h, _ := ParseBatchHeader(b)
		if h.BaseOffset >= seg {
			pos += int64(len(b))
		}
	}
	return pos == cut
}

func TestRecoveryGarbledBytesDropEverythingAfter(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for round := range 15 {
		dir := partitionDir(t)
		cfg := recoveryConfig()
		batches := writeLog(t, dir, cfg, rng, 60)
		bases := segmentBases(t, dir, cfg)
		seg := bases[rng.Intn(len(bases))]
		path := segPath(dir, seg, logSuffix)
		data := fileBytes(t, path)
		// Pick a byte the CRC or the framing covers: not the base offset or the
		// leader epoch, which lie outside the CRC by design.
		var pos int64
		for {
			pos = rng.Int63n(int64(len(data)))
			if off := offsetInBatch(data, pos); off >= offBatchLength && (off < offLeaderEpoch || off >= offMagic) {
				break
			}
		}
		data[pos] ^= byte(1 + rng.Intn(255))
		os.WriteFile(path, data, 0o644)
		batchStart := pos - offsetInBatch(fileBytes(t, path), pos)
		want := batchesBefore(batches, bases, seg, batchStart)
		cfg.RecoveryPoint = 0 // unclean shutdown: recover everything
		rep := checkRecovered(t, dir, cfg, want)
		if len(rep.Truncations) != 1 {
			t.Fatalf("round %d: %s", round, rep)
		}
	}
}

// offsetInBatch is pos's offset inside its batch, from the original framing
// (lengths are read before any garbling of the same file).
func offsetInBatch(data []byte, pos int64) int64 {
	var start int64
	for start < int64(len(data)) {
		n := int64(be32(data[start+offBatchLength:])) + logOverhead
		if pos < start+n {
			return pos - start
		}
		start += n
	}
	return -1
}

func TestRecoveryRebuildsMissingAndCorruptIndexes(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	dir := partitionDir(t)
	cfg := recoveryConfig()
	batches := writeLog(t, dir, cfg, rng, 80)
	bases := segmentBases(t, dir, cfg)
	os.Remove(segPath(dir, bases[0], indexSuffix))
	os.Remove(segPath(dir, bases[1], timeIndexSuffix))
	os.WriteFile(segPath(dir, bases[2], indexSuffix), []byte("garbage"), 0o644)
	idx := fileBytes(t, segPath(dir, bases[3], indexSuffix))
	for i := range idx {
		idx[i] = 0xff // positions past the end of the log
	}
	os.WriteFile(segPath(dir, bases[3], indexSuffix), idx, 0o644)
	cfg.CleanShutdown = true // only the sanity checks can find these
	rep := checkRecovered(t, dir, cfg, batches)
	if len(rep.RebuiltIndexes) != 4 || len(rep.Truncations) != 0 {
		t.Fatalf("report: %s %v", rep, rep.RebuiltIndexes)
	}
}

func TestRecoveryFromRecoveryPointOnly(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	dir := partitionDir(t)
	cfg := recoveryConfig()
	batches := writeLog(t, dir, cfg, rng, 60)
	bases := segmentBases(t, dir, cfg)
	cfg.RecoveryPoint = bases[len(bases)-2] + 1
	rep := checkRecovered(t, dir, cfg, batches)
	if !equalInts(rep.RecoveredSegments, bases[len(bases)-2:]) {
		t.Fatalf("recovered %v, want the last two of %v", rep.RecoveredSegments, bases)
	}
}

func TestRecoveryEndBelowLogStartResets(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	dir := partitionDir(t)
	cfg := recoveryConfig()
	writeLog(t, dir, cfg, rng, 10)
	cfg.LogStartOffset = 1000
	l, rep, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if rep.ResetTo != 1000 || l.LogStartOffset() != 1000 || l.LogEndOffset() != 1000 || !equalInts(l.SegmentBaseOffsets(), []int64{1000}) {
		t.Fatalf("report %s, log [%d, %d] %v", rep, l.LogStartOffset(), l.LogEndOffset(), l.SegmentBaseOffsets())
	}
}

func TestRecoveryRemovesLeftoversAndOrphans(t *testing.T) {
	dir := partitionDir(t)
	cfg := recoveryConfig()
	batches := writeLog(t, dir, cfg, rand.New(rand.NewSource(1)), 5)
	for _, name := range []string{"00000000000000000100.log.deleted", "00000000000000000000.log.cleaned", "00000000000000000200.index", "00000000000000000000.index.swap"} {
		os.WriteFile(dir+"/"+name, []byte("x"), 0o644)
	}
	os.WriteFile(dir+"/leader-epoch-checkpoint", []byte("0\n0\n"), 0o644)
	rep := checkRecovered(t, dir, cfg, batches)
	if len(rep.RemovedFiles) != 4 {
		t.Fatalf("removed %v", rep.RemovedFiles)
	}
	if _, err := os.Stat(dir + "/leader-epoch-checkpoint"); err != nil {
		t.Fatalf("a file that is not ours was touched: %v", err)
	}
}

func TestOpenRejectsBadDirAndConfig(t *testing.T) {
	if _, _, err := Open(t.TempDir()+"/nopartition", DefaultConfig()); err == nil {
		t.Fatal("a directory not named <topic>-<partition> was accepted")
	}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 1 << 40
	if _, _, err := Open(partitionDir(t), cfg); err == nil {
		t.Fatal("segment.bytes beyond int32 was accepted")
	}
	cfg = DefaultConfig()
	cfg.CleanupPolicy = "compact,remove"
	if _, _, err := Open(partitionDir(t), cfg); err == nil {
		t.Fatal("a bad cleanup.policy was accepted")
	}
	var zero Config
	if _, _, err := Open(partitionDir(t), zero); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("a zero Config was accepted: %v", err)
	}
}
