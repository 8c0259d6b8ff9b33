package storage

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Options tune an Engine. The zero value is ready to use.
type Options struct {
	// SnapshotChunkSize is the size of a snapshot chunk; 1 MiB by default,
	// big enough that per-key overhead vanishes, small enough that a chunk
	// is one cheap write.
	SnapshotChunkSize int
	// Now stamps SnapshotMeta.Created; time.Now by default.
	Now func() time.Time
	// SlowSync is how long a group's write and sync may take before
	// OnSlowSync hears of it (ZooKeeper's fsync.warningthresholdms); 1s by
	// default. Every write waiting for that sync waited as long, so a slow
	// disk shows in the log, not only in mntr's fsynctime.
	SlowSync time.Duration
	// OnSlowSync is called by the committer, after such a sync, with its
	// duration and the number of txns it made durable. Nil: not reported.
	OnSlowSync func(took time.Duration, entries int)
}

const defaultChunkSize = 1 << 20

const defaultSlowSync = time.Second

// Engine implements Storage on a KV. badgerstore and memstore wrap it.
type Engine struct {
	kv       KV
	serverID int64
	opts     Options
	c        *committer

	// maintMu serializes the operations that delete or add whole ranges
	// (TruncateAfter, PurgeBefore, SaveSnapshot, DeleteSnapshot), so a
	// purge never races a truncation that removes the snapshot it relies on.
	maintMu sync.Mutex
	// kvMu keeps the KV open while reads use it; Close takes it exclusively.
	kvMu sync.RWMutex

	// batch is the committer goroutine's reusable write buffer.
	batch batcher

	mu       sync.Mutex
	closed   bool
	hs       HardState
	first    int64 // first log entry, 0 when empty
	last     int64 // last log entry, 0 when empty
	count    int64
	logBytes int64
	snaps    []snapMeta // newest first
	report   RecoveryReport
}

var _ Storage = (*Engine)(nil)

// Open checks that kv holds this server's data (or nothing), recovers it
// (see RecoveryReport) and starts the group committer. On error the caller
// still owns kv and closes it.
func Open(kv KV, serverID int64, opts Options) (*Engine, error) {
	if serverID < 0 {
		return nil, fmt.Errorf("server id %d: must not be negative", serverID)
	}
	if opts.SnapshotChunkSize <= 0 {
		opts.SnapshotChunkSize = defaultChunkSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SlowSync <= 0 {
		opts.SlowSync = defaultSlowSync
	}
	start := time.Now()
	e := &Engine{kv: kv, serverID: serverID, opts: opts}
	maxOps, maxBytes := kv.MaxBatch()
	e.batch = batcher{maxOps: maxOps, maxBytes: maxBytes}
	if err := e.checkIdentity(); err != nil {
		return nil, err
	}
	if err := e.loadHardState(); err != nil {
		return nil, err
	}
	if err := e.recoverSnapshots(); err != nil {
		return nil, err
	}
	if err := e.recoverLog(); err != nil {
		return nil, err
	}
	if !e.report.Clean() {
		if err := kv.Commit(nil, true); err != nil {
			return nil, fmt.Errorf("sync recovery: %w", err)
		}
	}
	e.report.Took = time.Since(start)
	e.c = newCommitter(e.last, e.commitGroup, e.newestSnapshot, opts.SlowSync, opts.OnSlowSync)
	return e, nil
}

// checkIdentity claims an empty store for serverID, or checks the claim.
func (e *Engine) checkIdentity() error {
	format, err := e.kv.Get(keyFormat)
	switch {
	case errors.Is(err, ErrNotFound):
		empty := true
		if err := e.kv.Iterate(nil, nil, false, func(Item) error { empty = false; return errStop }); err != nil && err != errStop {
			return err
		}
		if !empty {
			return errors.New("it holds data without a format marker: not a zkd data dir")
		}
		var id [8]byte
		putInt64(id[:], e.serverID)
		return e.kv.Commit([]Op{{Key: keyFormat, Value: []byte(formatVersion)}, {Key: keyServerID, Value: id[:]}}, true)
	case err != nil:
		return fmt.Errorf("read format marker: %w", err)
	case string(format) != formatVersion && string(format) != formatVersion1:
		return fmt.Errorf("data format %q, this zkd reads %q and %q", format, formatVersion, formatVersion1)
	}
	id, err := e.kv.Get(keyServerID)
	if err != nil || len(id) != 8 {
		return fmt.Errorf("server id record missing or damaged (%v)", err)
	}
	if stored := getInt64(id); stored != e.serverID {
		return fmt.Errorf("it holds server %d's data, this is server %d: %w", stored, e.serverID, ErrWrongServer)
	}
	if string(format) == formatVersion1 {
		start := time.Now()
		moved, err := e.upgradeFormat1()
		if err != nil {
			return fmt.Errorf("upgrade from data format %q: %w", formatVersion1, err)
		}
		e.report.UpgradedFrom = formatVersion1
		e.report.UpgradeMoved = moved
		e.report.UpgradeTook = time.Since(start)
	}
	return nil
}

func (e *Engine) loadHardState() error {
	v, err := e.kv.Get(keyHardState)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read hard state: %w", err)
	}
	hs, ok := decodeHardState(v)
	if !ok {
		// Guessing epochs could let this server ACK an epoch it promised
		// to refuse; an operator must look.
		return errors.New("hard state record (acceptedEpoch, currentEpoch) is corrupt")
	}
	e.hs = hs
	return nil
}

var errStop = errors.New("stop iteration")

// ServerID implements Storage.
func (e *Engine) ServerID() int64 { return e.serverID }

// HardState implements Storage.
func (e *Engine) HardState() (HardState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return HardState{}, ErrClosed
	}
	return e.hs, nil
}

// LastZxid implements Storage.
func (e *Engine) LastZxid() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.snaps) > 0 {
		return max(e.last, e.snaps[0].Zxid)
	}
	return e.last
}

// FirstZxid implements Storage.
func (e *Engine) FirstZxid() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
}

func (e *Engine) newestSnapshot() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.snaps) > 0 {
		return e.snaps[0].Zxid
	}
	return 0
}

// Recovery implements Storage.
func (e *Engine) Recovery() RecoveryReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.report
	r.CorruptSnapshots = slices.Clone(r.CorruptSnapshots)
	r.IncompleteSnapshots = slices.Clone(r.IncompleteSnapshots)
	return r
}

// Size implements Storage.
func (e *Engine) Size() (logBytes, snapshotBytes int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.snaps {
		snapshotBytes += s.Size
	}
	return e.logBytes, snapshotBytes
}

// CommitStats implements Storage.
func (e *Engine) CommitStats() CommitStats { return e.c.metrics.stats() }

// Close implements Storage.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.closed = true
	e.mu.Unlock()
	e.c.close()
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	e.kvMu.Lock()
	defer e.kvMu.Unlock()
	return e.kv.Close()
}

// rlockKV holds the KV open for a read; the caller must runlockKV.
func (e *Engine) rlockKV() error {
	e.kvMu.RLock()
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		e.kvMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}
