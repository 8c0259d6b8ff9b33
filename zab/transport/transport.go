// Package transport carries zab.Messages between the members of an
// ensemble over TCP, the job of ZooKeeper's QuorumCnxManager (election
// port) and Learner/LearnerHandler sockets (quorum port).
//
// Each member listens on two addresses, as a zoo.cfg line
// server.N=host:quorumPort:electionPort says (reference/zookeeper.md 4.6).
// Notifications travel on the election port, everything else on the quorum
// port. Between two members there is at most one connection per port, and
// it is always the one dialed by the higher server id, QuorumCnxManager's
// tie-break (reference 4.1): when the lower id needs a connection it dials,
// the higher id answers "dial back", closes, and dials the lower one. So a
// simultaneous dial from both sides cannot leave two connections, and every
// message between a pair on a port travels in one FIFO stream.
//
// Delivery is FIFO with loss, the link model of zab/zabtest: a message is
// delivered at most once, in send order per peer and port; it may be lost
// when the peer's queue is full (counted in Stats as a drop) or when a
// connection breaks with it buffered. ZAB tolerates that: the core sees the
// gap and re-syncs. There is no order between the two ports (a
// notification may overtake a proposal sent before it), as in ZooKeeper,
// where they are different sockets too.
//
// Everything read from the network is distrusted (STYLE.md 4): the
// handshake is a fixed 60-byte header (handshake.go) checked for magic,
// version, port, sender and receiver id and a hash of the member list;
// frames are length-checked against the port's limit before any
// allocation; every message is decoded by zab.Unmarshal and must carry the
// authenticated sender as From and this server as To. Anything else closes
// that one connection with a "handshake rejected" or "bad frame" log line
// carrying peer, port, remote and reason.
//
// A shell uses it like this:
//
//	t, err := transport.New(cfg)
//	err = t.Start()
//	go func() { for m := range t.Receive() { stepCh <- m } }() // closed by Close
//	... for each Ready: send rd.Early, persist, then for _, m := range rd.Messages { t.Send(m) }
//	t.Close()
package transport

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/zab"
)

// Member is one server of the ensemble: its server.N line.
type Member struct {
	QuorumAddr   string // host:port of the quorum (learner) listener
	ElectionAddr string // host:port of the election listener
	Observer     bool
}

// Config configures a Transport. Zero values take the defaults named.
type Config struct {
	ID      uint64
	Members map[uint64]Member // every member, this one included
	Logger  zerolog.Logger

	// QuorumListener and ElectionListener, if set, are used instead of
	// listening on this member's addresses (tests, socket activation). The
	// transport closes them on Close.
	QuorumListener, ElectionListener net.Listener

	DialTimeout      time.Duration // 5 s, QuorumCnxManager's cnxTimeout
	HandshakeTimeout time.Duration // 5 s: both headers must be through by then
	WriteTimeout     time.Duration // 30 s: a peer that does not read for this long is cut off
	BackoffMin       time.Duration // 50 ms: first wait after a failed dial
	BackoffMax       time.Duration // 2 s: the wait doubles up to this, with jitter

	MaxFrameBytes         int // quorum port frame limit: 256 MiB (SNAP carries a snapshot)
	ElectionMaxFrameBytes int // election port frame limit: 512 KiB (PACKETMAXSIZE)

	QueueLen         int // per-peer outbound quorum queue: 4096 messages
	ElectionQueueLen int // per-peer outbound election queue: 64 notifications
	RecvQueueLen     int // the Receive channel: 4096 messages

	// Rand jitters the backoff. Nil means a generator seeded from
	// crypto/rand. The transport serializes its use.
	Rand *rand.Rand
}

// Errors.
var (
	ErrInvalidConfig = errors.New("transport: invalid config")
	ErrStarted       = errors.New("transport: already started")
	ErrClosed        = errors.New("transport: closed")
)

