// Package zkserver is the client-facing ZooKeeper server: the listener,
// connections and sessions, the request pipeline (prepare -> propose ->
// finish, named after ZooKeeper's request processors), reads from the local
// tree, and the four-letter-word commands.
package zkserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/znode"
)

// Version is what srvr, envi and mntr report: the ZooKeeper release whose
// client protocol zkd speaks, then zkd's own version. Clients pick features
// by the leading ZooKeeper version.
const Version = "3.8.4-zkd-0.1.0"

// Proposal is a prepared txn on its way through consensus. Ctx belongs to the
// server; proposers hand it back untouched.
type Proposal struct {
	Txn znode.Txn
	Ctx any
	// syncMark marks no txn but the answer to a sync (Ctx), due once
	// everything before it is applied.
	syncMark bool
}

// Proposer orders and replicates prepared txns. The standalone proposer
// commits each at once; the ZAB ensemble implements the same interface.
// Committed proposals must be handed to the commit function given to Start,
// in zxid order, from a single goroutine.
type Proposer interface {
	Start(commit func(*Proposal))
	Propose(p *Proposal)
	Stop()
}

// standaloneProposer commits every proposal immediately: with one server
// there is nobody to agree with, and in this milestone nothing to sync.
type standaloneProposer struct{ commit func(*Proposal) }

func (sp *standaloneProposer) Start(commit func(*Proposal)) { sp.commit = commit }
func (sp *standaloneProposer) Propose(p *Proposal)          { sp.commit(p) }
func (sp *standaloneProposer) Stop()                        {}

// Server is a standalone zkd.
type Server struct {
	cfg      *Config
	log      zerolog.Logger
	proposer Proposer
	started  time.Time

	// store and snaps are nil for a server built by New (memory only).
	store storage.Storage
	snaps *snapshotter
	// ens is set on an ensemble member (OpenEnsemble), nil standalone.
	ens *ensemble

	failOnce sync.Once
	failed   chan struct{} // closed by fail
	failErr  error

	treeMu sync.RWMutex
	tree   *znode.Tree

	outstanding outstanding
	prepCh      chan *request
	commitCh    chan *Proposal
	nextZxid    int64 // owned by the prep goroutine

	sessions *sessionTracker
	stats    serverStats

	ln       net.Listener
	connsMu  sync.Mutex
	conns    map[*conn]struct{}
	perIP    map[string]int
	nextConn atomic.Uint64

	stopOnce sync.Once
	stopping chan struct{}
	wg       sync.WaitGroup
}

// New builds a server from a validated config. log receives every event.
func New(cfg *Config, log zerolog.Logger) *Server {
	now := time.Now()
	s := &Server{
		cfg:         cfg,
		log:         log,
		proposer:    &standaloneProposer{},
		started:     now,
		tree:        znode.New(),
		outstanding: outstanding{changes: make(map[string]*change)},
		prepCh:      make(chan *request, max(cfg.GlobalOutstandingLimit, 1)),
		commitCh:    make(chan *Proposal, 4096),
		nextZxid:    1,
		conns:       make(map[*conn]struct{}),
		perIP:       make(map[string]int),
		stopping:    make(chan struct{}),
		failed:      make(chan struct{}),
	}
	// A standalone ZooKeeperServer creates session ids as server 1
	// (createSessionTrackerServerId), whatever myid says.
	s.sessions = newSessionTracker(1, cfg.TickTime.Milliseconds(), now.UnixMilli())
	s.stats.reset()
	return s
}

