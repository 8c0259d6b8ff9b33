package zkserver

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/zab"
	"github.com/zabkafka/zabkafka/zab/transport"
	"github.com/zabkafka/zabkafka/zab/zabnode"
	"github.com/zabkafka/zabkafka/znode"
)

// An ensemble member runs the same pipeline as a standalone server, with
// zab in the middle (DESIGN.md 2.1):
//
//   - a client write is registered as pending on the member it arrived at,
//     then prepared there if this member leads, or forwarded to the leader
//     (zabnode.Request) otherwise;
//   - the leader prepares local and forwarded writes alike and proposes
//     them in batches (one sync per batch);
//   - every member gets committed txns from zab in zxid order (Apply, on the
//     node's goroutine) and hands them to the finish stage, matched with the
//     pending request of the same session and cxid, if it is here;
//   - sync asks zab for a sync point and is answered by the finish stage
//     once everything committed before it is applied here;
//   - sessions are created and closed by txns on every member; only the
//     leader expires them, and learners report the sessions their clients
//     were heard from every half tick (as ZooKeeper's PINGs do);
//   - a member that stops serving (lost its leader or its quorum) closes
//     every client connection, so clients move to a member that serves.

// memberRole is what a member does now, for the pipeline and srvr/mntr.
type memberRole int32

const (
	roleLooking memberRole = iota // not serving: electing, discovering or syncing
	roleLeading
	roleFollowing
	roleObserving
)

func (r memberRole) String() string {
	return [...]string{"looking", "leader", "follower", "observer"}[r]
}

// EnsembleOptions are the knobs of an ensemble member that zoo.cfg does not
// set; the zero value is right for production.
type EnsembleOptions struct {
	// ZabTick is the period of the protocol's clock; 0 means 50ms (or half
	// of tickTime when that is shorter). Limits in ticks of tickTime
	// (initLimit, syncLimit) are converted to it.
	ZabTick time.Duration
	// QuorumListener and ElectionListener replace listening on this
	// member's own addresses (tests).
	QuorumListener, ElectionListener net.Listener
}

type ensemble struct {
	s    *Server
	id   uint64
	log  zerolog.Logger
	tr   *transport.Transport
	node *zabnode.Node
	zcfg zabnode.Config

	role atomic.Int32  // memberRole
	gen  atomic.Uint64 // bumped when the role changes
	// prepGen is the generation the prepare stage last set up for (its
	// goroutine only).
	prepGen uint64

	pendMu  sync.Mutex
	pending map[int64][]*request // this member's requests awaiting their txn, per session, in order
	syncs   map[uint64]*request
	nextRef uint64

	fwdMu  sync.Mutex
	fwd    []*request // forwarded requests for the prepare stage (leader)
	fwdSig chan struct{}

	// prepared maps a proposed zxid to the paths its prepare touched, so
	// the finish stage can drop their outstanding change records.
	prepMu   sync.Mutex
	prepared map[int64][]string

	applyMu   sync.Mutex
	applyCond *sync.Cond
	queued    int64 // last zxid handed to the finish stage (node goroutine)
	applied   int64 // last zxid the finish stage applied

	stats ensembleStats
}

type ensembleStats struct {
	forwarded    atomic.Int64 // writes sent to the leader
	badForwarded atomic.Int64 // learner messages that did not decode
	lastProposal atomic.Int64 // bytes
	minProposal  atomic.Int64
	maxProposal  atomic.Int64
	lookingSince atomic.Int64  // unix ms when the member last started looking
	leadingSince atomic.Int64  // unix ms when it became the serving leader
	elections    durationStats // looking until serving again (zk_*_election_time)
}

