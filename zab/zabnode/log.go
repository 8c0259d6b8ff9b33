package zabnode

import (
	"cmp"
	"slices"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/zab"
)

// storageLog is the read-only view of a storage.Storage that a zab.Peer
// reads its durable history through (zab.Log). It keeps the entries the
// node appended most recently in memory: the peer reads each txn back from
// the log when it commits it, moments after persisting it, and reading the
// storage for that costs an iterator per Ready (about 6% of a member's CPU
// under a write load). The node goroutine alone uses it.
type storageLog struct {
	st storage.Storage
	// tail holds every durable entry with zxid >= tail[0].Zxid, in order,
	// exactly as in st: persist mirrors each write into it.
	tail      []zab.Entry
	tailBytes int
	maxTail   int // entries
	maxBytes  int // data bytes
}

// The tail keeps at most this many entries and data bytes; older ones are
// read from the storage.
const (
	maxTailEntries = 8192
	maxTailBytes   = 16 << 20
)

func newStorageLog(st storage.Storage) *storageLog {
	return &storageLog{st: st, maxTail: maxTailEntries, maxBytes: maxTailBytes}
}

func (l *storageLog) LastZxid() int64 { return l.st.LastZxid() }

func (l *storageLog) SnapshotZxid() int64 {
	snaps, err := l.st.Snapshots()
	if err != nil || len(snaps) == 0 {
		return 0
	}
	return snaps[0].Zxid // newest first
}

// Entries serves (after, through] from the tail when the tail covers all of
// it: no durable entry above after can be older than the tail's first.
func (l *storageLog) Entries(after, through int64) ([]zab.Entry, error) {
	if len(l.tail) > 0 && after >= l.tail[0].Zxid-1 {
		i := l.index(after)
		j := max(i, l.index(through))         // an empty range when through <= after
		return slices.Clone(l.tail[i:j]), nil // a copy: the peer appends to what it gets
	}
	var out []zab.Entry
	err := l.st.Entries(after+1, through, func(e storage.Entry) error {
		out = append(out, zab.Entry{Zxid: e.Zxid, Data: e.Data})
		return nil
	})
	return out, err
}

// index is the position of the first tail entry with zxid > z.
func (l *storageLog) index(z int64) int {
	i, _ := slices.BinarySearchFunc(l.tail, z+1, func(e zab.Entry, t int64) int { return cmp.Compare(e.Zxid, t) })
	return i
}

// resetTail forgets the tail (a snapshot replaced the history).
func (l *storageLog) resetTail() { l.tail, l.tailBytes = nil, 0 }

// truncateTail mirrors TruncateAfter(z).
func (l *storageLog) truncateTail(z int64) {
	i := l.index(z)
	for _, e := range l.tail[i:] {
		l.tailBytes -= len(e.Data)
	}
	clear(l.tail[i:])
	l.tail = l.tail[:i]
}

// appended mirrors a successful Append of es (zxids above every durable
// one), then drops the oldest entries beyond the bounds.
func (l *storageLog) appended(es []zab.Entry) {
	for _, e := range es {
		l.tail = append(l.tail, e)
		l.tailBytes += len(e.Data)
	}
	drop := 0
	for drop < len(l.tail) && (len(l.tail)-drop > l.maxTail || l.tailBytes > l.maxBytes) {
		l.tailBytes -= len(l.tail[drop].Data)
		drop++
	}
	if drop > 0 {
		// Reslicing keeps this O(dropped); the next append that outgrows
		// the array copies only the kept entries into a new one. Zeroing
		// the dropped ones lets their data go now.
		clear(l.tail[:drop])
		l.tail = l.tail[drop:]
	}
}

func toStorageEntries(es []zab.Entry) []storage.Entry {
	out := make([]storage.Entry, len(es))
	for i, e := range es {
		out[i] = storage.Entry{Zxid: e.Zxid, Data: e.Data}
	}
	return out
}
