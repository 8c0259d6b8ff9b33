package storage

import (
	"bytes"
	"errors"
	"fmt"
)

// Format 1 kept snapshots under s/ and the hard state at h/state, before the txns; format 2
// keeps them after (keys.go says why).
const formatVersion1 = "zkd-storage-1"

var (
	v1PrefixSnap   = []byte("s/")
	v1KeyHardState = []byte("h/state")
)

// upgradeFormat1 moves a format-1 store's snapshots and hard state to their format-2 keys,
// then marks the store format 2. Each batch sets the new keys and deletes the old ones, in
// key order (a snapshot's chunks before its meta), so a crash part way leaves every record
// under exactly one of its keys, and the next open, still seeing format 1, moves the rest.
func (e *Engine) upgradeFormat1() (moved int, err error) {
	var keys [][]byte
	err = e.kv.Iterate(v1PrefixSnap, prefixEnd(v1PrefixSnap), false, func(it Item) error {
		keys = append(keys, bytes.Clone(it.Key()))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list format-1 snapshots: %w", err)
	}
	if _, err := e.kv.Get(v1KeyHardState); err == nil {
		keys = append(keys, v1KeyHardState)
	} else if !errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("read format-1 hard state: %w", err)
	}
	maxOps, maxBytes := e.kv.MaxBatch()
	var ops []Op
	var cost int64
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if err := e.kv.Commit(ops, false); err != nil {
			return fmt.Errorf("move format-1 records: %w", err)
		}
		moved += len(ops) / 2
		ops, cost = ops[:0], 0
		return nil
	}
	for _, k := range keys {
		v, err := e.kv.Get(k)
		if err != nil {
			return moved, fmt.Errorf("read format-1 record %q: %w", k, err)
		}
		move := []Op{{Key: format2Key(k), Value: v}, {Key: k, Delete: true}}
		c := OpCost(move[0]) + OpCost(move[1])
		if len(ops) > 0 && (len(ops)+2 > maxOps || cost+c > maxBytes) {
			if err := flush(); err != nil {
				return moved, err
			}
		}
		ops = append(ops, move...)
		cost += c
	}
	if err := flush(); err != nil {
		return moved, err
	}
	if err := e.kv.Commit([]Op{{Key: keyFormat, Value: []byte(formatVersion)}}, true); err != nil {
		return moved, fmt.Errorf("mark format 2: %w", err)
	}
	return moved, nil
}

// format2Key is where format 2 keeps a format-1 snapshot or hard-state record.
func format2Key(k []byte) []byte {
	if bytes.Equal(k, v1KeyHardState) {
		return bytes.Clone(keyHardState)
	}
	return append(bytes.Clone(prefixSnap), k[len(v1PrefixSnap):]...)
}
