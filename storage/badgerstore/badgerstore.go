// Package badgerstore is zkd's on-disk Storage: storage.Engine on one
// badger/v4 database per data dir (DESIGN.md 2.3).
//
// Durability: every commit is on disk when it returns, and the engine's
// group commit makes one commit (one sync) out of many appends. The store
// syncs badger's files itself (logsync.go) instead of running badger with
// SyncWrites, which flushes the disk's cache twice per commit. Badger's own
// DB.Sync is not enough for that: it syncs only the current memtable's WAL
// (and value log), and when a commit fills the memtable badger switches to a
// new WAL without syncing the old one, so an append acknowledged after
// DB.Sync could still be lost by a power cut until the old memtable is
// flushed (badger v4.9 db.go: ensureRoomForWrite, Sync).
package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage"
)

// Options tune a badgerstore. The zero value suits a small server (2 cores,
// a few hundred MB of data).
type Options struct {
	Engine storage.Options
	// Logger receives badger's own messages (its info lines at debug
	// level). The zero value discards them.
	Logger zerolog.Logger
	// MemTableSize is badger's memtable (and WAL file) size; 16 MiB by
	// default instead of badger's 64 MiB. A batch may hold 15% of it.
	MemTableSize int64
	// ValueThreshold: values at least this big go to the value log instead
	// of the LSM tree; 64 KiB by default, so txns stay in the tree and
	// snapshot chunks (1 MiB) are not copied by every compaction. Txns in
	// the value log (a threshold of 64 bytes) kept a standalone zkd's write
	// p99 flat as the log grew past 3M txns (1.3-1.7 ms against 1.5-4.4 ms,
	// as compaction costs grow with the tree) but cost 20-30% of standalone
	// write throughput and more in an ensemble: each commit then writes
	// two files (value log and WAL) instead of one. Measured again later
	// (README, zkd.txnValueLog): after 3M txns the tree layout's p99.9
	// reached 25-117 ms against 6.4 ms, so it is a choice, not a default.
	ValueThreshold int64
	// TxnsInValueLog sets ValueThreshold to TxnValueLogThreshold (zkd's
	// zkd.txnValueLog=yes). A store may switch between opens: badger
	// reads each value from wherever it was written.
	TxnsInValueLog bool
	// ValueLogFileSize bounds a value-log file, the unit the value-log GC
	// reclaims; 64 MiB by default instead of 1 GiB.
	ValueLogFileSize int64
	// NoSync turns syncing off (zoo.cfg forceSync=no): commits
	// reach the operating system's page cache but are not fsynced, so a
	// killed process loses nothing and a power cut may lose the newest
	// writes, as with ZooKeeper's forceSync=no. Append's sync flag is then
	// not a durability promise.
	NoSync bool
	// GCInterval is how often the value-log GC runs to reclaim the space of
	// deleted snapshots and purged txns; 10 minutes by default, negative to
	// disable.
	GCInterval time.Duration

	// onLogSync, when set (tests), is told every file logSync syncs.
	onLogSync func(path string)
	// baseLevelSize is badger's BaseLevelSize; defaultBaseLevelSize unless
	// a test lays a dir out the way older versions did.
	baseLevelSize int64
}

func (o *Options) defaults() {
	if o.MemTableSize <= 0 {
		o.MemTableSize = 16 << 20
	}
	if o.TxnsInValueLog {
		o.ValueThreshold = TxnValueLogThreshold
	}
	if o.ValueThreshold <= 0 {
		o.ValueThreshold = 64 << 10
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = 64 << 20
	}
	if o.GCInterval == 0 {
		o.GCInterval = 10 * time.Minute
	}
	if o.baseLevelSize <= 0 {
		o.baseLevelSize = defaultBaseLevelSize
	}
}

// TxnValueLogThreshold is the ValueThreshold that puts txns in badger's
// value log: every txn record but the smallest (a record is a 4-byte CRC
// and the txn, whose header alone is some 30 bytes) goes there.
const TxnValueLogThreshold = 64

// defaultBaseLevelSize is badger's BaseLevelSize: bigger than any data
// dir, so that the last level is always the base level (see badgerOptions).
const defaultBaseLevelSize = 1 << 50

func badgerOptions(dir string, o Options) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{o.Logger.With().Str("store", "badger").Logger()}).
		// Commits are synced by logSync, one fdatasync where SyncWrites
		// makes two.
		WithSyncWrites(false).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(2).
		WithNumCompactors(2).
		// The log is append-only: every new key sorts after every older
		// one, so levels between L0 and the last never merge anything, and
		// badger, which never moves a table between levels without
		// rewriting it, would copy each txn once per level as the log grows
		// (under 256 sessions of writes, 35 s in, L0 fed L5 and L5 fed L6). A
		// base level this big makes L0 compact straight into the last
		// level: each txn is written to the WAL, to an L0 table, and once
		// more. Purges still reclaim space: their deletions overlap the old
		// tables, and a compaction into the last level drops them.
		WithBaseLevelSize(o.baseLevelSize).
		WithNumGoroutines(2).
		WithValueThreshold(o.ValueThreshold).
		WithValueLogFileSize(o.ValueLogFileSize).
		// Txns are small and already compact; on two cores the CPU is
		// worth more than the disk.
		WithCompression(options.None).
		WithBlockCacheSize(8 << 20).
		// One writer (the committer) and blind writes: nothing to detect.
		WithDetectConflicts(false).
		WithMetricsEnabled(false)
}

