package zab

import (
	"fmt"
	"slices"
)

// Ready is a batch of work for the shell. Handled plainly: send Early,
// persist with one sync, in this order: Snapshot, Truncate, Entries,
// HardState; then send Messages, install the Snapshot into the state
// machine, apply Committed, answer Synced and prepare Requests, then call
// Advance(rd).
//
// Pipelined: while the Readys outstanding are all non-barrier ones
// (Barrier), the peer keeps taking Step, Tick, Propose, Request and Sync,
// and hands out more Readys; the shell need not wait for one Ready's sync
// before taking the next, so a follower logs and ACKs the proposals that
// arrive during a sync in the next one, and a leader commits while its
// own log write is under way. For each such Ready the shell sends Early and
// starts persisting at once, prepares Requests, applies Committed (then
// answers Synced) as each committed entry becomes durable locally (a
// quorum may have logged an entry before this member has), and sends
// Messages and calls Advance once the Ready is durable, in the order the
// Readys were handed out. A barrier Ready is handled plainly once every
// earlier Ready is Advanced; until it is Advanced, the peer refuses Step,
// Propose, Request and Sync (ErrReadyOutstanding), Tick panics and HasReady
// is false. A shell that never pipelines handles every Ready plainly.
//
// Ownership: every slice in a Ready belongs to the shell once Ready returns
// (Entries and Committed may share Data with each other, never with the
// peer's later state).
type Ready struct {
	// SoftState is set when the state, leader or serving flag changed.
	SoftState *SoftState

	// HardState, if not nil, is the hard state to persist.
	HardState *HardState

	// Snapshot, if not nil, replaces the whole durable history: after
	// persisting, the log holds no entries and LastZxid is Snapshot.Zxid
	// (storage: SaveSnapshot, then PurgeBefore(Zxid+1) and
	// TruncateAfter(Zxid)). The state machine is reset to it before
	// Committed is applied. It came from the leader in SNAP.
	Snapshot *Snapshot

	// Truncate, if not nil, drops durable entries with zxid > *Truncate
	// (TRUNC). Only uncommitted txns are ever truncated.
	Truncate *int64

	// Entries are appended after the truncation, zxids increasing.
	Entries []Entry

	// Early messages may go out before the persistence above (and must go
	// out before Messages): an established leader's PROPOSALs, COMMITs,
	// INFORMs and PINGs, as ZooKeeper's leader sends a proposal to its
	// followers while its own log write is under way. None of them depends
	// on this Ready being durable: the leader counts its own ACK only after
	// Advance, and what it commits is already durable on a quorum. Each
	// learner's early messages precede, in the peer's order, everything
	// else this Ready sends it, so sending Early then Messages keeps every
	// link in order.
	Early []Message

	// Messages go out after the persistence above. A Snap message has empty
	// Data: the shell fills it with its state machine's snapshot, which is
	// at exactly the message's Zxid at send time (the last zxid handed out
	// in Committed before this Ready; this Ready's Committed is applied
	// after sending).
	Messages []Message

	// Committed txns are to be applied in order; each is durable on a
	// quorum. Their zxids increase and continue the previous Ready's (or
	// the Snapshot's).
	Committed []Entry

	// Synced are the refs of Sync calls that are now answered: apply
	// Committed first, then answer them.
	Synced []uint64

	// Requests are forwarded client writes, on the leader only, for the
	// shell to prepare into txns and Propose.
	Requests []ForwardedRequest

	barrier bool
	seq     uint64 // handed-out order, which Advance checks
}

// Barrier reports whether rd must be handled alone, after every earlier
// Ready is Advanced and before anything else is stepped: it changes the
// hard state, the history (snapshot, truncation) or the peer's state, or
// carries messages whose order against later early ones matters (a
// leader's sync of a learner, an election vote).
func (rd *Ready) Barrier() bool { return rd.barrier }

// Snapshot is a state machine snapshot taken by the leader at Zxid.
type Snapshot struct {
	Zxid int64
	Data []byte
}

// ForwardedRequest is a client write forwarded by a learner (or the leader itself).
type ForwardedRequest struct {
	From uint64
	Data []byte
}

// SoftState is volatile state worth reporting when it changes.
type SoftState struct {
	State   State
	Leader  uint64
	Serving bool // clients may be served (UPTODATE seen, or established leader)
}

// pending collects the next Ready.
type pending struct {
	softChanged bool
	hsChanged   bool
	snapshot    *Snapshot
	truncate    *int64
	entries     []Entry
	msgs        []Message
	lastTo      []destIndex // per destination, the index in msgs of its newest message
	synced      []uint64
	requests    []ForwardedRequest
}

