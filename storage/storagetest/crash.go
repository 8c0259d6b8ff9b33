package storagetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
)

// checkPrefixAfterCrash fails unless the log is synced, or synced followed by
// all of unsynced: never a part of an unsynced batch.
func checkPrefixAfterCrash(t *testing.T, s storage.Storage, synced, unsynced []storage.Entry) []storage.Entry {
	t.Helper()
	got := readAll(t, s)
	switch len(got) {
	case len(synced):
		checkLog(t, s, synced)
	case len(synced) + len(unsynced):
		checkLog(t, s, append(synced[:len(synced):len(synced)], unsynced...))
	default:
		t.Fatalf("after crash: %d entries %s; want the %d synced, optionally followed by all %d unsynced",
			len(got), zxids(got), len(synced), len(unsynced))
	}
	return got
}

func testSyncedSurvivesCrash(t *testing.T, h Harness) {
	s := h.Storage()
	synced := entries(zxid(1, 1), zxid(1, 2), zxid(1, 3))
	hs1 := storage.HardState{AcceptedEpoch: 1, CurrentEpoch: 1}
	mustAppend(t, s, synced, &hs1, true)
	unsynced := entries(zxid(1, 4), zxid(1, 5), zxid(1, 6))
	hs2 := storage.HardState{AcceptedEpoch: 2, CurrentEpoch: 2}
	mustAppend(t, s, unsynced, &hs2, false)
	// Written means readable, before any sync.
	checkLog(t, s, append(synced[:3:3], unsynced...))

	h.Crash(t)
	s = h.Storage()
	got := checkPrefixAfterCrash(t, s, synced, unsynced)
	hs, _ := s.HardState()
	if len(got) == len(synced) && hs != hs1 || len(got) > len(synced) && hs != hs2 {
		t.Fatalf("after crash: %d entries with hard state %+v: half of a batch survived", len(got), hs)
	}
	if r := s.Recovery(); r.Entries != int64(len(got)) || r.LastZxid != got[len(got)-1].Zxid {
		t.Fatalf("Recovery = %+v, log has %d entries", r, len(got))
	}
	// The log goes on from wherever the crash left it.
	next := entries(zxid(2, 1))
	mustAppend(t, s, next, nil, true)
	h.Crash(t)
	checkLog(t, h.Storage(), append(got, next...))
}

func testEmptySyncAppend(t *testing.T, h Harness) {
	s := h.Storage()
	if err := s.Append(nil, nil, false); err != nil {
		t.Fatalf("Append of nothing: %v", err)
	}
	es := entries(seq(1, 3)...)
	mustAppend(t, s, es, nil, false)
	// Append(nil, nil, true) is a sync: it makes the writes before it durable.
	mustAppend(t, s, nil, nil, true)
	h.Crash(t)
	checkLog(t, h.Storage(), es)
}

func testTornTail(t *testing.T, h Harness) {
	c, ok := h.(TornCrasher)
	if !ok {
		t.Skip("harness cannot tear a write")
	}
	s := h.Storage()
	synced := entries(seq(1, 5)...)
	mustAppend(t, s, synced, nil, true)
	unsynced := entries(zxid(1, 6), zxid(1, 7), zxid(1, 8))
	mustAppend(t, s, unsynced, nil, false)
	c.CrashTorn(t)
	s = h.Storage()
	got := checkPrefixAfterCrash(t, s, synced, unsynced)
	r := s.Recovery()
	t.Logf("recovery after a torn tail: %v", r)
	if r.Entries != int64(len(got)) || r.LastZxid != got[len(got)-1].Zxid {
		t.Fatalf("Recovery = %+v, log has %d entries", r, len(got))
	}
	if r.DroppedEntries > 0 && r.DroppedFrom <= synced[len(synced)-1].Zxid {
		t.Fatalf("Recovery dropped synced entries: %+v", r)
	}
	mustAppend(t, s, entries(zxid(2, 1)), nil, true)
	h.Reopen(t)
	if r := h.Storage().Recovery(); !r.Clean() {
		t.Fatalf("second open still repairs: %+v", r)
	}
}

