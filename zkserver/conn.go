package zkserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// request is one client request (or an internal one: session expiry,
// container deletion) on its way through the server.
type request struct {
	conn *conn // nil for internal requests and forwarded ones
	// forwarded: a learner's client request, prepared on the leader.
	forwarded bool
	session   int64
	xid       int32
	op        jute.OpCode
	body      jute.Record
	auth      []jute.ID
	recv      time.Time

	// Writes: filled by the pipeline; done is closed once applied.
	done    chan struct{}
	touched []string
	zxid    int64
	res     znode.Result

	// Replies decided by the reader (auth, refused ops).
	err        jute.ErrCode
	closeAfter bool
}

func (r *request) isWrite() bool { return r.done != nil }

// event is a queued watch notification, already framed.
type event struct {
	zxid  int64
	frame []byte
}

// conn is one client connection. Its reader decodes requests and hands
// writes to the pipeline; its writer sends replies strictly in request order,
// runs reads when their turn comes (so a read sees every earlier write of its
// session: per-session FIFO), and interleaves watch events.
type conn struct {
	s      *Server
	nc     net.Conn
	id     uint64
	ip     string
	log    zerolog.Logger
	opened time.Time

	session   atomic.Int64
	timeoutMs atomic.Int64
	auth      atomic.Pointer[[]jute.ID]
	entries   chan *request

	evMu   sync.Mutex
	events []event
	evSig  chan struct{}

	closed    chan struct{}
	closeOnce sync.Once

	// touched is set when the client sent anything since an ensemble
	// learner last reported its session to the leader.
	touched atomic.Bool

	wmu       sync.Mutex   // held while draining events and writing to the socket
	inflight  atomic.Int32 // requests queued for the writer and not yet answered
	inlineOut []byte       // reply buffer of readInline (reader goroutine only)

	stats connStats
}

func (s *Server) newConn(nc net.Conn) *conn {
	ip := "unknown"
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		ip = ta.IP.String()
	}
	c := &conn{
		s:       s,
		nc:      nc,
		id:      s.nextConn.Add(1),
		ip:      ip,
		opened:  time.Now(),
		entries: make(chan *request, 1024),
		evSig:   make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	c.log = s.log.With().Str("client", nc.RemoteAddr().String()).Logger()
	c.stats.reset()
	ids := []jute.ID{{Scheme: "ip", ID: ip}}
	c.auth.Store(&ids)
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.cfg.MaxClientCnxns > 0 && s.perIP[ip] >= s.cfg.MaxClientCnxns {
		c.log.Warn().Int("maxClientCnxns", s.cfg.MaxClientCnxns).Msg("too many connections from this address, refused")
		s.stats.rejected.Add(1)
		nc.Close()
		return nil
	}
	s.perIP[ip]++
	s.conns[c] = struct{}{}
	return c
}

func (c *conn) authIDs() []jute.ID { return *c.auth.Load() }

// close closes the connection once; the reason is logged.
func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		// Connections without a session (four letter words, failed handshakes) are at trace
		// level: monitoring polls would otherwise flood a debug log.
		lvl := c.log.Debug()
		if c.session.Load() == 0 {
			lvl = c.log.Trace()
		}
		lvl.Str("reason", reason).Str("session", hex(c.session.Load())).Msg("closing connection")
		close(c.closed)
		c.nc.Close()
	})
}

// cleanup runs when the reader exits: forget the connection and its watches.
func (c *conn) cleanup() {
	c.close("connection finished")
	c.s.treeMu.RLock()
	c.s.tree.Watches.RemoveWatcher(c)
	c.s.treeMu.RUnlock()
	if id := c.session.Load(); id != 0 {
		c.s.sessions.release(id, c)
	}
	c.s.connsMu.Lock()
	delete(c.s.conns, c)
	if c.s.perIP[c.ip]--; c.s.perIP[c.ip] <= 0 {
		delete(c.s.perIP, c.ip)
	}
	c.s.connsMu.Unlock()
}

