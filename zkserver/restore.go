package zkserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/znode"
)

// restored is the state read back at start-up.
type restored struct {
	tree       *znode.Tree
	snapZxid   int64 // snapshot the tree started from, 0 for none
	replayed   int64 // log entries applied on top of it
	snapLoad   time.Duration
	replayTime time.Duration
}

// restore rebuilds the tree from storage (ZKDatabase.loadDataBase): the
// newest snapshot that reads back intact, then every later txn of the log.
// A damaged snapshot is skipped for an older one; the log then covers the
// difference, because purging keeps every txn after the oldest retained
// snapshot. A gap in the log fails the start: serving a state that skips an
// acknowledged txn is worse than not serving.
func restore(st storage.Storage, log zerolog.Logger) (*restored, error) {
	out := &restored{}
	snaps, err := st.Snapshots()
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	start := time.Now()
	for _, m := range snaps {
		t, err := loadSnapshot(st, m.Zxid)
		if err == nil {
			out.tree, out.snapZxid = t, m.Zxid
			break
		}
		if !errors.Is(err, storage.ErrCorruptSnapshot) && !errors.Is(err, znode.ErrBadSnapshot) {
			return nil, fmt.Errorf("read snapshot %#x: %w", m.Zxid, err)
		}
		// Checksums failed: the data will not get better. Delete it so
		// retention counts only usable snapshots.
		log.Error().Err(err).Str("snapshot", hex(m.Zxid)).Msg("snapshot is damaged; deleting it and falling back to an older one plus the log")
		if err := st.DeleteSnapshot(m.Zxid); err != nil {
			return nil, fmt.Errorf("delete damaged snapshot %#x: %w", m.Zxid, err)
		}
	}
	if out.tree == nil {
		out.tree = znode.New()
	}
	out.snapLoad = time.Since(start)

	start = time.Now()
	prev := out.tree.LastZxid()
	err = st.Entries(prev+1, 1<<63-1, func(e storage.Entry) error {
		if !follows(prev, e.Zxid) {
			return fmt.Errorf("the log jumps from %#x to %#x: txns in between are missing", prev, e.Zxid)
		}
		txn, err := znode.DecodeTxn(e.Data)
		if err != nil {
			return fmt.Errorf("txn %#x: %w", e.Zxid, err)
		}
		if txn.Header.Zxid != e.Zxid {
			return fmt.Errorf("txn stored under %#x says it is %#x", e.Zxid, txn.Header.Zxid)
		}
		out.tree.Apply(txn)
		prev = e.Zxid
		out.replayed++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay the txn log: %w", err)
	}
	out.replayTime = time.Since(start)
	return out, nil
}

func loadSnapshot(st storage.Storage, zxid int64) (*znode.Tree, error) {
	rc, err := st.OpenSnapshot(zxid)
	if err != nil {
		return nil, err
	}
	t, err := znode.ReadSnapshot(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err == nil && t.LastZxid() != zxid {
		err = fmt.Errorf("%w: stored as %#x but holds %#x", znode.ErrBadSnapshot, zxid, t.LastZxid())
	}
	return t, err
}

// follows reports whether zxid may come right after prev in a log: the next
// counter of the same epoch, or any zxid of a later epoch (a new leader
// starts its counter again).
func follows(prev, zxid int64) bool {
	if zxid>>32 == prev>>32 {
		return zxid == prev+1
	}
	return zxid > prev
}
