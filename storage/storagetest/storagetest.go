// Package storagetest is the contract suite every storage.Storage must pass.
// A store package runs it from its own tests:
//
//	func TestContract(t *testing.T) { storagetest.Run(t, newHarness) }
//
// Crash cases are written for the weakest promise ("unsynced writes may
// vanish, never half of a batch") so they hold for a store that loses
// everything unsynced (memstore) and for one that syncs every commit
// (badgerstore). Cases that need a fault a harness cannot inject are
// skipped with the reason.
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
)

// ServerID is the id Run expects a harness to open its store with.
const ServerID = 1

// Harness owns one store for one test case and plays its restarts. The
// open function given to Run returns a fresh, empty one, and cleans up
// with t.Cleanup.
type Harness interface {
	// Storage is the store currently open.
	Storage() storage.Storage
	// Reopen closes the store (a clean shutdown) and opens its data again.
	Reopen(t *testing.T)
	// Crash stops the store without Close, as kill -9 or a power cut would,
	// and opens its data again.
	Crash(t *testing.T)
	// OpenAs closes the store and opens its data as serverID, returning
	// Open's error; on success that store becomes the current one.
	OpenAs(t *testing.T, serverID int64) error
}

// TornCrasher is a harness that can crash with the last write torn: the
// first write that was not durable reaches the disk in part.
type TornCrasher interface {
	CrashTorn(t *testing.T)
}

// Corrupter is a harness that can damage stored bytes: it closes the
// store, flips a bit inside every stored copy of needle, and reopens. It
// reports whether needle was found.
type Corrupter interface {
	Corrupt(t *testing.T, needle []byte) bool
}

// Run runs every contract case, each on a fresh harness.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AppendReadBack", testAppendReadBack},
		{"HardStatePersists", testHardStatePersists},
		{"OutOfOrderRejected", testOutOfOrder},
		{"AppendAsync", testAppendAsync},
		{"ConcurrentAppends", testConcurrentAppends},
		{"LargeAppendSplit", testLargeAppend},
		{"SyncedSurvivesCrash", testSyncedSurvivesCrash},
		{"EmptySyncAppend", testEmptySyncAppend},
		{"TruncateAfter", testTruncateAfter},
		{"PurgeBefore", testPurgeBefore},
		{"Snapshots", testSnapshots},
		{"SnapshotReplace", testSnapshotReplace},
		{"InterruptedSnapshot", testInterruptedSnapshot},
		{"CorruptSnapshot", testCorruptSnapshot},
		{"TornTail", testTornTail},
		{"CorruptLogTail", testCorruptLogTail},
		{"CorruptCoveredEntry", testCorruptCoveredEntry},
		{"WrongServer", testWrongServer},
		{"Closed", testClosed},
		{"Size", testSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// zxid builds epoch<<32 | counter.
func zxid(epoch, counter uint32) int64 { return int64(epoch)<<32 | int64(counter) }

// payload is recognisable txn data for zxid, padded to n bytes.
func payload(z int64, n int) []byte {
	b := fmt.Appendf(nil, "txn-%016x;", z)
	for len(b) < n {
		b = append(b, byte('a'+len(b)%26))
	}
	return b
}

func entries(zxids ...int64) []storage.Entry {
	out := make([]storage.Entry, len(zxids))
	for i, z := range zxids {
		out[i] = storage.Entry{Zxid: z, Data: payload(z, 40)}
	}
	return out
}

// seq returns n zxids of epoch from counter 1.
func seq(epoch uint32, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = zxid(epoch, uint32(i+1))
	}
	return out
}

func mustAppend(t *testing.T, s storage.Storage, es []storage.Entry, hs *storage.HardState, sync bool) {
	t.Helper()
	if err := s.Append(es, hs, sync); err != nil {
		t.Fatalf("Append(%d entries): %v", len(es), err)
	}
}

// readAll returns every entry in the log.
func readAll(t *testing.T, s storage.Storage) []storage.Entry {
	t.Helper()
	var out []storage.Entry
	if err := s.Entries(0, 1<<63-1, func(e storage.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return out
}

// checkLog fails unless the log holds exactly want, in order, with the
// bounds to match.
func checkLog(t *testing.T, s storage.Storage, want []storage.Entry) {
	t.Helper()
	got := readAll(t, s)
	if len(got) != len(want) {
		t.Fatalf("log has %d entries %s, want %d %s", len(got), zxids(got), len(want), zxids(want))
	}
	for i := range got {
		if got[i].Zxid != want[i].Zxid || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("entry %d: got %#x %q, want %#x %q", i, got[i].Zxid, got[i].Data, want[i].Zxid, want[i].Data)
		}
	}
	var first, last int64
	if len(want) > 0 {
		first, last = want[0].Zxid, want[len(want)-1].Zxid
	}
	if s.FirstZxid() != first {
		t.Fatalf("FirstZxid = %#x, want %#x", s.FirstZxid(), first)
	}
	if newest := newestSnapshot(t, s); s.LastZxid() != max(last, newest) {
		t.Fatalf("LastZxid = %#x, want %#x", s.LastZxid(), max(last, newest))
	}
}

func newestSnapshot(t *testing.T, s storage.Storage) int64 {
	t.Helper()
	snaps, err := s.Snapshots()
	if err != nil {
		t.Fatalf("Snapshots: %v", err)
	}
	if len(snaps) == 0 {
		return 0
	}
	return snaps[0].Zxid
}

func zxids(es []storage.Entry) string {
	var b []byte
	for i, e := range es {
		if i == 8 && len(es) > 10 {
			b = fmt.Appendf(b, " ... %#x", es[len(es)-1].Zxid)
			break
		}
		b = fmt.Appendf(b, " %#x", e.Zxid)
	}
	return "[" + string(bytes.TrimSpace(b)) + "]"
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}
