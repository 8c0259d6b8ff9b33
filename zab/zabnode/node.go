// Package zabnode is the shell that drives a zab.Peer: one goroutine feeds
// it ticks, messages from the transport and calls from the server, and
// drains its Ready: persist (one sync), send, apply, Advance. Everything
// that waits (disk, network, the clock) is here; the protocol is in zab.
package zabnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/zab"
)

// StateMachine is what committed txns are applied to: zkd's tree.
type StateMachine interface {
	// Apply applies one committed txn; zxids increase.
	Apply(e zab.Entry) error
	// Snapshot encodes the current state (everything applied so far) and
	// returns the last applied zxid, for a learner synced by SNAP.
	Snapshot() (zxid int64, data []byte, err error)
	// Restore replaces the state with a snapshot taken at zxid.
	Restore(zxid int64, data []byte) error
}

// Transport carries messages between members.
type Transport interface {
	Send(m zab.Message)
	Receive() <-chan zab.Message
}

// LossReporter is a Transport that also reports peers whose connection
// broke (transport.Transport does), so a learner notices a dead leader at
// once instead of after syncLimit.
type LossReporter interface {
	Lost() <-chan uint64
}

// PeerDescriber is a Transport that can say how its link to a peer is
// doing (transport.Transport can); the node logs it when it gives up on a
// peer, to tell a silent peer from a stuck link.
type PeerDescriber interface {
	DescribePeer(id uint64) string
}

// Config is what a Node needs. Peer is the protocol configuration; its Log,
// HardState, Applied and Rand fields are filled in from Storage.
type Config struct {
	Peer         zab.Config
	Storage      storage.Storage
	Transport    Transport
	StateMachine StateMachine
	// Tick is the length of one protocol tick (tickTime; the Peer's limits
	// are in ticks).
	Tick time.Duration
	// Seed seeds the peer's randomness (election jitter).
	Seed int64
	// OnSoftState is told when the state, leader or serving flag changes.
	OnSoftState func(zab.SoftState)
	// OnRequest receives, on the leader, writes forwarded by learners; the
	// server prepares them into txns and Proposes them.
	OnRequest func(zab.ForwardedRequest)
	// OnSynced is told when a Sync(ref) is answered.
	OnSynced func(ref uint64)
	Logger   zerolog.Logger
}

// Node runs a peer. Its methods are safe for concurrent use; they hand
// their work to the node's goroutine.
type Node struct {
	cfg   Config
	peer  *zab.Peer
	slog  *storageLog // the peer's view of Storage, with its in-memory tail
	log   zerolog.Logger
	calls chan func()
	stop  chan struct{}
	done  chan struct{}
	err   error    // why the loop ended, set before done closes
	work  loopWork // the current turn of the loop (its goroutine only)

	// Pipelining (zab.Ready): the loop's goroutine only.
	pipe           []inflightReady // non-barrier Readys being persisted, oldest first
	durable        int64           // last zxid known durable in Storage
	deferred       []zab.Entry     // committed, not yet durable here: applied once they are
	deferredSynced []uint64        // Sync refs answered after deferred is applied

	statusMu sync.Mutex
	status   zab.Status
}

// ErrStopped is returned by calls on a stopped node.
var ErrStopped = errors.New("zabnode: stopped")

// Start restores the state machine from the newest snapshot in storage and
// starts the node. Log entries after the snapshot are not applied here:
// the peer hands them out as Committed once it knows they are committed
// (an entry a crashed leader logged may never have been).
func Start(cfg Config) (*Node, error) {
	st := cfg.Storage
	hs, err := st.HardState()
	if err != nil {
		return nil, fmt.Errorf("read hard state: %w", err)
	}
	applied, err := restoreNewest(st, cfg.StateMachine, cfg.Logger)
	if err != nil {
		return nil, err
	}
	pc := cfg.Peer
	slog := newStorageLog(st)
	pc.Log = slog
	pc.HardState = zab.HardState{AcceptedEpoch: hs.AcceptedEpoch, CurrentEpoch: hs.CurrentEpoch}
	pc.Applied = applied
	pc.Rand = rand.New(rand.NewSource(cfg.Seed))
	logger := cfg.Logger
	pc.Logger = func(s string) { logger.Debug().Msg(s) }
	peer, err := zab.NewPeer(pc)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, peer: peer, log: logger, slog: slog, durable: st.LastZxid(),
		calls: make(chan func()), stop: make(chan struct{}), done: make(chan struct{}),
	}
	n.status = peer.Status()
	go n.run()
	return n, nil
}