func (c *conn) serve() {
	defer c.cleanup()
	br := bufio.NewReaderSize(c.nc, 64*1024)
	// A client that connects and says nothing is dropped after the longest
	// session timeout, so idle sockets cannot pile up.
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.MaxSessionTimeout))
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if cmd, ok := jute.FourLetterWord(n); ok {
		c.fourLetterWord(cmd)
		return
	}
	frame, err := jute.ReadFramePayload(br, n, nil, jute.MaxBuffer)
	if err != nil {
		c.logBadInput("unreadable connect request", err)
		return
	}
	var req jute.ConnectRequest
	if err := jute.Decode(frame, &req); err != nil {
		c.logBadInput("malformed connect request", err)
		return
	}
	if !c.handshake(&req) {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	go c.writeLoop()
	c.readLoop(br)
}

func (c *conn) logBadInput(what string, err error) {
	c.s.stats.badInput.Add(1)
	c.log.Warn().Err(err).Msg(what + ", closing connection")
}

// handshake establishes or resumes the session (ZooKeeperServer
// .processConnectRequest) and writes the ConnectResponse.
func (c *conn) handshake(req *jute.ConnectRequest) bool {
	s := c.s
	if s.ens != nil && !s.ens.serving() {
		// ZooKeeper refuses clients while it has no quorum ("ZooKeeperServer
		// not running"): closing makes the client try another server.
		c.log.Info().Msg("refusing client: this server is not serving (no quorum or syncing)")
		return false
	}
	s.treeMu.RLock()
	last := s.tree.LastZxid()
	s.treeMu.RUnlock()
	if req.LastZxidSeen > last {
		// The client has seen a newer state than ours: it must try another
		// server, or it would go back in time. Closing without a response
		// makes the client move on.
		c.log.Info().Str("clientZxid", hex(req.LastZxidSeen)).Str("ourZxid", hex(last)).
			Msg("refusing session: client has seen a newer zxid, it must try another server")
		return false
	}
	timeout := int64(req.TimeOut)
	timeout = max(timeout, s.cfg.MinSessionTimeout.Milliseconds())
	timeout = min(timeout, s.cfg.MaxSessionTimeout.Milliseconds())
	now := time.Now().UnixMilli()
	resp := jute.ConnectResponse{HasReadOnly: req.HasReadOnly}
	var id int64
	if req.SessionID == 0 {
		id = s.sessions.create(timeout, now)
		r := &request{session: id, op: jute.OpCreateSession, done: make(chan struct{}),
			body: &jute.CreateSessionTxn{TimeOut: int32(timeout)}}
		if !s.submit(r) {
			return false
		}
		select {
		case <-r.done:
		case <-c.closed:
			return false
		case <-s.stopping:
			return false
		}
		c.log.Info().Str("session", hex(id)).Int64("timeout", timeout).Msg("session established")
	} else {
		id = req.SessionID
		if !bytes.Equal(req.Passwd, sessionPassword(id)) || !s.sessions.revalidate(id, timeout, now) {
			// An expired or unknown session: timeOut 0 tells the client.
			c.log.Info().Str("session", hex(id)).Msg("invalid or expired session on reconnect")
			resp.Passwd = make([]byte, 16)
			c.nc.Write(jute.AppendFrame(nil, &resp))
			return false
		}
		c.log.Info().Str("session", hex(id)).Int64("timeout", timeout).Msg("session resumed")
	}
	c.session.Store(id)
	if req.SessionID != 0 {
		// A learner reports a resumed session to the leader at its next
		// touch round, as ZooKeeper's follower revalidates a moved session
		// with the leader: an idle client pings only every third of its
		// timeout, and its last ping may have been lost with the member it
		// left. Set after the session id, which the touch round reads.
		c.touched.Store(true)
	}
	c.timeoutMs.Store(timeout)
	if old := s.sessions.setOwner(id, c); old != nil && old != c {
		old.close("session moved to a new connection")
	}
	resp.TimeOut = int32(timeout)
	resp.SessionID = id
	resp.Passwd = sessionPassword(id)
	if _, err := c.nc.Write(jute.AppendFrame(nil, &resp)); err != nil {
		return false
	}
	return true
}