// testCorruptLogTail: a damaged entry cuts the log there; everything
// before it is kept, the damage and everything after it is dropped and
// reported.
func testCorruptLogTail(t *testing.T, h Harness) {
	c, ok := h.(Corrupter)
	if !ok {
		t.Skip("harness cannot damage stored bytes")
	}
	all := entries(seq(1, 10)...)
	mustAppend(t, h.Storage(), all, nil, true)
	needle := payload(zxid(1, 8), 40)[:21] // "txn-<zxid>;", unique to 1:8
	if !c.Corrupt(t, needle) {
		t.Fatal("needle not found in the stored log")
	}
	s := h.Storage()
	r := s.Recovery()
	t.Logf("recovery after a corrupt entry: %v", r)
	if r.DroppedEntries != 3 || r.DroppedFrom != zxid(1, 8) || r.DroppedTo != zxid(1, 10) || r.Entries != 7 || r.DropReason == "" {
		t.Fatalf("Recovery = %+v, want 1:8..1:10 dropped, 7 kept", r)
	}
	checkLog(t, s, all[:7])
	mustAppend(t, s, entries(zxid(1, 8)), nil, true)
	h.Reopen(t)
	if r := h.Storage().Recovery(); !r.Clean() {
		t.Fatalf("second open still repairs: %+v", r)
	}
	checkLog(t, h.Storage(), all[:8])
}

// testCorruptCoveredEntry: damage in an entry the newest snapshot covers
// must not cut the log (the entries after the snapshot are intact and
// acknowledged); reading across the damage fails with ErrCorruptLog.
func testCorruptCoveredEntry(t *testing.T, h Harness) {
	c, ok := h.(Corrupter)
	if !ok {
		t.Skip("harness cannot damage stored bytes")
	}
	all := entries(seq(1, 10)...)
	mustAppend(t, h.Storage(), all, nil, true)
	saveSnapshot(t, h.Storage(), zxid(1, 6), []byte("state at 1:6"))
	if !c.Corrupt(t, payload(zxid(1, 3), 40)[:21]) {
		t.Fatal("needle not found in the stored log")
	}
	s := h.Storage()
	if r := s.Recovery(); r.DroppedEntries != 0 || r.Entries != 10 || r.LastZxid != zxid(1, 10) {
		t.Fatalf("Recovery = %v, want all 10 entries kept", r)
	}
	var replay []storage.Entry // what a restore from the snapshot replays
	if err := s.Entries(zxid(1, 7), zxid(1, 10), func(e storage.Entry) error {
		replay = append(replay, e)
		return nil
	}); err != nil || len(replay) != 4 || !bytes.Equal(replay[3].Data, all[9].Data) {
		t.Fatalf("entries after the snapshot: %v, %d entries", err, len(replay))
	}
	err := s.Entries(zxid(1, 1), zxid(1, 10), func(storage.Entry) error { return nil })
	wantErr(t, "reading across the damaged entry", err, storage.ErrCorruptLog)
}

func testWrongServer(t *testing.T, h Harness) {
	mustAppend(t, h.Storage(), entries(zxid(1, 1)), nil, true)
	err := h.OpenAs(t, 3)
	wantErr(t, "open as server 3", err, storage.ErrWrongServer)
	if msg := err.Error(); !strings.Contains(msg, "server 1's data") || !strings.Contains(msg, "this is server 3") {
		t.Fatalf("error %q does not name both servers", msg)
	}
	if err := h.OpenAs(t, ServerID); err != nil {
		t.Fatalf("open as the owner again: %v", err)
	}
	checkLog(t, h.Storage(), entries(zxid(1, 1)))
}

func testClosed(t *testing.T, h Harness) {
	s := h.Storage()
	mustAppend(t, s, entries(zxid(1, 1)), nil, true)
	saveSnapshot(t, s, zxid(1, 1), []byte("tree"))
	r, err := s.OpenSnapshot(zxid(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err = r.Read(make([]byte, 10))
	wantErr(t, "reading a snapshot after Close", err, storage.ErrClosed)
	_, hsErr := s.HardState()
	_, snapsErr := s.Snapshots()
	_, openErr := s.OpenSnapshot(zxid(1, 1))
	_, saveErr := s.SaveSnapshot(zxid(1, 2), strings.NewReader("x"))
	checks := map[string]error{
		"Append":         s.Append(entries(zxid(1, 2)), nil, true),
		"AppendAsync":    s.AppendAsync(entries(zxid(1, 2)), nil, false).Wait(),
		"HardState":      hsErr,
		"Entries":        s.Entries(0, zxid(2, 0), func(storage.Entry) error { return nil }),
		"TruncateAfter":  s.TruncateAfter(0),
		"PurgeBefore":    s.PurgeBefore(zxid(1, 2)),
		"SaveSnapshot":   saveErr,
		"Snapshots":      snapsErr,
		"OpenSnapshot":   openErr,
		"DeleteSnapshot": s.DeleteSnapshot(zxid(1, 1)),
		"Close":          s.Close(),
	}
	for name, err := range checks {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