// OpenEnsemble builds an ensemble member on st: cfg must name an ensemble
// (Config.Ensemble) with this server's myid. Its state comes back from the
// newest snapshot in st; the rest is synced from the leader. The member
// starts taking part (and opens its ports) in Start.
func OpenEnsemble(cfg *Config, log zerolog.Logger, st storage.Storage, opts EnsembleOptions) (*Server, error) {
	if !cfg.Ensemble() {
		return nil, errors.New("the config names no ensemble (fewer than two server.N lines)")
	}
	if err := cfg.validatePeers(); err != nil {
		return nil, err
	}
	s := New(cfg, log)
	s.tree.SetConfig(membership(cfg))
	s.store = st
	s.sessions = newSessionTracker(cfg.ServerID, cfg.TickTime.Milliseconds(), time.Now().UnixMilli())
	s.snaps = newSnapshotter(st, log, cfg.SnapCount, 0)
	e := &ensemble{
		s: s, id: uint64(cfg.ServerID), log: log.With().Uint64("myid", uint64(cfg.ServerID)).Logger(),
		pending: map[int64][]*request{}, syncs: map[uint64]*request{},
		fwdSig: make(chan struct{}, 1), prepared: map[int64][]string{},
	}
	e.applyCond = sync.NewCond(&e.applyMu)
	for _, v := range []*atomic.Int64{&e.stats.lastProposal, &e.stats.minProposal, &e.stats.maxProposal} {
		v.Store(-1) // ZooKeeper's value before the first proposal
	}
	e.stats.lookingSince.Store(time.Now().UnixMilli())
	s.ens = e

	members := map[uint64]transport.Member{}
	var voters, observers []uint64
	for _, p := range cfg.Peers() {
		members[uint64(p.ID)] = transport.Member{QuorumAddr: p.QuorumAddr(), ElectionAddr: p.ElectionAddr(), Observer: p.Observer}
		if p.Observer {
			observers = append(observers, uint64(p.ID))
		} else {
			voters = append(voters, uint64(p.ID))
		}
	}
	tcfg := transport.Config{ID: e.id, Members: members, Logger: log.With().Str("component", "quorum").Logger()}
	tcfg.QuorumListener, tcfg.ElectionListener = opts.QuorumListener, opts.ElectionListener
	tr, err := transport.New(tcfg)
	if err != nil {
		return nil, err
	}
	e.tr = tr

	tick := opts.ZabTick
	if tick <= 0 {
		tick = max(min(50*time.Millisecond, cfg.TickTime/2), time.Millisecond)
	}
	ticks := func(d time.Duration) int { return max(int((d+tick-1)/tick), 1) }
	pc := zab.Config{
		ID: e.id, Voters: voters, Observers: observers,
		// FastLeaderElection's finalizeWait and first notification
		// timeout are both 200ms.
		ElectionTimeoutTicks: ticks(200 * time.Millisecond),
		FinalizeWaitTicks:    ticks(200 * time.Millisecond),
		InitLimitTicks:       ticks(time.Duration(cfg.InitLimit) * cfg.TickTime),
		SyncLimitTicks:       ticks(time.Duration(cfg.SyncLimit) * cfg.TickTime),
		HeartbeatTicks:       ticks(cfg.TickTime / 2),
	}
	if pc.HeartbeatTicks >= pc.SyncLimitTicks {
		pc.HeartbeatTicks = max(pc.SyncLimitTicks/2, 1)
	}
	e.zcfg = zabnode.Config{
		Peer: pc, Storage: st, Transport: tr, StateMachine: e, Tick: tick, Seed: rand.Int64(),
		OnSoftState: e.onSoftState, OnRequest: e.onRequest, OnSynced: e.onSynced,
		Logger: log.With().Str("component", "zab").Logger(),
	}
	return s, nil
}

// start opens the quorum and election ports and starts the protocol. The
// finish stage must be running: restoring the snapshot waits for it.
func (e *ensemble) start() error {
	if err := e.tr.Start(); err != nil {
		return fmt.Errorf("open quorum and election ports: %w", err)
	}
	node, err := zabnode.Start(e.zcfg)
	if err != nil {
		e.tr.Close()
		return err
	}
	e.node = node
	e.s.wg.Add(2)
	go e.touchLoop()
	go e.watchNode()
	e.log.Info().Int("voters", len(e.zcfg.Peer.Voters)).Int("observers", len(e.zcfg.Peer.Observers)).
		Dur("zabTick", e.zcfg.Tick).Msg("joining the ensemble")
	return nil
}

// stop ends the protocol and closes the ports. The server's stopping
// channel is closed already, so waits on applyCond end.
func (e *ensemble) stop() {
	e.applyMu.Lock()
	e.applyCond.Broadcast()
	e.applyMu.Unlock()
	if e.node != nil {
		e.node.Stop()
	}
	e.tr.Close()
}

