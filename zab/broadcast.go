package zab

import "slices"

// Broadcast (Zab paper, phase 3): the established leader gives each txn the
// next zxid of its epoch, logs it and sends PROPOSAL to the followers; a
// follower logs it and ACKs in the same Ready (the ACK leaves only once the
// txn is durable). When a quorum of voters, the leader included, has logged
// a zxid the leader commits through it and sends COMMIT; observers get
// INFORM with the txn instead. ACKs and COMMITs are cumulative: over a FIFO
// link, logging zxid z means logging everything the leader sent before it.
//
// Liveness (ZooKeeper's Leader.lead loop and Learner timeouts): the leader
// pings learners every HeartbeatTicks and gives up a learner silent for
// SyncLimitTicks, or one that did not finish a sync stage in
// InitLimitTicks; it steps down when fewer than a quorum of voters has
// been heard within SyncLimitTicks. A learner goes LOOKING when its leader
// is silent that long, or when it sees a gap in the stream (a lost packet).

// maxCounter: ZooKeeper forces a new epoch rather than let the counter
// reach 0xffffffff (ZxidRolloverException in ProposalRequestProcessor).
const maxCounter = 0xffffffff

func (p *Peer) propose(data []byte) (int64, error) {
	l := p.ld
	z, ok := p.nextZxid()
	if !ok {
		p.becomeLooking("zxid counter exhausted in epoch " + itoa(uint64(l.newEpoch)))
		return 0, ErrZxidRollover
	}
	e := Entry{Zxid: z, Data: data}
	p.appendEntry(e)
	for _, id := range l.handlerIDs() {
		h := l.learners[id]
		if !h.observer && h.stage >= stageSyncing {
			p.send(Message{Type: Proposal, To: id, Epoch: l.newEpoch, Zxid: z, Entries: []Entry{e}})
			h.sent = z
		}
	}
	return z, nil
}

// nextZxid is the zxid the leader's next proposal gets: the next counter
// of its epoch, or counter 1 of a new epoch. ok is false when the counter
// is exhausted (a new epoch must be elected first).
func (p *Peer) nextZxid() (z int64, ok bool) {
	l := p.ld
	if ZxidEpoch(p.lastZxid) != l.newEpoch {
		return MakeZxid(l.newEpoch, 1), true
	}
	if ZxidCounter(p.lastZxid)+1 >= maxCounter {
		return 0, false
	}
	return p.lastZxid + 1, true
}

// leaderAdvanced: our own writes became durable; that may complete our own
// NEWLEADER ack or our ack of proposals.
func (p *Peer) leaderAdvanced() {
	p.leaderProgress()
	p.maybeCommit()
}

// maybeCommit commits through the highest zxid a quorum of voters logged.
func (p *Peer) maybeCommit() {
	l := p.ld
	if l == nil || !l.established {
		return
	}
	acks := append(l.acks[:0], p.durableZxid) // runs per ACK: reuse the array
	for _, h := range l.learners {
		if !h.observer && h.stage >= stageSynced {
			acks = append(acks, h.acked)
		}
	}
	l.acks = acks
	q := p.quorum()
	if len(acks) < q {
		return
	}
	slices.Sort(acks)
	c := min(acks[len(acks)-q], p.lastZxid)
	if c <= p.commitZxid {
		return
	}
	old := p.commitZxid
	p.commitZxid = c
	var informs []Entry
	for _, id := range l.handlerIDs() {
		h := l.learners[id]
		if h.stage < stageSyncing {
			continue
		}
		if !h.observer {
			p.send(Message{Type: Commit, To: id, Epoch: l.newEpoch, Zxid: c})
			continue
		}
		if informs == nil {
			informs = peerHistory{p}.Entries(old, c)
		}
		for _, e := range informs {
			p.send(Message{Type: Inform, To: id, Epoch: l.newEpoch, Zxid: e.Zxid, Entries: []Entry{e}})
			h.sent = max(h.sent, e.Zxid)
		}
	}
	p.answerSyncs()
}

// leaderSync answers a sync once everything proposed so far is committed.
func (p *Peer) leaderSync(from, ref uint64) {
	p.ld.syncs = append(p.ld.syncs, pendingSync{from: from, ref: ref, zxid: p.lastZxid})
	p.answerSyncs()
}

