package badgerstore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/storage/storagetest"
)

// lastLevel is badger's last level (its default MaxLevels is 7).
const lastLevel = 6

// longLog is more txn bytes (640,000 txns of 250 bytes) than badger's
// default level sizes allow in one level below L0 (BaseLevelSize 10 MB
// times LevelSizeMultiplier 10).
const longLog = 640_000

// TestLogSkipsTheMiddleLevels appends a long log, with which badger's
// default level sizes would put middle levels in front of the last and copy
// every txn once more per level, and checks that every table stays in L0 or
// the last level: compaction rewrites each txn once.
func TestLogSkipsTheMiddleLevels(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes 160 MB and waits for their compactions")
	}
	opts := testOptions
	opts.NoSync = true
	s, err := badgerstore.Open(t.TempDir(), storagetest.ServerID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := appendLongLog(t, s)
	perLevel := settledLevels(t, s)
	if perLevel[lastLevel] == 0 || middleTables(perLevel) != 0 {
		t.Fatalf("tables per level %v, want them in L0 and L%d only", perLevel, lastLevel)
	}
	checkLog(t, s, last)
}

// TestMiddleLevelsDrainedOnOpen opens a dir that an older zkd laid out
// with badger's default level sizes, whose middle levels would never be
// compacted down again, and checks that opening it moves their tables into
// the last level and keeps every txn.
func TestMiddleLevelsDrainedOnOpen(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes 160 MB and waits for their compactions")
	}
	dir := t.TempDir()
	old := testOptions
	old.NoSync = true
	badgerstore.SetBaseLevelSize(&old, 10<<20)
	s, err := badgerstore.Open(dir, storagetest.ServerID, old)
	if err != nil {
		t.Fatal(err)
	}
	last := appendLongLog(t, s)
	before := settledLevels(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if middleTables(before) == 0 {
		t.Fatalf("tables per level %v: the old layout put none in a middle level, so this test shows nothing", before)
	}
	s, err = badgerstore.Open(dir, storagetest.ServerID, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after := tablesPerLevel(s)
	t.Logf("tables per level before %v, after the open %v", before, after)
	if middleTables(after) != 0 || after[lastLevel] == 0 {
		t.Fatalf("tables per level after the open %v, want them in L0 and L%d only", after, lastLevel)
	}
	checkLog(t, s, last)
}

// appendLongLog appends longLog txns and returns the last zxid.
func appendLongLog(t *testing.T, s *badgerstore.Store) int64 {
	t.Helper()
	const epoch, perAppend = int64(1) << 32, 10_000
	txn := bytes.Repeat([]byte("t"), 250)
	zxid := epoch
	for range longLog / perAppend {
		es := make([]storage.Entry, perAppend)
		for i := range es {
			zxid++
			es[i] = storage.Entry{Zxid: zxid, Data: txn}
		}
		if err := s.Append(es, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	return zxid
}

// settledLevels waits for the compactions L0 asks for and returns the
// number of tables per level.
func settledLevels(t *testing.T, s *badgerstore.Store) [lastLevel + 1]int {
	t.Helper()
	var perLevel [lastLevel + 1]int
	testwait.For(t, 60*time.Second, "compactions to leave fewer than 5 tables in L0", func() bool {
		perLevel = tablesPerLevel(s)
		return perLevel[0] < 5
	})
	t.Logf("tables per level: %v", perLevel)
	return perLevel
}

// tablesPerLevel counts the store's tables in each level.
func tablesPerLevel(s *badgerstore.Store) [lastLevel + 1]int {
	var perLevel [lastLevel + 1]int
	for _, l := range badgerstore.TableLevels(s) {
		perLevel[l]++
	}
	return perLevel
}

func middleTables(perLevel [lastLevel + 1]int) int {
	n := 0
	for _, c := range perLevel[1:lastLevel] {
		n += c
	}
	return n
}

// checkLog checks that the log holds every txn from the first to last.
func checkLog(t *testing.T, s *badgerstore.Store, last int64) {
	t.Helper()
	var got int64
	next := s.FirstZxid()
	if err := s.Entries(0, last, func(e storage.Entry) error {
		if e.Zxid != next {
			t.Fatalf("txn %#x after %#x", e.Zxid, next-1)
		}
		next++
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != longLog || next != last+1 {
		t.Fatalf("read back %d txns up to %#x, want %d up to %#x", got, next-1, longLog, last)
	}
}
