package zab

import (
	"fmt"
	"strings"
)

// Status is a snapshot of the peer's state for mntr, srvr and tests.
type Status struct {
	ID            uint64
	State         State
	Leader        uint64 // 0 if unknown
	Serving       bool
	Established   bool   // leader only: the epoch is established
	Epoch         uint32 // the epoch being led or followed, 0 while LOOKING
	AcceptedEpoch uint32 // logical (may not be durable yet)
	CurrentEpoch  uint32
	LastZxid      int64
	CommitZxid    int64
	AppliedZxid   int64 // last zxid handed out in Committed
	Round         uint64
	Vote          Vote
	Learners      []LearnerStatus // leader only, by id
}

// LearnerStatus is the leader's view of one learner.
type LearnerStatus struct {
	ID       uint64
	Observer bool
	Stage    string // info, epoch, syncing, synced, active
	Acked    int64
}

// SyncedFollowers counts followers past their NEWLEADER ack (mntr's
// zk_synced_followers).
func (s Status) SyncedFollowers() int {
	n := 0
	for _, l := range s.Learners {
		if !l.Observer && (l.Stage == "synced" || l.Stage == "active") {
			n++
		}
	}
	return n
}

// Status reports the peer's state.
func (p *Peer) Status() Status {
	s := Status{
		ID: p.id, State: p.state, Leader: p.leader, Serving: p.serving,
		AcceptedEpoch: p.hs.AcceptedEpoch, CurrentEpoch: p.hs.CurrentEpoch,
		LastZxid: p.lastZxid, CommitZxid: p.commitZxid, AppliedZxid: p.applied,
		Round: p.elec.round, Vote: p.elec.vote,
	}
	switch {
	case p.ld != nil:
		s.Epoch = p.ld.newEpoch
		s.Established = p.ld.established
		for _, id := range p.ld.handlerIDs() {
			h := p.ld.learners[id]
			s.Learners = append(s.Learners, LearnerStatus{ID: id, Observer: h.observer, Stage: h.stage.String(), Acked: h.acked})
		}
	case p.lr != nil:
		s.Epoch = p.lr.epoch
	}
	return s
}

// String is a one-line summary.
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", s.ID, s.State)
	if s.State != Looking {
		fmt.Fprintf(&b, " leader=%d epoch=%d", s.Leader, s.Epoch)
	}
	fmt.Fprintf(&b, " accepted=%d current=%d last=%s commit=%s", s.AcceptedEpoch, s.CurrentEpoch,
		FormatZxid(s.LastZxid), FormatZxid(s.CommitZxid))
	if s.Serving {
		b.WriteString(" serving")
	}
	if s.State == Leading {
		fmt.Fprintf(&b, " synced=%d/%d", s.SyncedFollowers(), len(s.Learners))
	}
	return b.String()
}