// restoreNewest installs the newest readable snapshot and returns its zxid
// (0 with none). A damaged one is logged and deleted and the next older
// one tried; the peer then syncs what the older state lacks from the leader.
func restoreNewest(st storage.Storage, sm StateMachine, log zerolog.Logger) (int64, error) {
	snaps, err := st.Snapshots()
	if err != nil {
		return 0, err
	}
	for _, s := range snaps {
		r, err := st.OpenSnapshot(s.Zxid)
		if err != nil {
			log.Error().Err(err).Str("zxid", zab.FormatZxid(s.Zxid)).Msg("snapshot unreadable, trying an older one")
			continue
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			// Deleted, as zkd's standalone restore does, so the peer's view
			// of the durable history (zab.Log.SnapshotZxid) no longer names it.
			log.Error().Err(err).Str("zxid", zab.FormatZxid(s.Zxid)).Msg("snapshot damaged, deleting it and trying an older one")
			if err := st.DeleteSnapshot(s.Zxid); err != nil {
				return 0, fmt.Errorf("delete damaged snapshot %#x: %w", s.Zxid, err)
			}
			continue
		}
		if err := sm.Restore(s.Zxid, data); err != nil {
			return 0, fmt.Errorf("restore snapshot %#x: %w", s.Zxid, err)
		}
		return s.Zxid, nil
	}
	return 0, nil
}

// Stop ends the node's goroutine. Storage and transport are the caller's.
func (n *Node) Stop() {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.done
}

// Done is closed when the node stops, by Stop or because persisting or
// applying failed (Err says why).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is why the node stopped, nil after Stop.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Status is the peer's state after the last event the node handled.
func (n *Node) Status() zab.Status {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	return n.status
}

// do runs fn on the node's goroutine and waits for it.
func (n *Node) do(fn func()) error {
	ran := make(chan struct{})
	select {
	case n.calls <- func() { fn(); close(ran) }:
	case <-n.done:
		return ErrStopped
	}
	select {
	case <-ran:
		return nil
	case <-n.done:
		return ErrStopped
	}
}

// Propose proposes a prepared txn on the leader and returns its zxid.
func (n *Node) Propose(txn []byte) (zxid int64, err error) {
	if derr := n.do(func() { zxid, err = n.peer.Propose(txn) }); derr != nil {
		return 0, derr
	}
	return zxid, err
}

// ErrZxidMoved is returned by ProposeBatch when the first txn would not get
// the zxid it was prepared for: the leadership changed since.
var ErrZxidMoved = errors.New("zabnode: the next zxid is not the one the batch was prepared for")

// ProposeBatch proposes prepared txns in order, in one turn of the node's
// loop, so that they are persisted with one sync (group commit). The
// first must get zxid first (the rest follow it): a server prepares txns
// for the zxids they will have, and a batch prepared under an old
// leadership must not slip into a new one. It returns the zxids of those
// proposed; on an error the rest were not.
func (n *Node) ProposeBatch(first int64, txns [][]byte) (zxids []int64, err error) {
	derr := n.do(func() {
		if next, nerr := n.peer.NextZxid(); nerr != nil || next != first {
			if err = nerr; err == nil {
				err = fmt.Errorf("%w: %s, prepared for %s", ErrZxidMoved, zab.FormatZxid(next), zab.FormatZxid(first))
			}
			return
		}
		zxids = make([]int64, 0, len(txns))
		for _, txn := range txns {
			var z int64
			if z, err = n.peer.Propose(txn); err != nil {
				return
			}
			zxids = append(zxids, z)
		}
	})
	if derr != nil {
		return zxids, derr
	}
	return zxids, err
}

// NextZxid is the zxid the next proposal will get (established leader only).
func (n *Node) NextZxid() (zxid int64, err error) {
	if derr := n.do(func() { zxid, err = n.peer.NextZxid() }); derr != nil {
		return 0, derr
	}
	return zxid, err
}

// Request forwards a client write to the leader (or, on the leader, hands
// it to OnRequest).
func (n *Node) Request(data []byte) (err error) {
	if derr := n.do(func() { err = n.peer.Request(data) }); derr != nil {
		return derr
	}
	return err
}

