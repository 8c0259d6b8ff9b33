package zabtest

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/zabkafka/zabkafka/zab"
)

// KV is the toy replicated state machine: txns are "key=value" strings.
// Digest chains every applied txn, so two replicas with the same digest
// applied the same sequence.
type KV struct {
	Applied int64 // zxid of the last applied txn
	Count   int   // txns applied since the empty state
	Digest  uint64
	Data    map[string]string
}

func newKV() *KV { return &KV{Data: map[string]string{}} }

func chain(prev uint64, zxid int64, data []byte) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], prev)
	binary.BigEndian.PutUint64(b[8:], uint64(zxid))
	h.Write(b[:])
	h.Write(data)
	return h.Sum64()
}

// Apply applies one committed txn.
func (kv *KV) Apply(e zab.Entry) error {
	if e.Zxid <= kv.Applied {
		return fmt.Errorf("apply %s after %s", zab.FormatZxid(e.Zxid), zab.FormatZxid(kv.Applied))
	}
	k, v, _ := strings.Cut(string(e.Data), "=")
	kv.Data[k] = v
	kv.Applied = e.Zxid
	kv.Count++
	kv.Digest = chain(kv.Digest, e.Zxid, e.Data)
	return nil
}

// Snapshot encodes the state.
func (kv *KV) Snapshot() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(kv.Applied))
	b = binary.BigEndian.AppendUint64(b, uint64(kv.Count))
	b = binary.BigEndian.AppendUint64(b, kv.Digest)
	keys := make([]string, 0, len(kv.Data))
	for k := range kv.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, kv.Data[k]...)
		b = append(b, 0)
	}
	return b
}

func restoreKV(b []byte) (*KV, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("snapshot of %d bytes", len(b))
	}
	kv := newKV()
	kv.Applied = int64(binary.BigEndian.Uint64(b))
	kv.Count = int(binary.BigEndian.Uint64(b[8:]))
	kv.Digest = binary.BigEndian.Uint64(b[16:])
	for _, rec := range strings.Split(string(b[24:]), "\x00") {
		if rec == "" {
			continue
		}
		k, v, _ := strings.Cut(rec, "=")
		kv.Data[k] = v
	}
	return kv, nil
}

// StateDigest hashes the map itself (not the chain), for comparing replicas.
func (kv *KV) StateDigest() uint64 {
	h := fnv.New64a()
	h.Write(kv.Snapshot()[24:])
	return h.Sum64()
}
