// Package memstore is Storage in memory, for tests and the simulator. It
// runs the same storage.Engine as badgerstore on a KV that models a disk
// precisely: a committed batch is visible at once but survives a crash only
// once synced, batches are atomic, and a sync covers every earlier batch
// (one ordered write-ahead log, as badger's memtable WAL is).
package memstore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/zabkafka/zabkafka/storage"
)

// Options tune a memstore.
type Options struct {
	Engine storage.Options
	// MaxBatchOps and MaxBatchBytes bound a KV batch; by default those of a
	// badgerstore with default options, so the engine splits big appends
	// the same way. Tests lower them to exercise splitting.
	MaxBatchOps   int
	MaxBatchBytes int64
}

// Default batch limits: badger allows 15% of a 16 MiB memtable.
const (
	defaultMaxOps   = 20000
	defaultMaxBytes = 16 << 20 * 15 / 100
)

// Disk is what survives a crash of a memstore: the synced state. Reopen or
// Open a Store on it to model a restart.
type Disk struct {
	mu      sync.Mutex
	gen     int  // bumped by a crash and by Close: older KV handles fail
	inUse   bool // like badger's directory lock
	durable *ordered
	live    *ordered       // durable plus pending: what reads see
	pending [][]storage.Op // committed, not yet synced, oldest first
	fail    error          // Commit fails with it while set
	held    chan struct{}  // non-nil: syncs wait until it closes (HoldSyncs)
}

// Fail makes every Commit fail with err (nil heals), as a disk that
// returns EIO would: for tests of what the engine does after a failed write
// or fsync.
func (d *Disk) Fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = err
}

// HoldSyncs makes every sync wait until ReleaseSyncs, as a slow disk's
// fsync would; writes before it stay pending (a crash loses them). For
// tests of what a caller does while its appends are not yet durable.
func (d *Disk) HoldSyncs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.held == nil {
		d.held = make(chan struct{})
	}
}

// ReleaseSyncs lets the syncs held by HoldSyncs complete.
func (d *Disk) ReleaseSyncs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.held != nil {
		close(d.held)
		d.held = nil
	}
}

// NewDisk returns an empty disk.
func NewDisk() *Disk { return &Disk{durable: newOrdered(), live: newOrdered()} }

// Store is a memstore: storage.Storage plus crash controls.
type Store struct {
	*storage.Engine
	disk     *Disk
	serverID int64
	opts     Options
}

// New opens a Store on a new, empty Disk.
func New(serverID int64, opts Options) (*Store, error) { return Open(NewDisk(), serverID, opts) }

// Open opens a Store on d, recovering whatever it holds.
func Open(d *Disk, serverID int64, opts Options) (*Store, error) {
	if opts.MaxBatchOps <= 0 {
		opts.MaxBatchOps = defaultMaxOps
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = defaultMaxBytes
	}
	d.mu.Lock()
	if d.inUse {
		d.mu.Unlock()
		return nil, errors.New("memstore: disk is in use by another open store")
	}
	d.inUse = true
	d.gen++
	kv := &kv{d: d, gen: d.gen, maxOps: opts.MaxBatchOps, maxBytes: opts.MaxBatchBytes}
	d.mu.Unlock()
	e, err := storage.Open(kv, serverID, opts.Engine)
	if err != nil {
		kv.Close()
		return nil, fmt.Errorf("memstore: %w", err)
	}
	return &Store{Engine: e, disk: d, serverID: serverID, opts: opts}, nil
}

// Disk returns the disk under s.
func (s *Store) Disk() *Disk { return s.disk }

// Reopen closes s if it is still open and opens its disk again: a restart.
func (s *Store) Reopen() (*Store, error) {
	if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
		return nil, err
	}
	return Open(s.disk, s.serverID, s.opts)
}

// Crash stops s as kill -9 or a power cut would: every write not yet synced
// is lost, in-flight appends fail. Reopen to restart.
func (s *Store) Crash() {
	s.disk.crash(false)
	_ = s.Close()
}

// CrashTorn is Crash, except that the first unsynced log entry reaches the
// disk half-written, as a torn sector would leave it; the next Open must
// detect and drop it. It tears the first unsynced entry because a torn
// write ends what reached the disk: nothing after it survives, and nothing
// before it in the same batch, since batches are atomic. It reports whether
// there was an unsynced entry to tear.
func (s *Store) CrashTorn() bool {
	torn := s.disk.crash(true)
	_ = s.Close()
	return torn
}

