package zab

// Synchronization (Zab paper, phase 2; ZooKeeper's
// LearnerHandler.syncFollower and Learner.syncWithLeader). For each learner
// that acked the epoch the leader picks DIFF, TRUNC or SNAP, sends the txns
// the learner lacks in the same packet, then NEWLEADER. The learner logs
// everything, persists currentEpoch and acks NEWLEADER in the same Ready
// (ZOOKEEPER-3911: the history is durable before the ack). With a quorum of
// NEWLEADER acks, its own currentEpoch durable, the leader's history is
// committed: the epoch is established and UPTODATE tells the learners to
// serve.

// SyncKind is the leader's choice for one learner.
type SyncKind uint8

// Sync kinds.
const (
	SyncDiff  SyncKind = iota // the learner's last zxid is in our history: send what follows
	SyncTrunc                 // the learner has txns we lack in the same epoch: cut them, then send what follows
	SyncSnap                  // no common point we can prove: send our state machine, then what follows
)

func (k SyncKind) String() string {
	return [...]string{"DIFF", "TRUNC", "SNAP"}[k]
}

// History is what DecideSync needs to know about the leader's log.
type History interface {
	// Has reports whether z is in the history (a logged txn, or the point
	// of the snapshot the log starts from).
	Has(z int64) bool
	// Entries returns the logged txns with after < zxid <= through.
	Entries(after, through int64) []Entry
}

// SyncPlan is DecideSync's answer: the packet type, its zxid (the learner's
// last zxid for DIFF, the truncation point for TRUNC, the snapshot's zxid
// for SNAP) and the txns to send after it.
type SyncPlan struct {
	Kind    SyncKind
	Zxid    int64
	Entries []Entry
}

// DecideSync is the sync decision table (reference/zookeeper.md 4.4):
//   - peerLast == leaderLast: empty DIFF.
//   - peerLast in the leader's history: DIFF with the txns after it, unless
//     there are more than maxDiff of them and the leader's state machine
//     (at applied) is past peerLast: then SNAP.
//   - peerLast not in the history but the leader has txns of the same
//     epoch before it: TRUNC to the newest of those, then the txns after.
//     (A zxid names one txn; two logs holding the same zxid agree up to
//     it.) When the learner is ahead in the leader's last epoch this
//     truncates to leaderLast.
//   - otherwise (a cross-epoch divergence, or a point compacted away):
//     SNAP at applied, then the txns after it.
func DecideSync(peerLast, leaderLast, applied int64, maxDiff int, h History) SyncPlan {
	if peerLast == leaderLast {
		return SyncPlan{Kind: SyncDiff, Zxid: peerLast}
	}
	snap := func() SyncPlan {
		return SyncPlan{Kind: SyncSnap, Zxid: applied, Entries: h.Entries(applied, leaderLast)}
	}
	if peerLast < leaderLast && h.Has(peerLast) {
		ents := h.Entries(peerLast, leaderLast)
		if len(ents) > maxDiff && applied > peerLast {
			return snap()
		}
		return SyncPlan{Kind: SyncDiff, Zxid: peerLast, Entries: ents}
	}
	epoch := ZxidEpoch(peerLast)
	if epoch > 0 {
		top := min(peerLast, leaderLast)
		if prior := h.Entries(MakeZxid(epoch, 0), top); len(prior) > 0 {
			prev := prior[len(prior)-1].Zxid
			ents := h.Entries(prev, leaderLast)
			if len(ents) > maxDiff && applied > prev {
				return snap()
			}
			return SyncPlan{Kind: SyncTrunc, Zxid: prev, Entries: ents}
		}
	}
	return snap()
}

// peerHistory adapts the peer's logical history to History.
type peerHistory struct{ p *Peer }

func (h peerHistory) Has(z int64) bool { return h.p.hasZxid(z) }

func (h peerHistory) Entries(after, through int64) []Entry {
	if through <= after {
		return nil
	}
	ents, err := h.p.entriesBetween(after, through)
	if err != nil {
		panic("zab: reading the log for a sync: " + err.Error())
	}
	return ents
}

// syncLearner sends h its sync packet and NEWLEADER.
func (p *Peer) syncLearner(h *learnerHandler) {
	l := p.ld
	plan := DecideSync(h.lastZxid, p.lastZxid, p.applied, p.cfg.MaxDiffEntries, peerHistory{p})
	t := map[SyncKind]MessageType{SyncDiff: Diff, SyncTrunc: Trunc, SyncSnap: Snap}[plan.Kind]
	p.logEvent("sync learner %d (last %s): %s %s +%d txns", h.id, FormatZxid(h.lastZxid), plan.Kind,
		FormatZxid(plan.Zxid), len(plan.Entries))
	p.send(Message{Type: t, To: h.id, Epoch: l.newEpoch, Zxid: plan.Zxid, Entries: plan.Entries})
	p.send(Message{Type: NewLeader, To: h.id, Epoch: l.newEpoch, Zxid: MakeZxid(l.newEpoch, 0)})
	h.stage = stageSyncing
	h.since = p.ticks
	h.sent = p.lastZxid
	h.syncedThrough = p.lastZxid
	h.acked = 0
}

