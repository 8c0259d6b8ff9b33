package storagetest

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/storage"
)

func saveSnapshot(t *testing.T, s storage.Storage, z int64, data []byte) storage.SnapshotMeta {
	t.Helper()
	m, err := s.SaveSnapshot(z, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SaveSnapshot(%#x): %v", z, err)
	}
	if m.Zxid != z || m.Size != int64(len(data)) || m.Checksum != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("SaveSnapshot(%#x) = %+v for %d bytes", z, m, len(data))
	}
	return m
}

func readSnapshot(s storage.Storage, z int64) ([]byte, error) {
	r, err := s.OpenSnapshot(z)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return data, err
}

func checkSnapshot(t *testing.T, s storage.Storage, z int64, want []byte) {
	t.Helper()
	got, err := readSnapshot(s, z)
	if err != nil {
		t.Fatalf("read snapshot %#x: %v", z, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("snapshot %#x: read %d bytes, want %d", z, len(got), len(want))
	}
}

// bigSnapshot is a few chunks (1 MiB each by default) with needle at the
// start of the second.
func bigSnapshot(needle []byte) []byte {
	data := make([]byte, 2<<20+1<<19+17)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	copy(data[1<<20+100:], needle)
	return data
}

func listed(t *testing.T, s storage.Storage) []storage.SnapshotMeta {
	t.Helper()
	snaps, err := s.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	return snaps
}

func testSnapshots(t *testing.T, h Harness) {
	s := h.Storage()
	if snaps := listed(t, s); len(snaps) != 0 {
		t.Fatalf("empty store lists %+v", snaps)
	}
	_, err := s.OpenSnapshot(zxid(1, 1))
	wantErr(t, "OpenSnapshot of nothing", err, storage.ErrNotFound)
	wantErr(t, "DeleteSnapshot of nothing", s.DeleteSnapshot(zxid(1, 1)), storage.ErrNotFound)

	big := bigSnapshot([]byte("needle"))
	small := []byte("a small tree")
	saveSnapshot(t, s, zxid(1, 1), nil)
	saveSnapshot(t, s, zxid(1, 5), small)
	saveSnapshot(t, s, zxid(2, 1), big)
	want := listed(t, s)
	if len(want) != 3 || want[0].Zxid != zxid(2, 1) || want[1].Zxid != zxid(1, 5) || want[2].Zxid != zxid(1, 1) {
		t.Fatalf("Snapshots = %+v, want newest first", want)
	}
	if want[0].Created.IsZero() || time.Since(want[0].Created) > time.Hour {
		t.Fatalf("Created = %v", want[0].Created)
	}
	checkSnapshot(t, s, zxid(1, 1), nil)
	checkSnapshot(t, s, zxid(1, 5), small)
	checkSnapshot(t, s, zxid(2, 1), big)
	if s.LastZxid() != zxid(2, 1) {
		t.Fatalf("LastZxid with only snapshots = %#x, want 2:1", s.LastZxid())
	}

	h.Reopen(t)
	s = h.Storage()
	got := listed(t, s)
	if len(got) != len(want) {
		t.Fatalf("after reopen: %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i].Zxid != want[i].Zxid || got[i].Size != want[i].Size || got[i].Checksum != want[i].Checksum || !got[i].Created.Equal(want[i].Created) {
			t.Fatalf("after reopen: snapshot %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	checkSnapshot(t, s, zxid(2, 1), big)
	if r := s.Recovery(); !r.Clean() || r.Snapshots != 3 {
		t.Fatalf("Recovery = %+v", r)
	}

	if err := s.DeleteSnapshot(zxid(1, 5)); err != nil {
		t.Fatal(err)
	}
	_, err = s.OpenSnapshot(zxid(1, 5))
	wantErr(t, "OpenSnapshot after delete", err, storage.ErrNotFound)
	h.Crash(t)
	if got := listed(t, h.Storage()); len(got) != 2 || got[0].Zxid != zxid(2, 1) || got[1].Zxid != zxid(1, 1) {
		t.Fatalf("after delete and crash: %+v", got)
	}
	checkSnapshot(t, h.Storage(), zxid(2, 1), big)
}

func testSnapshotReplace(t *testing.T, h Harness) {
	s := h.Storage()
	saveSnapshot(t, s, zxid(1, 3), bigSnapshot([]byte("first")))
	second := []byte("taken again at start-up")
	saveSnapshot(t, s, zxid(1, 3), second)
	if got := listed(t, s); len(got) != 1 || got[0].Size != int64(len(second)) {
		t.Fatalf("Snapshots after replace = %+v", got)
	}
	h.Reopen(t)
	checkSnapshot(t, h.Storage(), zxid(1, 3), second)
	if r := h.Storage().Recovery(); !r.Clean() {
		t.Fatalf("Recovery after replace = %+v", r)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("tree serialisation failed")
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func testInterruptedSnapshot(t *testing.T, h Harness) {
	s := h.Storage()
	failed := func(z int64) {
		t.Helper()
		if _, err := s.SaveSnapshot(z, &failingReader{n: 1<<20 + 1<<19}); err == nil {
			t.Fatal("SaveSnapshot of a failing reader succeeded")
		}
		_, err := s.OpenSnapshot(z)
		wantErr(t, "OpenSnapshot of an interrupted save", err, storage.ErrNotFound)
	}
	retried, abandoned := zxid(1, 7), zxid(1, 9)
	failed(retried)
	if got := listed(t, s); len(got) != 0 {
		t.Fatalf("interrupted snapshot listed: %+v", got)
	}
	// A retry at once, smaller than the failed save: the leftover chunks
	// must not make the next Open take it for a corrupt snapshot.
	saveSnapshot(t, s, retried, []byte("retry"))
	// A failed save nobody retries is still there at the next Open, which
	// removes and reports it.
	failed(abandoned)
	h.Reopen(t)
	checkSnapshot(t, h.Storage(), retried, []byte("retry"))
	r := h.Storage().Recovery()
	if len(r.IncompleteSnapshots) != 1 || r.IncompleteSnapshots[0] != abandoned || len(r.CorruptSnapshots) != 0 {
		t.Fatalf("Recovery = %+v, want the interrupted save at %#x reported", r, abandoned)
	}
	if got := listed(t, h.Storage()); len(got) != 1 || got[0].Zxid != retried {
		t.Fatalf("after reopen: %+v, want only the retried snapshot", got)
	}
	saveSnapshot(t, h.Storage(), abandoned, []byte("second try"))
	h.Reopen(t)
	if r := h.Storage().Recovery(); !r.Clean() {
		t.Fatalf("Recovery after the retry = %+v", r)
	}
	checkSnapshot(t, h.Storage(), abandoned, []byte("second try"))
}

// testCorruptSnapshot: a damaged chunk is caught by the checksum when read,
// and the caller falls back to the older snapshot plus the log.
func testCorruptSnapshot(t *testing.T, h Harness) {
	c, ok := h.(Corrupter)
	if !ok {
		t.Skip("harness cannot damage stored bytes")
	}
	s := h.Storage()
	all := entries(seq(1, 10)...)
	mustAppend(t, s, all, nil, true)
	older := []byte("state at 1:4")
	saveSnapshot(t, s, zxid(1, 4), older)
	needle := []byte("needle-in-the-second-chunk-of-1:8")
	saveSnapshot(t, s, zxid(1, 8), bigSnapshot(needle))
	if err := s.PurgeBefore(zxid(1, 5)); err != nil {
		t.Fatal(err)
	}

	if !c.Corrupt(t, needle) {
		t.Fatal("needle not found in the stored snapshot")
	}
	s = h.Storage()
	r, err := s.OpenSnapshot(zxid(1, 8))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	wantErr(t, "reading the damaged snapshot", err, storage.ErrCorruptSnapshot)
	wantErr(t, "closing the damaged snapshot", r.Close(), storage.ErrCorruptSnapshot)

	// The restore a zkd shell does: newest snapshot that reads, then the
	// log after it.
	var restored int64
	var data []byte
	for _, m := range listed(t, s) {
		if data, err = readSnapshot(s, m.Zxid); err == nil {
			restored = m.Zxid
			break
		}
		wantErr(t, "fallback", err, storage.ErrCorruptSnapshot)
	}
	if restored != zxid(1, 4) || !bytes.Equal(data, older) {
		t.Fatalf("fell back to %#x %q, want 1:4", restored, data)
	}
	var replay []int64
	if err := s.Entries(restored+1, s.LastZxid(), func(e storage.Entry) error { replay = append(replay, e.Zxid); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(replay) != 6 || replay[0] != zxid(1, 5) || replay[5] != zxid(1, 10) {
		t.Fatalf("replay after the fallback = %#x", replay)
	}
	if err := s.DeleteSnapshot(zxid(1, 8)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, all[4:])
}
