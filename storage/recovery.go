package storage

import (
	"bytes"
	"fmt"
	"slices"
)

// recoverLog finds the log's bounds and keeps the longest valid prefix of
// the entries after the newest snapshot: those a restore replays, and where
// a crash leaves a torn tail. Their checksums are verified and the log is
// cut at the first that fails.
//
// Entries the newest snapshot covers are counted from their keys, without
// reading them: a restore does not need them, and reading them would cost
// about a second per million entries at every start (BenchmarkRecoverLog).
// Cutting the log at damage there would also be wrong: it would delete the
// intact, acknowledged entries after the snapshot. Damage among them shows
// up as ErrCorruptLog from Entries should a restore ever fall back past
// the newest snapshot, and then it fails the restore rather than skipping
// txns.
func (e *Engine) recoverLog() error {
	var dropped [][]byte
	var droppedBytes int64
	covered := e.newestSnapshot()
	err := e.kv.Iterate(prefixTxn, prefixEnd(prefixTxn), false, func(it Item) error {
		if dropped != nil {
			dropped = append(dropped, bytes.Clone(it.Key()))
			droppedBytes += it.ValueSize()
			return nil
		}
		zxid, ok := parseTxnKey(it.Key())
		reason := ""
		size := 0
		if ok && zxid <= covered {
			size = int(it.ValueSize())
		} else if !ok {
			reason = fmt.Sprintf("malformed key %x", it.Key())
		} else if err := it.Value(func(v []byte) error {
			size = len(v)
			if _, ok := checkTxnRecord(zxid, v); !ok {
				reason = fmt.Sprintf("checksum mismatch at zxid %#x (%d bytes)", zxid, len(v))
			}
			return nil
		}); err != nil {
			// The store itself could not read the value: as bad as a
			// checksum failure for a replay, and as local.
			reason = fmt.Sprintf("unreadable entry at zxid %#x: %v", zxid, err)
		}
		if reason != "" {
			e.report.DropReason = reason
			e.report.DroppedFrom = zxid
			dropped = append(dropped, bytes.Clone(it.Key()))
			droppedBytes += it.ValueSize()
			return nil
		}
		if e.first == 0 {
			e.first = zxid
		}
		e.last = zxid
		e.count++
		e.logBytes += int64(size)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan log: %w", err)
	}
	e.report.Entries, e.report.FirstZxid, e.report.LastZxid = e.count, e.first, e.last
	if len(dropped) == 0 {
		return nil
	}
	e.report.DroppedEntries = int64(len(dropped))
	if z, ok := parseTxnKey(dropped[len(dropped)-1]); ok {
		e.report.DroppedTo = z
	}
	// Delete newest first, the bad entry last: a crash during the repair
	// must not leave a gap in front of entries that look valid.
	slices.Reverse(dropped)
	if err := e.deleteKeys(dropped, false); err != nil {
		return fmt.Errorf("drop corrupt log tail: %w", err)
	}
	return nil
}

// recoverSnapshots loads the metadata of every snapshot, deletes the
// remains of interrupted saves (chunks, no meta) and snapshots whose meta is
// damaged or whose chunks are missing. Chunk contents are checked when the
// snapshot is read (OpenSnapshot), not here: reading every snapshot at
// start-up would cost more than restoring one.
func (e *Engine) recoverSnapshots() error {
	type found struct {
		zxid   int64
		meta   []byte
		chunks uint32 // count of chunks 0..n-1 seen in order
		gap    bool
		keys   [][]byte
	}
	var all []*found
	err := e.kv.Iterate(prefixSnap, prefixEnd(prefixSnap), false, func(it Item) error {
		zxid, isMeta, chunk, ok := parseSnapKey(it.Key())
		if !ok {
			// A key we never write: remove it with nothing else.
			all = append(all, &found{zxid: -1, keys: [][]byte{bytes.Clone(it.Key())}})
			return nil
		}
		if len(all) == 0 || all[len(all)-1].zxid != zxid {
			all = append(all, &found{zxid: zxid})
		}
		f := all[len(all)-1]
		f.keys = append(f.keys, bytes.Clone(it.Key()))
		if isMeta {
			return it.Value(func(v []byte) error { f.meta = bytes.Clone(v); return nil })
		}
		if chunk != f.chunks {
			f.gap = true
		}
		f.chunks++
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan snapshots: %w", err)
	}
	var bad [][]byte
	for _, f := range all {
		if f.zxid < 0 {
			bad = append(bad, f.keys...)
			continue
		}
		if f.meta == nil {
			e.report.IncompleteSnapshots = append(e.report.IncompleteSnapshots, f.zxid)
			bad = append(bad, f.keys...)
			continue
		}
		m, ok := decodeSnapMeta(f.zxid, f.meta)
		if !ok || f.gap || f.chunks != m.chunks {
			e.report.CorruptSnapshots = append(e.report.CorruptSnapshots, f.zxid)
			// Meta (the last key) first, so a crash leaves an incomplete
			// snapshot, never a listed one with chunks missing.
			slices.Reverse(f.keys)
			bad = append(bad, f.keys...)
			continue
		}
		e.snaps = append(e.snaps, m)
	}
	slices.Reverse(e.snaps) // newest first
	e.report.Snapshots = len(e.snaps)
	if len(bad) > 0 {
		if err := e.deleteKeys(bad, false); err != nil {
			return fmt.Errorf("remove damaged snapshots: %w", err)
		}
	}
	return nil
}