// Open builds a durable server on st: the tree is restored from the newest
// intact snapshot plus the log, sessions found there come back with fresh
// timeouts (as in ZooKeeper: their clients have a full timeout to
// reconnect), and every txn is appended to st before it is applied. The
// server owns st from now on and closes it in Stop.
func Open(cfg *Config, log zerolog.Logger, st storage.Storage) (*Server, error) {
	s := New(cfg, log)
	rec := st.Recovery()
	ev := log.Info()
	if !rec.Clean() {
		ev = log.Warn()
	}
	ev.Str("report", rec.String()).Msg("storage opened")
	r, err := restore(st, log)
	if err != nil {
		return nil, err
	}
	s.tree, s.store = r.tree, st
	s.nextZxid = r.tree.LastZxid() + 1
	s.proposer = newLogProposer(st, cfg.ForceSync, s.fail)
	now := time.Now().UnixMilli()
	sessions := r.tree.Sessions()
	for id, timeout := range sessions {
		s.sessions.restore(id, int64(timeout), now)
	}
	// Counting the replayed txns towards the next snapshot bounds the
	// replay of a server that is restarted often.
	s.snaps = newSnapshotter(st, log, cfg.SnapCount, r.replayed)
	s.snaps.startup.record(r.snapLoad)
	log.Info().Str("snapshot", hex(r.snapZxid)).Dur("snapshotLoad", r.snapLoad).
		Int64("replayed", r.replayed).Dur("replay", r.replayTime).Str("zxid", hex(r.tree.LastZxid())).
		Int("nodes", r.tree.NodeCount()).Int("sessions", len(sessions)).Bool("forceSync", cfg.ForceSync).
		Msg("state restored")
	return s, nil
}

// fail stops a server that can no longer keep its promises (its log cannot
// be written); Run returns err.
func (s *Server) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		s.log.Error().Err(err).Msg("unrecoverable error, shutting down")
		close(s.failed)
		go s.Stop()
	})
}

// Start opens the client port and starts the pipeline.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr())
	if err != nil {
		if s.store != nil {
			s.store.Close()
		}
		return fmt.Errorf("listen on clientPort: %w", err)
	}
	s.ln = ln
	if s.ens == nil {
		s.proposer.Start(func(p *Proposal) {
			select {
			case s.commitCh <- p:
			case <-s.stopping:
			}
		})
	}
	if s.snaps != nil && s.cfg.PurgeInterval > 0 {
		s.snaps.wg.Add(1)
		go s.snaps.purgeLoop(s.cfg.PurgeInterval, s.cfg.SnapRetainCount)
	}
	s.wg.Add(5)
	if s.ens != nil {
		go s.ens.prepLoop()
	} else {
		go s.prepLoop()
	}
	go s.finishLoop()
	go s.expiryLoop()
	go s.containerLoop()
	go s.acceptLoop()
	if s.ens != nil {
		if err := s.ens.start(); err != nil {
			s.Stop()
			return err
		}
	}
	s.log.Info().Str("addr", ln.Addr().String()).Str("version", Version).
		Dur("tickTime", s.cfg.TickTime).Msg("serving clients")
	return nil
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stop closes the listener and every connection, then the pipeline, then
// the storage. Txns already queued for the log are written; those not yet
// applied are replayed at the next start (their clients got no reply).
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.stopping)
		s.ln.Close()
		s.connsMu.Lock()
		for c := range s.conns {
			c.close("server shutting down")
		}
		s.connsMu.Unlock()
		if s.ens != nil {
			s.ens.stop()
		}
		s.wg.Wait()
		if s.ens == nil {
			s.proposer.Stop() // after the prepare stage: no Propose runs now
		}
		if s.snaps != nil {
			s.snaps.close()
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				s.log.Error().Err(err).Msg("closing storage")
			}
		}
		s.log.Info().Msg("stopped")
	})
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stopping:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error().Err(err).Msg("accept failed")
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		c := s.newConn(nc)
		if c == nil {
			continue
		}
		go c.serve()
	}
}

// submit queues a write for the prepare stage. It blocks while the pipeline
// is full, which stops the connection's reader: backpressure, as
// globalOutstandingLimit does in ZooKeeper.
func (s *Server) submit(r *request) bool {
	if s.ens != nil {
		return s.ens.submit(r)
	}
	select {
	case s.prepCh <- r:
		return true
	case <-s.stopping:
		return false
	}
}

