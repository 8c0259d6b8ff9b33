package badgerstore_test

import (
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/storage/storagetest"
)

// syncLog collects what the store synced, from the hook.
type syncLog struct {
	mu     sync.Mutex
	synced map[string]bool
	order  []string // file names in the order they were synced
}

func (l *syncLog) record(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.synced[path] = true
	l.order = append(l.order, filepath.Base(path))
}

func (l *syncLog) take() (map[string]bool, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, o := l.synced, l.order
	l.synced, l.order = map[string]bool{}, nil
	return s, o
}

// TestEveryCommitSyncsWhatItWrote checks the store's own syncing against the bytes badger
// wrote: after each synced append, every WAL and value-log file whose contents changed, or
// that is new, must have been fdatasynced, and the directory too when a file appeared. The
// appends mix txns that badger keeps in the WAL with txns big enough for the value log, and
// go on until badger has moved to new WAL and value-log files several times, the moments
// where syncing only the current file would lose the end of the old one. A kill -9 cannot
// show a missing sync (the page cache survives it); this compares file contents instead.
func TestEveryCommitSyncsWhatItWrote(t *testing.T) {
	opts := testOptions
	opts.MemTableSize = 1 << 20
	opts.ValueLogFileSize = 1 << 20
	opts.ValueThreshold = 1 << 10
	log := &syncLog{synced: map[string]bool{}}
	badgerstore.SetLogSyncHook(&opts, log.record)
	dir := t.TempDir()
	s, err := badgerstore.Open(dir, storagetest.ServerID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	zxid := int64(1) << 32
	for commit := 0; ; commit++ {
		before := logFiles(t, dir)
		log.take()
		es := make([]storage.Entry, 20)
		big := false
		for i := range es {
			zxid++
			size := 50 + rng.IntN(400)
			switch {
			case commit%3 == 0 && i%4 == 0:
				size = int(opts.ValueThreshold) + rng.IntN(2000) // value log
				big = true
			case commit%3 == 1 && i == 0:
				// Around the threshold (the stored value is the txn plus a few
				// bytes of framing): either side of it, exactly.
				size = int(opts.ValueThreshold) - 16 + rng.IntN(32)
				big = true
			}
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			es[i] = storage.Entry{Zxid: zxid, Data: data}
		}
		if err := s.Append(es, nil, true); err != nil {
			t.Fatal(err)
		}
		synced, order := log.take()
		// A WAL entry may point into the value log: the value goes first.
		if i := slices.IndexFunc(order, func(n string) bool { return filepath.Ext(n) == ".vlog" }); i >= 0 {
			if j := slices.IndexFunc(order, func(n string) bool { return filepath.Ext(n) == ".mem" }); j < i {
				t.Fatalf("commit %d synced the WAL before the value log: %v", commit, order)
			}
		}
		after := logFiles(t, dir)
		appeared := false
		for name, f := range after {
			old, existed := before[name]
			appeared = appeared || !existed
			if existed && f.size < old.size && filepath.Ext(name) == ".mem" {
				continue // badger truncates a flushed WAL before it deletes it; we read it half way
			}
			if (!existed || old.sum != f.sum) && !synced[filepath.Join(dir, name)] {
				t.Fatalf("commit %d wrote %s (new: %v) but did not sync it; synced %v", commit, name, !existed, slices.Sorted(mapKeys(synced)))
			}
			seen[name] = true
		}
		if appeared && !synced[dir] {
			t.Fatalf("commit %d created a file but did not sync the directory; synced %v", commit, slices.Sorted(mapKeys(synced)))
		}
		if !big && !appeared {
			// Only the WAL changed: one fdatasync, no value-log flush.
			if len(synced) != 1 {
				t.Fatalf("commit %d of WAL-only txns synced %v, want the WAL alone", commit, slices.Sorted(mapKeys(synced)))
			}
		}
		wals, vlogs := 0, 0
		for name := range seen {
			switch filepath.Ext(name) {
			case ".mem":
				wals++
			case ".vlog":
				vlogs++
			}
		}
		if wals >= 4 && vlogs >= 3 {
			t.Logf("%d commits, %d WAL and %d value-log files written", commit+1, wals, vlogs)
			return
		}
		if commit > 5000 {
			t.Fatalf("%d WAL and %d value-log files after %d commits: badger did not move to new files", wals, vlogs, commit)
		}
	}
}

// logFile is what logFiles saw of a file.
type logFile struct {
	sum  uint32
	size int
}

// logFiles is a checksum of every WAL and value-log file in dir, by name.
func logFiles(t *testing.T, dir string) map[string]logFile {
	t.Helper()
	out := map[string]logFile{}
	for _, pattern := range []string{"*.mem", "*.vlog"} {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if os.IsNotExist(err) {
				continue // flushed and deleted meanwhile
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				continue // being deleted: badger truncates a file before it removes it
			}
			out[filepath.Base(n)] = logFile{sum: crc32.ChecksumIEEE(b), size: len(b)}
		}
	}
	return out
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestValueLogGCSyncsBeforeDeleting checks the order the value-log GC keeps without badger's
// SyncWrites: it copies the live values out of a file and deletes the file, so the copies must
// be synced before the file goes. Every file a GC run reclaimed must still have been there
// when that run's sync happened.
func TestValueLogGCSyncsBeforeDeleting(t *testing.T) {
	opts := testOptions
	opts.ValueLogFileSize = 1 << 20
	opts.ValueThreshold = 64
	dir := t.TempDir()
	var mu sync.Mutex
	inGC := false
	var atSync []string // value-log files present at the GC's latest sync
	badgerstore.SetLogSyncHook(&opts, func(string) {
		mu.Lock()
		defer mu.Unlock()
		if inGC {
			atSync, _ = filepath.Glob(filepath.Join(dir, "*.vlog"))
		}
	})
	s, err := badgerstore.Open(dir, storagetest.ServerID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	txn := make([]byte, 250)
	zxid := int64(1) << 32
	reclaimed := 0
	for round := 0; reclaimed < 3; round++ {
		if round == 400 {
			t.Fatalf("the GC reclaimed %d files in %d rounds, want 3 to check", reclaimed, round)
		}
		autopurgeRound(t, s, &zxid, 2000, txn)
		before, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
		mu.Lock()
		inGC, atSync = true, nil
		mu.Unlock()
		n := s.CollectGarbage()
		mu.Lock()
		inGC = false
		synced := atSync
		mu.Unlock()
		if n == 0 {
			continue
		}
		reclaimed += n
		after, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
		for _, f := range before {
			if slices.Contains(after, f) {
				continue
			}
			if !slices.Contains(synced, f) {
				t.Fatalf("round %d: the GC deleted %s before syncing the values it moved (files at its sync: %v)", round, f, synced)
			}
		}
	}
}
