package badgerstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"

	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/storage/storagetest"
)

// testOptions keep badger's preallocated files small: a crash image copies
// them, and a 2-core CI box has better things to do.
var testOptions = badgerstore.Options{
	MemTableSize:     4 << 20,
	ValueLogFileSize: 16 << 20,
	GCInterval:       -1,
}

// harness runs a badgerstore in a temp dir. A crash is played with a crash
// image: the files are copied while the store is open (what kill -9 leaves,
// since every commit is synced) and the copy is opened; the original is
// then closed, which touches only the original dir.
type harness struct {
	s   *badgerstore.Store
	dir string
}

func newHarness(t *testing.T) storagetest.Harness {
	h := &harness{dir: t.TempDir()}
	h.s = mustOpen(t, h.dir, storagetest.ServerID)
	t.Cleanup(func() {
		if err := h.s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Error(err)
		}
	})
	return h
}

func mustOpen(t testing.TB, dir string, id int64) *badgerstore.Store {
	t.Helper()
	s, err := badgerstore.Open(dir, id, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (h *harness) Storage() storage.Storage { return h.s }

func (h *harness) close(t *testing.T) {
	t.Helper()
	if err := h.s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Fatal(err)
	}
}

func (h *harness) Reopen(t *testing.T) {
	t.Helper()
	h.close(t)
	h.s = mustOpen(t, h.dir, storagetest.ServerID)
}

func (h *harness) Crash(t *testing.T) { h.crash(t, nil) }

// CrashTorn tears the newest WAL (memtable) file: the last bytes written
// are zeroed, as a write cut off by power loss leaves a preallocated file.
// Badger's replay checks each WAL entry and drops the whole txn whose tail
// is damaged, so the store never sees the torn entry: the contract's
// all-or-nothing check is what applies here.
func (h *harness) CrashTorn(t *testing.T) {
	h.crash(t, func(image string) {
		mems, _ := filepath.Glob(filepath.Join(image, "*.mem"))
		if len(mems) == 0 {
			t.Fatal("no WAL file in the crash image")
		}
		slices.Sort(mems)
		newest := mems[len(mems)-1]
		data, err := os.ReadFile(newest)
		if err != nil {
			t.Fatal(err)
		}
		end := len(bytes.TrimRight(data, "\x00"))
		clear(data[max(0, end-24):end])
		if err := os.WriteFile(newest, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

func (h *harness) crash(t *testing.T, damage func(image string)) {
	t.Helper()
	image := t.TempDir()
	crashImage(t, h.dir, image)
	if damage != nil {
		damage(image)
	}
	h.close(t)
	h.dir = image
	h.s = mustOpen(t, h.dir, storagetest.ServerID)
}

// Corrupt flips a bit in every copy of needle in the data files. After the
// clean close, log entries are in SSTs (uncompressed) and snapshot chunks
// in the value log; badger does not verify either on read by default, so
// the engine's own checksums must catch it.
func (h *harness) Corrupt(t *testing.T, needle []byte) bool {
	h.close(t)
	found := false
	walkFiles(t, h.dir, func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		for i := bytes.Index(data, needle); i >= 0; {
			data[i+len(needle)/2] ^= 0x10
			changed = true
			next := bytes.Index(data[i+1:], needle)
			if next < 0 {
				break
			}
			i += 1 + next
		}
		if changed {
			found = true
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	h.s = mustOpen(t, h.dir, storagetest.ServerID)
	return found
}

func (h *harness) OpenAs(t *testing.T, serverID int64) error {
	h.close(t)
	s, err := badgerstore.Open(h.dir, serverID, testOptions)
	if err == nil {
		h.s = s
	}
	return err
}

func walkFiles(t *testing.T, dir string, fn func(path string)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fn(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashImage copies dir to image while the store is open. Badger flushes
// and compacts in the background; a copy that overlaps such a step (a new
// table, a longer manifest, a deleted WAL) would mix two states, so copy
// until the listing is the same before and after.
func crashImage(t *testing.T, dir, image string) {
	t.Helper()
	for range 100 {
		before, err := listing(dir)
		if err == nil {
			err = copyDir(dir, image)
		}
		if after, lerr := listing(dir); err == nil && lerr == nil && after == before {
			return
		}
		if err := os.RemoveAll(image); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(image, 0o755); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("data dir kept changing: no consistent crash image")
}

// listing is the names and sizes of the files in dir.
func listing(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s %d\n", e.Name(), fi.Size())
	}
	return b.String(), nil
}

func copyDir(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := copyFile(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestContract(t *testing.T) {
	storagetest.Run(t, newHarness)
}

func TestOpenErrors(t *testing.T) {
	t.Run("not a directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "zkd")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := badgerstore.Open(file, 1, testOptions)
		wantMsg(t, err, "open data dir "+file, "not a directory")
	})
	t.Run("in use", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, dir, 1)
		defer s.Close()
		_, err := badgerstore.Open(dir, 1, testOptions)
		wantMsg(t, err, "open data dir "+dir, "another zkd")
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores file modes")
		}
		dir := filepath.Join(t.TempDir(), "data")
		s := mustOpen(t, dir, 1)
		s.Close()
		if err := os.Chmod(dir, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		_, err := badgerstore.Open(dir, 1, testOptions)
		wantMsg(t, err, "open data dir "+dir, "permission denied")
	})
	t.Run("unreadable manifest", func(t *testing.T) {
		// What root meets instead of a permission error: a file badger
		// cannot read.
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "MANIFEST"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := badgerstore.Open(dir, 1, testOptions)
		wantMsg(t, err, "open data dir "+dir, "MANIFEST")
	})
	t.Run("foreign data", func(t *testing.T) {
		dir := t.TempDir()
		db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err = badgerstore.Open(dir, 1, testOptions)
		wantMsg(t, err, "open data dir "+dir, "not a zkd data dir")
	})
	t.Run("damaged manifest", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, dir, 1)
		s.Close()
		if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("not a manifest at all"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := badgerstore.Open(dir, 1, testOptions)
		wantMsg(t, err, "open data dir "+dir)
	})
	t.Run("wrong server", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, dir, 3)
		s.Close()
		_, err := badgerstore.Open(dir, 1, testOptions)
		if !errors.Is(err, storage.ErrWrongServer) {
			t.Fatalf("err = %v, want ErrWrongServer", err)
		}
		wantMsg(t, err, "open data dir "+dir, "holds server 3's data, this is server 1")
	})
}

func wantMsg(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	t.Logf("error: %v", err)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

// TestValueLogGC runs the GC loop against live traffic, for the race
// detector, and checks a clean shutdown stops it.
func TestValueLogGC(t *testing.T) {
	opts := testOptions
	opts.GCInterval = 5 * time.Millisecond
	s, err := badgerstore.Open(t.TempDir(), 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("chunk"), 1<<18)
	for i := range int64(5) {
		if _, err := s.SaveSnapshot(i+1, bytes.NewReader(big)); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if err := s.DeleteSnapshot(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := s.DiskUsage(); err != nil || n == 0 {
		t.Fatalf("DiskUsage = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLogLongerThanABatch appends, truncates and purges more entries than one badger txn
// holds, so each goes through several full batches: a full batch must leave room for the
// marker entry badger's commit adds (a purge after a SNAP sync of a long log failed with
// ErrTxnTooBig in an ensemble soak).
func TestLogLongerThanABatch(t *testing.T) {
	s := mustOpen(t, t.TempDir(), storagetest.ServerID)
	defer s.Close()
	perTxn := (15 * testOptions.MemTableSize / 100) / int64(skl.MaxNodeSize) // badger's maxBatchCount
	n := 3*perTxn + 7
	const epoch = int64(1) << 32
	es := make([]storage.Entry, n)
	for i := range es {
		es[i] = storage.Entry{Zxid: epoch | int64(i+1), Data: []byte("txn")}
	}
	if err := s.Append(es, nil, true); err != nil {
		t.Fatalf("append %d entries: %v", n, err)
	}
	keep := n - perTxn - 3
	if err := s.TruncateAfter(epoch | keep); err != nil {
		t.Fatalf("truncate after %d of %d entries: %v", keep, n, err)
	}
	if last := s.LastZxid(); last != epoch|keep {
		t.Fatalf("after truncation the last zxid is %#x, want %#x", last, epoch|keep)
	}
	snap := epoch | (keep - 2)
	if _, err := s.SaveSnapshot(snap, strings.NewReader("tree")); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeBefore(snap + 1); err != nil {
		t.Fatalf("purge %d entries: %v", keep-2, err)
	}
	if first := s.FirstZxid(); first != snap+1 {
		t.Fatalf("after the purge the first zxid is %#x, want %#x", first, snap+1)
	}
	var got int64
	if err := s.Entries(0, epoch|n, func(storage.Entry) error { got++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("%d entries left, want 2", got)
	}
}

// TestPurgedLogSpaceIsReclaimed writes a log many times longer than what is kept, the way
// a busy server with autopurge does (a snapshot and a purge every 2,000 txns of a few
// hundred bytes), running the value-log GC as its loop would, and checks that the purged
// txns' space is given back: the tables and value-log files must end well below the bytes
// written. It runs with txns in the LSM tree (the default) and in the value log.
func TestPurgedLogSpaceIsReclaimed(t *testing.T) {
	if raceEnabled {
		t.Skip("600,000 txns and their compactions take minutes under the race detector")
	}
	for _, threshold := range []int64{0, 64} {
		t.Run(fmt.Sprintf("ValueThreshold=%d", threshold), func(t *testing.T) {
			opts := testOptions
			opts.ValueLogFileSize = 1 << 20
			opts.ValueThreshold = threshold
			dir := t.TempDir()
			s, err := badgerstore.Open(dir, storagetest.ServerID, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const epoch, perRound, rounds = int64(1) << 32, 2000, 300
			txn := bytes.Repeat([]byte("t"), 250)
			zxid := epoch
			reclaimed := 0
			for range rounds {
				autopurgeRound(t, s, &zxid, perRound, txn)
				reclaimed += s.CollectGarbage()
			}
			written := int64(rounds * perRound * len(txn))
			// Compaction runs in the background and may lag on a loaded
			// machine; the value-log GC learns what it can reclaim only from
			// compactions, so give them a while to catch up.
			var left int64
			testwait.For(t, 30*time.Second, fmt.Sprintf("the tables and value log to hold at most a third of the %d bytes of txns written, all but the last %d purged", written, perRound), func() bool {
				left = allocated(t, dir, "*.sst") + allocated(t, dir, "*.vlog")
				if left <= written/3 {
					return true
				}
				reclaimed += s.CollectGarbage()
				return false
			})
			t.Logf("wrote %d MB of txns, %d value-log files reclaimed, %d MB of tables and value log left",
				written>>20, reclaimed, left>>20)
			if first := s.FirstZxid(); first != zxid+1-perRound {
				t.Fatalf("first zxid %#x, want %#x", first, zxid+1-perRound)
			}
		})
	}
}

// allocated is the disk space (blocks, not apparent size: badger preallocates) of the
// files in dir matching pattern.
func allocated(t *testing.T, dir, pattern string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err == nil { // a file the GC just deleted is no space
			n += st.Blocks * 512
		}
	}
	return n
}

// autopurgeRound does once what a busy server with autopurge does: append perRound txns
// after *zxid, save a snapshot at the last of them, delete the previous snapshot and purge
// the log before the new one.
func autopurgeRound(tb testing.TB, s *badgerstore.Store, zxid *int64, perRound int, txn []byte) {
	tb.Helper()
	es := make([]storage.Entry, perRound)
	for i := range es {
		*zxid++
		es[i] = storage.Entry{Zxid: *zxid, Data: txn}
	}
	if err := s.Append(es, nil, true); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.SaveSnapshot(*zxid, strings.NewReader("tree")); err != nil {
		tb.Fatal(err)
	}
	if err := s.DeleteSnapshot(*zxid - int64(perRound)); err != nil && !errors.Is(err, storage.ErrNotFound) {
		tb.Fatal(err)
	}
	if err := s.PurgeBefore(*zxid + 1 - int64(perRound)); err != nil {
		tb.Fatal(err)
	}
}

// TestTxnsInValueLog checks where txns go: with TxnsInValueLog into badger's
// value log (the LSM tree holds only pointers), by default into the tree.
func TestTxnsInValueLog(t *testing.T) {
	const n, size = 10000, 200
	for _, inVlog := range []bool{false, true} {
		t.Run(fmt.Sprintf("TxnsInValueLog=%v", inVlog), func(t *testing.T) {
			opts := testOptions
			opts.TxnsInValueLog = inVlog
			dir := t.TempDir()
			s, err := badgerstore.Open(dir, storagetest.ServerID, opts)
			if err != nil {
				t.Fatal(err)
			}
			es := make([]storage.Entry, n)
			for i := range es {
				es[i] = storage.Entry{Zxid: int64(1)<<32 + int64(i) + 1, Data: bytes.Repeat([]byte{byte(i)}, size)}
			}
			if err := s.Append(es, nil, true); err != nil {
				t.Fatal(err)
			}
			vlog := allocated(t, dir, "*.vlog")
			if inVlog != (vlog >= n*size) {
				t.Errorf("value log holds %d bytes after %d bytes of txns", vlog, n*size)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Reopened with the other layout, every txn still reads back.
			opts.TxnsInValueLog = !inVlog
			s, err = badgerstore.Open(dir, storagetest.ServerID, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := 0
			err = s.Entries(1, s.LastZxid(), func(e storage.Entry) error {
				if !bytes.Equal(e.Data, es[got].Data) || e.Zxid != es[got].Zxid {
					return fmt.Errorf("entry %d: zxid %#x, %d bytes", got, e.Zxid, len(e.Data))
				}
				got++
				return nil
			})
			if err != nil || got != n {
				t.Fatalf("read back %d of %d txns: %v", got, n, err)
			}
		})
	}
}