func (c *Config) validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, key, fmt.Sprintf(format, args...))
	}
	if c.ID == 0 {
		return bad("ID", "must be > 0")
	}
	if _, ok := c.Members[c.ID]; !ok {
		return bad("ID", "%d is not in Members", c.ID)
	}
	for id, m := range c.Members {
		if id == 0 {
			return bad("Members", "server id 0")
		}
		for _, a := range []struct{ key, addr string }{{"QuorumAddr", m.QuorumAddr}, {"ElectionAddr", m.ElectionAddr}} {
			if _, _, err := net.SplitHostPort(a.addr); err != nil {
				return bad(fmt.Sprintf("Members[%d].%s", id, a.key), "%q: %v", a.addr, err)
			}
		}
		if m.QuorumAddr == m.ElectionAddr {
			return bad(fmt.Sprintf("Members[%d]", id), "quorum and election addresses are both %q", m.QuorumAddr)
		}
	}
	durations := []struct {
		key string
		v   *time.Duration
		def time.Duration
	}{
		{"DialTimeout", &c.DialTimeout, 5 * time.Second},
		{"HandshakeTimeout", &c.HandshakeTimeout, 5 * time.Second},
		{"WriteTimeout", &c.WriteTimeout, 30 * time.Second},
		{"BackoffMin", &c.BackoffMin, 50 * time.Millisecond},
		{"BackoffMax", &c.BackoffMax, 2 * time.Second},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return bad(d.key, "negative")
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.BackoffMax < c.BackoffMin {
		return bad("BackoffMax", "%v below BackoffMin %v", c.BackoffMax, c.BackoffMin)
	}
	ints := []struct {
		key      string
		v        *int
		def, max int
	}{
		{"MaxFrameBytes", &c.MaxFrameBytes, DefaultMaxFrameBytes, maxFrameLimit},
		{"ElectionMaxFrameBytes", &c.ElectionMaxFrameBytes, DefaultElectionMaxFrameBytes, maxFrameLimit},
		{"QueueLen", &c.QueueLen, 4096, 1 << 24},
		{"ElectionQueueLen", &c.ElectionQueueLen, 64, 1 << 24},
		{"RecvQueueLen", &c.RecvQueueLen, 4096, 1 << 24},
	}
	for _, n := range ints {
		if *n.v < 0 || *n.v > n.max {
			return bad(n.key, "%d outside [0, %d]", *n.v, n.max)
		}
		if *n.v == 0 {
			*n.v = n.def
		}
	}
	return nil
}

// Transport connects this member to the others. All methods are safe for
// concurrent use.
type Transport struct {
	cfg     Config
	id      uint64
	log     zerolog.Logger
	members [sha256.Size]byte // membersHash of cfg.Members
	peers   []uint64          // sorted, without this member
	links   [3]map[uint64]*link
	recv    chan zab.Message
	lost    chan uint64 // peers whose quorum connection closed with no replacement

	ctx    context.Context // cancelled by Close; aborts dials
	cancel context.CancelFunc

	mu        sync.Mutex // guards the fields below
	started   bool
	closed    bool
	listeners []net.Listener
	conns     map[net.Conn]struct{} // every open socket, so Close can cut them
	wg        sync.WaitGroup        // every goroutine; Add only under mu while !closed

	shut atomic.Bool // set by Close; read by Send without taking mu

	randMu sync.Mutex
	rand   *rand.Rand

	unknownDrops   atomic.Uint64
	rejectedConns  atomic.Uint64
	rejectedFrames atomic.Uint64
}

// New validates cfg and builds a Transport. Nothing is opened until Start.
func New(cfg Config) (*Transport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := cfg.Rand
	if r == nil {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("transport: seeding backoff jitter: %w", err)
		}
		r = rand.New(rand.NewChaCha8(seed))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:     cfg,
		id:      cfg.ID,
		log:     cfg.Logger.With().Uint64("self", cfg.ID).Logger(),
		members: membersHash(cfg.Members),
		recv:    make(chan zab.Message, cfg.RecvQueueLen),
		lost:    make(chan uint64, 64),
		ctx:     ctx,
		cancel:  cancel,
		conns:   map[net.Conn]struct{}{},
		rand:    r,
	}
	t.links[quorumPort] = map[uint64]*link{}
	t.links[electionPort] = map[uint64]*link{}
	for id, m := range cfg.Members {
		if id == t.id {
			continue
		}
		t.peers = append(t.peers, id)
		t.links[quorumPort][id] = newLink(t, id, quorumPort, m.QuorumAddr)
		t.links[electionPort][id] = newLink(t, id, electionPort, m.ElectionAddr)
	}
	slices.Sort(t.peers)
	return t, nil
}

