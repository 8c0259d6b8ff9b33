package zab

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func committedZxids(n *testNet, id uint64) []int64 { return zxids(n.applied[id]) }

// A proposal commits only once a quorum of voters (the leader included)
// has logged it; ACKs are what counts.
func TestCommitNeedsQuorum(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3, 4, 5), nil, nil, nil)
	l := n.mustElect()
	blockAcks := map[uint64]bool{1: true, 2: true, 3: true, 4: true}
	n.drop = func(m Message) bool { return m.Type == Ack && m.To == l && blockAcks[m.From] }
	z, err := n.peers[l].Propose([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	n.drain(l)
	n.deliverAll()
	if st := n.peers[l].Status(); st.CommitZxid >= z {
		t.Fatalf("committed with only the leader's ack: %v", st)
	}
	delete(blockAcks, 1)
	n.peers[l].Status()
	z2, _ := n.peers[l].Propose([]byte("y"))
	n.drain(l)
	n.deliverAll()
	if st := n.peers[l].Status(); st.CommitZxid >= z {
		t.Fatalf("committed with 2 of 5: %v", st)
	}
	delete(blockAcks, 2)
	z3, _ := n.peers[l].Propose([]byte("z"))
	n.drain(l)
	n.deliverAll()
	// ACKs are cumulative: the ack of z3 by 1 and 2 commits z, z2 and z3.
	for _, id := range ids(1, 2, 3, 4, 5) {
		if got := committedZxids(n, id); !slices.Equal(got, []int64{z, z2, z3}) {
			t.Errorf("server %d committed %x, want %x", id, got, []int64{z, z2, z3})
		}
	}
}

// A follower ACKs a proposal in the Ready that appends it, so the ACK is
// sent only after the txn is durable.
func TestAckTravelsWithTheTxn(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	z, _ := n.peers[l].Propose([]byte("x"))
	n.drain(l)
	f := ids(1, 2, 3)[0]
	if f == l {
		f = 2
	}
	var prop Message
	for _, m := range n.queue {
		if m.Type == Proposal && m.To == f {
			prop = m
		}
	}
	p := n.peers[f]
	if err := p.Step(prop); err != nil {
		t.Fatal(err)
	}
	rd := p.Ready()
	if len(rd.Entries) != 1 || rd.Entries[0].Zxid != z {
		t.Fatalf("entries %+v", rd.Entries)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Type != Ack || rd.Messages[0].Zxid != z {
		t.Fatalf("messages %+v", rd.Messages)
	}
	p.Advance(rd)
}

// Observers get committed txns by INFORM, never PROPOSAL, never ACK, and
// do not count toward a quorum.
func TestObserver(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), ids(4), nil, nil)
	l := n.mustElect()
	if st := n.peers[4].Status(); st.State != Observing || st.Leader != l {
		t.Fatalf("observer: %v", st)
	}
	n.sent = nil
	z, _ := n.peers[l].Propose([]byte("x"))
	n.drain(l)
	n.deliverAll()
	for _, m := range n.sent {
		if m.To == 4 && (m.Type == Proposal || m.Type == Commit) {
			t.Errorf("observer got %s", m.Describe())
		}
		if m.From == 4 && m.Type == Ack {
			t.Errorf("observer acked: %s", m.Describe())
		}
	}
	if got := committedZxids(n, 4); !slices.Equal(got, []int64{z}) {
		t.Fatalf("observer committed %x", got)
	}
	// With the two other voters unreachable the observer cannot help.
	others := []uint64{}
	for _, id := range ids(1, 2, 3) {
		if id != l {
			others = append(others, id)
		}
	}
	n.drop = func(m Message) bool { return m.To == l && slices.Contains(others, m.From) }
	z2, _ := n.peers[l].Propose([]byte("y"))
	n.drain(l)
	n.deliverAll()
	if n.peers[l].Status().CommitZxid >= z2 {
		t.Fatal("committed with the leader and an observer only")
	}
	if n.runUntil(30, func() bool { return n.peers[l].Status().State != Leading }); n.peers[l].Status().State == Leading {
		t.Fatal("leader kept leading with only an observer")
	}
	// An observer alone with one voter cannot elect anybody.
	n2 := newTestNet(t, ids(1, 2, 3), ids(4, 5), nil, nil)
	n2.down[2], n2.down[3] = true, true
	if n2.runUntil(60, func() bool { _, ok := n2.leader(); return ok }) {
		t.Fatal("a voter and two observers elected a leader")
	}
}

