package memstore_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/memstore"
)

func open(t *testing.T) *memstore.Store {
	t.Helper()
	s, err := memstore.New(1, memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reopen(t *testing.T, s *memstore.Store) *memstore.Store {
	t.Helper()
	s, err := s.Reopen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(counter int) []storage.Entry {
	z := int64(1)<<32 | int64(counter)
	return []storage.Entry{{Zxid: z, Data: fmt.Appendf(nil, "txn %d", counter)}}
}

func lastZxids(t *testing.T, s storage.Storage) []int64 {
	t.Helper()
	var out []int64
	if err := s.Entries(0, 1<<62, func(e storage.Entry) error { out = append(out, e.Zxid&0xffffffff); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Unlike badger, which syncs every commit, a memstore loses every write
// that was not synced: the strict end of what the contract allows.
func TestCrashLosesUnsynced(t *testing.T) {
	s := open(t)
	for i := 1; i <= 3; i++ {
		if err := s.Append(entry(i), nil, i == 1); err != nil {
			t.Fatal(err)
		}
	}
	s.Crash()
	s = reopen(t, s)
	if got := lastZxids(t, s); len(got) != 1 || got[0] != 1 {
		t.Fatalf("after crash: counters %v, want [1]", got)
	}
}

func TestCrashTornReportsTheTornEntry(t *testing.T) {
	s := open(t)
	if err := s.Append(entry(1), nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(append(entry(2), entry(3)...), nil, false); err != nil {
		t.Fatal(err)
	}
	if !s.CrashTorn() {
		t.Fatal("nothing torn")
	}
	s = reopen(t, s)
	r := s.Recovery()
	if r.DroppedEntries != 1 || r.DroppedFrom != entry(2)[0].Zxid || r.Entries != 1 {
		t.Fatalf("Recovery = %+v, want the torn 1:2 dropped", r)
	}
}

func TestDiskInUse(t *testing.T) {
	s := open(t)
	defer s.Close()
	if _, err := memstore.Open(s.Disk(), 1, memstore.Options{}); err == nil {
		t.Fatal("second open of a disk in use succeeded")
	}
}

// A failed write poisons the store: later appends fail with the same error
// even once the disk works again, until a restart recovers from the disk.
func TestFailedWritePoisons(t *testing.T) {
	s := open(t)
	if err := s.Append(entry(1), nil, true); err != nil {
		t.Fatal(err)
	}
	s.Disk().Fail(syscall.EIO)
	if err := s.Append(entry(2), nil, true); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append on a failing disk: %v", err)
	}
	s.Disk().Fail(nil)
	if err := s.Append(entry(3), nil, true); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append after a failure: %v, want the sticky EIO", err)
	}
	if err := s.TruncateAfter(0); !errors.Is(err, syscall.EIO) {
		t.Fatalf("truncate after a failure: %v, want the sticky EIO", err)
	}
	s.Crash()
	s = reopen(t, s)
	if got := lastZxids(t, s); len(got) != 1 {
		t.Fatalf("after restart: counters %v, want [1]", got)
	}
	if err := s.Append(entry(2), nil, true); err != nil {
		t.Fatalf("append after restart: %v", err)
	}
}

// TestCrashDuringAppends crashes while 8 goroutines append: every append
// that was acknowledged must survive (DESIGN.md 2.2: an ACK only after the
// txn is durable), and what survives is a gap-free prefix of the queue.
func TestCrashDuringAppends(t *testing.T) {
	for round := range 20 {
		s := open(t)
		var mu sync.Mutex
		next := 0
		acked := make([]bool, 10000)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					mu.Lock()
					next++
					n := next
					f := s.AppendAsync(entry(n), nil, n%3 != 0)
					mu.Unlock()
					if err := f.Wait(); err != nil {
						return
					}
					if n%3 != 0 {
						acked[n] = true
					}
					if n > 2000 {
						return
					}
				}
			})
		}
		for {
			mu.Lock()
			n := next
			mu.Unlock()
			if n > 200*(round%5+1) {
				break
			}
			runtime.Gosched()
		}
		s.Crash()
		wg.Wait()
		s = reopen(t, s)
		got := lastZxids(t, s)
		for i, c := range got {
			if c != int64(i+1) {
				t.Fatalf("round %d: entry %d has counter %d: not a prefix", round, i, c)
			}
		}
		for n, ok := range acked {
			if ok && n > len(got) {
				t.Fatalf("round %d: acknowledged append %d lost (log ends at %d)", round, n, len(got))
			}
		}
	}
}