// readLoop decodes requests until the connection ends or sends bad input.
func (c *conn) readLoop(br *bufio.Reader) {
	var buf []byte
	for {
		frame, err := jute.ReadFrame(br, buf, jute.MaxBuffer)
		if err != nil {
			var fe *jute.FrameError
			switch {
			case errors.As(err, &fe):
				c.logBadInput("frame too large or negative", err)
			case errors.Is(err, io.ErrUnexpectedEOF):
				c.logBadInput("truncated frame", err)
			}
			return
		}
		c.stats.received.Add(1)
		c.s.stats.received.Add(1)
		if !c.s.sessions.touch(c.session.Load(), time.Now().UnixMilli()) {
			return // session expired or closing: the client learns on reconnect
		}
		c.touched.Store(true)
		buf = frame[:0]
		// Reads decode into values that own their memory (strings), so the
		// frame buffer is reused; a write keeps its data, so it gets a copy.
		if len(frame) >= 8 && jute.OpCode(binary.BigEndian.Uint32(frame[4:])).IsWrite() {
			frame = bytes.Clone(frame)
		}
		req, err := c.decodeRequest(frame)
		if err != nil {
			c.logBadInput("malformed request", err)
			return
		}
		if !req.isWrite() && !req.closeAfter && c.inflight.Load() == 0 {
			if !c.readInline(req) {
				return
			}
			continue
		}
		c.inflight.Add(1)
		select {
		case c.entries <- req:
		case <-c.closed:
			return
		}
		if req.isWrite() {
			if req.op == jute.OpCloseSession {
				c.s.sessions.setClosing(req.session)
			}
			if !c.s.submit(req) {
				return
			}
		}
		if req.closeAfter || req.op == jute.OpCloseSession {
			// Nothing after a refused op or closeSession is read, as the Java
			// server stops reading once it has decided to close.
			<-c.closed
			return
		}
	}
}

// decodeRequest decodes one request frame. An error means the frame is not
// a request at all; requests that are well formed but refused get an error
// reply instead.
func (c *conn) decodeRequest(frame []byte) (*request, error) {
	r := jute.NewReader(frame)
	var h jute.RequestHeader
	h.Decode(r)
	if err := r.Err(); err != nil {
		return nil, err
	}
	req := &request{conn: c, session: c.session.Load(), xid: h.Xid, op: h.Type, auth: c.authIDs(), recv: time.Now()}
	c.stats.lastCxid.Store(int64(h.Xid))
	body := newRequestBody(h.Type)
	if body == nil {
		// Unknown op codes, a bare check outside a multi, and ops zkd does
		// not serve are refused with UNIMPLEMENTED and the connection is
		// closed (UnimplementedRequestProcessor).
		c.log.Warn().Int32("op", int32(h.Type)).Str("name", h.Type.String()).Msg("unimplemented request, closing connection")
		req.err, req.closeAfter = jute.ErrUnimplemented, true
		return req, nil
	}
	if _, isPing := body.(noBody); !isPing {
		body.Decode(r)
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("%s body: %w", h.Type, err)
		}
	}
	req.body = body
	switch h.Type {
	case jute.OpAuth:
		req.err = c.authenticate(body.(*jute.AuthPacket))
		req.closeAfter = req.err != jute.ErrOK
	case jute.OpMulti:
		ops := body.(*jute.MultiRequest).Ops
		for i, op := range ops {
			switch op.Type {
			case jute.OpGetData, jute.OpGetChildren:
				return nil, fmt.Errorf("multi mixes read op %s with writes", op.Type)
			case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
				// MultiOperationRecord rebuilds each create with Op.create,
				// whose type follows the flags: create2 answers as create,
				// a container mode becomes createContainer.
				ops[i].Type = jute.OpCreate
				if op.Req.(*jute.CreateRequest).Flags == jute.ModeContainer {
					ops[i].Type = jute.OpCreateContainer
				}
			}
		}
	case jute.OpMultiRead:
		for _, op := range body.(*jute.MultiRequest).Ops {
			if op.Type != jute.OpGetData && op.Type != jute.OpGetChildren {
				return nil, fmt.Errorf("multiRead holds write op %s", op.Type)
			}
		}
	}
	if h.Type.IsWrite() || (h.Type == jute.OpSync && c.s.ens != nil) {
		// In an ensemble, sync waits for the leader like a write does.
		req.done = make(chan struct{})
	}
	return req, nil
}

