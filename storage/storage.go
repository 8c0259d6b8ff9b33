// Package storage is zkd's durable state: the txn log ordered by zxid, the
// hard state ZAB must not forget (acceptedEpoch, currentEpoch), and snapshots
// of the tree.
//
// The Storage interface is the contract; Engine implements it once on top of
// a small ordered key-value store (KV). badgerstore puts that KV on
// badger/v4, memstore keeps it in memory and models crashes: writes that
// were never synced are lost. One contract suite (storagetest) runs against
// both, so the code that runs in production is the code the crash tests
// exercise.
//
// Who calls it: today the zkd shell (restore at start-up, append every
// committed txn, snapshot every snapCount txns, purge); later the ZAB node
// (zab/zabnode), which persists each Ready before it sends or applies
// anything (DESIGN.md 2.2): ACKEPOCH only after acceptedEpoch is durable,
// the NEWLEADER ACK only after the synced history and currentEpoch are
// durable, a proposal ACK only after its txn is durable. Append with
// sync=true is the single primitive behind all three.
package storage

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// HardState is what a ZAB peer must remember across restarts besides its
// history, as ZooKeeper's acceptedEpoch and currentEpoch files do (Zab
// paper, phase 1: a peer never acknowledges a new epoch lower than one it
// accepted). A zxid is epoch<<32 | counter.
type HardState struct {
	AcceptedEpoch uint32
	CurrentEpoch  uint32
}

// Entry is one txn of the log. Data is the encoded txn; storage never looks
// inside it.
type Entry struct {
	Zxid int64
	Data []byte
}

// SnapshotMeta describes a stored snapshot of the tree taken at Zxid.
type SnapshotMeta struct {
	Zxid     int64
	Size     int64     // bytes of snapshot data
	Checksum uint32    // CRC-32C (Castagnoli) of the data
	Created  time.Time // when SaveSnapshot finished; informational only
}

// RecoveryReport says what Open found and repaired. A clean start has no
// dropped entries and no corrupt or incomplete snapshots.
type RecoveryReport struct {
	Entries   int64 // log entries kept
	FirstZxid int64 // first kept entry, 0 when the log is empty
	LastZxid  int64 // last kept entry, 0 when the log is empty

	// The log after the newest snapshot is cut at the first entry that
	// fails its checksum (a torn or corrupt tail): that entry and every
	// later one are deleted, because a state machine can only replay a
	// gap-free prefix. ZooKeeper's FileTxnLog stops at the first bad record
	// the same way. Entries the newest snapshot covers are not read at
	// Open; damage among them fails Entries with ErrCorruptLog instead.
	DroppedEntries int64
	DroppedFrom    int64 // zxid of the first dropped entry
	DroppedTo      int64 // zxid of the last dropped entry
	DropReason     string

	Snapshots           int     // valid snapshots found
	CorruptSnapshots    []int64 // zxids deleted because their metadata or chunks were damaged
	IncompleteSnapshots []int64 // zxids of interrupted SaveSnapshot calls (chunks, no metadata), deleted

	// UpgradedFrom is the data format Open upgraded from ("" when the store
	// was current); UpgradeMoved records were moved to their new keys.
	UpgradedFrom string
	UpgradeMoved int
	UpgradeTook  time.Duration

	Took time.Duration
}

// Clean reports whether Open repaired nothing.
func (r RecoveryReport) Clean() bool {
	return r.DroppedEntries == 0 && len(r.CorruptSnapshots) == 0 && len(r.IncompleteSnapshots) == 0
}

// String is the report for the start-up log, zxids in hex.
func (r RecoveryReport) String() string {
	var b []byte
	if r.UpgradedFrom != "" {
		b = fmt.Appendf(b, "upgraded from data format %s (moved %d snapshot and hard-state records in %v); ", r.UpgradedFrom, r.UpgradeMoved, r.UpgradeTook.Round(time.Millisecond))
	}
	b = fmt.Appendf(b, "kept %d entries", r.Entries)
	if r.Entries > 0 {
		b = fmt.Appendf(b, " %#x..%#x", r.FirstZxid, r.LastZxid)
	}
	if r.DroppedEntries > 0 {
		b = fmt.Appendf(b, "; dropped %d entries %#x..%#x: %s", r.DroppedEntries, r.DroppedFrom, r.DroppedTo, r.DropReason)
	}
	b = fmt.Appendf(b, "; %d snapshots", r.Snapshots)
	for _, z := range r.CorruptSnapshots {
		b = fmt.Appendf(b, "; deleted corrupt snapshot %#x", z)
	}
	for _, z := range r.IncompleteSnapshots {
		b = fmt.Appendf(b, "; deleted incomplete snapshot %#x", z)
	}
	return string(fmt.Appendf(b, "; took %v", r.Took.Round(time.Microsecond)))
}

// CommitStats describes the group committer, for mntr. A sync is one write
// of a group of Append calls that included at least one sync=true call;
// its latency covers the write and the fsync, which is what an ACK waits for.
type CommitStats struct {
	Syncs         int64 // groups made durable
	SyncedEntries int64 // entries in those groups; SyncedEntries/Syncs is the batching factor
	MaxEntries    int64 // largest group
	SyncMin       time.Duration
	SyncAvg       time.Duration
	SyncMax       time.Duration
	SyncP99       time.Duration // over the last 1024 syncs
}