func (d *Disk) crash(tear bool) (torn bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tear {
	search:
		for _, batch := range d.pending {
			for _, op := range batch {
				if !op.Delete && strings.HasPrefix(string(op.Key), "t/") {
					d.durable.set(string(op.Key), op.Value[:len(op.Value)/2])
					torn = true
					break search
				}
			}
		}
	}
	d.gen++
	d.inUse = false
	d.pending = nil
	d.live = d.durable.clone()
	return torn
}

// Corrupt flips one bit in the middle of the first occurrence of needle in
// the stored values, synced or not, as bit rot would. It reports whether
// needle was found. Use it on a closed store, then Open.
func (d *Disk) Corrupt(needle []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	found := false
	for _, o := range []*ordered{d.durable, d.live} {
		for _, k := range o.find(needle) {
			v, _ := o.get(k)
			v = bytes.Clone(v)
			v[bytes.Index(v, needle)+len(needle)/2] ^= 0x10
			o.set(k, v)
			found = true
		}
	}
	return found
}

// kv is one open handle on a Disk.
type kv struct {
	d        *Disk
	gen      int
	maxOps   int
	maxBytes int64
}

var _ storage.KV = (*kv)(nil)

func (k *kv) lock() error {
	k.d.mu.Lock()
	if k.d.gen != k.gen {
		k.d.mu.Unlock()
		return storage.ErrClosed
	}
	return nil
}

func (k *kv) Commit(ops []storage.Op, sync bool) error {
	var cost int64
	for _, op := range ops {
		cost += storage.OpCost(op)
	}
	if len(ops) > 1 && (len(ops) > k.maxOps || cost > k.maxBytes) {
		return fmt.Errorf("memstore: batch of %d ops, %d bytes exceeds %d ops, %d bytes", len(ops), cost, k.maxOps, k.maxBytes)
	}
	if err := k.lock(); err != nil {
		return err
	}
	defer k.d.mu.Unlock()
	if k.d.fail != nil {
		return k.d.fail
	}
	if len(ops) > 0 {
		batch := make([]storage.Op, len(ops))
		for i, op := range ops {
			batch[i] = storage.Op{Key: bytes.Clone(op.Key), Value: bytes.Clone(op.Value), Delete: op.Delete}
			apply(k.d.live, batch[i])
		}
		k.d.pending = append(k.d.pending, batch)
	}
	for sync && k.d.held != nil {
		held := k.d.held
		k.d.mu.Unlock()
		<-held
		if err := k.lock(); err != nil {
			k.d.mu.Lock() // for the deferred Unlock
			return err
		}
	}
	if sync {
		for _, batch := range k.d.pending {
			for _, op := range batch {
				apply(k.d.durable, op)
			}
		}
		k.d.pending = nil
	}
	return nil
}

func apply(o *ordered, op storage.Op) {
	if op.Delete {
		o.del(string(op.Key))
	} else {
		o.set(string(op.Key), op.Value)
	}
}

func (k *kv) MaxBatch() (int, int64) { return k.maxOps, k.maxBytes }

func (k *kv) Get(key []byte) ([]byte, error) {
	if err := k.lock(); err != nil {
		return nil, err
	}
	defer k.d.mu.Unlock()
	v, ok := k.d.live.get(string(key))
	if !ok {
		return nil, storage.ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Iterate copies the range under the lock and calls fn without it, so fn
// may use the store (a consistent view, as a badger read txn gives).
func (k *kv) Iterate(lo, hi []byte, reverse bool, fn func(storage.Item) error) error {
	if err := k.lock(); err != nil {
		return err
	}
	keys := k.d.live.rangeKeys(string(lo), string(hi), hi == nil)
	items := make([]item, len(keys))
	for i, key := range keys {
		v, _ := k.d.live.get(key)
		items[i] = item{key: []byte(key), val: v}
	}
	k.d.mu.Unlock()
	for i := range items {
		it := &items[i]
		if reverse {
			it = &items[len(items)-1-i]
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// Close is a clean shutdown: like badger's Close, which flushes its
// memtables, it makes every committed batch durable.
func (k *kv) Close() error {
	k.d.mu.Lock()
	defer k.d.mu.Unlock()
	if k.d.gen == k.gen {
		for _, batch := range k.d.pending {
			for _, op := range batch {
				apply(k.d.durable, op)
			}
		}
		k.d.pending = nil
		k.d.gen++
		k.d.inUse = false
	}
	return nil
}

type item struct{ key, val []byte }

func (it *item) Key() []byte                       { return it.key }
func (it *item) ValueSize() int64                  { return int64(len(it.val)) }
func (it *item) Value(fn func([]byte) error) error { return fn(it.val) }
