package storage

import (
	"testing"
	"time"
)

func TestCommitMetrics(t *testing.T) {
	var m commitMetrics
	if s := m.stats(); s != (CommitStats{}) {
		t.Fatalf("empty stats = %+v", s)
	}
	// 100 syncs of 1..100ms: p99 is the 99th.
	for i := 1; i <= 100; i++ {
		m.record(i, time.Duration(i)*time.Millisecond)
	}
	s := m.stats()
	want := CommitStats{
		Syncs: 100, SyncedEntries: 5050, MaxEntries: 100,
		SyncMin: time.Millisecond, SyncAvg: 50500 * time.Microsecond, SyncMax: 100 * time.Millisecond,
		SyncP99: 99 * time.Millisecond,
	}
	if s != want {
		t.Fatalf("stats = %+v\nwant    %+v", s, want)
	}
	// The p99 window forgets old syncs; min, max and avg do not.
	for range syncWindow {
		m.record(1, time.Microsecond)
	}
	if s := m.stats(); s.SyncP99 != time.Microsecond || s.SyncMax != 100*time.Millisecond || s.SyncMin != time.Microsecond {
		t.Fatalf("after the window moved: %+v", s)
	}
}