func (p *Peer) answerSyncs() {
	l := p.ld
	keep := l.syncs[:0]
	for _, s := range l.syncs {
		switch {
		case s.zxid > p.commitZxid:
			keep = append(keep, s)
		case s.from == p.id:
			p.pend.synced = append(p.pend.synced, s.ref)
		default:
			p.send(Message{Type: Sync, To: s.from, Epoch: l.newEpoch, Zxid: p.commitZxid, Ref: s.ref})
		}
	}
	l.syncs = keep
}

func (p *Peer) stepLeader(m Message) error {
	l := p.ld
	if m.Type == FollowerInfo || m.Type == ObserverInfo {
		return p.stepLearnerInfo(m)
	}
	h, ok := l.learners[m.From]
	if !ok {
		return p.unexpected(m, "from a server that is not our learner")
	}
	if m.Session != h.session {
		return p.unexpected(m, "from an earlier session of the learner")
	}
	if m.Type != AckEpoch && m.Epoch != l.newEpoch {
		return p.unexpected(m, "wrong epoch")
	}
	h.lastHeard = p.ticks
	switch m.Type {
	case AckEpoch:
		return p.stepAckEpoch(m, h)
	case Ack:
		if m.Zxid == MakeZxid(l.newEpoch, 0) {
			return p.stepNewLeaderAck(m, h)
		}
		if h.observer {
			return p.unexpected(m, "observers do not ack proposals")
		}
		if h.stage < stageSynced || m.Zxid > h.sent {
			return p.unexpected(m, "ack out of phase")
		}
		h.acked = max(h.acked, m.Zxid)
		p.maybeCommit()
	case Ping:
		// lastHeard is all a ping is for.
	case Request:
		if h.stage != stageActive {
			return p.unexpected(m, "request before UPTODATE")
		}
		p.pend.requests = append(p.pend.requests, ForwardedRequest{From: m.From, Data: m.Data})
	case Sync:
		if h.stage != stageActive {
			return p.unexpected(m, "sync before UPTODATE")
		}
		p.leaderSync(m.From, m.Ref)
	default:
		return p.unexpected(m, "at the leader")
	}
	return nil
}