type destIndex struct {
	to uint64
	i  int
}

// HasReady reports whether Ready has something to hand out.
func (p *Peer) HasReady() bool {
	if p.barrier {
		return false
	}
	q := &p.pend
	return q.softChanged || q.hsChanged || q.snapshot != nil || q.truncate != nil || len(q.entries) > 0 ||
		len(q.msgs) > 0 || len(q.synced) > 0 || len(q.requests) > 0 || p.commitZxid > p.applied
}

// Ready returns the pending work and marks it outstanding until Advance.
func (p *Peer) Ready() Ready {
	q := &p.pend
	rd := Ready{
		Snapshot: q.snapshot,
		Truncate: q.truncate,
		Entries:  q.entries,
		Messages: q.msgs,
		Synced:   q.synced,
		Requests: q.requests,
	}
	if !q.hsChanged && q.snapshot == nil && q.truncate == nil {
		switch p.state {
		case Leading:
			rd.Early, rd.Messages = splitEarly(q.msgs)
		case Following, Observing:
			rd.Early, rd.Messages = splitLearnerEarly(q.msgs)
		}
	}
	if q.softChanged {
		rd.SoftState = &SoftState{State: p.state, Leader: p.leader, Serving: p.serving}
	}
	if q.hsChanged {
		hs := p.hs
		rd.HardState = &hs
	}
	if p.commitZxid > p.applied {
		ents, err := p.entriesBetween(p.applied, p.commitZxid)
		if err != nil {
			panic(fmt.Sprintf("zab: peer %d: reading committed entries %s..%s: %v", p.id,
				FormatZxid(p.applied), FormatZxid(p.commitZxid), err))
		}
		rd.Committed = ents
		p.applied = p.commitZxid
	}
	switch {
	case rd.Snapshot != nil:
		clear(p.inflight)
		p.inflight = p.inflight[:0]
	case rd.Truncate != nil:
		i := len(p.inflight)
		for i > 0 && p.inflight[i-1].Zxid > *rd.Truncate {
			i--
		}
		clear(p.inflight[i:])
		p.inflight = p.inflight[:i]
	}
	p.inflight = append(p.inflight, rd.Entries...)
	// The next Ready usually carries as many messages and entries as this
	// one: size its slices for that instead of growing them one append at
	// a time (they were 2% of a busy leader's CPU).
	nMsgs, nEntries := len(q.msgs), len(q.entries)
	p.pend = pending{}
	if nMsgs > 0 {
		p.pend.msgs = make([]Message, 0, nMsgs)
	}
	if nEntries > 0 {
		p.pend.entries = make([]Entry, 0, nEntries)
	}
	rd.barrier = !p.pipelinable(&rd)
	p.barrier = p.barrier || rd.barrier
	rd.seq = p.handedOut
	p.handedOut++
	return rd
}

// pipelinable reports whether rd may stay outstanding while the peer takes
// more input: broadcast-phase work only (log, ACK, commit, forward).
func (p *Peer) pipelinable(rd *Ready) bool {
	if rd.SoftState != nil || rd.HardState != nil || rd.Snapshot != nil || rd.Truncate != nil {
		return false
	}
	switch p.state {
	case Leading:
		// A leader's late messages sync learners; their order against
		// the next Ready's early proposals matters.
		return p.ld.established && len(rd.Messages) == 0
	case Following, Observing:
		if !p.serving {
			return false
		}
		for _, m := range rd.Messages {
			if m.Type != Ack && m.Type != Ping {
				return false
			}
		}
		return true
	}
	return false
}

// splitEarly moves to early the messages an established leader may send
// before persisting: those of the early kinds that no message held back
// precedes on the same link.
func splitEarly(msgs []Message) (early, late []Message) {
	var held []uint64 // destinations with a message held back (a few)
	early = make([]Message, 0, len(msgs))
	for _, m := range msgs {
		switch {
		case slices.Contains(held, m.To):
		case m.Type == Proposal || m.Type == Commit || m.Type == Inform || m.Type == Ping || m.Type == Sync:
			early = append(early, m)
			continue
		default:
			held = append(held, m.To)
		}
		late = append(late, m)
	}
	return early, late
}

// splitLearnerEarly moves a learner's forwarded writes and syncs to early:
// neither depends on what this Ready persists, and the leader handles them
// independently of the ACKs they overtake (ZooKeeper's learner, too, sends
// its requests and its ACKs from different threads).
func splitLearnerEarly(msgs []Message) (early, late []Message) {
	for _, m := range msgs {
		if m.Type == Request || m.Type == Sync {
			early = append(early, m)
		} else {
			late = append(late, m)
		}
	}
	return early, late
}