// The leader forces a new epoch rather than let the counter reach
// 0xffffffff.
func TestZxidCounterRollover(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	p := n.peers[l]
	epoch := p.Status().Epoch
	p.lastZxid = MakeZxid(epoch, 0xfffffffd) // as if 4 billion txns went by
	z, err := p.Propose([]byte("last"))
	if err != nil || z != MakeZxid(epoch, 0xfffffffe) {
		t.Fatalf("Propose = %s, %v; want 0x%xfffffffe", FormatZxid(z), err, epoch)
	}
	if _, err := p.Propose([]byte("one too many")); !errors.Is(err, ErrZxidRollover) {
		t.Fatalf("Propose at the counter's end: %v", err)
	}
	if st := p.Status(); st.State != Looking {
		t.Fatalf("leader did not give up: %v", st)
	}
}

func TestProposeErrors(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	if _, err := n.peers[1].Propose([]byte("x")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("LOOKING peer: %v", err)
	}
	l := n.mustElect()
	f := uint64(1)
	if f == l {
		f = 2
	}
	_, err := n.peers[f].Propose([]byte("x"))
	var nle *NotLeaderError
	if !errors.As(err, &nle) || nle.Leader != l {
		t.Fatalf("follower: %v, want NotLeaderError{%d}", err, l)
	}
}

// Step rejects malformed and out-of-phase input with an error and never
// panics; the peer's state does not change.
func TestBadMessagesRejected(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	f := uint64(1)
	if f == l {
		f = 2
	}
	other := 6 - l - f // the third server
	p := n.peers[f]
	before := p.Status()
	s := p.lr.session // so that the cases below fail for their own reason
	for _, tc := range []struct {
		m    Message
		want error
	}{
		{Message{Type: 99, From: l, To: f}, ErrInvalidMessage},
		{Message{Type: Commit, From: 0, To: f}, ErrInvalidMessage},
		{Message{Type: Commit, From: 42, To: f}, ErrInvalidMessage},
		{Message{Type: Commit, From: l, To: 42}, ErrInvalidMessage},
		{Message{Type: Notification, From: l, To: f, State: 7}, ErrInvalidMessage},
		{Message{Type: Proposal, From: l, To: f, Epoch: before.Epoch, Entries: []Entry{{5, nil}, {4, nil}}}, ErrInvalidMessage},
		{Message{Type: Proposal, From: l, To: f, Epoch: before.Epoch, Zxid: 9, Session: s}, ErrUnexpectedMessage},   // no entry
		{Message{Type: Commit, From: l, To: f, Epoch: before.Epoch + 1, Zxid: 1, Session: s}, ErrUnexpectedMessage}, // wrong epoch
		{Message{Type: LeaderInfo, From: l, To: f, Epoch: 99, Session: s}, ErrUnexpectedMessage},                    // out of phase
		{Message{Type: Ack, From: l, To: f, Epoch: before.Epoch, Session: s}, ErrUnexpectedMessage},                 // acks go to leaders
		{Message{Type: UpToDate, From: other, To: f, Epoch: before.Epoch, Session: s}, ErrUnexpectedMessage},        // not the leader
	} {
		if tc.m.From == f {
			continue
		}
		err := p.Step(tc.m)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.m.Describe(), err, tc.want)
		}
	}
	if after := p.Status(); after.State != before.State || after.LastZxid != before.LastZxid || after.CommitZxid != before.CommitZxid {
		t.Fatalf("state changed: %v -> %v", before, after)
	}
	if p.HasReady() {
		t.Fatalf("bad input produced output: %+v", p.Ready())
	}
	// The leader ignores messages from strangers and out-of-phase acks.
	lp := n.peers[l]
	session := lp.ld.learners[f].session
	if err := lp.Step(Message{Type: Ack, From: f, To: l, Epoch: before.Epoch, Zxid: MakeZxid(before.Epoch, 77), Session: session}); !errors.Is(err, ErrUnexpectedMessage) || !strings.Contains(err.Error(), "out of phase") {
		t.Errorf("ack beyond what was sent: %v", err)
	}
	// Messages of another session of the learner are ignored both ways.
	if err := lp.Step(Message{Type: Ping, From: f, To: l, Epoch: before.Epoch, Session: session + 1}); !errors.Is(err, ErrUnexpectedMessage) {
		t.Errorf("ping of another session at the leader: %v", err)
	}
	if err := p.Step(Message{Type: Ping, From: l, To: f, Epoch: before.Epoch, Session: session + 1}); !errors.Is(err, ErrUnexpectedMessage) {
		t.Errorf("ping of another session at the learner: %v", err)
	}
	// A proposal's Ready may stay outstanding while more input comes (it
	// is pipelined); a barrier Ready must be advanced first.
	_, _ = lp.Propose([]byte("x"))
	rd := lp.Ready()
	if rd.Barrier() {
		t.Fatalf("a proposal's Ready is a barrier: %+v", rd)
	}
	if err := lp.Step(Message{Type: Ping, From: f, To: l, Epoch: before.Epoch, Session: session}); errors.Is(err, ErrReadyOutstanding) {
		t.Errorf("Step refused with a pipelined Ready outstanding: %v", err)
	}
	lp.Advance(rd)
	fresh, err := NewPeer(testConfig(1, ids(1, 2, 3), nil, &memLog{}, HardState{}))
	if err != nil {
		t.Fatal(err)
	}
	brd := fresh.Ready() // LOOKING: soft state and votes
	if !brd.Barrier() {
		t.Fatalf("an election Ready is not a barrier: %+v", brd)
	}
	if err := fresh.Step(Message{Type: Notification, From: 2, To: 1}); !errors.Is(err, ErrReadyOutstanding) {
		t.Errorf("Step with a barrier Ready outstanding: %v", err)
	}
	if fresh.HasReady() {
		t.Error("HasReady with a barrier Ready outstanding")
	}
	fresh.Advance(brd)
}