func (p *Peer) tickLeader() {
	l := p.ld
	if !l.established && p.ticks-l.phaseStart > int64(p.cfg.InitLimitTicks) {
		p.becomeLooking("no quorum within initLimit (epoch decided " + boolStr(l.epochDecided) +
			", acked " + boolStr(l.epochAcked) + ")")
		return
	}
	heard := 1
	for _, id := range l.handlerIDs() {
		h := l.learners[id]
		switch {
		case h.stage < stageSynced && p.ticks-h.since > int64(p.cfg.InitLimitTicks):
			p.logEvent("dropping learner %d: stage %s not done within initLimit", id, h.stage)
			l.dropLearner(id)
		case h.stage >= stageSynced && p.ticks-h.lastHeard > int64(p.cfg.SyncLimitTicks):
			// Until its NEWLEADER ACK a learner has initLimit, as
			// ZooKeeper's LearnerHandler reads with an initLimit timeout
			// during sync: installing a SNAP of a big tree may keep it
			// silent for longer than syncLimit.
			p.logEvent("dropping learner %d: silent for syncLimit", id)
			l.dropLearner(id)
		case !h.observer && h.stage >= stageSynced:
			heard++
		}
	}
	if l.established && heard < p.quorum() {
		p.becomeLooking("lost the quorum of followers")
		return
	}
	l.heartbeatIn--
	if l.heartbeatIn <= 0 {
		l.heartbeatIn = p.cfg.HeartbeatTicks
		for _, id := range l.handlerIDs() {
			if h := l.learners[id]; h.stage >= stageSyncing {
				p.send(Message{Type: Ping, To: id, Epoch: l.newEpoch, Zxid: h.sent, CommitZxid: p.commitZxid})
			}
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Learner side.

func (p *Peer) stepLearner(m Message) error {
	lr := p.lr
	if m.From != p.leader {
		return p.unexpected(m, "from a server that is not our leader")
	}
	if m.Session != lr.session {
		return p.unexpected(m, "from the leader's answer to an earlier session")
	}
	if m.Type != LeaderInfo && m.Epoch != lr.epoch {
		return p.unexpected(m, "wrong epoch")
	}
	lr.lastHeard = p.ticks
	switch m.Type {
	case LeaderInfo:
		return p.stepLeaderInfo(m)
	case Diff, Trunc, Snap:
		return p.stepSyncPacket(m)
	case NewLeader:
		return p.stepNewLeader(m)
	case UpToDate:
		return p.stepUpToDate(m)
	case Proposal:
		return p.stepProposal(m)
	case Commit:
		return p.stepCommit(m)
	case Inform:
		return p.stepInform(m)
	case Ping:
		if lr.stage >= learnerSynced && p.lastZxid < m.Zxid {
			p.becomeLooking("missed txns: leader sent through " + FormatZxid(m.Zxid) + ", last is " + FormatZxid(p.lastZxid))
			return nil
		}
		if lr.stage >= learnerSynced {
			p.learnerCommit(min(m.CommitZxid, p.lastZxid))
		}
		p.send(Message{Type: Ping, To: p.leader, Epoch: lr.epoch, Zxid: p.lastZxid})
	case Sync:
		if lr.stage != learnerBroadcast {
			return p.unexpected(m, "out of phase")
		}
		p.pend.synced = append(p.pend.synced, m.Ref)
	default:
		return p.unexpected(m, "at a learner")
	}
	return nil
}

// learnerNextZxid is the zxid the leader's next txn must have.
func (p *Peer) learnerNextZxid() int64 {
	if ZxidEpoch(p.lastZxid) == p.lr.epoch {
		return p.lastZxid + 1
	}
	return MakeZxid(p.lr.epoch, 1)
}

func (p *Peer) stepProposal(m Message) error {
	if p.state != Following || p.lr.stage < learnerSynced || len(m.Entries) != 1 || m.Entries[0].Zxid != m.Zxid {
		return p.unexpected(m, "out of phase or malformed")
	}
	if m.Zxid != p.learnerNextZxid() {
		p.becomeLooking("gap: proposal " + FormatZxid(m.Zxid) + " after " + FormatZxid(p.lastZxid))
		return nil
	}
	p.appendEntry(m.Entries[0])
	// The ACK leaves in the Ready that makes the txn durable.
	p.send(Message{Type: Ack, To: p.leader, Epoch: p.lr.epoch, Zxid: m.Zxid})
	return nil
}

func (p *Peer) stepCommit(m Message) error {
	if p.state != Following || p.lr.stage < learnerSynced {
		return p.unexpected(m, "out of phase")
	}
	if m.Zxid > p.lastZxid {
		p.becomeLooking("commit " + FormatZxid(m.Zxid) + " beyond last " + FormatZxid(p.lastZxid))
		return nil
	}
	p.learnerCommit(m.Zxid)
	return nil
}

func (p *Peer) stepInform(m Message) error {
	if p.state != Observing || p.lr.stage < learnerSynced || len(m.Entries) != 1 || m.Entries[0].Zxid != m.Zxid {
		return p.unexpected(m, "out of phase or malformed")
	}
	if m.Zxid > p.lastZxid {
		if m.Zxid != p.learnerNextZxid() {
			p.becomeLooking("gap: inform " + FormatZxid(m.Zxid) + " after " + FormatZxid(p.lastZxid))
			return nil
		}
		p.appendEntry(m.Entries[0])
	}
	p.learnerCommit(m.Zxid)
	return nil
}

func (p *Peer) learnerCommit(z int64) {
	lr := p.lr
	if lr.stage < learnerBroadcast {
		lr.pendingCommit = max(lr.pendingCommit, z)
		return
	}
	if z > p.commitZxid {
		p.commitZxid = z
	}
}

func (p *Peer) tickLearner() {
	lr := p.lr
	switch {
	case lr.stage < learnerBroadcast && p.ticks-lr.since > int64(p.cfg.InitLimitTicks):
		p.becomeLooking("sync with leader " + itoa(p.leader) + " not done within initLimit")
	case lr.stage == learnerDiscovery:
		// Until LEADERINFO only initLimit applies, as ZooKeeper times the
		// connection and sync with initLimit: a leader still finishing its
		// election has not heard of us and does not ping us.
		if p.ticks-lr.infoSentAt >= int64(p.cfg.ElectionTimeoutTicks) {
			p.sendLearnerInfo()
		}
	case p.ticks-lr.lastHeard > int64(p.cfg.SyncLimitTicks):
		p.becomeLooking("leader " + itoa(p.leader) + " silent")
	}
}