// Sync asks for OnSynced(ref) once everything the leader proposed before
// is applied here.
func (n *Node) Sync(ref uint64) (err error) {
	if derr := n.do(func() { err = n.peer.Sync(ref) }); derr != nil {
		return derr
	}
	return err
}

// run is the node's goroutine: one input at a time, then every Ready it
// produced.
func (n *Node) run() {
	defer close(n.done)
	ticker := time.NewTicker(n.cfg.Tick)
	defer ticker.Stop()
	inbox := n.cfg.Transport.Receive()
	var lost <-chan uint64 // nil: never ready
	if lr, ok := n.cfg.Transport.(LossReporter); ok {
		lost = lr.Lost()
	}
	for {
		var persisted <-chan struct{} // nil: nothing being persisted
		if len(n.pipe) > 0 {
			persisted = n.pipe[0].done()
		}
		select {
		case <-n.stop:
			return
		case <-persisted:
			// drain completes it
		case <-ticker.C:
			n.peer.Tick()
		case m, ok := <-inbox:
			if !ok {
				n.err = errors.New("zabnode: transport closed")
				return
			}
			n.step(m)
		case fn := <-n.calls:
			fn()
		case id := <-lost:
			n.peer.PeerLost(id)
		}
		woke := time.Now()
		n.work = loopWork{}
		// Take in whatever else is waiting before draining, so that a burst
		// of proposals (or of client calls) is persisted with one sync:
		// group commit on followers as well as on the leader.
		if !n.gather(inbox) {
			n.err = errors.New("zabnode: transport closed")
			return
		}
		if err := n.drain(); err != nil {
			n.err = err
			n.log.Error().Err(err).Msg("stopping: cannot persist or apply")
			return
		}
		if d := time.Since(woke); d >= slowStep {
			// Nothing else runs on this goroutine meanwhile: no tick, no
			// message, no reply, so a slow step looks like a dead member
			// to its peers. Say so, as ZooKeeper warns of a slow fsync.
			n.log.Warn().Dur("took", d).Dur("persist", n.work.persist).Int("entries", n.work.entries).
				Int("committed", n.work.committed).Bool("snapshot", n.work.snapshot).
				Msg("slow step: the node took no ticks or messages meanwhile")
		}
	}
}

// maxGather bounds the inputs taken in before one drain, so that a flood
// of messages cannot postpone persisting and answering indefinitely.
const maxGather = 1024

// gather steps the messages and runs the calls that are already waiting,
// without blocking. It returns false if the transport closed.
func (n *Node) gather(inbox <-chan zab.Message) bool {
	for range maxGather {
		select {
		case m, ok := <-inbox:
			if !ok {
				return false
			}
			n.step(m)
		case fn := <-n.calls:
			fn()
		default:
			return true
		}
	}
	return true
}

func (n *Node) step(m zab.Message) {
	if err := n.peer.Step(m); err != nil && !errors.Is(err, zab.ErrUnexpectedMessage) && !errors.Is(err, zab.ErrReadyOutstanding) {
		n.log.Warn().Err(err).Str("message", m.Describe()).Msg("message refused")
	}
}

// drain handles every Ready the peer has. The peer panics when it cannot
// read its own log (storage failed under it); that ends the node with an
// error like a failed write does, instead of taking the process down
// without a word.
func (n *Node) drain() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("peer failed: %v", p)
		}
	}()
	for {
		if err := n.completePersisted(false); err != nil {
			return err
		}
		if !n.peer.HasReady() {
			break
		}
		rd := n.peer.Ready()
		if !rd.Barrier() {
			if err := n.startPipelined(rd); err != nil {
				return err
			}
			continue
		}
		// A barrier is handled alone: after every Ready before it.
		if err := n.completePersisted(true); err != nil {
			return err
		}
		if len(n.deferred) > 0 {
			return fmt.Errorf("committed txns %#x.. not durable here after every append finished", n.deferred[0].Zxid)
		}
		if err := n.handle(rd); err != nil {
			return err
		}
		n.durable = n.cfg.Storage.LastZxid()
		n.peer.Advance(rd)
	}
	st := n.peer.Status()
	n.statusMu.Lock()
	prev := n.status
	n.status = st
	n.statusMu.Unlock()
	n.describeLostPeers(prev, st)
	return nil
}

