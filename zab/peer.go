// Package zab is the ZooKeeper Atomic Broadcast protocol as a pure,
// deterministic state machine: fast leader election, discovery,
// synchronization and broadcast (Junqueira, Reed, Serafini, "Zab:
// High-performance broadcast for primary-backup systems", DSN 2011), with
// ZooKeeper's message names and sync rules.
//
// A Peer has no goroutines, sockets, files, clock or global randomness. Its
// shell feeds it ticks (Tick), messages (Step) and txns (Propose) and drains
// its output with the Ready pattern of etcd raft:
//
//	for {
//		// on a tick: p.Tick(); on a message: p.Step(m); on a txn: p.Propose(txn)
//		if !p.HasReady() { continue }
//		rd := p.Ready()
//		send(rd.Early)            // may overlap the persisting below
//		persist(rd.Snapshot, rd.Truncate, rd.Entries, rd.HardState) // one sync
//		send(rd.Messages)         // fill Snap data from the state machine first
//		restore(rd.Snapshot); apply(rd.Committed); answer(rd.Synced); prepare(rd.Requests)
//		p.Advance(rd)
//	}
//
// Messages in a Ready are sent only after everything in that Ready is
// durable, which is how the durability rules hold: an ACKEPOCH travels in
// the Ready that persists acceptedEpoch, the NEWLEADER ACK in the one that
// persists currentEpoch after the synced history, a proposal's ACK in the
// one that appends the txn. Early messages are the exception that does not
// promise durability: an established leader's proposals and commits, sent
// while its own log write runs (its own ACK still waits for Advance).
package zab

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
)

// HardState is what a peer must never forget: the epoch it promised to
// follow (acceptedEpoch) and the epoch whose history it holds
// (currentEpoch). ZooKeeper keeps them in the acceptedEpoch and
// currentEpoch files; storage.HardState maps 1:1.
type HardState struct {
	AcceptedEpoch uint32
	CurrentEpoch  uint32
}

// Log is a read-only view of the peer's durable history, the shell's
// storage. The peer reads it but never writes it: writes travel in Ready.
// Entries after the snapshot are contiguous (the storage never has holes).
type Log interface {
	// LastZxid is the newest durable zxid: the last entry, or the
	// snapshot's zxid when that is later, or 0.
	LastZxid() int64
	// SnapshotZxid is the zxid of the newest durable snapshot, 0 if none.
	SnapshotZxid() int64
	// Entries returns the entries with after < zxid <= through, in order.
	Entries(after, through int64) ([]Entry, error)
}

// Config configures a Peer. Times are in ticks of the shell's clock
// (ZooKeeper's tickTime).
type Config struct {
	ID        uint64
	Voters    []uint64 // participants; ID must be one of Voters or Observers
	Observers []uint64

	ElectionTimeoutTicks int // resend notifications while LOOKING at least this often
	FinalizeWaitTicks    int // wait for better votes after a quorum agrees (finalizeWait); 0 decides at once
	InitLimitTicks       int // discovery and sync must finish within this (initLimit)
	SyncLimitTicks       int // a silent leader or learner is given up after this (syncLimit)
	HeartbeatTicks       int // leader pings learners this often

	// MaxDiffEntries makes the leader send SNAP instead of a DIFF longer
	// than this, when its state machine is ahead of the learner. 0 means
	// 1000.
	MaxDiffEntries int

	Rand *rand.Rand // seeded by the shell; jitters notification resends
	Log  Log
	// HardState is the durable hard state at start.
	HardState HardState
	// Applied is the zxid the shell's state machine reflects at start. It
	// must be committed: the snapshot's zxid is the safe choice (the peer
	// hands the later log entries out in Committed once they are known
	// committed).
	Applied int64

	Logger func(string) // optional
}

// Errors.
var (
	ErrNotLeader         = errors.New("zab: not the leader")
	ErrNotServing        = errors.New("zab: not serving")
	ErrZxidRollover      = errors.New("zab: zxid counter exhausted, forcing a new epoch")
	ErrUnexpectedMessage = errors.New("zab: unexpected message")
	ErrReadyOutstanding  = errors.New("zab: a barrier Ready is outstanding; call Advance first")
	ErrInvalidConfig     = errors.New("zab: invalid config")
)