// establish: a quorum holds the history and the new epoch; it is committed.
func (p *Peer) establish() {
	l := p.ld
	l.established = true
	l.heartbeatIn = 0
	if p.commitZxid < l.historyZxid {
		p.commitZxid = l.historyZxid
	}
	p.setServing(true)
	p.logEvent("established epoch %d, committed through %s", l.newEpoch, FormatZxid(p.commitZxid))
	for _, id := range l.handlerIDs() {
		if h := l.learners[id]; h.stage == stageSynced {
			p.sendUpToDate(h)
		}
	}
	p.maybeCommit()
}

func (p *Peer) sendUpToDate(h *learnerHandler) {
	h.stage = stageActive
	p.send(Message{Type: UpToDate, To: h.id, Epoch: p.ld.newEpoch, Zxid: p.commitZxid})
}

func (p *Peer) stepNewLeaderAck(m Message, h *learnerHandler) error {
	if h.stage != stageSyncing {
		return p.unexpected(m, "NEWLEADER ack out of phase")
	}
	h.stage = stageSynced
	h.since = p.ticks
	// Its NEWLEADER ack says it logged everything the sync packet carried
	// (proposals sent after it are acked one by one).
	h.acked = max(h.acked, h.syncedThrough)
	if p.ld.established {
		p.sendUpToDate(h)
		p.maybeCommit()
		return nil
	}
	p.leaderProgress()
	return nil
}

// Learner side.

func (p *Peer) stepSyncPacket(m Message) error {
	lr := p.lr
	if lr.stage != learnerSync || lr.gotSync || m.Epoch != lr.epoch {
		return p.unexpected(m, "out of phase")
	}
	switch m.Type {
	case Diff:
		if m.Zxid != p.lastZxid {
			p.becomeLooking("DIFF from " + FormatZxid(m.Zxid) + " but last is " + FormatZxid(p.lastZxid))
			return nil
		}
	case Trunc:
		if m.Zxid < p.applied || m.Zxid > p.lastZxid {
			p.becomeLooking("TRUNC to " + FormatZxid(m.Zxid) + " outside applied " + FormatZxid(p.applied) +
				" .. last " + FormatZxid(p.lastZxid))
			return nil
		}
		p.truncateAfter(m.Zxid)
		if p.commitZxid > m.Zxid {
			p.commitZxid = m.Zxid
		}
	case Snap:
		p.installSnapshot(&Snapshot{Zxid: m.Zxid, Data: m.Data})
	}
	for _, e := range m.Entries {
		if e.Zxid <= p.lastZxid {
			p.becomeLooking("sync entry " + FormatZxid(e.Zxid) + " not after " + FormatZxid(p.lastZxid))
			return nil
		}
		p.appendEntry(e)
	}
	lr.gotSync = true
	p.logEvent("synced by %s %s, last %s", m.Type, FormatZxid(m.Zxid), FormatZxid(p.lastZxid))
	return nil
}

func (p *Peer) stepNewLeader(m Message) error {
	lr := p.lr
	if lr.stage != learnerSync || !lr.gotSync || m.Epoch != lr.epoch {
		return p.unexpected(m, "out of phase")
	}
	// The synced history and currentEpoch are in this Ready; the ACK is
	// sent only after they are durable.
	p.setCurrentEpoch(lr.epoch)
	lr.stage = learnerSynced
	lr.since = p.ticks
	p.send(Message{Type: Ack, To: p.leader, Epoch: lr.epoch, Zxid: MakeZxid(lr.epoch, 0)})
	return nil
}

func (p *Peer) stepUpToDate(m Message) error {
	lr := p.lr
	if lr.stage != learnerSynced || m.Epoch != lr.epoch {
		return p.unexpected(m, "out of phase")
	}
	lr.stage = learnerBroadcast
	c := max(lr.pendingCommit, min(m.Zxid, p.lastZxid))
	if c > p.commitZxid {
		p.commitZxid = c
	}
	p.setServing(true)
	p.logEvent("UPTODATE epoch %d, committed through %s", lr.epoch, FormatZxid(p.commitZxid))
	return nil
}
