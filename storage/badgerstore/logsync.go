package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// logSync makes badger's commits durable with one fdatasync each, in place of badger's
// SyncWrites.
//
// Why: with SyncWrites badger msyncs the current value-log file after every commit, even one
// that wrote nothing there (every txn below ValueThreshold lives in the memtable's WAL alone),
// then msyncs the WAL. On ext4 every fsync, even of a clean file, flushes the device's write
// cache, so a commit paid for two cache flushes where one makes it durable.
//
// What must be synced instead (badger v4.9 with SyncWrites off: db.go writeToLSM, value.go
// write, memtable.go doneWriting):
//   - the memtable WAL (NNNNN.mem) the commit's entries went to; and when a commit filled the
//     memtable and badger moved on to a new WAL, the old one too, which badger then leaves
//     unsynced;
//   - the value-log file (NNNNNN.vlog) when the commit put a value there (one of at least
//     ValueThreshold bytes), and one badger finished and moved past;
//   - the directory, when a file appeared in it, so a power cut cannot lose the new file's
//     name (SyncWrites never synced it).
//
// Badger numbers each kind of file consecutively and writes only to the newest, so a chain
// finds the files a commit may have written by looking for the next number, one stat per
// commit instead of a directory listing.
type logSync struct {
	dir  string
	mu   sync.Mutex // one sync at a time: a chain's file and position
	wal  fileChain
	vlog fileChain
	// synced, when set (tests), is told every file synced, directory included.
	synced func(path string)
	// valueLogWritten is set by a commit about to put a value in the value
	// log, before badger writes it: any sync from then on syncs the value log
	// first, so a concurrent commit's sync cannot make the WAL entry that
	// points at the value durable while the value is not.
	valueLogWritten atomic.Bool
}

// fileChain is one numbered series of badger files: the newest file seen and its handle.
type fileChain struct {
	dir    string
	format string // file name for a number, e.g. "%05d.mem"
	fid    int
	f      *os.File
}

func newLogSync(dir string) (*logSync, error) {
	s := &logSync{
		dir:  dir,
		wal:  fileChain{dir: dir, format: "%05d.mem"},
		vlog: fileChain{dir: dir, format: "%06d.vlog"},
	}
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	s.wal.fid = newestFile(names, ".mem")
	s.vlog.fid = newestFile(names, ".vlog")
	if s.wal.fid == 0 {
		// Badger creates its memtable's WAL when it opens. A badger that names or keeps it
		// otherwise would leave every commit unsynced without a word: refuse instead.
		return nil, fmt.Errorf("%w: no NNNNN.mem file in %s", errUnknownLayout, dir)
	}
	return s, nil
}

// errUnknownLayout means badger's files are not where logSync looks for them.
var errUnknownLayout = errors.New("badger log sync: badger's WAL file is not where this zkd syncs it (a badger version it was not built for?)")

// sync makes every commit so far durable: the WAL always, the value log when a commit may
// have written to it since the last sync.
func (s *logSync) sync(valueLog bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The value log first, as badger's SyncWrites does: a WAL entry that
	// points into the value log must never be durable before its value.
	valueLog = s.valueLogWritten.Swap(false) || valueLog
	var newVlog bool
	if valueLog {
		var err error
		if newVlog, err = s.vlog.sync(s.synced); err != nil {
			return err
		}
	}
	newWAL, err := s.wal.sync(s.synced)
	if err != nil {
		return err
	}
	// Each chain synced must have found a file to sync; none means the
	// commit is not durable.
	if s.wal.f == nil || valueLog && s.vlog.f == nil {
		return fmt.Errorf("%w: no current WAL or value-log file in %s", errUnknownLayout, s.dir)
	}
	if newWAL || newVlog {
		if err := syncDir(s.dir); err != nil {
			return err
		}
		if s.synced != nil {
			s.synced(s.dir)
		}
	}
	return nil
}

func (s *logSync) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wal.close()
	s.vlog.close()
}

// sync fdatasyncs the chain's current file and each later one badger has created since,
// oldest first, and reports whether it found later ones.
func (c *fileChain) sync(synced func(string)) (moved bool, err error) {
	for {
		_, err := os.Stat(c.path(c.fid + 1))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return moved, fmt.Errorf("badger log sync: %w", err)
		}
		// Badger moved on to a newer file: what it wrote to this one since the last sync
		// must be durable too.
		if err := c.syncCurrent(synced); err != nil {
			return moved, err
		}
		c.close()
		c.fid++
		moved = true
	}
	gone, err := c.currentGone()
	if err != nil {
		return moved, err
	}
	if gone {
		// Badger moved past this file more than once since the last sync and has already
		// deleted the next one (flushed into a table), so the walk above stopped short:
		// the files it writes now are found by listing the directory.
		c.close()
		return c.catchUp(synced)
	}
	return moved, c.syncCurrent(synced)
}

// currentGone reports whether the current file was deleted (or never created).
func (c *fileChain) currentGone() (bool, error) {
	if c.f == nil {
		_, err := os.Stat(c.path(c.fid))
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		return false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(c.f.Fd()), &st); err != nil {
		return false, fmt.Errorf("badger log sync: fstat %s: %w", c.f.Name(), err)
	}
	return st.Nlink == 0, nil
}

// catchUp syncs every file of the chain numbered above the current one, oldest first, and
// makes the newest current.
func (c *fileChain) catchUp(synced func(string)) (moved bool, err error) {
	names, err := readDirNames(c.dir)
	if err != nil {
		return false, fmt.Errorf("badger log sync: %w", err)
	}
	for _, fid := range fileNumbers(names, filepath.Ext(c.format)) {
		if fid <= c.fid {
			continue
		}
		c.close()
		c.fid = fid
		moved = true
		if err := c.syncCurrent(synced); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

func (c *fileChain) syncCurrent(synced func(string)) error {
	if c.f == nil {
		f, err := os.Open(c.path(c.fid))
		if errors.Is(err, fs.ErrNotExist) {
			// Never created (no value log yet), or a WAL badger has flushed into a synced
			// table and deleted: nothing of it needs syncing.
			return nil
		}
		if err != nil {
			return fmt.Errorf("badger log sync: %w", err)
		}
		c.f = f
	}
	if err := unix.Fdatasync(int(c.f.Fd())); err != nil {
		return fmt.Errorf("badger log sync: fdatasync %s: %w", c.f.Name(), err)
	}
	if synced != nil {
		synced(c.f.Name())
	}
	return nil
}

func (c *fileChain) path(fid int) string {
	return filepath.Join(c.dir, fmt.Sprintf(c.format, fid))
}

func (c *fileChain) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// newestFile is the highest number among names ending in ext, 0 if there is none.
func newestFile(names []string, ext string) int {
	fids := fileNumbers(names, ext)
	if len(fids) == 0 {
		return 0
	}
	return fids[len(fids)-1]
}

// fileNumbers are the numbers of the names ending in ext, ascending.
func fileNumbers(names []string, ext string) []int {
	var fids []int
	for _, n := range names {
		if num, ok := strings.CutSuffix(n, ext); ok {
			if fid, err := strconv.Atoi(num); err == nil {
				fids = append(fids, fid)
			}
		}
	}
	slices.Sort(fids)
	return fids
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("badger log sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("badger log sync: fsync %s: %w", dir, err)
	}
	return nil
}