// watchNode stops the server if the node stops on its own (it could not
// persist or apply: it must not go on acknowledging).
func (e *ensemble) watchNode() {
	defer e.s.wg.Done()
	select {
	case <-e.node.Done():
		if err := e.node.Err(); err != nil {
			e.s.fail(fmt.Errorf("zab: %w", err))
		}
	case <-e.s.stopping:
	}
}

func (e *ensemble) currentRole() memberRole { return memberRole(e.role.Load()) }

// serving reports whether clients may be served here.
func (e *ensemble) serving() bool { return e.currentRole() != roleLooking }

// onSoftState follows the peer's state (node goroutine).
func (e *ensemble) onSoftState(ss zab.SoftState) {
	role := roleLooking
	if ss.Serving {
		switch ss.State {
		case zab.Leading:
			role = roleLeading
		case zab.Following:
			role = roleFollowing
		case zab.Observing:
			role = roleObserving
		}
	}
	old := memberRole(e.role.Swap(int32(role)))
	if old == role {
		return
	}
	e.gen.Add(1)
	now := time.Now().UnixMilli()
	if old != roleLooking {
		// Requests in flight may or may not commit under the next leader;
		// their clients learn which after reconnecting, as with ZooKeeper.
		e.s.closeClients("this server stopped serving: " + role.String())
		e.dropPending()
		e.stats.lookingSince.Store(now)
	}
	if old == roleLooking {
		e.stats.elections.record(time.Duration(now-e.stats.lookingSince.Load()) * time.Millisecond)
	}
	if role == roleLeading {
		e.stats.leadingSince.Store(now)
		// The new leader owns expiry: every session gets a full timeout
		// from now, as in ZooKeeper, to reconnect and be heard from.
		e.s.sessions.rearmAll(now)
	}
	e.log.Info().Str("role", role.String()).Str("was", old.String()).Uint64("leader", ss.Leader).Msg("member role changed")
}

// dropPending forgets requests waiting for txns and syncs; their
// connections have been closed.
func (e *ensemble) dropPending() {
	e.pendMu.Lock()
	e.pending = map[int64][]*request{}
	e.syncs = map[uint64]*request{}
	e.pendMu.Unlock()
	e.fwdMu.Lock()
	e.fwd = nil
	e.fwdMu.Unlock()
}

// submit takes a client write (or sync, or a session txn) of this member.
func (e *ensemble) submit(r *request) bool {
	if !e.serving() {
		return false
	}
	if r.op == jute.OpSync {
		return e.sync(r)
	}
	if r.session != 0 {
		e.pendMu.Lock()
		e.pending[r.session] = append(e.pending[r.session], r)
		e.pendMu.Unlock()
	}
	if e.currentRole() == roleLeading {
		select {
		case e.s.prepCh <- r:
			return true
		case <-e.s.stopping:
			return false
		}
	}
	e.stats.forwarded.Add(1)
	if err := e.node.Request(encodeForwarded(r)); err != nil {
		return false
	}
	return true
}

// sync asks for a sync point; onSynced answers it.
func (e *ensemble) sync(r *request) bool {
	e.pendMu.Lock()
	e.nextRef++
	ref := e.nextRef
	e.syncs[ref] = r
	e.pendMu.Unlock()
	if err := e.node.Sync(ref); err != nil {
		e.pendMu.Lock()
		delete(e.syncs, ref)
		e.pendMu.Unlock()
		return false
	}
	return true
}

// onSynced queues the answer to a sync behind every txn committed before
// it (node goroutine: Committed was handed to the finish stage already).
func (e *ensemble) onSynced(ref uint64) {
	e.pendMu.Lock()
	r := e.syncs[ref]
	delete(e.syncs, ref)
	e.pendMu.Unlock()
	if r != nil {
		e.toFinish(&Proposal{Ctx: r, syncMark: true})
	}
}

// onRequest takes a learner's message on the leader (node goroutine). It
// must not block: the prepare stage may be waiting for this goroutine.
func (e *ensemble) onRequest(fr zab.ForwardedRequest) {
	f, err := decodeForwarded(fr.Data)
	if err != nil {
		e.stats.badForwarded.Add(1)
		e.log.Warn().Err(err).Uint64("from", fr.From).Msg("dropping a learner message")
		return
	}
	if f.touches != nil {
		now := time.Now().UnixMilli()
		for _, id := range f.touches {
			e.s.sessions.touch(id, now)
		}
		return
	}
	e.fwdMu.Lock()
	e.fwd = append(e.fwd, f.req)
	e.fwdMu.Unlock()
	select {
	case e.fwdSig <- struct{}{}:
	default:
	}
}