// Advance tells the peer the shell has persisted, sent and applied rd.
// Readys are Advanced in the order they were handed out.
func (p *Peer) Advance(rd Ready) {
	if p.advanced == p.handedOut {
		panic("zab: Advance without an outstanding Ready")
	}
	if rd.seq != p.advanced {
		panic(fmt.Sprintf("zab: Advance of Ready %d, expected %d (Readys are advanced in order)", rd.seq, p.advanced))
	}
	p.advanced++
	if rd.barrier {
		p.barrier = false
	}
	if rd.HardState != nil {
		p.durableHS = *rd.HardState
	}
	if rd.Snapshot != nil {
		p.durableZxid = rd.Snapshot.Zxid
	}
	if rd.Truncate != nil && p.durableZxid > *rd.Truncate {
		p.durableZxid = *rd.Truncate
	}
	if n := len(rd.Entries); n > 0 {
		last := rd.Entries[n-1].Zxid
		p.durableZxid = last
		i := 0
		for i < len(p.inflight) && p.inflight[i].Zxid <= last {
			i++
		}
		clear(p.inflight[:i])
		p.inflight = p.inflight[i:]
	}
	if p.state == Leading {
		p.leaderAdvanced()
	}
}

// entriesBetween returns the logical history in (after, through]: the
// durable log as the pending snapshot and truncation leave it, then the
// pending entries.
func (p *Peer) entriesBetween(after, through int64) ([]Entry, error) {
	var out []Entry
	if p.pend.snapshot == nil {
		top := through
		if p.pend.truncate != nil && *p.pend.truncate < top {
			top = *p.pend.truncate
		}
		if top > after {
			ents, err := p.log.Entries(after, top)
			if err != nil {
				return nil, err
			}
			out = ents
			// Then the entries of outstanding Readys the log does not
			// hold yet (it may hold some: persisted, not yet Advanced).
			last := after
			if len(out) > 0 {
				last = out[len(out)-1].Zxid
			}
			for _, e := range p.inflight {
				if e.Zxid > last && e.Zxid <= top {
					out = append(out, e)
				}
			}
		}
	}
	for _, e := range p.pend.entries {
		if e.Zxid > after && e.Zxid <= through {
			out = append(out, e)
		}
	}
	return out, nil
}

// hasZxid reports whether z is in the logical history: a logged entry, or
// the point of the snapshot the history starts from. Zxid 0 (the empty
// history) is in it when no snapshot ever compacted the log.
func (p *Peer) hasZxid(z int64) bool {
	if z == p.snapshotZxid() {
		return true
	}
	if z <= 0 || z > p.lastZxid {
		return false
	}
	ents, err := p.entriesBetween(z-1, z)
	return err == nil && len(ents) == 1 && ents[0].Zxid == z
}

func (p *Peer) snapshotZxid() int64 {
	if p.pend.snapshot != nil {
		return p.pend.snapshot.Zxid
	}
	return p.log.SnapshotZxid()
}

// appendEntry logs one txn after the last one.
func (p *Peer) appendEntry(e Entry) {
	p.pend.entries = append(p.pend.entries, e)
	p.lastZxid = e.Zxid
}

// truncateAfter drops logical history after z.
func (p *Peer) truncateAfter(z int64) {
	keep := p.pend.entries[:0]
	for _, e := range p.pend.entries {
		if e.Zxid <= z {
			keep = append(keep, e)
		}
	}
	p.pend.entries = keep
	if len(keep) == 0 && p.pend.snapshot == nil {
		if p.pend.truncate == nil || *p.pend.truncate > z {
			t := z
			p.pend.truncate = &t
		}
	}
	p.lastZxid = z
}

// installSnapshot replaces the history with a snapshot at s.Zxid.
func (p *Peer) installSnapshot(s *Snapshot) {
	p.pend.snapshot = s
	p.pend.truncate = nil
	p.pend.entries = nil
	p.lastZxid = s.Zxid
	p.applied = s.Zxid
	p.commitZxid = s.Zxid
}

func (p *Peer) setAcceptedEpoch(e uint32) {
	if p.hs.AcceptedEpoch != e {
		p.hs.AcceptedEpoch = e
		p.pend.hsChanged = true
	}
}

func (p *Peer) setCurrentEpoch(e uint32) {
	if p.hs.CurrentEpoch != e {
		p.hs.CurrentEpoch = e
		p.pend.hsChanged = true
	}
}