// A follower's sync is answered once everything the leader proposed before
// it is committed, and after those txns are handed out here.
func TestSyncAfterPriorProposals(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	f := uint64(1)
	if f == l {
		f = 2
	}
	z, _ := n.peers[l].Propose([]byte("x"))
	n.drain(l)
	if err := n.peers[f].Sync(7); err != nil {
		t.Fatal(err)
	}
	var synced []uint64
	p := n.peers[f]
	rd := p.Ready()
	n.queue = append(n.queue, slices.Concat(rd.Early, rd.Messages)...)
	p.Advance(rd)
	for len(n.queue) > 0 {
		m := n.queue[0]
		n.queue = n.queue[1:]
		_ = n.peers[m.To].Step(m)
		for n.peers[m.To].HasReady() {
			rd := n.peers[m.To].Ready()
			n.logs[m.To].ents = append(n.logs[m.To].ents, rd.Entries...)
			if m.To == f && len(rd.Synced) > 0 {
				if len(n.applied[f]) == 0 && !slices.ContainsFunc(rd.Committed, func(e Entry) bool { return e.Zxid == z }) {
					t.Fatal("sync answered before the earlier proposal was applied")
				}
				synced = append(synced, rd.Synced...)
			}
			n.applied[m.To] = append(n.applied[m.To], rd.Committed...)
			n.queue = append(n.queue, slices.Concat(rd.Early, rd.Messages)...)
			n.peers[m.To].Advance(rd)
		}
	}
	if !slices.Equal(synced, []uint64{7}) {
		t.Fatalf("synced %v, want [7]", synced)
	}
}

// A learner told that its connection to the leader broke starts an
// election at once, without waiting for syncLimit; a leader told that it
// lost a follower drops it and steps down at its next tick when that
// leaves it without a quorum. Losing anyone else changes nothing.
func TestPeerLost(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	var f1, f2 uint64
	for _, id := range ids(1, 2, 3) {
		if id != l {
			if f1 == 0 {
				f1 = id
			} else {
				f2 = id
			}
		}
	}
	if err := n.peers[f1].PeerLost(f2); err != nil {
		t.Fatal(err)
	}
	n.drain(f1)
	if st := n.peers[f1].Status(); st.State != Following {
		t.Fatalf("losing another follower made %d %s", f1, st.State)
	}
	if err := n.peers[f1].PeerLost(l); err != nil {
		t.Fatal(err)
	}
	n.drain(f1)
	if st := n.peers[f1].Status(); st.State != Looking || st.Serving {
		t.Fatalf("follower %d still %s (serving %v) after losing its leader", f1, st.State, st.Serving)
	}

	n2 := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l = n2.mustElect()
	lost := 0
	for _, id := range ids(1, 2, 3) {
		if id == l {
			continue
		}
		n2.peers[l].PeerLost(id)
		n2.drain(l)
		lost++
		n2.peers[l].Tick()
		n2.drain(l)
		st := n2.peers[l].Status()
		if lost == 1 && st.State != Leading {
			t.Fatalf("leader stepped down with 2 of 3 still there: %v", st)
		}
		if lost == 2 && st.State == Leading {
			t.Fatalf("leader kept leading alone: %v", st)
		}
	}
}