func (e *ensemble) takeForwarded() []*request {
	e.fwdMu.Lock()
	defer e.fwdMu.Unlock()
	out := e.fwd
	e.fwd = nil
	return out
}

// maxPrepBatch bounds the requests prepared and proposed in one go.
const maxPrepBatch = 1024

// prepLoop is the prepare stage of an ensemble member: on the leader it
// prepares local and forwarded writes and proposes them in batches; a
// batch is one turn of the node's loop and so one sync.
func (e *ensemble) prepLoop() {
	s := e.s
	defer s.wg.Done()
	batch := make([]*request, 0, maxPrepBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.prepCh:
			batch = append(batch, r)
		case <-e.fwdSig:
			batch = append(batch, e.takeForwarded()...)
		case <-s.stopping:
			return
		}
	more:
		for len(batch) < maxPrepBatch {
			select {
			case r := <-s.prepCh:
				batch = append(batch, r)
			case <-e.fwdSig:
				batch = append(batch, e.takeForwarded()...)
			default:
				break more
			}
		}
		e.proposeBatch(batch)
	}
}

// proposeBatch prepares and proposes a batch on the leader.
func (e *ensemble) proposeBatch(batch []*request) {
	s := e.s
	if len(batch) == 0 {
		return
	}
	if gen := e.gen.Load(); gen != e.prepGen || s.nextZxid == 0 {
		if !e.setupLeading(gen) {
			return // not leading: the requests' connections are closed
		}
	}
	datas := make([][]byte, len(batch))
	zxids := make([]int64, len(batch))
	for i, r := range batch {
		p := s.prepare(r)
		zxids[i] = p.Txn.Header.Zxid
		datas[i] = znode.EncodeTxn(nil, &p.Txn)
		n := int64(len(datas[i]))
		e.stats.lastProposal.Store(n)
		if m := e.stats.minProposal.Load(); m < 0 || n < m {
			e.stats.minProposal.Store(n)
		}
		if n > e.stats.maxProposal.Load() {
			e.stats.maxProposal.Store(n)
		}
	}
	e.prepMu.Lock()
	for i, r := range batch {
		e.prepared[zxids[i]] = r.touched
	}
	e.prepMu.Unlock()
	got, err := e.node.ProposeBatch(zxids[0], datas)
	for i, z := range got {
		if z != zxids[i] {
			// The zxid was predicted when the batch was prepared; a
			// different one means the leadership changed under us.
			err = fmt.Errorf("txn prepared as %#x was proposed as %#x", zxids[i], z)
			break
		}
	}
	if err != nil {
		e.log.Warn().Err(err).Int("proposed", len(got)).Int("batch", len(batch)).Msg("proposing failed; preparing afresh")
		s.nextZxid = 0 // set up again before the next batch
	}
}

// setupLeading readies the prepare stage for a new leadership: every txn
// committed before it must be applied, since prepare checks requests
// against the tree, and the next zxid comes from the peer.
func (e *ensemble) setupLeading(gen uint64) bool {
	s := e.s
	if e.currentRole() != roleLeading {
		return false
	}
	e.waitApplied()
	z, err := e.node.NextZxid()
	if err != nil {
		return false
	}
	s.outstanding.mu.Lock()
	clear(s.outstanding.changes)
	s.outstanding.mu.Unlock()
	e.prepMu.Lock()
	clear(e.prepared)
	e.prepMu.Unlock()
	s.nextZxid, e.prepGen = z, gen
	return true
}

// Apply implements zabnode.StateMachine: a committed txn goes to the finish
// stage with this member's request for it, if any (node goroutine).
func (e *ensemble) Apply(ent zab.Entry) error {
	txn, err := znode.DecodeTxn(ent.Data)
	if err != nil {
		return fmt.Errorf("committed txn %#x does not decode: %w", ent.Zxid, err)
	}
	txn.Header.Zxid = ent.Zxid
	p := &Proposal{Txn: *txn}
	if r := e.matchPending(txn.Header.ClientID, txn.Header.Cxid); r != nil {
		p.Ctx = r
	}
	e.toFinish(p)
	e.applyMu.Lock()
	e.queued = ent.Zxid
	e.applyMu.Unlock()
	return nil
}

