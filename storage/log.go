package storage

import (
	"bytes"
	"fmt"
	"math"
)

// Append implements Storage.
func (e *Engine) Append(entries []Entry, hs *HardState, sync bool) error {
	return e.c.submit(entries, hs, sync).Wait()
}

// AppendAsync implements Storage.
func (e *Engine) AppendAsync(entries []Entry, hs *HardState, sync bool) *Future {
	return e.c.submit(entries, hs, sync)
}

// commitGroup is the committer's write: every request of the group in
// queue order, as few KV batches as the limits allow, one sync at the end.
// Runs on the committer goroutine only.
func (e *Engine) commitGroup(group []*request, sync bool) error {
	b := &e.batch
	b.reset()
	for _, r := range group {
		for _, en := range r.entries {
			k := len(b.arena)
			b.arena = appendTxnKey(b.arena, en.Zxid)
			v := len(b.arena)
			b.arena = appendTxnRecord(b.arena, en.Zxid, en.Data)
			b.set(b.arena[k:v:v], b.arena[v:])
		}
		if r.hs != nil {
			b.set(keyHardState, encodeHardState(*r.hs))
		}
		b.endUnit()
	}
	batches := b.batches()
	for i, ops := range batches {
		if err := e.kv.Commit(ops, sync && i == len(batches)-1); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	if len(batches) == 0 && sync {
		if err := e.kv.Commit(nil, true); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range group {
		for _, en := range r.entries {
			if e.first == 0 {
				e.first = en.Zxid
			}
			e.last = en.Zxid
			e.count++
			e.logBytes += int64(recordHeader + len(en.Data))
		}
		if r.hs != nil {
			e.hs = *r.hs
		}
	}
	return nil
}

// Entries implements Storage.
func (e *Engine) Entries(from, to int64, fn func(Entry) error) error {
	if err := e.rlockKV(); err != nil {
		return err
	}
	defer e.kvMu.RUnlock()
	from = max(from, 1)
	if from > to {
		return nil
	}
	return e.kv.Iterate(txnKey(from), txnKeyAfter(to), false, func(it Item) error {
		zxid, ok := parseTxnKey(it.Key())
		if !ok {
			return fmt.Errorf("malformed key %x: %w", it.Key(), ErrCorruptLog)
		}
		var en Entry
		err := it.Value(func(v []byte) error {
			data, ok := checkTxnRecord(zxid, v)
			if !ok {
				return fmt.Errorf("zxid %#x: %w", zxid, ErrCorruptLog)
			}
			en = Entry{Zxid: zxid, Data: bytes.Clone(data)}
			return nil
		})
		if err != nil {
			return err
		}
		return fn(en)
	})
}

// txnKeyAfter is the exclusive upper bound for entries up to zxid.
func txnKeyAfter(zxid int64) []byte {
	if zxid == math.MaxInt64 {
		return prefixEnd(prefixTxn)
	}
	return txnKey(zxid + 1)
}

// TruncateAfter implements Storage.
func (e *Engine) TruncateAfter(zxid int64) error {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	zxid = max(zxid, 0)
	return e.c.exclusively(func() (int64, error) {
		// Snapshots first: one taken after zxid holds the txns being
		// dropped, and a crash before the entries go must not leave it
		// behind to be restored.
		for _, s := range e.snapshotsAfter(zxid) {
			if err := e.deleteSnapshot(s); err != nil {
				return 0, err
			}
		}
		keys, size, err := e.txnKeys(txnKeyAfter(zxid), prefixEnd(prefixTxn), true)
		if err != nil {
			return 0, err
		}
		// Newest first: a crash half-way leaves a shorter log, never a gap.
		if err := e.deleteKeys(keys, true); err != nil {
			return 0, fmt.Errorf("truncate after %#x: %w", zxid, err)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		e.count -= int64(len(keys))
		e.logBytes -= size
		if e.first, e.last, err = e.logBounds(e.first); err != nil {
			return 0, err
		}
		return e.last, nil
	})
}

// PurgeBefore implements Storage.
func (e *Engine) PurgeBefore(zxid int64) error {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	// Start at the first entry, not at the start of the log's key range:
	// the keys of earlier purges stay in the store as deletion markers
	// until compaction drops them, and an iteration has to step over each.
	e.mu.Lock()
	first := e.first
	e.mu.Unlock()
	keys, size, err := e.txnKeys(txnKey(max(first, 1)), txnKey(max(zxid, 1)), false)
	if err != nil || len(keys) == 0 {
		return err
	}
	if newest := e.newestSnapshot(); newest == 0 || newest < zxid-1 {
		return fmt.Errorf("purge before %#x: newest snapshot is %#x: %w", zxid, newest, ErrNoSnapshot)
	}
	// Oldest first: a crash half-way leaves a suffix, still gap-free.
	// Appends may run meanwhile; they only add keys after the snapshot.
	if err := e.deleteKeys(keys, true); err != nil {
		return fmt.Errorf("purge before %#x: %w", zxid, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count -= int64(len(keys))
	e.logBytes -= size
	// Read the bounds from the KV while holding mu: the committer updates
	// the cache under mu after its KV write, so an append that lands
	// meanwhile is either seen here or fixes first/last itself.
	e.first, e.last, err = e.logBounds(zxid)
	return err
}

// logBounds reads the first and last entry zxids from the KV; from is a
// zxid no entry is below (0 if unknown), where the search for the first
// starts so that it does not step over the deletion markers of purges.
func (e *Engine) logBounds(from int64) (first, last int64, err error) {
	edge := func(reverse bool) (int64, error) {
		var z int64
		lo := prefixTxn
		if from > 0 {
			lo = txnKey(from)
		}
		err := e.kv.Iterate(lo, prefixEnd(prefixTxn), reverse, func(it Item) error {
			z, _ = parseTxnKey(it.Key())
			return errStop
		})
		if err != nil && err != errStop {
			return 0, err
		}
		return z, nil
	}
	if first, err = edge(false); err != nil || first == 0 {
		return 0, 0, err
	}
	last, err = edge(true)
	return first, last, err
}

// txnKeys lists the log keys in [lo, hi) and the bytes they hold.
func (e *Engine) txnKeys(lo, hi []byte, reverse bool) (keys [][]byte, size int64, err error) {
	err = e.kv.Iterate(lo, hi, reverse, func(it Item) error {
		keys = append(keys, bytes.Clone(it.Key()))
		size += it.ValueSize()
		return nil
	})
	return keys, size, err
}

// deleteKeys deletes keys in the given order, in as many batches as it
// takes, syncing after the last if sync.
func (e *Engine) deleteKeys(keys [][]byte, sync bool) error {
	maxOps, maxBytes := e.kv.MaxBatch()
	var ops []Op
	var cost int64
	for i, k := range keys {
		op := Op{Key: k, Delete: true}
		if len(ops) > 0 && (len(ops)+1 > maxOps || cost+OpCost(op) > maxBytes) {
			if err := e.kv.Commit(ops, false); err != nil {
				return err
			}
			ops, cost = ops[:0], 0
		}
		ops = append(ops, op)
		cost += OpCost(op)
		if i == len(keys)-1 {
			return e.kv.Commit(ops, sync)
		}
	}
	return nil
}
