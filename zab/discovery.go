package zab

import "slices"

// Discovery (Zab paper, phase 1; ZooKeeper's Leader.getEpochToPropose and
// waitForEpochAck): learners send FOLLOWERINFO/OBSERVERINFO with their
// acceptedEpoch; once a quorum of voters (the leader included) has, the
// leader proposes newEpoch = max(acceptedEpoch)+1, persists it as its own
// acceptedEpoch and sends LEADERINFO. A learner accepts an epoch at least
// its own, persists it and answers ACKEPOCH(currentEpoch, last zxid) in the
// same Ready; it refuses a lower one. When a quorum has acked, the leader
// sets currentEpoch = newEpoch and syncs each acked learner. A learner
// whose (currentEpoch, last zxid) is more recent than the leader's makes
// the leader give up: it cannot be the most up-to-date peer.

type handlerStage uint8

const (
	stageInfo    handlerStage = iota // FOLLOWERINFO received
	stageEpoch                       // ACKEPOCH received
	stageSyncing                     // sync packets and NEWLEADER sent
	stageSynced                      // NEWLEADER acked
	stageActive                      // UPTODATE sent
)

var stageNames = [...]string{"info", "epoch", "syncing", "synced", "active"}

func (s handlerStage) String() string { return stageNames[s] }

// learnerHandler is the leader's view of one learner (LearnerHandler).
type learnerHandler struct {
	id            uint64
	observer      bool
	session       uint64 // from its FOLLOWERINFO; its messages must carry it
	stage         handlerStage
	acceptedEpoch uint32
	currentEpoch  uint32
	lastZxid      int64 // from ACKEPOCH
	acked         int64 // logged through (cumulative)
	sent          int64 // last zxid sent to it
	syncedThrough int64 // last zxid of the history its sync packet brought it to
	since         int64 // tick the stage began
	lastHeard     int64
}

type leader struct {
	newEpoch     uint32
	epochDecided bool
	epochAcked   bool
	established  bool
	phaseStart   int64
	historyZxid  int64                      // last zxid when currentEpoch was set: the history this epoch starts from
	learners     map[uint64]*learnerHandler // change through addLearner and dropLearner
	ids          []uint64                   // learners' ids in order; nil when to be rebuilt
	syncs        []pendingSync
	acks         []int64 // maybeCommit's scratch
	heartbeatIn  int
}

type pendingSync struct {
	from uint64
	ref  uint64
	zxid int64
}

func (p *Peer) becomeLeader() {
	p.setState(Leading, p.id)
	p.ld = &leader{
		phaseStart: p.ticks,
		learners:   map[uint64]*learnerHandler{},
	}
	p.logEvent("LEADING: elected with vote %s round %d", p.elec.vote, p.elec.round)
	p.leaderProgress()
}