// NotLeaderError says who the leader is, if known (0 if not).
type NotLeaderError struct{ Leader uint64 }

func (e *NotLeaderError) Error() string {
	if e.Leader == 0 {
		return "zab: not the leader, leader unknown"
	}
	return fmt.Sprintf("zab: not the leader, leader is %d", e.Leader)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Peer is one ZAB participant or observer.
type Peer struct {
	id        uint64
	voters    []uint64 // sorted
	observers []uint64 // sorted
	cfg       Config
	rand      *rand.Rand
	log       Log
	logf      func(string)

	state   State
	leader  uint64 // known leader, 0 if none
	serving bool
	ticks   int64 // ticks since start, for timers

	hs          HardState // logical: includes what is pending
	durableHS   HardState
	lastZxid    int64 // logical last zxid, including pending entries
	durableZxid int64
	commitZxid  int64 // deliverable commit point (Committed hands out up to here)
	applied     int64 // last zxid handed out in Committed (or installed by snapshot)

	// maxSeenEpoch is the highest acceptedEpoch a learner reported to us;
	// our next epoch goes above it.
	maxSeenEpoch uint32

	pend pending
	// The Readys handed out and not yet Advanced are those numbered
	// advanced..handedOut-1 (the shell may pipeline several,
	// Ready.Barrier); barrier is set while one that must be handled alone
	// is among them.
	handedOut uint64
	advanced  uint64
	barrier   bool
	// inflight are the entries of outstanding Readys: logged as far as the
	// peer is concerned, not yet known to be in the durable Log.
	inflight []Entry

	elec election
	lr   *learner
	ld   *leader
}

// NewPeer validates cfg and returns a LOOKING peer.
func NewPeer(cfg Config) (*Peer, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	p := &Peer{
		id:        cfg.ID,
		voters:    sortedIDs(cfg.Voters),
		observers: sortedIDs(cfg.Observers),
		cfg:       cfg,
		rand:      cfg.Rand,
		log:       cfg.Log,
		logf:      cfg.Logger,
		hs:        cfg.HardState,
		durableHS: cfg.HardState,
	}
	p.lastZxid = cfg.Log.LastZxid()
	p.durableZxid = p.lastZxid
	p.applied = cfg.Applied
	p.commitZxid = cfg.Applied
	p.becomeLooking("start")
	return p, nil
}

func validate(cfg *Config) error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, key, fmt.Sprintf(format, args...))
	}
	if cfg.ID == 0 {
		return bad("ID", "must be > 0")
	}
	if len(cfg.Voters) == 0 {
		return bad("Voters", "empty")
	}
	seen := map[uint64]bool{}
	for _, id := range append(slices.Clone(cfg.Voters), cfg.Observers...) {
		if id == 0 {
			return bad("Voters", "server id 0")
		}
		if seen[id] {
			return bad("Voters", "server %d listed twice", id)
		}
		seen[id] = true
	}
	if !seen[cfg.ID] {
		return bad("ID", "%d is neither a voter nor an observer", cfg.ID)
	}
	for _, t := range []struct {
		key string
		v   *int
	}{
		{"ElectionTimeoutTicks", &cfg.ElectionTimeoutTicks}, {"InitLimitTicks", &cfg.InitLimitTicks},
		{"SyncLimitTicks", &cfg.SyncLimitTicks}, {"HeartbeatTicks", &cfg.HeartbeatTicks},
	} {
		if *t.v <= 0 {
			return bad(t.key, "must be > 0, is %d", *t.v)
		}
	}
	if cfg.HeartbeatTicks >= cfg.SyncLimitTicks {
		return bad("HeartbeatTicks", "%d must be below SyncLimitTicks %d", cfg.HeartbeatTicks, cfg.SyncLimitTicks)
	}
	if cfg.FinalizeWaitTicks < 0 {
		return bad("FinalizeWaitTicks", "negative")
	}
	if cfg.MaxDiffEntries < 0 {
		return bad("MaxDiffEntries", "negative")
	}
	if cfg.MaxDiffEntries == 0 {
		cfg.MaxDiffEntries = 1000
	}
	if cfg.Rand == nil {
		return bad("Rand", "nil (pass a seeded *rand.Rand)")
	}
	if cfg.Log == nil {
		return bad("Log", "nil")
	}
	if cfg.HardState.CurrentEpoch > cfg.HardState.AcceptedEpoch {
		return bad("HardState", "currentEpoch %d > acceptedEpoch %d", cfg.HardState.CurrentEpoch, cfg.HardState.AcceptedEpoch)
	}
	if last, snap := cfg.Log.LastZxid(), cfg.Log.SnapshotZxid(); cfg.Applied > last || cfg.Applied < snap {
		return bad("Applied", "%s outside [snapshot %s, last zxid %s]", FormatZxid(cfg.Applied), FormatZxid(snap), FormatZxid(last))
	}
	return nil
}

