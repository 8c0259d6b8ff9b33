package zab

import (
	"math/rand"
	"slices"
	"testing"
)

// memLog is a durable log for unit tests.
type memLog struct {
	ents []Entry
	snap int64
}

func (l *memLog) LastZxid() int64 {
	if n := len(l.ents); n > 0 {
		return l.ents[n-1].Zxid
	}
	return l.snap
}

func (l *memLog) SnapshotZxid() int64 { return l.snap }

func (l *memLog) Entries(after, through int64) ([]Entry, error) {
	var out []Entry
	for _, e := range l.ents {
		if e.Zxid > after && e.Zxid <= through {
			out = append(out, e)
		}
	}
	return out, nil
}

// testNet drives peers synchronously: FIFO delivery of every message, a
// drop filter, and each Ready persisted into the peer's memLog at once.
type testNet struct {
	t         *testing.T
	ids       []uint64
	peers     map[uint64]*Peer
	logs      map[uint64]*memLog
	hs        map[uint64]HardState
	applied   map[uint64][]Entry
	queue     []Message
	drop      func(Message) bool
	down      map[uint64]bool
	sent      []Message // every message sent, for assertions
	voters    []uint64
	observers []uint64
}

func testConfig(id uint64, voters, observers []uint64, log *memLog, hs HardState) Config {
	return Config{
		ID: id, Voters: voters, Observers: observers,
		ElectionTimeoutTicks: 5, FinalizeWaitTicks: 1, InitLimitTicks: 20, SyncLimitTicks: 10, HeartbeatTicks: 2,
		Rand: rand.New(rand.NewSource(int64(id))), Log: log, HardState: hs,
	}
}

func newTestNet(t *testing.T, voters, observers []uint64, logs map[uint64]*memLog, hs map[uint64]HardState) *testNet {
	t.Helper()
	n := &testNet{t: t, peers: map[uint64]*Peer{}, logs: map[uint64]*memLog{}, hs: map[uint64]HardState{},
		applied: map[uint64][]Entry{}, down: map[uint64]bool{}, voters: voters, observers: observers}
	n.ids = append(slices.Clone(voters), observers...)
	slices.Sort(n.ids)
	for _, id := range n.ids {
		l := logs[id]
		if l == nil {
			l = &memLog{}
		}
		n.logs[id] = l
		n.hs[id] = hs[id]
		p, err := NewPeer(testConfig(id, voters, observers, l, hs[id]))
		if err != nil {
			t.Fatal(err)
		}
		n.peers[id] = p
		n.drain(id)
	}
	return n
}

// restart replaces server id by a new peer on its durable log and hard
// state, as a process restart does.
func (n *testNet) restart(id uint64) {
	n.t.Helper()
	p, err := NewPeer(testConfig(id, n.voters, n.observers, n.logs[id], n.hs[id]))
	if err != nil {
		n.t.Fatal(err)
	}
	n.peers[id] = p
	n.drain(id)
}

func (n *testNet) drain(id uint64) {
	p := n.peers[id]
	for p.HasReady() {
		rd := p.Ready()
		l := n.logs[id]
		if rd.Snapshot != nil {
			l.snap, l.ents = rd.Snapshot.Zxid, nil
		}
		if rd.Truncate != nil {
			keep := l.ents[:0]
			for _, e := range l.ents {
				if e.Zxid <= *rd.Truncate {
					keep = append(keep, e)
				}
			}
			l.ents = keep
		}
		l.ents = append(l.ents, rd.Entries...)
		if rd.HardState != nil {
			n.hs[id] = *rd.HardState
		}
		for _, m := range slices.Concat(rd.Early, rd.Messages) {
			n.sent = append(n.sent, m)
			if !n.down[m.To] && (n.drop == nil || !n.drop(m)) {
				n.queue = append(n.queue, m)
			}
		}
		n.applied[id] = append(n.applied[id], rd.Committed...)
		p.Advance(rd)
	}
}

// deliverAll delivers queued messages until none are left.
func (n *testNet) deliverAll() {
	for i := 0; len(n.queue) > 0; i++ {
		if i > 100000 {
			n.t.Fatal("messages do not settle")
		}
		m := n.queue[0]
		n.queue = n.queue[1:]
		if n.down[m.To] {
			continue
		}
		_ = n.peers[m.To].Step(m)
		n.drain(m.To)
	}
}

func (n *testNet) tick() {
	for _, id := range n.ids {
		if !n.down[id] {
			n.peers[id].Tick()
			n.drain(id)
		}
	}
}

// runUntil delivers and ticks until cond holds; false after maxTicks.
func (n *testNet) runUntil(maxTicks int, cond func() bool) bool {
	for range maxTicks {
		n.deliverAll()
		if cond() {
			return true
		}
		n.tick()
	}
	n.deliverAll()
	return cond()
}

// leader returns the established leader, if exactly one.
func (n *testNet) leader() (uint64, bool) {
	var found []uint64
	for _, id := range n.ids {
		if st := n.peers[id].Status(); !n.down[id] && st.State == Leading && st.Established {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

// allServing: an established leader and every running learner serving.
func (n *testNet) allServing() bool {
	if _, ok := n.leader(); !ok {
		return false
	}
	for _, id := range n.ids {
		if !n.down[id] && !n.peers[id].Status().Serving {
			return false
		}
	}
	return true
}

func (n *testNet) mustElect() uint64 {
	n.t.Helper()
	if !n.runUntil(200, n.allServing) {
		for _, id := range n.ids {
			n.t.Log(n.peers[id].Status())
		}
		n.t.Fatal("no established leader with every peer serving")
	}
	l, _ := n.leader()
	return l
}

func ids(v ...uint64) []uint64 { return v }