func (e *ensemble) toFinish(p *Proposal) {
	select {
	case e.s.commitCh <- p:
	case <-e.s.stopping:
	}
}

// matchPending returns this member's request for the txn of (session,
// cxid), the oldest one pending for the session. Clients number their
// requests upwards, so a txn with a lower cxid than that request is not
// ours: the client sent it through another member before it moved here (or
// it is the leader's closeSession, cxid 0); it is applied without touching
// the requests here, as ZooKeeper leaves a moved session's new connection
// alone. A higher cxid means our oldest request was lost on the way to the
// leader: the order broke, and the session's connection here is closed.
func (e *ensemble) matchPending(session int64, cxid int32) *request {
	if session == 0 {
		return nil
	}
	e.pendMu.Lock()
	defer e.pendMu.Unlock()
	q := e.pending[session]
	if len(q) == 0 {
		return nil
	}
	head := q[0]
	if cxid < head.xid {
		return nil
	}
	if head.xid == cxid {
		if len(q) == 1 {
			delete(e.pending, session)
		} else {
			e.pending[session] = q[1:]
		}
		return head
	}
	delete(e.pending, session)
	if c := e.s.sessions.owner(session); c != nil {
		e.log.Warn().Str("session", hex(session)).Int32("cxid", cxid).Int32("expected", head.xid).
			Msg("txn of this session is not the one expected next; closing its connection")
		c.close("txn order broken")
	}
	return nil
}

// afterFinish runs after the finish stage applied a batch through zxid.
func (e *ensemble) afterFinish(zxid int64) {
	e.applyMu.Lock()
	if zxid > e.applied {
		e.applied = zxid
	}
	e.applyCond.Broadcast()
	e.applyMu.Unlock()
}

// takePrepared returns and forgets the paths the leader's prepare touched
// for zxid (nil on learners).
func (e *ensemble) takePrepared(zxid int64) []string {
	e.prepMu.Lock()
	defer e.prepMu.Unlock()
	p, ok := e.prepared[zxid]
	if ok {
		delete(e.prepared, zxid)
	}
	return p
}

// waitApplied waits until the finish stage has applied everything handed
// to it so far (or the server stops).
func (e *ensemble) waitApplied() {
	e.applyMu.Lock()
	for e.applied < e.queued && !isClosed(e.s.stopping) {
		e.applyCond.Wait()
	}
	e.applyMu.Unlock()
}

// Snapshot implements zabnode.StateMachine: the tree as of the last txn
// handed out, for a learner synced by SNAP.
func (e *ensemble) Snapshot() (int64, []byte, error) {
	e.waitApplied()
	if isClosed(e.s.stopping) {
		return 0, nil, errors.New("server stopping")
	}
	e.s.treeMu.RLock()
	v := e.s.tree.Capture()
	e.s.treeMu.RUnlock()
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		return 0, nil, err
	}
	return v.Zxid, buf.Bytes(), nil
}