// describeLostPeers logs the transport's view of a leader this node stopped
// following and of learners its leadership dropped.
func (n *Node) describeLostPeers(prev, cur zab.Status) {
	d, ok := n.cfg.Transport.(PeerDescriber)
	if !ok {
		return
	}
	if prev.Leader != 0 && prev.Leader != n.peer.ID() && prev.State != zab.Leading && cur.Leader != prev.Leader {
		n.log.Info().Uint64("peer", prev.Leader).Str("link", d.DescribePeer(prev.Leader)).Msg("left leader")
	}
	if prev.State != zab.Leading || cur.State != zab.Leading {
		return // a leader stepping down says so itself
	}
	for _, l := range prev.Learners {
		if !slices.ContainsFunc(cur.Learners, func(c zab.LearnerStatus) bool { return c.ID == l.ID }) {
			n.log.Info().Uint64("peer", l.ID).Str("stage", l.Stage).Str("link", d.DescribePeer(l.ID)).Msg("learner dropped")
		}
	}
}

// handle persists, sends and applies one Ready, in the order zab.Ready
// prescribes.
func (n *Node) handle(rd zab.Ready) error {
	// A leader's proposals reach the followers while its own fsync runs,
	// so theirs overlap it: a write waits for the slower of the two, not
	// their sum.
	for _, m := range rd.Early {
		n.cfg.Transport.Send(m)
	}
	start := time.Now()
	if err := n.persist(rd); err != nil {
		return err
	}
	n.work.persist += time.Since(start)
	n.work.entries += len(rd.Entries)
	n.work.committed += len(rd.Committed)
	n.work.snapshot = n.work.snapshot || rd.Snapshot != nil
	for _, m := range rd.Messages {
		if m.Type == zab.Snap && m.Data == nil {
			zxid, data, err := n.cfg.StateMachine.Snapshot()
			if err != nil {
				return fmt.Errorf("snapshot for SNAP to %d: %w", m.To, err)
			}
			if zxid != m.Zxid {
				return fmt.Errorf("snapshot for SNAP to %d is at %#x, the peer expects %#x", m.To, zxid, m.Zxid)
			}
			m.Data = data
		}
		n.cfg.Transport.Send(m)
	}
	if rd.Snapshot != nil {
		if err := n.cfg.StateMachine.Restore(rd.Snapshot.Zxid, rd.Snapshot.Data); err != nil {
			return fmt.Errorf("install snapshot %#x: %w", rd.Snapshot.Zxid, err)
		}
	}
	for _, e := range rd.Committed {
		if err := n.cfg.StateMachine.Apply(e); err != nil {
			return fmt.Errorf("apply %#x: %w", e.Zxid, err)
		}
	}
	if rd.SoftState != nil && n.cfg.OnSoftState != nil {
		n.cfg.OnSoftState(*rd.SoftState)
	}
	for _, ref := range rd.Synced {
		if n.cfg.OnSynced != nil {
			n.cfg.OnSynced(ref)
		}
	}
	for _, r := range rd.Requests {
		if n.cfg.OnRequest != nil {
			n.cfg.OnRequest(r)
		}
	}
	return nil
}

