package storagetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
)

func testAppendReadBack(t *testing.T, h Harness) {
	s := h.Storage()
	checkLog(t, s, nil)
	if s.ServerID() != ServerID {
		t.Fatalf("ServerID = %d, want %d", s.ServerID(), ServerID)
	}
	// Epoch 1, then epoch 2 restarting the counter: zxids are ordered but
	// not contiguous.
	a := entries(seq(1, 5)...)
	b := entries(zxid(2, 1), zxid(2, 2))
	mustAppend(t, s, a, nil, true)
	mustAppend(t, s, b, nil, true)

	// Append must not keep the caller's slices.
	b[0].Data[0] = 'X'
	want := entries(append(seq(1, 5), zxid(2, 1), zxid(2, 2))...)
	checkLog(t, s, want)

	var got []int64
	err := s.Entries(zxid(1, 3), zxid(2, 1), func(e storage.Entry) error { got = append(got, e.Zxid); return nil })
	if err != nil || len(got) != 4 || got[0] != zxid(1, 3) || got[3] != zxid(2, 1) {
		t.Fatalf("Entries(1:3, 2:1) = %#x, %v", got, err)
	}
	// from and to need not be zxids in the log.
	got = nil
	if err := s.Entries(zxid(1, 6), zxid(2, 0), func(e storage.Entry) error { got = append(got, e.Zxid); return nil }); err != nil || len(got) != 0 {
		t.Fatalf("Entries between epochs = %#x, %v", got, err)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Entries(0, zxid(9, 0), func(storage.Entry) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("Entries with fn error: %v after %d calls", err, n)
	}

	h.Reopen(t)
	checkLog(t, h.Storage(), want)
	if r := h.Storage().Recovery(); !r.Clean() || r.Entries != int64(len(want)) || r.LastZxid != zxid(2, 2) {
		t.Fatalf("Recovery after clean reopen = %+v", r)
	}
}

func testHardStatePersists(t *testing.T, h Harness) {
	s := h.Storage()
	if hs, err := s.HardState(); err != nil || hs != (storage.HardState{}) {
		t.Fatalf("HardState of an empty store = %+v, %v", hs, err)
	}
	// ACKEPOCH: acceptedEpoch alone, durable.
	mustAppend(t, s, nil, &storage.HardState{AcceptedEpoch: 3, CurrentEpoch: 2}, true)
	h.Crash(t)
	if hs, _ := h.Storage().HardState(); hs != (storage.HardState{AcceptedEpoch: 3, CurrentEpoch: 2}) {
		t.Fatalf("after crash: HardState = %+v", hs)
	}
	// NEWLEADER: history and currentEpoch together.
	want := storage.HardState{AcceptedEpoch: 3, CurrentEpoch: 3}
	mustAppend(t, h.Storage(), entries(zxid(3, 1)), &want, true)
	h.Reopen(t)
	if hs, _ := h.Storage().HardState(); hs != want {
		t.Fatalf("after reopen: HardState = %+v, want %+v", hs, want)
	}
	checkLog(t, h.Storage(), entries(zxid(3, 1)))
}

func testOutOfOrder(t *testing.T, h Harness) {
	s := h.Storage()
	mustAppend(t, s, entries(zxid(1, 1), zxid(1, 2)), nil, true)
	bad := map[string][]storage.Entry{
		"equal to last":  entries(zxid(1, 2)),
		"before last":    entries(zxid(1, 1)),
		"not increasing": entries(zxid(1, 4), zxid(1, 3)),
		"duplicate":      entries(zxid(1, 5), zxid(1, 5)),
		"zero":           entries(0),
		"negative":       entries(-1),
	}
	for name, es := range bad {
		hs := &storage.HardState{AcceptedEpoch: 9}
		wantErr(t, name, s.Append(es, hs, true), storage.ErrOutOfOrder)
	}
	// Nothing of a rejected call is written, the hard state included.
	if hs, _ := s.HardState(); hs != (storage.HardState{}) {
		t.Fatalf("rejected append wrote hard state %+v", hs)
	}
	mustAppend(t, s, entries(zxid(1, 3)), nil, true)
	checkLog(t, s, entries(zxid(1, 1), zxid(1, 2), zxid(1, 3)))
}

func testAppendAsync(t *testing.T, h Harness) {
	s := h.Storage()
	var futs []*storage.Future
	for _, z := range seq(1, 50) {
		futs = append(futs, s.AppendAsync(entries(z), nil, true))
	}
	// Order is checked when queued, so a stale zxid fails at once.
	if err := s.AppendAsync(entries(zxid(1, 10)), nil, true).Wait(); !errors.Is(err, storage.ErrOutOfOrder) {
		t.Fatalf("stale AppendAsync: %v", err)
	}
	for i, f := range futs {
		if err := f.Wait(); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
		select {
		case <-f.Done():
		default:
			t.Fatal("Done not closed after Wait")
		}
	}
	h.Crash(t)
	checkLog(t, h.Storage(), entries(seq(1, 50)...))
}

// testConcurrentAppends: 16 goroutines, each with its own zxids taken in
// queue order (a lock around AppendAsync, as a multi-goroutine prepare
// stage would hold), all waiting for durability at once.
func testConcurrentAppends(t *testing.T, h Harness) {
	const writers, each = 16, 40
	s := h.Storage()
	var mu sync.Mutex
	var next uint32
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				mu.Lock()
				next++
				f := s.AppendAsync(entries(zxid(1, next)), nil, true)
				mu.Unlock()
				if err := f.Wait(); err != nil {
					errs <- err
				}
			}
		})
	}
	// Plain Append from many goroutines without a common lock: some
	// calls lose the race and must be refused, never written out of order.
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.CommitStats()
	if st.SyncedEntries != writers*each || st.Syncs < 1 || st.Syncs > writers*each {
		t.Fatalf("CommitStats = %+v", st)
	}
	if st.SyncMin > st.SyncAvg || st.SyncAvg > st.SyncMax || st.SyncP99 > st.SyncMax {
		t.Fatalf("CommitStats latencies out of order: %+v", st)
	}
	t.Logf("%d entries in %d syncs (max %d per sync), sync avg %v p99 %v",
		st.SyncedEntries, st.Syncs, st.MaxEntries, st.SyncAvg, st.SyncP99)

	var racers sync.WaitGroup
	var rejected, accepted sync.Map
	for i := range writers {
		racers.Go(func() {
			z := zxid(2, uint32(i+1))
			if err := s.Append(entries(z), nil, true); err != nil {
				if !errors.Is(err, storage.ErrOutOfOrder) {
					t.Errorf("racing append: %v", err)
				}
				rejected.Store(z, true)
			} else {
				accepted.Store(z, true)
			}
		})
	}
	racers.Wait()

	h.Crash(t)
	got := readAll(t, h.Storage())
	if len(got) < writers*each {
		t.Fatalf("after crash: %d entries, want at least %d", len(got), writers*each)
	}
	for i, e := range got {
		if i > 0 && e.Zxid <= got[i-1].Zxid {
			t.Fatalf("entry %d (%#x) not after %#x", i, e.Zxid, got[i-1].Zxid)
		}
		if i < writers*each && e.Zxid != zxid(1, uint32(i+1)) {
			t.Fatalf("entry %d is %#x, want %#x", i, e.Zxid, zxid(1, uint32(i+1)))
		}
		if !bytes.Equal(e.Data, payload(e.Zxid, 40)) {
			t.Fatalf("entry %#x: data %q", e.Zxid, e.Data)
		}
		if i >= writers*each {
			if _, ok := accepted.Load(e.Zxid); !ok {
				t.Fatalf("entry %#x was rejected but is stored", e.Zxid)
			}
		}
	}
	n := 0
	accepted.Range(func(any, any) bool { n++; return true })
	if len(got) != writers*each+n {
		t.Fatalf("after crash: %d entries, want %d", len(got), writers*each+n)
	}
}

