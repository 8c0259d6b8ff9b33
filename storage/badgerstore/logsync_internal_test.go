package badgerstore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// chainFixture is a directory laid out as badger lays out its files, and a logSync on it
// that records the base names of the files it syncs.
type chainFixture struct {
	t      *testing.T
	dir    string
	s      *logSync
	synced []string
}

// newChainFixture creates a WAL and a value-log file, as badger's open does, and the logSync.
func newChainFixture(t *testing.T) *chainFixture {
	f := &chainFixture{t: t, dir: t.TempDir()}
	f.write("00001.mem")
	f.write("000001.vlog")
	s, err := newLogSync(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	s.synced = func(p string) { f.synced = append(f.synced, filepath.Base(p)) }
	f.s = s
	return f
}

func (f *chainFixture) write(name string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(name), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// sync runs one sync and checks which files it synced, in order ("dir" for the directory).
func (f *chainFixture) sync(valueLog bool, what string, want ...string) {
	f.t.Helper()
	f.synced = nil
	if err := f.s.sync(valueLog); err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
	for i, w := range want {
		if w == "dir" {
			want[i] = filepath.Base(f.dir)
		}
	}
	if !slices.Equal(f.synced, want) {
		f.t.Fatalf("%s: synced %v, want %v", what, f.synced, want)
	}
}

// TestFileChainCatchesUpPastDeletedFiles plays badger moving past two WAL files between two
// syncs and deleting both (flushed into tables) before the second sync: the chain cannot find
// the newest file by counting from its current one, and must still sync it.
func TestFileChainCatchesUpPastDeletedFiles(t *testing.T) {
	f := newChainFixture(t)
	f.sync(false, "first sync", "00001.mem")
	f.write("00002.mem")
	f.write("00003.mem")
	os.Remove(filepath.Join(f.dir, "00001.mem"))
	os.Remove(filepath.Join(f.dir, "00002.mem"))
	f.sync(false, "after badger moved two files on and deleted both", "00003.mem", "dir")
	// From there the chain goes on as usual: the next file by number.
	f.write("00004.mem")
	f.sync(false, "next switch", "00003.mem", "00004.mem", "dir")
}

// TestFileChainSyncsTheFileItMovesPast: when another commit wrote to the current WAL and
// badger then moved on to a new one before this sync (commits run concurrently: the engine's
// group commit and a snapshot being saved), both files hold unsynced data.
func TestFileChainSyncsTheFileItMovesPast(t *testing.T) {
	f := newChainFixture(t)
	f.write("00002.mem")
	f.sync(false, "sync across a WAL switch", "00001.mem", "00002.mem", "dir")
}

// TestValueLogWrittenBeforeAnySync: once a commit has announced a value-log write, the next
// sync, whoever asks for it, syncs the value log before the WAL.
func TestValueLogWrittenBeforeAnySync(t *testing.T) {
	f := newChainFixture(t)
	f.s.valueLogWritten.Store(true) // another commit, still writing
	f.sync(false, "sync after a value-log write was announced", "000001.vlog", "00001.mem")
	f.sync(false, "next WAL-only sync", "00001.mem")
}

// TestLogSyncRefusesWhatItCannotSync: with no WAL file to sync (a badger that keeps it
// elsewhere), opening fails, and a sync that finds no current file fails instead of
// reporting an unsynced commit as durable.
func TestLogSyncRefusesWhatItCannotSync(t *testing.T) {
	if _, err := newLogSync(t.TempDir()); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("open without a WAL file: %v, want errUnknownLayout", err)
	}
	f := newChainFixture(t)
	os.Remove(filepath.Join(f.dir, "000001.vlog"))
	if err := f.s.sync(true); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("sync with no value-log file: %v, want errUnknownLayout", err)
	}
	f.sync(false, "sync of the WAL alone", "00001.mem")
	os.Remove(filepath.Join(f.dir, "00001.mem"))
	if err := f.s.sync(false); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("sync after the WAL vanished with no successor: %v, want errUnknownLayout", err)
	}
}