// inflightReady is a pipelined Ready whose entries are being appended.
type inflightReady struct {
	rd  zab.Ready
	fut *storage.Future // nil: nothing to persist (it completes in turn)
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (r *inflightReady) done() <-chan struct{} {
	if r.fut == nil {
		return closedChan
	}
	return r.fut.Done()
}

// startPipelined handles a non-barrier Ready without waiting for its sync
// (zab.Ready): proposals go out and the append starts now; what it commits
// is applied as soon as it is durable here (a quorum may have logged a txn
// before this member's own sync finished); its ACKs go out, and the peer
// hears of it, once the append is durable (completePersisted). The loop
// meanwhile takes the next messages, so proposals that arrive during a sync
// are logged by the next one instead of waiting for this one to finish.
func (n *Node) startPipelined(rd zab.Ready) error {
	for _, m := range rd.Early {
		n.cfg.Transport.Send(m)
	}
	r := inflightReady{rd: rd}
	if len(rd.Entries) > 0 {
		r.fut = n.cfg.Storage.AppendAsync(toStorageEntries(rd.Entries), nil, true)
		n.work.entries += len(rd.Entries)
	}
	n.pipe = append(n.pipe, r)
	n.deferred = append(n.deferred, rd.Committed...)
	n.deferredSynced = append(n.deferredSynced, rd.Synced...)
	if err := n.applyDurable(); err != nil {
		return err
	}
	for _, req := range rd.Requests {
		if n.cfg.OnRequest != nil {
			n.cfg.OnRequest(req)
		}
	}
	return nil
}

// completePersisted finishes, oldest first, the pipelined Readys whose
// append is durable: the log view learns the entries, late messages (ACKs)
// go out, the peer is advanced, and committed txns now durable are
// applied. With wait it waits for all of them.
func (n *Node) completePersisted(wait bool) error {
	for len(n.pipe) > 0 {
		r := &n.pipe[0]
		if r.fut != nil {
			if !wait {
				select {
				case <-r.fut.Done():
				default:
					return nil
				}
			}
			start := time.Now()
			if err := r.fut.Wait(); err != nil {
				return fmt.Errorf("append %d entries: %w", len(r.rd.Entries), err)
			}
			n.work.persist += time.Since(start)
			n.slog.appended(r.rd.Entries)
			n.durable = r.rd.Entries[len(r.rd.Entries)-1].Zxid
		}
		rd := r.rd
		n.pipe[0] = inflightReady{}
		n.pipe = n.pipe[1:]
		for _, m := range rd.Messages {
			n.cfg.Transport.Send(m)
		}
		n.peer.Advance(rd)
		if err := n.applyDurable(); err != nil {
			return err
		}
	}
	return nil
}

// applyDurable applies the committed txns that are durable here, in order,
// then, once none is left waiting, answers the syncs behind them. A txn is
// applied only once durable locally so that a snapshot of the state never
// gets ahead of this member's log.
func (n *Node) applyDurable() error {
	i := 0
	for ; i < len(n.deferred) && n.deferred[i].Zxid <= n.durable; i++ {
		e := n.deferred[i]
		if err := n.cfg.StateMachine.Apply(e); err != nil {
			return fmt.Errorf("apply %#x: %w", e.Zxid, err)
		}
	}
	n.work.committed += i
	clear(n.deferred[:i])
	n.deferred = n.deferred[i:]
	if len(n.deferred) > 0 || len(n.deferredSynced) == 0 {
		return nil
	}
	for _, ref := range n.deferredSynced {
		if n.cfg.OnSynced != nil {
			n.cfg.OnSynced(ref)
		}
	}
	n.deferredSynced = n.deferredSynced[:0]
	return nil
}

// slowStep is how long one turn of the loop (a step and the Readys it
// made) may take before it is logged: a quarter of syncLimit in the
// integration tests, a small fraction of any production one.
const slowStep = 500 * time.Millisecond

// loopWork is what one turn of the loop did, for the slow-step warning.
type loopWork struct {
	persist            time.Duration
	entries, committed int
	snapshot           bool
}

// persist makes a Ready's durable part durable before anything is sent:
// a snapshot from the leader replaces the history, a truncation drops
// uncommitted txns, then the entries and the hard state go in one synced
// append (group commit).
func (n *Node) persist(rd zab.Ready) error {
	st := n.cfg.Storage
	if s := rd.Snapshot; s != nil {
		if _, err := st.SaveSnapshot(s.Zxid, bytes.NewReader(s.Data)); err != nil {
			return fmt.Errorf("save snapshot %#x: %w", s.Zxid, err)
		}
		if err := st.TruncateAfter(s.Zxid); err != nil {
			return fmt.Errorf("truncate after snapshot %#x: %w", s.Zxid, err)
		}
		if err := st.PurgeBefore(s.Zxid + 1); err != nil {
			return fmt.Errorf("purge before snapshot %#x: %w", s.Zxid, err)
		}
		n.slog.resetTail()
	}
	if rd.Truncate != nil {
		if err := st.TruncateAfter(*rd.Truncate); err != nil {
			return fmt.Errorf("truncate after %#x: %w", *rd.Truncate, err)
		}
		n.slog.truncateTail(*rd.Truncate)
	}
	var hs *storage.HardState
	if rd.HardState != nil {
		hs = &storage.HardState{AcceptedEpoch: rd.HardState.AcceptedEpoch, CurrentEpoch: rd.HardState.CurrentEpoch}
	}
	if len(rd.Entries) == 0 && hs == nil {
		return nil
	}
	if err := st.Append(toStorageEntries(rd.Entries), hs, true); err != nil {
		return fmt.Errorf("append %d entries: %w", len(rd.Entries), err)
	}
	n.slog.appended(rd.Entries)
	return nil
}
