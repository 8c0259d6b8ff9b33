package badgerstore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFileChainCatchesUpPastDeletedFiles plays badger moving past two WAL files between two
// syncs and deleting both (flushed into tables) before the second sync: the chain cannot find
// the newest file by counting from its current one, and must still sync it.
func TestFileChainCatchesUpPastDeletedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("00001.mem")
	write("000001.vlog")
	s, err := newLogSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var synced []string
	s.synced = func(p string) { synced = append(synced, filepath.Base(p)) }
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{"00001.mem"}) {
		t.Fatalf("first sync: %v, want the WAL alone", synced)
	}

	synced = nil
	write("00002.mem")
	write("00003.mem")
	os.Remove(filepath.Join(dir, "00001.mem"))
	os.Remove(filepath.Join(dir, "00002.mem"))
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(synced, "00003.mem") || !slices.Contains(synced, filepath.Base(dir)) {
		t.Fatalf("after badger moved two files on and deleted both: synced %v, want 00003.mem and the directory", synced)
	}

	// From there the chain goes on as usual: the next file by number.
	synced = nil
	write("00004.mem")
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{"00003.mem", "00004.mem", filepath.Base(dir)}) {
		t.Fatalf("next rotation: synced %v", synced)
	}
}

// TestLogSyncRefusesWhatItCannotSync: with no WAL file to sync (a badger that keeps it
// elsewhere), opening fails, and a sync that finds no current file fails instead of
// reporting an unsynced commit as durable.
func TestLogSyncRefusesWhatItCannotSync(t *testing.T) {
	dir := t.TempDir()
	if _, err := newLogSync(dir); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("open without a WAL file: %v, want errUnknownLayout", err)
	}
	wal := filepath.Join(dir, "00001.mem")
	if err := os.WriteFile(wal, []byte("wal"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := newLogSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.sync(true); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("sync with no value-log file: %v, want errUnknownLayout", err)
	}
	if err := s.sync(false); err != nil {
		t.Fatalf("sync of the WAL alone: %v", err)
	}
	os.Remove(wal)
	if err := s.sync(false); !errors.Is(err, errUnknownLayout) {
		t.Fatalf("sync after the WAL vanished with no successor: %v, want errUnknownLayout", err)
	}
}

// TestFileChainSyncsTheFileItMovesPast: when another commit wrote to the current WAL and
// badger then moved on to a new one before this sync (commits run concurrently: the engine's
// group commit and a snapshot being saved), both files hold unsynced data.
func TestFileChainSyncsTheFileItMovesPast(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"00001.mem", "000001.vlog"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := newLogSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var synced []string
	s.synced = func(p string) { synced = append(synced, filepath.Base(p)) }
	if err := os.WriteFile(filepath.Join(dir, "00002.mem"), []byte("next"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{"00001.mem", "00002.mem", filepath.Base(dir)}) {
		t.Fatalf("synced %v, want the old WAL, the new one and the directory, in that order", synced)
	}
}

// TestValueLogWrittenBeforeAnySync: once a commit has announced a value-log write, the next
// sync, whoever asks for it, syncs the value log before the WAL.
func TestValueLogWrittenBeforeAnySync(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"00001.mem", "000001.vlog"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := newLogSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var synced []string
	s.synced = func(p string) { synced = append(synced, filepath.Base(p)) }
	s.valueLogWritten.Store(true) // another commit, still writing
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{"000001.vlog", "00001.mem"}) {
		t.Fatalf("synced %v, want the value log, then the WAL", synced)
	}
	synced = nil
	if err := s.sync(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{"00001.mem"}) {
		t.Fatalf("next WAL-only sync: %v, want the WAL alone", synced)
	}
}
