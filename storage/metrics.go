package storage

import (
	"slices"
	"sync"
	"time"
)

// syncWindow is how many recent syncs the p99 is computed over: enough for
// a stable percentile, small enough to follow a disk that slows down.
const syncWindow = 1024

// commitMetrics accumulates CommitStats. Only the committer goroutine
// records; mntr reads concurrently.
type commitMetrics struct {
	mu         sync.Mutex
	syncs      int64
	entries    int64
	maxEntries int64
	total      time.Duration
	min, max   time.Duration
	recent     [syncWindow]time.Duration
	next       int // ring position in recent
}

func (m *commitMetrics) record(entries int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syncs == 0 || d < m.min {
		m.min = d
	}
	m.max = max(m.max, d)
	m.syncs++
	m.entries += int64(entries)
	m.maxEntries = max(m.maxEntries, int64(entries))
	m.total += d
	m.recent[m.next] = d
	m.next = (m.next + 1) % syncWindow
}

func (m *commitMetrics) stats() CommitStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := CommitStats{
		Syncs:         m.syncs,
		SyncedEntries: m.entries,
		MaxEntries:    m.maxEntries,
		SyncMin:       m.min,
		SyncMax:       m.max,
	}
	if m.syncs == 0 {
		return s
	}
	s.SyncAvg = m.total / time.Duration(m.syncs)
	n := int(min(m.syncs, syncWindow))
	window := slices.Clone(m.recent[:n])
	slices.Sort(window)
	s.SyncP99 = window[(n*99+99)/100-1]
	return s
}