// Restore implements zabnode.StateMachine: the tree becomes the snapshot.
// It runs at start-up and during a SNAP sync, when no client is connected.
func (e *ensemble) Restore(zxid int64, data []byte) error {
	e.waitApplied()
	t, err := znode.ReadSnapshot(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if t.LastZxid() != zxid {
		return fmt.Errorf("snapshot for %#x holds %#x", zxid, t.LastZxid())
	}
	s := e.s
	t.SetConfig(membership(s.cfg))
	s.treeMu.Lock()
	s.tree = t
	s.treeMu.Unlock()
	s.sessions.replaceAll(t.Sessions(), time.Now().UnixMilli())
	e.applyMu.Lock()
	e.queued, e.applied = zxid, zxid
	e.applyMu.Unlock()
	e.log.Info().Str("zxid", hex(zxid)).Int("nodes", t.NodeCount()).Msg("state restored from a snapshot")
	return nil
}

// touchLoop reports, every half tick, the sessions whose clients this
// learner heard from, so the leader does not expire them.
func (e *ensemble) touchLoop() {
	s := e.s
	defer s.wg.Done()
	t := time.NewTicker(max(s.cfg.TickTime/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.stopping:
			return
		}
		role := e.currentRole()
		if role != roleFollowing && role != roleObserving {
			continue
		}
		ids := s.touchedSessions()
		if len(ids) > 0 {
			if err := e.node.Request(encodeTouches(ids)); err != nil {
				e.log.Debug().Err(err).Msg("could not report session activity to the leader")
			}
		}
	}
}

// writeQuorumMntr adds the ensemble's lines to mntr: the peer state, and on
// the leader its learners, as ZooKeeper's mntr does.
func (e *ensemble) writeQuorumMntr(kv func(string, any)) {
	st := e.node.Status()
	phase := "broadcast"
	if !st.Serving {
		phase = "synchronization"
	}
	kv("peer_state", map[zab.State]string{zab.Looking: "looking", zab.Leading: "leading", zab.Following: "following",
		zab.Observing: "observing"}[st.State]+" - "+phase)
	kv("quorum_size", len(e.zcfg.Peer.Voters))
	writeSummary(kv, "election_time", e.stats.elections.values())
	kv("zxid_epoch", st.Epoch)
	kv("forwarded_requests", e.stats.forwarded.Load())
	if st.State != zab.Leading {
		return
	}
	observers := 0
	for _, l := range st.Learners {
		if l.Observer && (l.Stage == "synced" || l.Stage == "active") {
			observers++
		}
	}
	e.pendMu.Lock()
	syncs := len(e.syncs)
	e.pendMu.Unlock()
	kv("learners", len(st.Learners))
	kv("synced_followers", st.SyncedFollowers())
	kv("synced_non_voting_followers", 0)
	kv("synced_observers", observers)
	kv("pending_syncs", syncs)
	kv("leader_uptime", time.Now().UnixMilli()-e.stats.leadingSince.Load())
	kv("last_proposal_size", e.stats.lastProposal.Load())
	kv("max_proposal_size", e.stats.maxProposal.Load())
	kv("min_proposal_size", e.stats.minProposal.Load())
	kv("bad_learner_messages", e.stats.badForwarded.Load())
}

// writeSrvr adds the leader's proposal sizes line to srvr and stat.
func (e *ensemble) writeSrvr(b *strings.Builder) {
	if e.currentRole() == roleLeading {
		fmt.Fprintf(b, "Proposal sizes last/min/max: %d/%d/%d\n", e.stats.lastProposal.Load(),
			e.stats.minProposal.Load(), e.stats.maxProposal.Load())
	}
}

// serverLine is a server.N line as ZooKeeper prints it back (conf and
// /zookeeper/config): host:quorumPort:electionPort:role[;clientAddr].
func serverLine(p PeerSpec) string {
	role := "participant"
	if p.Observer {
		role = "observer"
	}
	line := fmt.Sprintf("server.%d=%s:%d:%d:%s", p.ID, p.Host, p.QuorumPort, p.ElectionPort, role)
	if p.ClientAddr != "" {
		line += ";" + p.ClientAddr
	}
	return line
}

// membership is the data of /zookeeper/config on an ensemble member: the
// server lines and the config version, as ZooKeeper's QuorumVerifier
// writes them.
func membership(cfg *Config) []byte {
	var b strings.Builder
	for _, p := range cfg.Peers() {
		b.WriteString(serverLine(p))
		b.WriteString("\n")
	}
	b.WriteString("version=0")
	return []byte(b.String())
}

// writeConf adds the quorum part of conf, as ZooKeeper prints it.
func (e *ensemble) writeConf(b *strings.Builder) {
	cfg := e.s.cfg
	peerType := 0
	if cfg.Self().Observer {
		peerType = 1
	}
	self := cfg.Self()
	fmt.Fprintf(b, "initLimit=%d\nsyncLimit=%d\nelectionAlg=3\nelectionPort=%d\nquorumPort=%d\npeerType=%d\nmembership: \n",
		cfg.InitLimit, cfg.SyncLimit, self.ElectionPort, self.QuorumPort, peerType)
	for _, p := range cfg.Peers() {
		b.WriteString(serverLine(p))
		b.WriteString("\n")
	}
	b.WriteString("version=0\n")
}
