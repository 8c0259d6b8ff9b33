package zab

import (
	"math/rand"
	"testing"
)

func TestVoteOrder(t *testing.T) {
	// The seeds' rule: bigger epoch wins, then bigger zxid, then bigger id.
	for _, tc := range []struct {
		name string
		a, b Vote
		less bool
	}{
		{"epoch beats zxid and id", Vote{Leader: 9, Zxid: 0x1000000ff, PeerEpoch: 1}, Vote{Leader: 1, Zxid: 0x200000001, PeerEpoch: 2}, true},
		{"epoch decides even with a lower zxid", Vote{Leader: 1, Zxid: 0x200000001, PeerEpoch: 3}, Vote{Leader: 1, Zxid: 0x300000005, PeerEpoch: 2}, false},
		{"same epoch: zxid beats id", Vote{Leader: 5, Zxid: 0x100000001, PeerEpoch: 1}, Vote{Leader: 2, Zxid: 0x100000002, PeerEpoch: 1}, true},
		{"same epoch and zxid: id decides", Vote{Leader: 2, Zxid: 7, PeerEpoch: 1}, Vote{Leader: 3, Zxid: 7, PeerEpoch: 1}, true},
		{"same epoch and zxid: id decides, reversed", Vote{Leader: 3, Zxid: 7, PeerEpoch: 1}, Vote{Leader: 2, Zxid: 7, PeerEpoch: 1}, false},
		{"equal votes are not less", Vote{Leader: 3, Zxid: 7, PeerEpoch: 1}, Vote{Leader: 3, Zxid: 7, PeerEpoch: 1}, false},
	} {
		if got := VoteLess(tc.a, tc.b); got != tc.less {
			t.Errorf("%s: VoteLess(%v, %v) = %v", tc.name, tc.a, tc.b, got)
		}
	}
}

func TestBetterVoteIgnoresNonVoters(t *testing.T) {
	p, err := NewPeer(testConfig(1, ids(1, 2, 3), ids(9), &memLog{}, HardState{}))
	if err != nil {
		t.Fatal(err)
	}
	observer := Vote{Leader: 9, Zxid: 0x900000000, PeerEpoch: 9}
	voter := Vote{Leader: 2}
	if p.betterVote(observer, voter) {
		t.Error("an observer's candidacy beat a voter's")
	}
	if !p.betterVote(voter, Vote{Leader: 0, Zxid: 5, PeerEpoch: 5}) {
		t.Error("a real candidate should beat an observer's empty vote")
	}
}

// The most up-to-date peer wins even with the lowest id: epoch first,
// then zxid.
func TestElectionPicksMostUpToDate(t *testing.T) {
	logs := map[uint64]*memLog{
		1: {ents: []Entry{{0x100000001, []byte("a")}, {0x200000001, []byte("b")}}},
		2: {ents: []Entry{{0x100000001, []byte("a")}, {0x100000002, []byte("x")}, {0x100000003, []byte("y")}}},
		3: {ents: []Entry{{0x100000001, []byte("a")}}},
	}
	hs := map[uint64]HardState{1: {2, 2}, 2: {1, 1}, 3: {2, 1}}
	n := newTestNet(t, ids(1, 2, 3), nil, logs, hs)
	if l := n.mustElect(); l != 1 {
		t.Fatalf("leader %d, want 1 (highest currentEpoch)", l)
	}
	// Without 1, server 2's zxid beats 3 although 3 accepted a higher epoch:
	// votes carry currentEpoch, and both have currentEpoch 1.
	n2 := newTestNet(t, ids(1, 2, 3), nil, map[uint64]*memLog{
		2: {ents: []Entry{{0x100000001, []byte("a")}, {0x100000002, []byte("x")}, {0x100000003, []byte("y")}}},
		3: {ents: []Entry{{0x100000001, []byte("a")}}},
	}, map[uint64]HardState{2: {1, 1}, 3: {2, 1}})
	n2.down[1] = true
	if l := n2.mustElect(); l != 2 {
		t.Fatalf("leader %d, want 2 (higher zxid at the same epoch)", l)
	}
}

func TestEmptyClusterElectsHighestID(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3, 4, 5), nil, nil, nil)
	if l := n.mustElect(); l != 5 {
		t.Fatalf("leader %d, want 5", l)
	}
}

// A LOOKING peer joins an established leader when a quorum of peers out of
// the election name it and the leader itself says LEADING, even though its
// own vote (its id is bigger) would beat that leader's.
func TestNewcomerFollowsEstablishedLeader(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3, 4, 5), nil, nil, nil)
	n.down[4], n.down[5] = true, true
	if l := n.mustElect(); l != 3 {
		t.Fatalf("leader %d, want 3", l)
	}
	for _, id := range ids(4, 5) {
		n.down[id] = false
		p, _ := NewPeer(testConfig(id, ids(1, 2, 3, 4, 5), nil, n.logs[id], HardState{}))
		n.peers[id] = p
		n.drain(id)
		if !n.runUntil(100, func() bool { return n.peers[id].Status().Serving }) {
			t.Fatalf("server %d did not join: %v", id, n.peers[id].Status())
		}
		if st := n.peers[id].Status(); st.State != Following || st.Leader != 3 {
			t.Fatalf("server %d: %v, want FOLLOWING 3", id, st)
		}
	}
	if l, _ := n.leader(); l != 3 {
		t.Fatalf("leader changed to %d", l)
	}
}

// Without a quorum nobody leads: two of five stay LOOKING.
func TestNoQuorumNoLeader(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3, 4, 5), nil, nil, nil)
	n.down[3], n.down[4], n.down[5] = true, true, true
	if n.runUntil(100, func() bool { _, ok := n.leader(); return ok }) {
		t.Fatal("a leader was elected by 2 of 5")
	}
	for _, id := range ids(1, 2) {
		if st := n.peers[id].Status(); st.State != Looking || st.Vote.Leader != 2 {
			t.Errorf("server %d: %v vote %v, want LOOKING voting for 2", id, st, st.Vote)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	good := testConfig(1, ids(1, 2, 3), nil, &memLog{}, HardState{})
	for name, mutate := range map[string]func(*Config){
		"zero id":           func(c *Config) { c.ID = 0 },
		"not a member":      func(c *Config) { c.ID = 7 },
		"duplicate member":  func(c *Config) { c.Observers = []uint64{2} },
		"no rand":           func(c *Config) { c.Rand = nil },
		"no log":            func(c *Config) { c.Log = nil },
		"zero sync limit":   func(c *Config) { c.SyncLimitTicks = 0 },
		"heartbeat >= sync": func(c *Config) { c.HeartbeatTicks = c.SyncLimitTicks },
		"epochs inverted":   func(c *Config) { c.HardState = HardState{AcceptedEpoch: 1, CurrentEpoch: 2} },
		"applied past log":  func(c *Config) { c.Applied = 5 },
	} {
		c := good
		c.Rand = rand.New(rand.NewSource(1))
		mutate(&c)
		if _, err := NewPeer(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewPeer(good); err != nil {
		t.Fatal(err)
	}
}
