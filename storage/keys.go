package storage

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Key layout (one keyspace per data dir):
//
//	m/format               formatVersion
//	m/serverid             8-byte big-endian server id
//	t/<zxid>               crc | txn bytes          (zxid: 8 bytes big-endian)
//	u/<zxid>/chunk/<n>     snapshot data, chunk n   (n: 4 bytes big-endian)
//	u/<zxid>/meta          crc | snapshot metadata
//	v/state                crc | acceptedEpoch | currentEpoch
//
// Big-endian zxids make key order zxid order (zxids are never negative).
// Chunks sort before meta, and meta is written last, so a snapshot whose
// meta exists has all its chunks.
//
// Snapshots and the hard state sort after every txn. In an LSM tree a table
// spans the keys between its smallest and its largest, and a compaction
// rewrites every table of the next level that overlaps it. Format 1 kept
// them before the txns (s/, h/state): each memtable that took a snapshot
// then spanned from s/ to its newest txn, overlapping every older txn, and
// the compactions it set off rewrote the whole log again and again, so a
// write cost more CPU the longer the log grew (a standalone zkd under
// 256 sessions of writes, 30 s in: 23% of its CPU in compactions). After
// the txns they overlap only the newest table, so a compaction copies the
// new txns and that one table; what is left is badger's regular L0
// compaction, once every few memtables (see badgerstore's base level).
// Purges still span old txns, but a purge is meant to rewrite those.
const (
	formatVersion = "zkd-storage-2"
	txnKeyLen     = 2 + 8
	recordHeader  = 4 // CRC-32C in front of every record value
)

var (
	keyFormat    = []byte("m/format")
	keyServerID  = []byte("m/serverid")
	keyHardState = []byte("v/state")
	prefixTxn    = []byte("t/")
	prefixSnap   = []byte("u/")
	suffixMeta   = []byte("/meta")
	suffixChunk  = []byte("/chunk/")

	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

func appendTxnKey(b []byte, zxid int64) []byte {
	b = append(b, prefixTxn...)
	return binary.BigEndian.AppendUint64(b, uint64(zxid))
}

func txnKey(zxid int64) []byte { return appendTxnKey(make([]byte, 0, txnKeyLen), zxid) }

// parseTxnKey returns the zxid of a t/ key; false for a malformed key.
func parseTxnKey(k []byte) (int64, bool) {
	if len(k) != txnKeyLen || string(k[:2]) != string(prefixTxn) {
		return 0, false
	}
	z := int64(binary.BigEndian.Uint64(k[2:]))
	return z, z > 0
}

// appendTxnRecord appends crc | data, where the CRC also covers the zxid: a
// value that turns up under the wrong key (a misdirected write) fails too.
func appendTxnRecord(b []byte, zxid int64, data []byte) []byte {
	var z [8]byte
	binary.BigEndian.PutUint64(z[:], uint64(zxid))
	crc := crc32.Update(crc32.Checksum(z[:], castagnoli), castagnoli, data)
	b = binary.BigEndian.AppendUint32(b, crc)
	return append(b, data...)
}

// checkTxnRecord returns the txn bytes of a record, or false if the record
// is torn or corrupt.
func checkTxnRecord(zxid int64, v []byte) ([]byte, bool) {
	if len(v) < recordHeader {
		return nil, false
	}
	var z [8]byte
	binary.BigEndian.PutUint64(z[:], uint64(zxid))
	data := v[recordHeader:]
	crc := crc32.Update(crc32.Checksum(z[:], castagnoli), castagnoli, data)
	return data, crc == binary.BigEndian.Uint32(v)
}

func snapPrefix(zxid int64) []byte {
	b := append([]byte(nil), prefixSnap...)
	return binary.BigEndian.AppendUint64(b, uint64(zxid))
}

func snapMetaKey(zxid int64) []byte { return append(snapPrefix(zxid), suffixMeta...) }

func snapChunkKey(zxid int64, n uint32) []byte {
	return binary.BigEndian.AppendUint32(append(snapPrefix(zxid), suffixChunk...), n)
}

// parseSnapKey splits an s/ key into its zxid and either the meta marker or
// a chunk number.
func parseSnapKey(k []byte) (zxid int64, meta bool, chunk uint32, ok bool) {
	const head = 2 + 8
	if len(k) < head || string(k[:2]) != string(prefixSnap) {
		return 0, false, 0, false
	}
	zxid = int64(binary.BigEndian.Uint64(k[2:head]))
	rest := k[head:]
	switch {
	case string(rest) == string(suffixMeta):
		return zxid, true, 0, true
	case len(rest) == len(suffixChunk)+4 && string(rest[:len(suffixChunk)]) == string(suffixChunk):
		return zxid, false, binary.BigEndian.Uint32(rest[len(suffixChunk):]), true
	}
	return 0, false, 0, false
}

// sealed values (hard state, snapshot meta) carry a CRC of their body.
func seal(body []byte) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, recordHeader+len(body)), crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

