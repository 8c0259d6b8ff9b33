package storage

import (
	"bytes"
	"testing"
	"time"
)

func TestKeys(t *testing.T) {
	for _, z := range []int64{1, 1<<32 | 7, 1<<63 - 1} {
		if got, ok := parseTxnKey(txnKey(z)); !ok || got != z {
			t.Errorf("parseTxnKey(txnKey(%#x)) = %#x, %v", z, got, ok)
		}
		if zz, meta, _, ok := parseSnapKey(snapMetaKey(z)); !ok || !meta || zz != z {
			t.Errorf("parseSnapKey(meta %#x) = %#x %v %v", z, zz, meta, ok)
		}
		if zz, meta, n, ok := parseSnapKey(snapChunkKey(z, 9)); !ok || meta || n != 9 || zz != z {
			t.Errorf("parseSnapKey(chunk %#x/9) = %#x %v %d %v", z, zz, meta, n, ok)
		}
	}
	// Key order is zxid order, and a snapshot's chunks sort before its meta.
	if bytes.Compare(txnKey(1<<32|0xffffffff), txnKey(2<<32|1)) >= 0 {
		t.Error("txn keys out of zxid order across epochs")
	}
	if bytes.Compare(snapChunkKey(5, 1<<31), snapMetaKey(5)) >= 0 {
		t.Error("a chunk key sorts after its meta")
	}
	for _, bad := range [][]byte{nil, []byte("t/"), []byte("t/12345678x"), txnKey(0), append(txnKey(1), 0)} {
		if _, ok := parseTxnKey(bad); ok {
			t.Errorf("parseTxnKey(%q) accepted", bad)
		}
	}
	if got := prefixEnd([]byte("t/")); string(got) != "t0" {
		t.Errorf("prefixEnd(t/) = %q", got)
	}
	if got := prefixEnd([]byte{0xff, 0xff}); got != nil {
		t.Errorf("prefixEnd(ff ff) = %q, want nil", got)
	}
}

func TestRecords(t *testing.T) {
	rec := appendTxnRecord(nil, 7, []byte("txn"))
	if data, ok := checkTxnRecord(7, rec); !ok || string(data) != "txn" {
		t.Fatalf("checkTxnRecord = %q, %v", data, ok)
	}
	if _, ok := checkTxnRecord(8, rec); ok {
		t.Fatal("a record under another zxid passed its checksum")
	}
	for i := range rec {
		if _, ok := checkTxnRecord(7, rec[:i]); ok {
			t.Fatalf("record torn at %d bytes passed", i)
		}
	}
	hs := HardState{AcceptedEpoch: 5, CurrentEpoch: 4}
	if got, ok := decodeHardState(encodeHardState(hs)); !ok || got != hs {
		t.Fatalf("hard state round trip = %+v, %v", got, ok)
	}
	m := snapMeta{SnapshotMeta: SnapshotMeta{Zxid: 9, Size: 2500, Checksum: 0xdeadbeef, Created: time.Unix(0, 12345)}, chunkSize: 1000, chunks: 3}
	got, ok := decodeSnapMeta(9, encodeSnapMeta(m))
	if !ok || got.Size != m.Size || got.Checksum != m.Checksum || got.chunks != 3 || got.chunkSize != 1000 || !got.Created.Equal(m.Created) {
		t.Fatalf("snapshot meta round trip = %+v, %v", got, ok)
	}
	m.chunks = 4 // disagrees with the size
	if _, ok := decodeSnapMeta(9, encodeSnapMeta(m)); ok {
		t.Fatal("meta with a chunk count that disagrees with its size accepted")
	}
}

// FuzzDecoders: the decoders of stored records never panic, and accept
// only what passes their checksum.
func FuzzDecoders(f *testing.F) {
	f.Add(encodeHardState(HardState{1, 1}))
	f.Add(encodeSnapMeta(snapMeta{SnapshotMeta: SnapshotMeta{Size: 10}, chunkSize: 4, chunks: 3}))
	f.Add(appendTxnRecord(nil, 1, []byte("x")))
	f.Fuzz(func(t *testing.T, v []byte) {
		if hs, ok := decodeHardState(v); ok && !bytes.Equal(encodeHardState(hs), v) {
			t.Fatalf("hard state %x decoded to %+v, which encodes differently", v, hs)
		}
		if m, ok := decodeSnapMeta(1, v); ok && (m.Size < 0 || m.chunkSize == 0) {
			t.Fatalf("meta %x decoded to %+v", v, m)
		}
		if data, ok := checkTxnRecord(1, v); ok && !bytes.Equal(appendTxnRecord(nil, 1, data), v) {
			t.Fatalf("record %x accepted but re-encodes differently", v)
		}
		parseSnapKey(v)
		parseTxnKey(v)
	})
}