// An established leader's proposals go out early (before its own fsync);
// a follower's ACK never does, and nothing to a learner overtakes a held
// back message to it.
func TestEarlyMessages(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	p := n.peers[l]
	z, err := p.Propose([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	rd := p.Ready()
	if len(rd.Early) != 2 || len(rd.Messages) != 0 {
		t.Fatalf("leader: early %v, late %v; want both PROPOSALs early", rd.Early, rd.Messages)
	}
	for _, m := range rd.Early {
		if m.Type != Proposal || m.Zxid != z {
			t.Fatalf("early %s", m.Describe())
		}
	}
	p.Advance(rd)
	f := n.peers[rd.Early[0].To]
	if err := f.Step(rd.Early[0]); err != nil {
		t.Fatal(err)
	}
	frd := f.Ready()
	if len(frd.Early) != 0 || len(frd.Messages) != 1 || frd.Messages[0].Type != Ack {
		t.Fatalf("follower: early %v, late %v; the ACK must wait for the fsync", frd.Early, frd.Messages)
	}
	f.Advance(frd)

	msgs := []Message{
		{Type: Proposal, To: 2, Zxid: 1},
		{Type: Diff, To: 3, Zxid: 1},
		{Type: Proposal, To: 3, Zxid: 2},
		{Type: Commit, To: 2, Zxid: 1},
		{Type: UpToDate, To: 2, Zxid: 1},
		{Type: Proposal, To: 2, Zxid: 3},
		{Type: Inform, To: 4, Zxid: 1},
	}
	early, late := splitEarly(msgs)
	want := func(got []Message, idx ...int) {
		t.Helper()
		var w []Message
		for _, i := range idx {
			w = append(w, msgs[i])
		}
		if !slices.EqualFunc(got, w, func(a, b Message) bool { return a.Type == b.Type && a.To == b.To && a.Zxid == b.Zxid }) {
			t.Errorf("got %v, want %v", got, w)
		}
	}
	want(early, 0, 3, 6)
	want(late, 1, 2, 4, 5)
}

// Within one Ready a follower acknowledges a run of proposals with one ACK
// (through the last) and the leader commits a run of ACKs with one COMMIT
// per follower; a message of another kind in between keeps them apart.
func TestAcksAndCommitsCoalesce(t *testing.T) {
	n := newTestNet(t, ids(1, 2, 3), nil, nil, nil)
	l := n.mustElect()
	lp := n.peers[l]
	var zs []int64
	for _, d := range []string{"a", "b", "c"} {
		z, err := lp.Propose([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	rd := lp.Ready()
	lp.Advance(rd)
	var f uint64
	for _, id := range ids(1, 2, 3) {
		if id != l {
			f = id
			break
		}
	}
	fp := n.peers[f]
	for _, m := range slices.Concat(rd.Early, rd.Messages) {
		if m.To == f {
			if err := fp.Step(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	frd := fp.Ready()
	if len(frd.Entries) != 3 || len(frd.Messages) != 1 || frd.Messages[0].Type != Ack || frd.Messages[0].Zxid != zs[2] {
		t.Fatalf("follower: %d entries, messages %v; want one ACK through %#x", len(frd.Entries), frd.Messages, zs[2])
	}
	fp.Advance(frd)

	// The leader gets one ACK per proposal (as an older follower would
	// send them): one COMMIT through the last goes to each follower.
	for _, z := range zs {
		if err := lp.Step(Message{Type: Ack, From: f, To: l, Epoch: frd.Messages[0].Epoch, Zxid: z, Session: frd.Messages[0].Session}); err != nil {
			t.Fatal(err)
		}
	}
	lrd := lp.Ready()
	commits := map[uint64][]int64{}
	for _, m := range slices.Concat(lrd.Early, lrd.Messages) {
		if m.Type == Commit {
			commits[m.To] = append(commits[m.To], m.Zxid)
		}
	}
	if len(commits) != 2 {
		t.Fatalf("commits to %d followers, want 2: %v", len(commits), commits)
	}
	for to, c := range commits {
		if !slices.Equal(c, []int64{zs[2]}) {
			t.Errorf("COMMITs to %d: %#x, want one through %#x", to, c, zs[2])
		}
	}
	lp.Advance(lrd)

	// Not across another message on the link.
	p := &Peer{id: 9}
	p.send(Message{Type: Commit, To: 2, Epoch: 1, Zxid: 1})
	p.send(Message{Type: Proposal, To: 2, Epoch: 1, Zxid: 2})
	p.send(Message{Type: Commit, To: 2, Epoch: 1, Zxid: 2})
	p.send(Message{Type: Commit, To: 3, Epoch: 1, Zxid: 2})
	p.send(Message{Type: Ack, To: 4, Epoch: 1, Zxid: MakeZxid(1, 0)}) // NEWLEADER ack
	p.send(Message{Type: Ack, To: 4, Epoch: 1, Zxid: MakeZxid(1, 1)})
	if got := len(p.pend.msgs); got != 6 {
		t.Fatalf("%d messages pending, want all 6 (none of them may fold): %v", got, p.pend.msgs)
	}
}