// testLargeAppend: one call bigger than a store batch (badger: 15% of a
// memtable) is split, and still reads back whole and in order.
func testLargeAppend(t *testing.T, h Harness) {
	s := h.Storage()
	var es []storage.Entry
	for _, z := range seq(1, 1200) {
		es = append(es, storage.Entry{Zxid: z, Data: payload(z, 5000)})
	}
	hs := storage.HardState{AcceptedEpoch: 1, CurrentEpoch: 1}
	mustAppend(t, s, es, &hs, true)
	h.Crash(t)
	checkLog(t, h.Storage(), es)
	if got, _ := h.Storage().HardState(); got != hs {
		t.Fatalf("HardState = %+v, want %+v", got, hs)
	}
}

func testTruncateAfter(t *testing.T, h Harness) {
	s := h.Storage()
	all := entries(zxid(1, 1), zxid(1, 2), zxid(1, 3), zxid(2, 1), zxid(2, 2), zxid(2, 3))
	mustAppend(t, s, all, nil, true)
	saveSnapshot(t, s, zxid(1, 2), []byte("state at 1:2"))
	saveSnapshot(t, s, zxid(2, 2), []byte("state at 2:2"))

	// TRUNC to 2:1: the follower drops what the new leader never had,
	// including the snapshot that contains it.
	if err := s.TruncateAfter(zxid(2, 1)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, all[:4])
	if newest := newestSnapshot(t, s); newest != zxid(1, 2) {
		t.Fatalf("newest snapshot after truncate = %#x, want 1:2", newest)
	}
	// The next proposal of the new epoch follows the truncation point.
	wantErr(t, "append at the dropped zxid", s.Append(entries(zxid(1, 3)), nil, true), storage.ErrOutOfOrder)
	mustAppend(t, s, entries(zxid(3, 1)), nil, true)
	h.Crash(t)
	want := append(all[:4:4], entries(zxid(3, 1))...)
	checkLog(t, h.Storage(), want)

	// Past the end: nothing to do.
	if err := h.Storage().TruncateAfter(zxid(9, 0)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, h.Storage(), want)

	// Everything, snapshots included: the store is empty again.
	if err := h.Storage().TruncateAfter(0); err != nil {
		t.Fatal(err)
	}
	checkLog(t, h.Storage(), nil)
	if h.Storage().LastZxid() != 0 {
		t.Fatalf("LastZxid after TruncateAfter(0) = %#x", h.Storage().LastZxid())
	}
	mustAppend(t, h.Storage(), entries(zxid(1, 1)), nil, true)
	h.Reopen(t)
	checkLog(t, h.Storage(), entries(zxid(1, 1)))
}