// prepLoop is the prepare stage: one goroutine, so txns get zxids in the
// order they were prepared.
func (s *Server) prepLoop() {
	defer s.wg.Done()
	for {
		var r *request
		select {
		case r = <-s.prepCh:
		case <-s.stopping:
			return
		}
		s.proposer.Propose(s.prepare(r))
	}
}

func (s *Server) prepare(r *request) *Proposal {
	zxid := s.nextZxid
	s.nextZxid++
	now := time.Now().UnixMilli()
	s.outstanding.mu.Lock()
	defer s.outstanding.mu.Unlock()
	pc := &prepContext{s: s, zxid: zxid, time: now, session: r.session, auth: r.auth, pending: map[string]*change{}}
	typ := r.op
	var rec jute.Record
	var err error
	// A client's request from a session that is expiring or closing fails;
	// session txns and the server's own requests (no connection) go on.
	expired := (r.conn != nil || r.forwarded) && r.session != 0 && !s.sessions.valid(r.session)
	switch {
	case r.op == jute.OpCreateSession:
		timeout := r.body.(*jute.CreateSessionTxn).TimeOut
		if s.ens != nil {
			// A session opened on a learner: the leader expires it from now
			// on (SessionTrackerImpl.trackSession in PrepRequestProcessor).
			s.sessions.ensure(r.session, int64(timeout), now)
		}
		rec = &jute.CreateSessionTxn{TimeOut: timeout}
	case r.op == jute.OpCloseSession:
		if r.forwarded {
			s.sessions.setClosing(r.session)
		}
		rec = pc.prepCloseSession()
	case expired:
		err = jute.ErrSessionExpired
	case r.op == jute.OpMulti:
		rec, err = pc.prepMulti(r.body.(*jute.MultiRequest))
	default:
		rec, err = pc.prepOp(r.op, r.body)
	}
	if err != nil && (r.op != jute.OpMulti || expired) {
		typ, rec = jute.OpError, &jute.ErrorTxn{Err: errCode(err)}
		pc.pending, pc.touched = nil, nil
	}
	for _, p := range pc.touched {
		s.outstanding.changes[p] = pc.pending[p]
	}
	r.touched = pc.touched
	return &Proposal{
		Txn: znode.Txn{
			Header: jute.TxnHeader{ClientID: r.session, Cxid: r.xid, Zxid: zxid, Time: now, Type: typ},
			Record: rec,
		},
		Ctx: r,
	}
}