// Storage is the durable state of one server. All methods are safe for
// concurrent use.
type Storage interface {
	// ServerID is the id the data belongs to; Open refuses another one
	// (ErrWrongServer) so two servers never share, or swap, a data dir.
	ServerID() int64

	// HardState returns the last hard state written with Append.
	HardState() (HardState, error)

	// Append writes entries (zxids strictly increasing, the first greater
	// than LastZxid, counting appends still queued) and, if hs is not nil,
	// the hard state. With sync it returns only once all of it is durable;
	// without, the write is visible to readers at once and may be lost by a
	// crash. Concurrent calls are grouped: one write and one sync for many
	// callers. A call whose entries fit in one store batch (badger: about
	// 15% of a memtable) is all-or-nothing after a crash; a larger one is
	// split and a crash may keep a prefix of its entries, never the hard
	// state without all of them. Append with no entries and no hard state
	// but sync=true makes every earlier write durable. Out-of-order zxids
	// fail with ErrOutOfOrder and write nothing. Append does not keep
	// entries after it returns.
	Append(entries []Entry, hs *HardState, sync bool) error

	// AppendAsync queues the same write and returns at once, so one
	// goroutine can keep proposing while the disk syncs (as ZooKeeper's
	// SyncRequestProcessor lets requests pile up during a flush). Order is
	// the order of AppendAsync calls. The caller must not modify entries
	// until the Future is done.
	AppendAsync(entries []Entry, hs *HardState, sync bool) *Future

	// LastZxid is the newest zxid the storage holds: the last log entry,
	// or the newest snapshot's zxid if that is later (after a SNAP sync the
	// log starts empty), or 0. Election votes and ACKEPOCH report it.
	LastZxid() int64

	// FirstZxid is the oldest log entry, 0 when the log is empty. A leader
	// can send a DIFF to a follower only from FirstZxid on.
	FirstZxid() int64

	// Entries calls fn for every entry with from <= zxid <= to, in order,
	// from one consistent view. Zxids are not contiguous (a new epoch
	// restarts the counter), so it reports no gaps; compare from with
	// FirstZxid. An entry failing its checksum stops it with ErrCorruptLog.
	// fn may keep Entry.Data.
	Entries(from, to int64, fn func(Entry) error) error

	// TruncateAfter drops entries with zxid > zxid (ZAB's TRUNC: a follower
	// ahead of the new leader discards what the leader never committed) and
	// snapshots taken after zxid, whose state included those txns. It waits
	// for queued appends, deletes newest first so a crash half-way leaves
	// a prefix, and is durable on return.
	TruncateAfter(zxid int64) error

	// PurgeBefore drops entries with zxid < zxid, oldest first. They must
	// be covered by a snapshot (newest snapshot >= zxid-1), else it fails
	// with ErrNoSnapshot: history nobody can restore is never deleted. To
	// fall back from a corrupt snapshot to an older one plus the log, purge
	// only up to the oldest snapshot you keep, as ZooKeeper's PurgeTxnLog
	// does with snapRetainCount.
	PurgeBefore(zxid int64) error

	// SaveSnapshot streams r into the store in chunks and returns once the
	// snapshot is durable. Until then it is invisible; an interrupted save
	// is removed by the next Open. A snapshot at the same zxid is replaced.
	SaveSnapshot(zxid int64, r io.Reader) (SnapshotMeta, error)

	// Snapshots lists the stored snapshots, newest first.
	Snapshots() ([]SnapshotMeta, error)

	// OpenSnapshot reads a snapshot. The checksum is verified at EOF: Read
	// (and then Close) return an error wrapping ErrCorruptSnapshot when the
	// data does not match, so the caller falls back to an older snapshot.
	// ErrNotFound when there is no snapshot at zxid.
	OpenSnapshot(zxid int64) (io.ReadCloser, error)

	// DeleteSnapshot removes a snapshot (retention, or a corrupt one).
	DeleteSnapshot(zxid int64) error

	// Recovery reports what Open found and repaired, for the start-up log.
	Recovery() RecoveryReport

	// Size is the bytes of log records and snapshot data stored (for the
	// dirs and mntr 4lw). Logical sizes: the store's files are larger.
	Size() (logBytes, snapshotBytes int64)

	// CommitStats describes group commit and fsync latency (mntr).
	CommitStats() CommitStats

	// Close waits for queued appends, then closes. Later calls fail with
	// ErrClosed.
	Close() error
}

// Sentinel errors; test with errors.Is.
var (
	ErrNotFound        = errors.New("storage: not found")
	ErrCorruptSnapshot = errors.New("storage: corrupt snapshot")
	ErrCorruptLog      = errors.New("storage: corrupt log entry")
	ErrWrongServer     = errors.New("storage: data dir belongs to another server")
	ErrClosed          = errors.New("storage: closed")
	ErrOutOfOrder      = errors.New("storage: zxid out of order")
	ErrNoSnapshot      = errors.New("storage: entries not covered by a snapshot")
)

// Future is the result of AppendAsync.
type Future struct {
	done chan struct{}
	err  error
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

func doneFuture(err error) *Future {
	f := newFuture()
	f.finish(err)
	return f
}

func (f *Future) finish(err error) {
	f.err = err
	close(f.done)
}

// Done is closed when the append has been written (and synced, if asked).
func (f *Future) Done() <-chan struct{} { return f.done }

// Wait blocks until Done and returns the append's error.
func (f *Future) Wait() error {
	<-f.done
	return f.err
}
