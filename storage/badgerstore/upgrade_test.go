package badgerstore_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/storage/storagetest"
)

// TestUpgradeFromFormat1 opens data dirs written in format 1 (snapshots under s/, the hard
// state at h/state, before the txns) and checks that the store moves them to format 2's keys
// and serves the same snapshots, hard state and log, also when an earlier upgrade was cut off
// part way (some records already moved, the format marker still 1).
func TestUpgradeFromFormat1(t *testing.T) {
	for _, movedBefore := range []int{0, 1, 5} {
		t.Run(map[int]string{0: "fresh", 1: "one record moved", 5: "five records moved"}[movedBefore], func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, storagetest.ServerID)
			const epoch = int64(3) << 32
			hs := storage.HardState{AcceptedEpoch: 4, CurrentEpoch: 3}
			var es []storage.Entry
			for i := range int64(300) {
				es = append(es, storage.Entry{Zxid: epoch | (i + 1), Data: []byte(strings.Repeat("x", int(i%50)))})
			}
			if err := s.Append(es, &hs, true); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			snaps := map[int64][]byte{}
			for _, z := range []int64{epoch | 100, epoch | 250} {
				data := make([]byte, 3<<20+rng.IntN(1000)) // several chunks
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				if _, err := s.SaveSnapshot(z, bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
				snaps[z] = data
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			toFormat1(t, dir, movedBefore)

			s = mustOpen(t, dir, storagetest.ServerID)
			defer s.Close()
			rep := s.Recovery()
			if rep.UpgradedFrom != "zkd-storage-1" || rep.UpgradeMoved == 0 {
				t.Fatalf("recovery report %+v: want an upgrade from zkd-storage-1", rep)
			}
			t.Log(rep)
			if got, err := s.HardState(); err != nil || got != hs {
				t.Fatalf("hard state %+v, %v; want %+v", got, err, hs)
			}
			if s.FirstZxid() != epoch|1 || s.LastZxid() != epoch|300 {
				t.Fatalf("log %#x..%#x, want %#x..%#x", s.FirstZxid(), s.LastZxid(), epoch|1, epoch|300)
			}
			metas, err := s.Snapshots()
			if err != nil || len(metas) != 2 {
				t.Fatalf("snapshots %v, %v; want 2", metas, err)
			}
			for z, want := range snaps {
				r, err := s.OpenSnapshot(z)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("snapshot %#x: %d bytes, %v; want the %d bytes saved", z, len(got), err, len(want))
				}
			}
			// The next open finds format 2 and moves nothing.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, dir, storagetest.ServerID)
			if rep := s.Recovery(); rep.UpgradedFrom != "" || rep.Snapshots != 2 {
				t.Fatalf("second open: %+v", rep)
			}
		})
	}
}

// toFormat1 rewrites a closed format-2 store as format 1 would have written it, leaving the
// first moved records (in key order) under their format-2 keys, as an upgrade cut off after
// them would.
func toFormat1(t *testing.T, dir string, moved int) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type kv struct{ k, v []byte }
	var recs []kv
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if !bytes.HasPrefix(k, []byte("u/")) && string(k) != "v/state" {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			recs = append(recs, kv{k, v})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 10 {
		t.Fatalf("%d snapshot and hard-state records, want more to move", len(recs))
	}
	for i, r := range recs {
		if i < moved {
			continue
		}
		old := append([]byte("s/"), r.k[2:]...)
		if string(r.k) == "v/state" {
			old = []byte("h/state")
		}
		err := db.Update(func(txn *badger.Txn) error {
			if err := txn.Set(old, r.v); err != nil {
				return err
			}
			return txn.Delete(r.k)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("m/format"), []byte("zkd-storage-1")) }); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownFormatRefused: a data dir of a newer or foreign format is not touched.
func TestUnknownFormatRefused(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, storagetest.ServerID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("m/format"), []byte("zkd-storage-9")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = badgerstore.Open(dir, storagetest.ServerID, testOptions)
	if err == nil || !strings.Contains(err.Error(), `data format "zkd-storage-9"`) {
		t.Fatalf("open of format 9: %v", err)
	}
	if errors.Is(err, storage.ErrWrongServer) {
		t.Fatal("reported as another server's dir")
	}
}