// noBody is the body of requests that carry none (ping, closeSession, whoAmI).
type noBody struct{}

func (noBody) Encode(*jute.Writer) {}
func (noBody) Decode(*jute.Reader) {}

func newRequestBody(op jute.OpCode) jute.Record {
	switch op {
	case jute.OpPing, jute.OpCloseSession, jute.OpWhoAmI:
		return noBody{}
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		return &jute.CreateRequest{}
	case jute.OpCreateTTL:
		return &jute.CreateTTLRequest{}
	case jute.OpDelete:
		return &jute.DeleteRequest{}
	case jute.OpExists:
		return &jute.ExistsRequest{}
	case jute.OpGetData:
		return &jute.GetDataRequest{}
	case jute.OpSetData:
		return &jute.SetDataRequest{}
	case jute.OpGetACL:
		return &jute.GetACLRequest{}
	case jute.OpSetACL:
		return &jute.SetACLRequest{}
	case jute.OpGetChildren:
		return &jute.GetChildrenRequest{}
	case jute.OpGetChildren2:
		return &jute.GetChildren2Request{}
	case jute.OpSync:
		return &jute.SyncRequest{}
	case jute.OpMulti, jute.OpMultiRead:
		return &jute.MultiRequest{}
	case jute.OpReconfig:
		return &jute.ReconfigRequest{}
	case jute.OpCheckWatches:
		return &jute.CheckWatchesRequest{}
	case jute.OpRemoveWatches:
		return &jute.RemoveWatchesRequest{}
	case jute.OpAddWatch:
		return &jute.AddWatchRequest{}
	case jute.OpSetWatches:
		return &jute.SetWatches{}
	case jute.OpSetWatches2:
		return &jute.SetWatches2{}
	case jute.OpGetEphemerals:
		return &jute.GetEphemeralsRequest{}
	case jute.OpGetAllChildrenNumber:
		return &jute.GetAllChildrenNumberRequest{}
	case jute.OpAuth:
		return &jute.AuthPacket{}
	}
	return nil
}