// finishLoop is the final stage: apply committed txns in zxid order, then
// complete their requests. Watch events are queued on connections during
// Apply, before the request completes, so a client sees the event before the
// reply that reveals the change.
func (s *Server) finishLoop() {
	defer s.wg.Done()
	batch := make([]*Proposal, 0, 256)
	for {
		select {
		case p := <-s.commitCh:
			batch = append(batch[:0], p)
		case <-s.stopping:
			return
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case p := <-s.commitCh:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		s.treeMu.Lock()
		var last int64
		for _, p := range batch {
			if p.syncMark {
				continue
			}
			res := s.tree.Apply(&p.Txn)
			last = p.Txn.Header.Zxid
			if r, ok := p.Ctx.(*request); ok {
				r.res, r.zxid = res, p.Txn.Header.Zxid
			}
		}
		s.treeMu.Unlock()
		if s.snaps != nil && s.snaps.due(len(batch)) {
			// This goroutine is the only writer, so the tree cannot move
			// between the unlock above and the copy; a read lock lets
			// readers go on during the copy.
			s.treeMu.RLock()
			s.snaps.take(s.tree)
			s.treeMu.RUnlock()
		}
		for _, p := range batch {
			r, _ := p.Ctx.(*request)
			if p.syncMark {
				close(r.done)
				continue
			}
			if s.ens != nil {
				s.outstanding.clearApplied(p.Txn.Header.Zxid, s.ens.takePrepared(p.Txn.Header.Zxid))
			} else if r != nil {
				s.outstanding.clearApplied(p.Txn.Header.Zxid, r.touched)
			}
			s.afterApply(&p.Txn, r)
			if r != nil {
				close(r.done)
			}
		}
		if s.ens != nil && last != 0 {
			s.ens.afterFinish(last)
		}
	}
}

// afterApply keeps the session tracker in step with session txns. r is
// this server's request for the txn, if any.
func (s *Server) afterApply(txn *znode.Txn, r *request) {
	id := txn.Header.ClientID
	switch txn.Header.Type {
	case jute.OpCreateSession:
		// A standalone tracker holds the session since the connect; an
		// ensemble member learns of sessions opened elsewhere here.
		if s.ens != nil {
			if rec, ok := txn.Record.(*jute.CreateSessionTxn); ok {
				s.sessions.ensure(id, int64(rec.TimeOut), time.Now().UnixMilli())
			}
		}
	case jute.OpCloseSession:
		c := s.sessions.owner(id)
		s.sessions.remove(id)
		if c != nil && (r == nil || c != r.conn) {
			c.close("session closed")
		}
	}
}

// expiryLoop expires sessions whose clients went silent, one tick at a time,
// and closes them through the pipeline like any other closeSession.
func (s *Server) expiryLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TickTime)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if !s.leads() {
				continue
			}
			for _, id := range s.sessions.expire(now.UnixMilli()) {
				s.log.Info().Str("session", fmt.Sprintf("0x%x", id)).Msg("session expired")
				s.stats.expiredSessions.Add(1)
				if c := s.sessions.owner(id); c != nil {
					c.close("session expired")
				}
				s.submit(&request{session: id, op: jute.OpCloseSession, done: make(chan struct{})})
			}
		case <-s.stopping:
			return
		}
	}
}

// containerLoop is ContainerManager: it deletes empty containers that have
// had children and expired TTL nodes, through the pipeline, at most
// ContainerMaxPerMinute a minute.
func (s *Server) containerLoop() {
	defer s.wg.Done()
	interval := s.cfg.ContainerCheckInterval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if !s.leads() {
				continue
			}
			s.treeMu.RLock()
			paths := s.tree.ExpiredSpecialNodes(now.UnixMilli())
			s.treeMu.RUnlock()
			limit := s.cfg.ContainerMaxPerMinute * int(max(interval, time.Second)/time.Second) / 60
			if limit < 1 {
				limit = 1
			}
			for i, p := range paths {
				if i >= limit {
					break
				}
				s.submit(&request{op: jute.OpDeleteContainer, body: &jute.DeleteRequest{Path: p, Version: -1},
					done: make(chan struct{})})
			}
		case <-s.stopping:
			return
		}
	}
}

// leads reports whether this server decides what only one server may:
// expiring sessions and deleting containers. A standalone server always
// does; in an ensemble, the leader.
func (s *Server) leads() bool {
	return s.ens == nil || s.ens.currentRole() == roleLeading
}

// closeClients closes every client connection (an ensemble member that
// stopped serving), so the clients reconnect to a member that serves.
func (s *Server) closeClients(reason string) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		c.close(reason)
	}
}

// touchedSessions returns, and resets, the sessions whose clients sent
// anything since the last call (an ensemble learner reports them).
func (s *Server) touchedSessions() []int64 {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	var ids []int64
	for c := range s.conns {
		if c.touched.Swap(false) {
			if id := c.session.Load(); id != 0 {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Tree runs fn with the tree read-locked (for tests and 4lw commands).
func (s *Server) Tree(fn func(*znode.Tree)) {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	fn(s.tree)
}

// Run starts the server and blocks until ctx is done, then stops it.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.failed:
	}
	s.Stop()
	return s.failErr
}