func sortedIDs(ids []uint64) []uint64 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// ID is the peer's server id.
func (p *Peer) ID() uint64 { return p.id }

func (p *Peer) isVoter(id uint64) bool {
	_, ok := slices.BinarySearch(p.voters, id)
	return ok
}

func (p *Peer) isObserver(id uint64) bool {
	_, ok := slices.BinarySearch(p.observers, id)
	return ok
}

func (p *Peer) quorum() int { return len(p.voters)/2 + 1 }

func (p *Peer) logEvent(format string, args ...any) {
	if p.logf != nil {
		p.logf(fmt.Sprintf("%d: ", p.id) + fmt.Sprintf(format, args...))
	}
}

// Tick advances the peer's clock by one tick. It panics if a barrier Ready
// is outstanding: that is a bug in the shell, not bad input.
func (p *Peer) Tick() {
	if p.barrier {
		panic("zab: Tick with a barrier Ready outstanding; call Advance first")
	}
	p.ticks++
	switch p.state {
	case Looking:
		p.tickElection()
	case Leading:
		p.tickLeader()
	case Following, Observing:
		p.tickLearner()
	}
}

// Step feeds one message to the peer. Stale, out-of-phase or malformed
// messages are ignored and reported with an error wrapping
// ErrUnexpectedMessage or ErrInvalidMessage; the peer's state is unchanged
// by them, so the shell may log and drop. Step never panics on input.
func (p *Peer) Step(m Message) error {
	if p.barrier {
		return ErrReadyOutstanding
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if m.To != p.id {
		return fmt.Errorf("%w: to %d, I am %d", ErrInvalidMessage, m.To, p.id)
	}
	if m.From == p.id || (!p.isVoter(m.From) && !p.isObserver(m.From)) {
		return fmt.Errorf("%w: from unknown server %d", ErrInvalidMessage, m.From)
	}
	if m.Type == Notification {
		return p.stepNotification(m)
	}
	switch p.state {
	case Leading:
		return p.stepLeader(m)
	case Following, Observing:
		return p.stepLearner(m)
	}
	return p.unexpected(m, "while LOOKING")
}

func (p *Peer) unexpected(m Message, why string) error {
	return fmt.Errorf("%w: %s %s", ErrUnexpectedMessage, m.Describe(), why)
}

// Propose starts broadcasting a prepared txn. Only an established leader
// accepts; it returns the txn's zxid. The txn commits when a quorum has
// logged it and comes back in Ready.Committed.
func (p *Peer) Propose(data []byte) (int64, error) {
	if p.barrier {
		return 0, ErrReadyOutstanding
	}
	if p.state != Leading {
		return 0, &NotLeaderError{Leader: p.leader}
	}
	if !p.ld.established {
		return 0, ErrNotServing
	}
	return p.propose(data)
}

// NextZxid is the zxid the next Propose will return, so that the shell can
// prepare a txn (whose effects name its zxid) before proposing it. Only an
// established leader has one.
func (p *Peer) NextZxid() (int64, error) {
	if p.state != Leading {
		return 0, &NotLeaderError{Leader: p.leader}
	}
	if !p.ld.established {
		return 0, ErrNotServing
	}
	z, ok := p.nextZxid()
	if !ok {
		return 0, ErrZxidRollover
	}
	return z, nil
}

// PeerLost tells the peer that the connection to server id broke (the
// shell's transport saw it close). A learner whose leader it was starts an
// election at once, as ZooKeeper's learner does when its socket to the
// leader fails; a leader drops the learner, and steps down at its next
// tick if that leaves it without a quorum. Anything else ignores it.
func (p *Peer) PeerLost(id uint64) error {
	if p.barrier {
		return ErrReadyOutstanding
	}
	switch {
	case (p.state == Following || p.state == Observing) && id == p.leader:
		p.becomeLooking("lost the connection to leader " + itoa(id))
	case p.state == Leading:
		if _, ok := p.ld.learners[id]; ok {
			p.logEvent("dropping learner %d: connection lost", id)
			p.ld.dropLearner(id)
		}
	}
	return nil
}

// Request forwards an opaque client write to the leader, which surfaces it
// in its Ready.Requests for its shell to prepare into a txn (as
// ZooKeeper's learners forward REQUEST packets). On the leader it goes
// straight to its own Ready.Requests.
func (p *Peer) Request(data []byte) error {
	if p.barrier {
		return ErrReadyOutstanding
	}
	switch {
	case p.state == Leading && p.ld.established:
		p.pend.requests = append(p.pend.requests, ForwardedRequest{From: p.id, Data: data})
		return nil
	case p.serving:
		p.send(Message{Type: Request, To: p.leader, Epoch: p.lr.epoch, Data: data})
		return nil
	}
	return ErrNotServing
}

// Sync asks for a sync point: ref comes back in Ready.Synced once every txn
// the leader proposed before seeing the sync is committed and handed out
// here, so a read after it sees them (ZooKeeper's sync).
func (p *Peer) Sync(ref uint64) error {
	if p.barrier {
		return ErrReadyOutstanding
	}
	switch {
	case p.state == Leading && p.ld.established:
		p.leaderSync(p.id, ref)
		return nil
	case p.serving:
		p.send(Message{Type: Sync, To: p.leader, Epoch: p.lr.epoch, Ref: ref})
		return nil
	}
	return ErrNotServing
}

func (p *Peer) send(m Message) {
	m.From = p.id
	if m.Type != Notification {
		m.Session = p.sessionWith(m.To)
	}
	q := &p.pend
	for k := range q.lastTo {
		d := &q.lastTo[k]
		if d.to != m.To {
			continue
		}
		if prev := &q.msgs[d.i]; coalesces(prev, m) {
			prev.Zxid = max(prev.Zxid, m.Zxid)
			return
		}
		d.i = len(q.msgs)
		q.msgs = append(q.msgs, m)
		return
	}
	q.lastTo = append(q.lastTo, destIndex{to: m.To, i: len(q.msgs)})
	q.msgs = append(q.msgs, m)
}

// sessionWith is the session of the learner attempt that links us to id:
// ours when id is our leader, the learner's when we lead it, else 0.
func (p *Peer) sessionWith(id uint64) uint64 {
	switch {
	case p.lr != nil && id == p.leader:
		return p.lr.session
	case p.ld != nil:
		if h, ok := p.ld.learners[id]; ok {
			return h.session
		}
	}
	return 0
}

// coalesces reports whether m can be folded into prev, the newest pending
// message on the same link: both are ACKs of proposals (a follower logs in
// order, and the leader takes an ACK as "logged through Zxid") or both are
// COMMITs ("committed through Zxid") of one epoch. Nothing else was queued
// on the link between them, so the link carries the same information in the
// same order, in one message instead of one per txn: a batch of n proposals
// costs a follower one ACK and the leader one COMMIT per follower, not n.
// The NEWLEADER ACK (counter 0) is never folded.
func coalesces(prev *Message, m Message) bool {
	if prev.Type != m.Type || prev.Epoch != m.Epoch || prev.Session != m.Session {
		return false
	}
	switch m.Type {
	case Commit:
		return true
	case Ack:
		return ZxidCounter(prev.Zxid) != 0 && ZxidCounter(m.Zxid) != 0
	}
	return false
}

// becomeLooking drops any leader or learner role and starts an election.
func (p *Peer) becomeLooking(why string) {
	if p.state != Looking || p.ticks > 0 {
		p.logEvent("LOOKING: %s", why)
	}
	p.setState(Looking, 0)
	p.lr = nil
	p.ld = nil
	p.setServing(false)
	p.startElection()
}

func (p *Peer) setServing(v bool) {
	if p.serving != v {
		p.serving = v
		p.pend.softChanged = true
	}
}

func (p *Peer) setState(s State, leader uint64) {
	if p.state != s || p.leader != leader {
		p.pend.softChanged = true
	}
	p.state = s
	p.leader = leader
}
