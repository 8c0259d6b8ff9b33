package memstore_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/memstore"
	"github.com/zabkafka/zabkafka/storage/storagetest"
)

type harness struct {
	s    *memstore.Store
	opts memstore.Options
}

func newHarness(opts memstore.Options) func(t *testing.T) storagetest.Harness {
	return func(t *testing.T) storagetest.Harness {
		s, err := memstore.New(storagetest.ServerID, opts)
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{s: s, opts: opts}
		t.Cleanup(func() {
			if err := h.s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
				t.Error(err)
			}
		})
		return h
	}
}

func (h *harness) Storage() storage.Storage { return h.s }

func (h *harness) Reopen(t *testing.T) {
	t.Helper()
	s, err := h.s.Reopen()
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
}

func (h *harness) Crash(t *testing.T) {
	t.Helper()
	h.s.Crash()
	h.Reopen(t)
}

func (h *harness) CrashTorn(t *testing.T) {
	t.Helper()
	if !h.s.CrashTorn() {
		t.Fatal("CrashTorn found no unsynced entry to tear")
	}
	h.Reopen(t)
}

func (h *harness) Corrupt(t *testing.T, needle []byte) bool {
	t.Helper()
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	found := h.s.Disk().Corrupt(needle)
	h.Reopen(t)
	return found
}

func (h *harness) OpenAs(t *testing.T, serverID int64) error {
	if err := h.s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Fatal(err)
	}
	s, err := memstore.Open(h.s.Disk(), serverID, h.opts)
	if err == nil {
		h.s = s
	}
	return err
}

func TestContract(t *testing.T) {
	storagetest.Run(t, newHarness(memstore.Options{}))
}

// TestContractSmallBatches runs the contract with batches of a few ops, so
// every case also exercises splitting a group, and an Append, across
// batches.
func TestContractSmallBatches(t *testing.T) {
	storagetest.Run(t, newHarness(memstore.Options{MaxBatchOps: 3, MaxBatchBytes: 300}))
}

// A sync slower than Engine.SlowSync is reported with its duration and the
// txns it made durable; faster ones and unsynced appends are not.
func TestSlowSyncReported(t *testing.T) {
	type report struct {
		took    time.Duration
		entries int
	}
	var reports []report // written by the committer, read after Append returns
	var mu sync.Mutex
	open := func(threshold time.Duration) *memstore.Store {
		s, err := memstore.New(1, memstore.Options{Engine: storage.Options{SlowSync: threshold,
			OnSlowSync: func(took time.Duration, entries int) {
				mu.Lock()
				reports = append(reports, report{took, entries})
				mu.Unlock()
			}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	ents := func(from int64, n int) []storage.Entry {
		var es []storage.Entry
		for i := range int64(n) {
			es = append(es, storage.Entry{Zxid: from + i, Data: []byte("x")})
		}
		return es
	}
	// Every sync takes more than a nanosecond.
	s := open(time.Nanosecond)
	if err := s.Append(ents(1, 3), nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ents(4, 2), nil, false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(reports)
	reports = nil
	mu.Unlock()
	if len(got) != 1 || got[0].entries != 3 || got[0].took <= 0 {
		t.Fatalf("reports %+v, want one of 3 txns (the unsynced append is not a sync)", got)
	}
	// None takes an hour.
	s = open(time.Hour)
	if err := s.Append(ents(1, 3), nil, true); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 0 {
		t.Fatalf("reports %+v under an hour's threshold", reports)
	}
}