// Start listens on this member's quorum and election addresses (or takes
// the listeners in Config) and starts accepting peers.
func (t *Transport) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.started {
		return ErrStarted
	}
	self := t.cfg.Members[t.id]
	lns := []struct {
		p    port
		ln   net.Listener
		addr string
	}{
		{quorumPort, t.cfg.QuorumListener, self.QuorumAddr},
		{electionPort, t.cfg.ElectionListener, self.ElectionAddr},
	}
	var opened []net.Listener // ours to close if the second listen fails
	for i := range lns {
		if lns[i].ln != nil {
			continue
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(t.ctx, "tcp", lns[i].addr)
		if err != nil {
			for _, ln := range opened {
				ln.Close()
			}
			return fmt.Errorf("transport: listen %s port %s: %w", lns[i].p, lns[i].addr, err)
		}
		opened = append(opened, ln)
		lns[i].ln = ln
	}
	t.started = true
	for _, l := range lns {
		t.listeners = append(t.listeners, l.ln)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.serve(l.ln, l.p)
		}()
		t.log.Info().Str("port", l.p.String()).Str("addr", l.ln.Addr().String()).
			Str("members", shortHash(t.members)).Msg("listening")
	}
	return nil
}

// Close stops listening, closes every connection and waits for every
// goroutine. The Receive channel is closed once nothing can send on it.
// Queued messages are discarded.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.shut.Store(true)
	t.cancel()
	lns := t.listeners
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	close(t.recv)
	t.log.Info().Msg("transport closed")
	return nil
}

// Receive delivers every inbound message, decoded and validated, with From
// equal to the authenticated sender. Messages from one peer on one port
// arrive in the order it sent them. The channel is closed by Close.
func (t *Transport) Receive() <-chan zab.Message { return t.recv }

// Lost reports peers whose quorum-port connection closed and was not
// replaced, as a learner's socket to its leader failing tells ZooKeeper
// at once that the leader is gone (rather than after syncLimit). A report
// is dropped if the channel is full; the protocol's timeouts still apply.
func (t *Transport) Lost() <-chan uint64 { return t.lost }

// peerLost queues a Lost report without blocking.
func (t *Transport) peerLost(peer uint64) {
	if t.isClosed() {
		return
	}
	select {
	case t.lost <- peer:
	default:
	}
}

// Send queues m for m.To and returns at once. Notifications go over the
// election connection, everything else over the quorum connection; the
// connection is dialed on the first Send and kept. When the queue is full
// the message is dropped and counted (on the election port the oldest
// queued notification gives way instead: the newest vote supersedes it, as
// QuorumCnxManager's one-slot send queues behave). Send takes ownership of
// m's slices: the caller must not modify them afterwards. m.From must be
// this server's id or zero (then it is filled in).
func (t *Transport) Send(m zab.Message) {
	p := quorumPort
	if m.Type == zab.Notification {
		p = electionPort
	}
	l := t.links[p][m.To]
	if l == nil {
		t.unknownDrops.Add(1)
		t.log.Debug().Uint64("peer", m.To).Str("msg", m.Describe()).Msg("message to unknown server dropped")
		return
	}
	if m.From == 0 {
		m.From = t.id
	}
	if m.From != t.id {
		// A bug in the caller: the receiver would reject the frame and
		// cut the connection, so refuse it here.
		l.stats.drops.Add(1)
		t.log.Error().Uint64("peer", m.To).Str("msg", m.Describe()).Msg("message with a foreign From dropped")
		return
	}
	if t.shut.Load() {
		l.stats.drops.Add(1)
		return
	}
	l.start()
	l.enqueue(m)
}

// Connected says whether both connections to peer id are up (the quorum
// and the election connection).
func (t *Transport) Connected(id uint64) bool {
	q, e := t.links[quorumPort][id], t.links[electionPort][id]
	return q != nil && q.current() != nil && e.current() != nil
}

// ConnectedQuorum and ConnectedElection report one port each.
func (t *Transport) ConnectedQuorum(id uint64) bool {
	l := t.links[quorumPort][id]
	return l != nil && l.current() != nil
}

// ConnectedElection reports whether the election connection to id is up.
func (t *Transport) ConnectedElection(id uint64) bool {
	l := t.links[electionPort][id]
	return l != nil && l.current() != nil
}

// limit is the frame limit this member enforces on port p.
func (t *Transport) limit(p port) int {
	if p == electionPort {
		return t.cfg.ElectionMaxFrameBytes
	}
	return t.cfg.MaxFrameBytes
}

func (t *Transport) isClosed() bool { return t.shut.Load() }

// spawn runs f in a tracked goroutine unless the transport is closed.
func (t *Transport) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// track registers an open socket so Close can cut it; false (and the
// socket closed) once the transport is closed.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// jitter returns a duration in [d/2, d): equal jitter, so peers that lost
// each other at the same moment do not redial in lockstep.
func (t *Transport) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	t.randMu.Lock()
	defer t.randMu.Unlock()
	half := d / 2
	return half + time.Duration(t.rand.Int64N(int64(d-half)))
}