// Store is a badgerstore: storage.Storage plus the badger handle.
type Store struct {
	*storage.Engine
	db  *badger.DB
	kv  *kv
	dir string

	stopGC chan struct{}
	gcDone sync.WaitGroup
}

// Open opens (creating if needed) the data dir for serverID and recovers
// it. Errors name the dir; a dir of another server wraps
// storage.ErrWrongServer.
func Open(dir string, serverID int64, opts Options) (*Store, error) {
	opts.defaults()
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("open data dir %s: not a directory", dir)
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		return nil, fmt.Errorf("open data dir %s: %w", dir, explain(err))
	}
	if err := drainMiddleLevels(db, opts.Logger); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open data dir %s: %w", dir, err)
	}
	k := &kv{db: db, valueThreshold: opts.ValueThreshold, logger: opts.Logger}
	if !opts.NoSync {
		if k.logs, err = newLogSync(dir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open data dir %s: %w", dir, err)
		}
		k.logs.synced = opts.onLogSync
	}
	e, err := storage.Open(k, serverID, opts.Engine)
	if err != nil {
		_ = k.Close()
		return nil, fmt.Errorf("open data dir %s: %w", dir, err)
	}
	s := &Store{Engine: e, db: db, kv: k, dir: dir, stopGC: make(chan struct{})}
	if opts.GCInterval > 0 {
		s.gcDone.Add(1)
		go s.gcLoop(opts.GCInterval)
	}
	return s, nil
}

// drainMiddleLevels moves the tables of a dir written by an older zkd,
// which left badger's default level sizes in place, out of the levels
// between L0 and the last. With today's base level those levels are never
// compacted down again, so a purge's deletions would stop there and the
// purged txns below them would keep their space for good. It runs once per
// such dir, before anything is served, and costs one rewrite of what those
// levels hold.
func drainMiddleLevels(db *badger.DB, log zerolog.Logger) error {
	last := db.Opts().MaxLevels - 1
	middle := 0
	for _, t := range db.Tables() {
		if t.Level > 0 && t.Level < last {
			middle++
		}
	}
	if middle == 0 {
		return nil
	}
	start := time.Now()
	if err := db.Flatten(1); err != nil {
		return fmt.Errorf("move %d tables into the last level: %w", middle, err)
	}
	log.Info().Int("tables", middle).Dur("took", time.Since(start)).
		Msg("storage: moved the tables of the middle levels into the last level")
	return nil
}

// explain adds the likely cause to badger errors an operator will meet.
func explain(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return fmt.Errorf("%w (is another zkd using it?)", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w (check the owner and mode of the data dir)", err)
	}
	return err
}

// Dir is the data dir.
func (s *Store) Dir() string { return s.dir }

// Close stops the GC and closes the engine and badger. Badger flushes its
// memtable on the way out, so a clean restart replays no WAL.
func (s *Store) Close() error {
	select {
	case <-s.stopGC:
	default:
		close(s.stopGC)
	}
	s.gcDone.Wait()
	return s.Engine.Close()
}

// gcLoop runs badger's value-log GC: deleted snapshot chunks and purged big
// txns live in value-log files until GC rewrites what is still live there.
func (s *Store) gcLoop(every time.Duration) {
	defer s.gcDone.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			s.collectGarbage(s.stopGC)
		}
	}
}

// CollectGarbage runs the value-log GC until no file is worth rewriting (half
// of it garbage) and reports how many files it reclaimed. The GC loop calls
// it every Options.GCInterval. Badger learns what is garbage as compaction
// drops deleted keys, so files purged a moment ago may wait for a later run.
func (s *Store) CollectGarbage() int { return s.collectGarbage(nil) }

func (s *Store) collectGarbage(stop <-chan struct{}) int {
	// The GC moves live values out of a file and then deletes the file, but
	// without SyncWrites the moved copies are not synced: an open iterator
	// makes badger put the deletion off until the last iterator closes,
	// which is after the sync below.
	txn := s.db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{})
	n := s.runValueLogGC(stop)
	if n > 0 {
		// Only a run that reclaimed a file has a deletion waiting. One that
		// failed part way deleted nothing: its file stays, and the run that
		// reclaims it later syncs before the deletion.
		if err := s.kv.Commit(nil, true); err != nil {
			s.kv.logger.Error().Err(err).Msg("sync after value-log GC failed; reclaimed files stay until the next GC")
			// The iterator stays open: badger deletes nothing it moved.
			return n
		}
	}
	it.Close()
	txn.Discard()
	return n
}