func testPurgeBefore(t *testing.T, h Harness) {
	s := h.Storage()
	all := entries(seq(1, 10)...)
	mustAppend(t, s, all, nil, true)
	wantErr(t, "purge without a snapshot", s.PurgeBefore(zxid(1, 5)), storage.ErrNoSnapshot)

	saveSnapshot(t, s, zxid(1, 4), []byte("state at 1:4"))
	wantErr(t, "purge past the snapshot", s.PurgeBefore(zxid(1, 6)), storage.ErrNoSnapshot)
	if err := s.PurgeBefore(zxid(1, 5)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, all[4:])
	// Appends keep going while the log's front is purged.
	mustAppend(t, s, entries(zxid(1, 11)), nil, true)
	h.Crash(t)
	want := append(all[4:10:10], entries(zxid(1, 11))...)
	checkLog(t, h.Storage(), want)

	// A snapshot of the last entry covers the whole log: purging it all
	// leaves LastZxid at the snapshot, and appends continue after it.
	saveSnapshot(t, h.Storage(), zxid(1, 11), []byte("state at 1:11"))
	if err := h.Storage().PurgeBefore(zxid(1, 12)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, h.Storage(), nil)
	if got := h.Storage().LastZxid(); got != zxid(1, 11) {
		t.Fatalf("LastZxid of an empty log = %#x, want the snapshot's 1:11", got)
	}
	wantErr(t, "append at the snapshot", h.Storage().Append(entries(zxid(1, 11)), nil, true), storage.ErrOutOfOrder)
	mustAppend(t, h.Storage(), entries(zxid(1, 12)), nil, true)
	h.Reopen(t)
	checkLog(t, h.Storage(), entries(zxid(1, 12)))
}

func testSize(t *testing.T, h Harness) {
	s := h.Storage()
	if l, sn := s.Size(); l != 0 || sn != 0 {
		t.Fatalf("Size of an empty store = %d, %d", l, sn)
	}
	mustAppend(t, s, entries(seq(1, 10)...), nil, true)
	l1, _ := s.Size()
	if l1 < 10*40 {
		t.Fatalf("log bytes %d for 10 entries of 40 bytes", l1)
	}
	saveSnapshot(t, s, zxid(1, 5), bytes.Repeat([]byte("x"), 1000))
	if err := s.PurgeBefore(zxid(1, 6)); err != nil {
		t.Fatal(err)
	}
	l2, sn := s.Size()
	if l2 >= l1 || sn != 1000 {
		t.Fatalf("Size after purge = %d, %d; want log < %d, snapshots 1000", l2, sn, l1)
	}
	h.Reopen(t)
	if l3, sn3 := h.Storage().Size(); l3 != l2 || sn3 != sn {
		t.Fatalf("Size after reopen = %d, %d; want %d, %d", l3, sn3, l2, sn)
	}
}
