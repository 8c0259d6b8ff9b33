package zab

// Fast leader election, after ZooKeeper's FastLeaderElection.lookForLeader.
//
// A LOOKING peer votes for itself (its currentEpoch and last zxid) and
// broadcasts notifications; it adopts any better vote it hears in its round
// and rebroadcasts. When a quorum of voters in its round agrees with its
// vote it waits FinalizeWaitTicks for a better vote; if none comes the vote
// decides: LEADING if it names itself, else FOLLOWING (OBSERVING for an
// observer). Peers that are already FOLLOWING or LEADING answer a LOOKING
// peer's notification with their vote; once a quorum of them agree and the
// named leader itself says LEADING, the LOOKING peer joins that leader
// without a new election (the seeds: servers 4 and 5 find leader 3).

type election struct {
	round      uint64 // logicalclock
	vote       Vote   // current proposal; after the election, the decided vote
	recv       map[uint64]notification
	outOf      map[uint64]notification // from FOLLOWING/LEADING peers, any round
	finalizing bool
	finalizeIn int
	resendIn   int
}

type notification struct {
	state State
	round uint64
	vote  Vote
}

// betterVote is FastLeaderElection.totalOrderPredicate: a candidate that
// cannot vote never wins; otherwise the higher peer epoch, then the higher
// zxid, then the higher server id.
func (p *Peer) betterVote(a, b Vote) bool {
	if !p.isVoter(a.Leader) {
		return false
	}
	if !p.isVoter(b.Leader) {
		return true
	}
	return VoteLess(b, a)
}

// VoteLess orders votes by (PeerEpoch, Zxid, Leader).
func VoteLess(a, b Vote) bool {
	if a.PeerEpoch != b.PeerEpoch {
		return a.PeerEpoch < b.PeerEpoch
	}
	if a.Zxid != b.Zxid {
		return a.Zxid < b.Zxid
	}
	return a.Leader < b.Leader
}

func (p *Peer) initialVote() Vote {
	v := Vote{Zxid: p.lastZxid, PeerEpoch: p.hs.CurrentEpoch}
	if p.isVoter(p.id) {
		v.Leader = p.id
	}
	return v
}

func (p *Peer) startElection() {
	e := &p.elec
	e.round++
	e.vote = p.initialVote()
	e.recv = map[uint64]notification{}
	e.outOf = map[uint64]notification{}
	e.finalizing = false
	p.recordOwnVote()
	p.broadcastNotifications()
}

func (p *Peer) recordOwnVote() {
	if p.isVoter(p.id) {
		p.elec.recv[p.id] = notification{state: Looking, round: p.elec.round, vote: p.elec.vote}
	}
}

func (p *Peer) notificationTo(to uint64) Message {
	return Message{Type: Notification, To: to, State: p.state, Round: p.elec.round, Vote: p.elec.vote}
}

// broadcastNotifications sends our vote to every other voter (ZooKeeper
// sends only to voters; observers are answered when they ask).
func (p *Peer) broadcastNotifications() {
	for _, id := range p.voters {
		if id != p.id {
			p.send(p.notificationTo(id))
		}
	}
	p.elec.resendIn = p.cfg.ElectionTimeoutTicks + p.rand.Intn(p.cfg.ElectionTimeoutTicks)
}

func (p *Peer) tickElection() {
	e := &p.elec
	if e.finalizing {
		e.finalizeIn--
		if e.finalizeIn <= 0 {
			e.finalizing = false
			if p.agreed(e.recv, e.vote, e.round) {
				p.decide(e.vote)
				return
			}
		}
	}
	e.resendIn--
	if e.resendIn <= 0 {
		p.broadcastNotifications()
	}
}

// agreed is termPredicate: a quorum of voters in votes hold v in round.
func (p *Peer) agreed(votes map[uint64]notification, v Vote, round uint64) bool {
	n := 0
	for id, nt := range votes {
		if p.isVoter(id) && nt.vote == v && nt.round == round {
			n++
		}
	}
	return n >= p.quorum()
}

// followedBy: a quorum of voters out of the election say leader leads.
// Like ZooKeeper's Vote.equals for peers out of the election, only the
// leader counts: peers that joined it at different times hold different
// zxids and rounds in their votes (and, in ZooKeeper, epochs), and
// requiring those to match could keep a newcomer out for ever. Safety does
// not rest on this: discovery and sync do that.
func (p *Peer) followedBy(votes map[uint64]notification, leader uint64) bool {
	n := 0
	for id, nt := range votes {
		if p.isVoter(id) && nt.vote.Leader == leader {
			n++
		}
	}
	return n >= p.quorum()
}

// leaderConfirmed is checkLeader: a peer other than us must have told us
// itself that it is LEADING; if it is us, the round must be ours.
func (p *Peer) leaderConfirmed(votes map[uint64]notification, leader uint64, round uint64) bool {
	if leader == p.id {
		return round == p.elec.round
	}
	n, ok := votes[leader]
	return ok && n.state == Leading
}

func (p *Peer) stepNotification(m Message) error {
	n := notification{state: m.State, round: m.Round, vote: m.Vote}
	if p.state != Looking {
		// An established peer answers a LOOKING one with its vote, so the
		// newcomer can find the leader.
		if m.State == Looking {
			p.send(p.notificationTo(m.From))
		}
		return nil
	}
	if !p.isVoter(m.From) {
		// Observers do not vote; tell them what we think.
		p.send(p.notificationTo(m.From))
		return nil
	}
	e := &p.elec
	switch m.State {
	case Looking:
		switch {
		case m.Round > e.round:
			e.round = m.Round
			e.recv = map[uint64]notification{}
			e.vote = p.initialVote()
			if p.betterVote(m.Vote, e.vote) {
				e.vote = m.Vote
			}
			e.finalizing = false
			p.recordOwnVote()
			p.broadcastNotifications()
		case m.Round < e.round:
			// Bring the sender up to our round.
			p.send(p.notificationTo(m.From))
			return nil
		case p.betterVote(m.Vote, e.vote):
			e.vote = m.Vote
			e.finalizing = false
			p.recordOwnVote()
			p.broadcastNotifications()
		}
		e.recv[m.From] = n
		if p.agreed(e.recv, e.vote, e.round) && !e.finalizing {
			if p.cfg.FinalizeWaitTicks == 0 {
				p.decide(e.vote)
				return nil
			}
			e.finalizing = true
			e.finalizeIn = p.cfg.FinalizeWaitTicks
		}
	case Following, Leading:
		if m.Round == e.round {
			e.recv[m.From] = n
			if p.agreed(e.recv, m.Vote, e.round) && p.leaderConfirmed(e.recv, m.Vote.Leader, e.round) {
				e.vote = m.Vote
				p.decide(m.Vote)
				return nil
			}
		}
		e.outOf[m.From] = n
		if p.followedBy(e.outOf, m.Vote.Leader) && p.leaderConfirmed(e.outOf, m.Vote.Leader, m.Round) {
			e.round = m.Round
			e.vote = m.Vote
			p.decide(m.Vote)
		}
	default:
		// Observers' notifications were answered above.
	}
	return nil
}

// decide ends the election with v.
func (p *Peer) decide(v Vote) {
	if !p.isVoter(v.Leader) {
		return
	}
	p.elec.finalizing = false
	p.elec.vote = v
	switch {
	case v.Leader == p.id:
		p.becomeLeader()
	case p.isObserver(p.id):
		p.becomeLearner(Observing, v.Leader)
	default:
		p.becomeLearner(Following, v.Leader)
	}
}