// runValueLogGC runs badger's value-log GC until no file is worth
// rewriting or stop closes, and reports how many files it reclaimed.
func (s *Store) runValueLogGC(stop <-chan struct{}) int {
	n := 0
	// Each successful run reclaims one file.
	for s.db.RunValueLogGC(0.5) == nil {
		n++
		select {
		case <-stop:
			return n
		default:
		}
	}
	return n
}

// DiskUsage is the bytes of the files in the data dir (the 4lw dirs
// command's datadir_size); badger preallocates, so this exceeds Size.
func (s *Store) DiskUsage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			total += fi.Size()
		}
		return err
	})
	return total, err
}

// kv adapts badger to storage.KV.
type kv struct {
	db             *badger.DB
	logs           *logSync // nil with Options.NoSync
	valueThreshold int64
	logger         zerolog.Logger
}

var _ storage.KV = (*kv)(nil)

// Commit is one badger txn: atomic in the WAL, and durable on return
// whatever sync says (unless Options.NoSync), as it was with SyncWrites:
// syncing every commit keeps the contract's prefix promise across badger's
// switches to a new WAL file, whose pages the kernel may write back before
// the old one's.
func (k *kv) Commit(ops []storage.Op, sync bool) error {
	if len(ops) == 0 {
		if sync && k.logs != nil {
			return k.logs.sync(true)
		}
		return nil
	}
	txn := k.db.NewTransaction(true)
	defer txn.Discard()
	valueLog := false
	for _, op := range ops {
		var err error
		if op.Delete {
			err = txn.Delete(op.Key)
		} else {
			// Badger writes a value this big to the value log, not the WAL
			// (value.go: shouldWriteValueToLSM).
			valueLog = valueLog || int64(len(op.Value)) >= k.valueThreshold
			err = txn.SetEntry(badger.NewEntry(op.Key, op.Value))
		}
		if err != nil {
			return err
		}
	}
	if valueLog && k.logs != nil {
		k.logs.valueLogWritten.Store(true)
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	if k.logs == nil {
		return nil
	}
	return k.logs.sync(valueLog)
}

// MaxBatch reports badger's own txn limits less what its commit adds: it
// refuses a txn whose count or size reaches them, and Commit appends one
// entry of its own, the txn's finish marker (key "!badger!txn" with the
// commit timestamp, some 40 bytes), before that check. Without the marker's
// room a purge of a long log failed with ErrTxnTooBig on its first full batch.
func (k *kv) MaxBatch() (int, int64) {
	const marker = 1
	const markerBytes = 64
	return int(k.db.MaxBatchCount() - 1 - marker), k.db.MaxBatchSize() - 1 - markerBytes
}

func (k *kv) Get(key []byte) ([]byte, error) {
	var v []byte
	err := k.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, storage.ErrNotFound
	}
	return v, err
}

func (k *kv) Iterate(lo, hi []byte, reverse bool, fn func(storage.Item) error) error {
	return k.db.View(func(txn *badger.Txn) error {
		// Every key in [lo, hi) starts with their common prefix. Badger's
		// iterator looks ahead for the next live key before the caller
		// sees the current one, stepping over deleted keys on the way;
		// bounded by the prefix it stops at the range's end, not after
		// every deleted key beyond it (a purged log's markers).
		it := txn.NewIterator(badger.IteratorOptions{Reverse: reverse, Prefix: commonPrefix(lo, hi)})
		defer it.Close()
		if !reverse {
			for it.Seek(lo); it.Valid(); it.Next() {
				if hi != nil && bytes.Compare(it.Item().Key(), hi) >= 0 {
					return nil
				}
				if err := fn(it.Item()); err != nil {
					return err
				}
			}
			return nil
		}
		// In reverse, Seek finds the last key <= its argument; hi is
		// exclusive, so skip a key equal to it.
		if hi == nil {
			it.Rewind()
		} else {
			it.Seek(hi)
		}
		for ; it.Valid(); it.Next() {
			key := it.Item().Key()
			if hi != nil && bytes.Compare(key, hi) >= 0 {
				continue
			}
			if bytes.Compare(key, lo) < 0 {
				return nil
			}
			if err := fn(it.Item()); err != nil {
				return err
			}
		}
		return nil
	})
}

func (k *kv) Close() error {
	err := k.db.Close()
	if k.logs != nil {
		k.logs.close()
	}
	return err
}

// badgerLogger routes badger's logger to zerolog. Badger's info lines are
// start-up chatter (tables opened, files replayed), so they go to debug.
type badgerLogger struct{ l zerolog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { logf(b.l.Error(), f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { logf(b.l.Warn(), f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { logf(b.l.Debug(), f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { logf(b.l.Trace(), f, a) }

// logf formats only for an enabled level: badger logs from hot paths.
func logf(ev *zerolog.Event, f string, a []any) {
	if ev.Enabled() {
		ev.Msg(strings.TrimSpace(fmt.Sprintf(f, a...)))
	}
}

// commonPrefix is the longest prefix of both a and b; nil if b is nil (no
// upper bound).
func commonPrefix(a, b []byte) []byte {
	if b == nil {
		return nil
	}
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n:n]
}
