// Package zabtest is a deterministic simulator for zab: a cluster of peers
// with in-memory disks that model fsync, a network of FIFO links with
// delays, loss, resets, partitions and clogs, a virtual clock, a toy
// replicated state machine, and invariant checks after every event. One
// seed drives all randomness, so a failing seed replays exactly.
package zabtest

import (
	"fmt"
	"slices"

	"github.com/zabkafka/zabkafka/zab"
)

// Disk is a peer's durable state: what survives a crash. Writes reach it
// only when the simulated shell persists a whole Ready (one fsync), so a
// crash before that drops the Ready, as storage/memstore's Crash does.
type Disk struct {
	HS       zab.HardState
	Snap     *zab.Snapshot // newest snapshot, nil if none
	Ents     []zab.Entry   // contiguous after the snapshot
	Persists int
}

var _ zab.Log = (*Disk)(nil)

// LastZxid implements zab.Log.
func (d *Disk) LastZxid() int64 {
	if n := len(d.Ents); n > 0 {
		return d.Ents[n-1].Zxid
	}
	return d.SnapshotZxid()
}

// SnapshotZxid implements zab.Log.
func (d *Disk) SnapshotZxid() int64 {
	if d.Snap == nil {
		return 0
	}
	return d.Snap.Zxid
}

// Entries implements zab.Log.
func (d *Disk) Entries(after, through int64) ([]zab.Entry, error) {
	i, _ := slices.BinarySearchFunc(d.Ents, after+1, func(e zab.Entry, z int64) int { return cmpZ(e.Zxid, z) })
	j, _ := slices.BinarySearchFunc(d.Ents, through+1, func(e zab.Entry, z int64) int { return cmpZ(e.Zxid, z) })
	if i >= j {
		return nil, nil
	}
	return slices.Clone(d.Ents[i:j]), nil
}

// Has reports whether the durable history holds zxid z with data.
func (d *Disk) Has(z int64, data string) bool {
	if d.Snap != nil && d.Snap.Zxid >= z {
		return true // snapshots are taken of applied, hence committed, state
	}
	i, ok := slices.BinarySearchFunc(d.Ents, z, func(e zab.Entry, z int64) int { return cmpZ(e.Zxid, z) })
	return ok && string(d.Ents[i].Data) == data
}

func cmpZ(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// persist applies one Ready's writes in the documented order.
func (d *Disk) persist(rd *zab.Ready) error {
	d.Persists++
	if rd.Snapshot != nil {
		s := *rd.Snapshot
		d.Snap = &s
		d.Ents = nil
	}
	if rd.Truncate != nil {
		t := *rd.Truncate
		i, _ := slices.BinarySearchFunc(d.Ents, t+1, func(e zab.Entry, z int64) int { return cmpZ(e.Zxid, z) })
		d.Ents = d.Ents[:i:i]
		if d.Snap != nil && d.Snap.Zxid > t {
			return fmt.Errorf("truncate to %s below the snapshot %s", zab.FormatZxid(t), zab.FormatZxid(d.Snap.Zxid))
		}
	}
	for _, e := range rd.Entries {
		if last := d.LastZxid(); e.Zxid <= last {
			return fmt.Errorf("append %s after %s", zab.FormatZxid(e.Zxid), zab.FormatZxid(last))
		}
		d.Ents = append(d.Ents, zab.Entry{Zxid: e.Zxid, Data: slices.Clone(e.Data)})
	}
	if rd.HardState != nil {
		hs := *rd.HardState
		if hs.AcceptedEpoch < d.HS.AcceptedEpoch || hs.CurrentEpoch < d.HS.CurrentEpoch {
			return fmt.Errorf("epochs went back: %+v -> %+v", d.HS, hs)
		}
		if hs.CurrentEpoch > hs.AcceptedEpoch {
			return fmt.Errorf("currentEpoch above acceptedEpoch: %+v", hs)
		}
		d.HS = hs
	}
	return nil
}

// compact takes a snapshot of applied state at zxid and drops the entries
// it covers (storage: SaveSnapshot then PurgeBefore(zxid+1)).
func (d *Disk) compact(zxid int64, data []byte) {
	if zxid <= d.SnapshotZxid() {
		return
	}
	d.Snap = &zab.Snapshot{Zxid: zxid, Data: data}
	i, _ := slices.BinarySearchFunc(d.Ents, zxid+1, func(e zab.Entry, z int64) int { return cmpZ(e.Zxid, z) })
	d.Ents = slices.Clone(d.Ents[i:])
}