// handlerIDs returns the learners' ids in order, for deterministic output.
// It is called for every proposal, so the order is kept until the set
// changes. The caller must not modify the slice; it stays valid (and
// unchanged) when learners are added or dropped while it is ranged over.
func (l *leader) handlerIDs() []uint64 {
	if l.ids == nil {
		ids := make([]uint64, 0, len(l.learners))
		for id := range l.learners {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		l.ids = ids
	}
	return l.ids
}

func (l *leader) addLearner(h *learnerHandler) {
	l.learners[h.id] = h
	l.ids = nil
}

func (l *leader) dropLearner(id uint64) {
	delete(l.learners, id)
	l.ids = nil
}

// votersAtLeast counts voters (the leader included) whose handler reached s.
func (p *Peer) votersAtLeast(s handlerStage) int {
	n := 1
	for _, h := range p.ld.learners {
		if !h.observer && h.stage >= s {
			n++
		}
	}
	return n
}

// leaderProgress moves the leader through discovery and sync as quorums form.
func (p *Peer) leaderProgress() {
	l := p.ld
	q := p.quorum()
	if !l.epochDecided && p.votersAtLeast(stageInfo) >= q {
		p.decideEpoch()
	}
	if l.epochDecided && !l.epochAcked && p.votersAtLeast(stageEpoch) >= q {
		l.epochAcked = true
		l.phaseStart = p.ticks
		l.historyZxid = p.lastZxid
		p.setCurrentEpoch(l.newEpoch)
		p.logEvent("epoch %d acked by a quorum, history through %s", l.newEpoch, FormatZxid(l.historyZxid))
		for _, id := range l.handlerIDs() {
			if h := l.learners[id]; h.stage == stageEpoch {
				p.syncLearner(h)
			}
		}
	}
	if l.epochAcked && !l.established && p.durableHS.CurrentEpoch == l.newEpoch && p.votersAtLeast(stageSynced) >= q {
		p.establish()
	}
}

func (p *Peer) decideEpoch() {
	l := p.ld
	e := max(p.hs.AcceptedEpoch, p.maxSeenEpoch)
	for _, h := range l.learners {
		e = max(e, h.acceptedEpoch)
	}
	l.newEpoch = e + 1
	l.epochDecided = true
	l.phaseStart = p.ticks
	p.setAcceptedEpoch(l.newEpoch)
	p.logEvent("proposing epoch %d", l.newEpoch)
	for _, id := range l.handlerIDs() {
		p.sendLeaderInfo(l.learners[id])
	}
}

func (p *Peer) sendLeaderInfo(h *learnerHandler) {
	p.send(Message{Type: LeaderInfo, To: h.id, Epoch: p.ld.newEpoch, Zxid: MakeZxid(p.ld.newEpoch, 0)})
}

func (p *Peer) stepLearnerInfo(m Message) error {
	observer := m.Type == ObserverInfo
	if observer != p.isObserver(m.From) {
		return p.unexpected(m, "from a server of the other kind")
	}
	l := p.ld
	if old, ok := l.learners[m.From]; ok {
		if old.stage == stageInfo && old.acceptedEpoch == m.Epoch && old.session == m.Session {
			// A resent FOLLOWERINFO (sendLearnerInfo): our LEADERINFO
			// may have been lost, so send it again.
			old.lastHeard = p.ticks
			if l.epochDecided {
				p.sendLeaderInfo(old)
			}
			return nil
		}
		p.logEvent("learner %d reconnected (was %s)", m.From, old.stage)
	}
	h := &learnerHandler{
		id: m.From, observer: observer, session: m.Session, stage: stageInfo, acceptedEpoch: m.Epoch,
		since: p.ticks, lastHeard: p.ticks,
	}
	l.addLearner(h)
	p.maxSeenEpoch = max(p.maxSeenEpoch, m.Epoch)
	if l.epochDecided {
		if m.Epoch > l.newEpoch {
			// The learner promised a higher epoch and will refuse ours.
			// ZooKeeper leaves it out until this leader fails; we give up
			// leadership instead so the next election, remembering this
			// epoch, proposes one above it and everyone can join.
			p.becomeLooking("learner " + itoa(m.From) + " accepted epoch " + itoa(uint64(m.Epoch)) +
				" > ours " + itoa(uint64(l.newEpoch)))
			return nil
		}
		p.sendLeaderInfo(h)
		return nil
	}
	p.leaderProgress()
	return nil
}

func (p *Peer) stepAckEpoch(m Message, h *learnerHandler) error {
	l := p.ld
	if h.stage != stageInfo || !l.epochDecided || m.Epoch != l.newEpoch {
		return p.unexpected(m, "out of phase")
	}
	// Compare with what we hold now: before the quorum acks that is what we
	// were elected with; after, currentEpoch is already the new epoch.
	ahead := m.CurrentEpoch > p.hs.CurrentEpoch || (m.CurrentEpoch == p.hs.CurrentEpoch && m.Zxid > p.lastZxid)
	if ahead {
		if !l.established {
			p.becomeLooking("learner " + itoa(m.From) + " is ahead of the leader: " + m.Describe())
			return nil
		}
		l.dropLearner(h.id)
		return p.unexpected(m, "learner ahead of an established leader")
	}
	h.stage = stageEpoch
	h.since = p.ticks
	h.currentEpoch = m.CurrentEpoch
	h.lastZxid = m.Zxid
	if l.epochAcked {
		p.syncLearner(h)
		return nil
	}
	p.leaderProgress()
	return nil
}

// learner is a follower's or observer's side of the protocol (Learner.java).
type learner struct {
	session       uint64 // this attempt's Session, drawn when it began
	stage         learnerStage
	epoch         uint32 // the leader's new epoch, from LEADERINFO
	gotSync       bool
	pendingCommit int64 // COMMITs seen before UPTODATE
	lastHeard     int64
	since         int64 // tick the stage began
	infoSentAt    int64 // tick FOLLOWERINFO was last sent
}

type learnerStage uint8

const (
	learnerDiscovery learnerStage = iota // INFO sent, waiting for LEADERINFO
	learnerSync                          // ACKEPOCH sent, waiting for sync packets and NEWLEADER
	learnerSynced                        // NEWLEADER acked, waiting for UPTODATE
	learnerBroadcast                     // UPTODATE seen
)

func (p *Peer) becomeLearner(s State, leader uint64) {
	p.setState(s, leader)
	p.lr = &learner{session: p.newSession(), lastHeard: p.ticks, since: p.ticks}
	p.logEvent("%s leader %d, vote %s round %d", s, leader, p.elec.vote, p.elec.round)
	p.sendLearnerInfo()
}

// sendLearnerInfo sends FOLLOWERINFO (OBSERVERINFO) to the leader. It is
// repeated every ElectionTimeoutTicks until LEADERINFO comes (tickLearner), the
// message form of ZooKeeper's Learner.connectToLeader retries: the first
// one can reach the leader while it is still LOOKING (finalizeWait) and be
// dropped. The leader answers a duplicate with LEADERINFO again (the first
// may be lost); per-link FIFO puts it before our ACKEPOCH.
func (p *Peer) sendLearnerInfo() {
	t := FollowerInfo
	if p.state == Observing {
		t = ObserverInfo
	}
	p.lr.infoSentAt = p.ticks
	p.send(Message{Type: t, To: p.leader, Epoch: p.hs.AcceptedEpoch, Zxid: p.lastZxid})
}

// newSession draws a learner session: random, so that a restarted peer
// does not reuse one a message still in flight carries.
func (p *Peer) newSession() uint64 {
	for {
		if s := p.rand.Uint64(); s != 0 {
			return s
		}
	}
}

func (p *Peer) stepLeaderInfo(m Message) error {
	lr := p.lr
	if lr.stage != learnerDiscovery {
		return p.unexpected(m, "out of phase")
	}
	if m.Epoch < p.hs.AcceptedEpoch {
		p.becomeLooking("leader proposed epoch " + itoa(uint64(m.Epoch)) + " below accepted " + itoa(uint64(p.hs.AcceptedEpoch)))
		return nil
	}
	// Persist acceptedEpoch before ACKEPOCH leaves: both are in the same Ready.
	p.setAcceptedEpoch(m.Epoch)
	lr.epoch = m.Epoch
	lr.stage = learnerSync
	lr.since = p.ticks
	p.send(Message{Type: AckEpoch, To: p.leader, Epoch: m.Epoch, CurrentEpoch: p.hs.CurrentEpoch, Zxid: p.lastZxid})
	return nil
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