// writeLoop sends replies in request order and watch events between them.
// Every socket write happens under wmu, and events are drained under it too,
// so the reader's inline path (readInline) can never overtake the writer.
func (c *conn) writeLoop() {
	out := make([]byte, 0, 64*1024)
	defer c.close("writer finished")
	var next *request // taken from the queue, not yet answered
	for {
		if next == nil {
			select {
			case next = <-c.entries:
			case <-c.evSig:
				if c.inflight.Load() > 0 {
					// A reply is queued: events of later txns must not
					// overtake it. It takes the events due before it; the
					// signal stays set for the rest.
					c.signalEvents()
					select {
					case next = <-c.entries:
					case <-c.closed:
						return
					}
					break
				}
				c.wmu.Lock()
				out = c.drainEvents(out[:0], 1<<63-1)
				ok := c.send(out)
				c.wmu.Unlock()
				if !ok {
					return
				}
				continue
			case <-c.closed:
				return
			}
		}
		// A write is answered once it is applied. Events queued meanwhile
		// wait with it; they are flushed, in zxid order, with its reply.
		if next.isWrite() {
			select {
			case <-next.done:
			case <-c.closed:
				return
			}
		}
		c.wmu.Lock()
		out = out[:0]
		answered, closeAfter := 0, false
		for next != nil && !closeAfter && len(out) < 64*1024 {
			out, closeAfter = c.complete(next, out)
			answered++
			next = nil
			// Batch whatever else is ready: one syscall for many replies.
			select {
			case next = <-c.entries:
			default:
			}
			if next != nil && next.isWrite() && !isClosed(next.done) {
				break // answer what we have; wait for next outside the lock
			}
		}
		ok := c.send(out)
		c.wmu.Unlock()
		c.inflight.Add(-int32(answered))
		if !ok || closeAfter {
			return
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// send writes out to the socket; callers hold wmu.
func (c *conn) send(out []byte) bool {
	if len(out) == 0 {
		return true
	}
	if _, err := c.nc.Write(out); err != nil {
		c.log.Debug().Err(err).Msg("write to client failed")
		return false
	}
	return true
}

// complete appends the reply to r: a write's once it is applied, a read's
// by running it now.
func (c *conn) complete(r *request, out []byte) ([]byte, bool) {
	if r.isWrite() && r.op != jute.OpSync {
		// Events of this txn and earlier ones go first; later ones wait.
		out = c.drainEvents(out, r.zxid)
		out = c.appendWriteReply(r, out)
	} else {
		out = c.execRead(r, out)
	}
	c.replied(r)
	return out, r.closeAfter || r.op == jute.OpCloseSession
}

// readInline answers a read in the reader goroutine when nothing is queued
// ahead of it, saving the hand-over to the writer: with one outstanding
// request per client (the common case) that is a goroutine wake-up less per
// request. wmu keeps it ordered with the writer's events and replies.
func (c *conn) readInline(r *request) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.inlineOut = c.execRead(r, c.inlineOut[:0])
	c.replied(r)
	return c.send(c.inlineOut)
}

func (c *conn) replied(r *request) {
	c.stats.sent.Add(1)
	c.s.stats.sent.Add(1)
	if r.op != jute.OpPing {
		lat := time.Since(r.recv).Milliseconds()
		c.stats.latency.record(lat)
		c.s.stats.latency.record(lat)
		c.stats.lastLatency.Store(lat)
		c.stats.lastOp.Store(int32(r.op))
	}
	c.stats.lastResponse.Store(time.Now().UnixMilli())
}

// Notify implements znode.Watcher. It runs under the tree lock.
func (c *conn) Notify(ev jute.WatcherEvent, zxid int64) {
	frame := jute.AppendFrame(nil, &jute.ReplyHeader{Xid: jute.XidNotification, Zxid: zxid}, &ev)
	c.evMu.Lock()
	c.events = append(c.events, event{zxid: zxid, frame: frame})
	c.evMu.Unlock()
	c.signalEvents()
}

// signalEvents wakes the writer; a signal already pending covers this one.
func (c *conn) signalEvents() {
	select {
	case c.evSig <- struct{}{}:
	default:
	}
}

// CanRead implements znode.Watcher.
func (c *conn) CanRead(acl []jute.ACL) bool {
	return znode.CheckACL(acl, jute.PermRead, c.authIDs())
}

// drainEvents appends queued events with zxid <= upTo (catch-up events,
// zxid -1, always go).
func (c *conn) drainEvents(out []byte, upTo int64) []byte {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.zxid > upTo {
			break
		}
		out = append(out, e.frame...)
		n++
	}
	if n > 0 {
		c.stats.sent.Add(int64(n))
		c.s.stats.sent.Add(int64(n))
		c.events = append(c.events[:0], c.events[n:]...)
	}
	return out
}

func hex(v int64) string { return fmt.Sprintf("0x%x", uint64(v)) }
