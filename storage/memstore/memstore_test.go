package memstore_test

import (
	"errors"
	"testing"

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
