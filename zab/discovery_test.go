package zab

import (
	"errors"
	"testing"
)

// newEpoch = max(acceptedEpoch of the quorum, the leader's) + 1, and every
// synced peer persists it as both acceptedEpoch and currentEpoch.
func TestNewEpochAboveEveryAcceptedEpoch(t *testing.T) {
	hs := map[uint64]HardState{1: {5, 1}, 2: {3, 1}, 3: {7, 1}}
	n := newTestNet(t, ids(1, 2, 3), nil, nil, hs)
	l := n.mustElect()
	if st := n.peers[l].Status(); st.Epoch != 8 {
		t.Fatalf("epoch %d, want 8", st.Epoch)
	}
	for _, id := range ids(1, 2, 3) {
		if got := n.hs[id]; got != (HardState{8, 8}) {
			t.Errorf("server %d durable hard state %+v, want {8 8}", id, got)
		}
	}
}

// followerAt builds a FOLLOWING peer of leader 2 that sent FOLLOWERINFO.
func followerAt(t *testing.T, hs HardState, log *memLog) *Peer {
	t.Helper()
	p, err := NewPeer(testConfig(1, ids(1, 2, 3), nil, log, hs))
	if err != nil {
		t.Fatal(err)
	}
	p.Advance(p.Ready())
	for _, from := range ids(2, 3) {
		if err := p.Step(Message{Type: Notification, From: from, To: 1, State: Following, Round: 1, Vote: Vote{Leader: 2}}); err != nil {
			t.Fatal(err)
		}
		p.Advance(p.Ready())
	}
	if err := p.Step(Message{Type: Notification, From: 2, To: 1, State: Leading, Round: 1, Vote: Vote{Leader: 2}}); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != Following || st.Leader != 2 {
		t.Fatalf("not following 2: %v", st)
	}
	rd := p.Ready()
	if len(rd.Messages) != 1 || rd.Messages[0].Type != FollowerInfo || rd.Messages[0].Epoch != hs.AcceptedEpoch {
		t.Fatalf("want FOLLOWERINFO(acceptedEpoch=%d), got %+v", hs.AcceptedEpoch, rd.Messages)
	}
	p.Advance(rd)
	return p
}

func TestLearnerEpochRules(t *testing.T) {
	// A higher epoch is accepted, persisted and acked in the same Ready.
	p := followerAt(t, HardState{4, 3}, &memLog{ents: []Entry{{MakeZxid(3, 9), nil}}})
	if err := p.Step(Message{Type: LeaderInfo, From: 2, To: 1, Epoch: 5, Session: p.lr.session}); err != nil {
		t.Fatal(err)
	}
	rd := p.Ready()
	if rd.HardState == nil || *rd.HardState != (HardState{5, 3}) {
		t.Fatalf("hard state %+v, want {5 3}", rd.HardState)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Type != AckEpoch || rd.Messages[0].CurrentEpoch != 3 || rd.Messages[0].Zxid != MakeZxid(3, 9) {
		t.Fatalf("want ACKEPOCH(currentEpoch 3, last 0x300000009) with it, got %+v", rd.Messages)
	}
	p.Advance(rd)

	// A lower epoch is refused: the learner looks again.
	p = followerAt(t, HardState{4, 3}, &memLog{})
	if err := p.Step(Message{Type: LeaderInfo, From: 2, To: 1, Epoch: 3, Session: p.lr.session}); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != Looking || st.AcceptedEpoch != 4 {
		t.Fatalf("after a lower epoch: %v", st)
	}

	// Messages from anyone but the leader are ignored.
	p = followerAt(t, HardState{4, 3}, &memLog{})
	if err := p.Step(Message{Type: LeaderInfo, From: 3, To: 1, Epoch: 9, Session: p.lr.session}); !errors.Is(err, ErrUnexpectedMessage) {
		t.Fatalf("LEADERINFO from a non-leader: %v", err)
	}
}

// A leader that finds a learner ahead of it (higher currentEpoch, or the
// same and a higher zxid) gives up before establishing.
func TestLeaderAbortsWhenLearnerAhead(t *testing.T) {
	p, _ := NewPeer(testConfig(3, ids(1, 2, 3), nil, &memLog{}, HardState{1, 1}))
	p.Advance(p.Ready())
	for _, from := range ids(1, 2) {
		_ = p.Step(Message{Type: Notification, From: from, To: 3, State: Looking, Round: 1, Vote: Vote{Leader: 3, PeerEpoch: 1}})
		p.Advance(p.Ready())
	}
	for range 3 {
		p.Tick()
		p.Advance(p.Ready())
	}
	if p.Status().State != Leading {
		t.Fatalf("not leading: %v", p.Status())
	}
	_ = p.Step(Message{Type: FollowerInfo, From: 1, To: 3, Epoch: 1})
	rd := p.Ready()
	if rd.HardState == nil || rd.HardState.AcceptedEpoch != 2 {
		t.Fatalf("leader did not propose epoch 2: %+v", rd.HardState)
	}
	p.Advance(rd)
	_ = p.Step(Message{Type: AckEpoch, From: 1, To: 3, Epoch: 2, CurrentEpoch: 1, Zxid: MakeZxid(1, 4)})
	if st := p.Status(); st.State != Looking {
		t.Fatalf("leader kept leading with a learner ahead: %v", st)
	}
}

// TestLearnerResendsInfoUntilLeaderInfo: a FOLLOWERINFO that reaches the
// leader while it is still finishing its election is dropped; the follower
// must send it again until LEADERINFO comes (found with the TCP transport,
// where two survivors of a leader crash kept re-electing each other).
func TestLearnerResendsInfoUntilLeaderInfo(t *testing.T) {
	p := followerAt(t, HardState{1, 1}, &memLog{})
	resent := 0
	for range p.cfg.ElectionTimeoutTicks * 3 {
		p.Tick()
		rd := p.Ready()
		for _, m := range rd.Messages {
			if m.Type == FollowerInfo && m.To == 2 {
				resent++
			}
		}
		p.Advance(rd)
	}
	if resent < 2 {
		t.Fatalf("FOLLOWERINFO resent %d times in %d ticks without LEADERINFO", resent, p.cfg.ElectionTimeoutTicks*3)
	}
	if st := p.Status(); st.State != Following {
		t.Fatalf("gave up on the leader before initLimit: %v", st)
	}
}
