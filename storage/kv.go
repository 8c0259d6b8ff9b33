package storage

// KV is the ordered key-value store under Engine. It is deliberately small
// so that a second implementation (memstore) can model its crash behaviour
// exactly; everything zkd-specific (key layout, checksums, recovery, group
// commit) lives in Engine and is shared.
//
// Keys are compared as bytes. Implementations must be safe for concurrent
// use.
type KV interface {
	// Commit applies ops in order, atomically: after a crash either all of
	// them are there or none. With sync they are durable on return;
	// without, a crash may lose this batch and later ones, but never keeps
	// a later batch without this one (a prefix of the commit order
	// survives).
	// Commit(nil, true) syncs earlier batches. Commit must not keep ops or
	// their slices after it returns.
	Commit(ops []Op, sync bool) error

	// MaxBatch is the largest batch Commit accepts, in ops and in bytes as
	// counted by OpCost. A single op is always accepted.
	MaxBatch() (ops int, bytes int64)

	// Get returns a copy of the value, or ErrNotFound.
	Get(key []byte) ([]byte, error)

	// Iterate calls fn for each key in [lo, hi), ascending, or descending
	// when reverse, from one consistent view. A nil hi means no upper
	// bound. Item is only valid during fn.
	Iterate(lo, hi []byte, reverse bool, fn func(Item) error) error

	Close() error
}

// Op is a set or, with Delete, a delete of Key.
type Op struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// OpCost is the size Engine charges an op against MaxBatch: key, value and a
// margin for the store's own per-entry overhead (badger adds a version and
// two meta bytes).
func OpCost(op Op) int64 { return int64(len(op.Key)+len(op.Value)) + 24 }

// Item is one key during Iterate.
type Item interface {
	Key() []byte
	// ValueSize may be approximate for values the store keeps out of line
	// (badger's value log); it is used only for Size accounting.
	ValueSize() int64
	// Value calls fn with the value, valid only during fn; reading it may
	// cost I/O, so iterations that need only keys never call it.
	Value(fn func([]byte) error) error
}