func unseal(v []byte) ([]byte, bool) {
	if len(v) < recordHeader {
		return nil, false
	}
	body := v[recordHeader:]
	return body, crc32.Checksum(body, castagnoli) == binary.BigEndian.Uint32(v)
}

func encodeHardState(hs HardState) []byte {
	var b [8]byte
	binary.BigEndian.PutUint32(b[0:], hs.AcceptedEpoch)
	binary.BigEndian.PutUint32(b[4:], hs.CurrentEpoch)
	return seal(b[:])
}

func decodeHardState(v []byte) (HardState, bool) {
	body, ok := unseal(v)
	if !ok || len(body) != 8 {
		return HardState{}, false
	}
	return HardState{
		AcceptedEpoch: binary.BigEndian.Uint32(body[0:]),
		CurrentEpoch:  binary.BigEndian.Uint32(body[4:]),
	}, true
}

// snapshot meta body: version(1) size(8) checksum(4) chunkSize(4) chunks(4) created(8, unix ns)
type snapMeta struct {
	SnapshotMeta
	chunkSize uint32
	chunks    uint32
}

const snapMetaVersion = 1

func encodeSnapMeta(m snapMeta) []byte {
	b := make([]byte, 0, 29)
	b = append(b, snapMetaVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Size))
	b = binary.BigEndian.AppendUint32(b, m.Checksum)
	b = binary.BigEndian.AppendUint32(b, m.chunkSize)
	b = binary.BigEndian.AppendUint32(b, m.chunks)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Created.UnixNano()))
	return seal(b)
}

func decodeSnapMeta(zxid int64, v []byte) (snapMeta, bool) {
	body, ok := unseal(v)
	if !ok || len(body) != 29 || body[0] != snapMetaVersion {
		return snapMeta{}, false
	}
	m := snapMeta{
		SnapshotMeta: SnapshotMeta{
			Zxid:     zxid,
			Size:     int64(binary.BigEndian.Uint64(body[1:])),
			Checksum: binary.BigEndian.Uint32(body[9:]),
		},
		chunkSize: binary.BigEndian.Uint32(body[13:]),
		chunks:    binary.BigEndian.Uint32(body[17:]),
	}
	m.Created = time.Unix(0, int64(binary.BigEndian.Uint64(body[21:])))
	// The chunk count must agree with the size, or a reader would stop
	// early or look for chunks that were never written.
	if m.Size < 0 || m.chunkSize == 0 || int64(m.chunks) != (m.Size+int64(m.chunkSize)-1)/int64(m.chunkSize) {
		return snapMeta{}, false
	}
	return m, true
}

// prefixEnd is the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func putInt64(b []byte, v int64) { binary.BigEndian.PutUint64(b, uint64(v)) }
func getInt64(b []byte) int64    { return int64(binary.BigEndian.Uint64(b)) }
