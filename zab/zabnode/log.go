package zabnode

import (
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/zab"
)

// storageLog is the read-only view of a storage.Storage that a zab.Peer
// reads its durable history through (zab.Log).
type storageLog struct{ st storage.Storage }

func (l storageLog) LastZxid() int64 { return l.st.LastZxid() }

func (l storageLog) SnapshotZxid() int64 {
	snaps, err := l.st.Snapshots()
	if err != nil || len(snaps) == 0 {
		return 0
	}
	return snaps[0].Zxid // newest first
}

func (l storageLog) Entries(after, through int64) ([]zab.Entry, error) {
	var out []zab.Entry
	err := l.st.Entries(after+1, through, func(e storage.Entry) error {
		out = append(out, zab.Entry{Zxid: e.Zxid, Data: e.Data})
		return nil
	})
	return out, err
}

func toStorageEntries(es []zab.Entry) []storage.Entry {
	out := make([]storage.Entry, len(es))
	for i, e := range es {
		out[i] = storage.Entry{Zxid: e.Zxid, Data: e.Data}
	}
	return out
}
