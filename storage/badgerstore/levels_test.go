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

// TestLogSkipsTheMiddleLevels appends a log longer than badger's default
// level sizes allow in one level below L0 (BaseLevelSize 10 MB times
// LevelSizeMultiplier 10), so that badger by default would put a middle
// level in front of the last and copy every txn once more per level, and
// checks that every table stays in L0 or the last level: compaction
// rewrites each txn once.
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
	const epoch, perAppend, total = int64(1) << 32, 10_000, 640_000
	txn := bytes.Repeat([]byte("t"), 250)
	zxid := epoch
	for range total / perAppend {
		es := make([]storage.Entry, perAppend)
		for i := range es {
			zxid++
			es[i] = storage.Entry{Zxid: zxid, Data: txn}
		}
		if err := s.Append(es, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	const lastLevel = 6 // badger's default MaxLevels is 7
	var perLevel [lastLevel + 1]int
	testwait.For(t, 60*time.Second, "compactions to leave fewer than 5 tables in L0", func() bool {
		perLevel = [lastLevel + 1]int{}
		for _, l := range badgerstore.TableLevels(s) {
			perLevel[l]++
		}
		return perLevel[0] < 5
	})
	t.Logf("tables per level: %v", perLevel)
	for l := 1; l < lastLevel; l++ {
		if perLevel[l] != 0 {
			t.Fatalf("%d tables in L%d (tables per level %v): a middle level between L0 and L%d", perLevel[l], l, perLevel, lastLevel)
		}
	}
	if perLevel[lastLevel] == 0 {
		t.Fatalf("no table in L%d (tables per level %v)", lastLevel, perLevel)
	}
	var got int64
	if err := s.Entries(0, zxid, func(storage.Entry) error { got++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got != total {
		t.Fatalf("read back %d txns, want %d", got, total)
	}
}
