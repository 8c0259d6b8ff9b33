package zkclient

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/zabkafka/zabkafka/jute"
)

// Config says where and how to connect.
type Config struct {
	// Servers are host:port addresses, tried in a shuffled round robin
	// (StaticHostProvider).
	Servers []string
	// SessionTimeout is the timeout asked for; the server clamps it to its
	// bounds and the negotiated value drives pings and read deadlines.
	SessionTimeout time.Duration
	// CanBeReadOnly lets a server without a quorum accept the session.
	CanBeReadOnly bool
	// OnEvent receives every watch notification and state change in order,
	// from one goroutine. It must not call back into the Conn synchronously
	// and wait for a reply (the events after it would wait too).
	OnEvent func(Event)
	// Logf, when set, receives diagnostics (connection attempts and
	// failures) that a shell may show or drop.
	Logf func(format string, args ...any)
}

// Conn is a session. Its methods are safe for concurrent use; requests are
// answered in the order they were issued, as the protocol guarantees.
type Conn struct {
	cfg    Config
	submit chan *request
	stop   chan struct{} // closed by Close: no more connection attempts
	done   chan struct{} // closed when the connection loop has exited
	first  chan struct{} // closed when the first connection attempt has ended
	events *eventQueue

	closeOnce sync.Once

	mu         sync.Mutex
	state      State
	server     string // the server of the current or last connection
	sessionID  int64
	passwd     []byte
	negotiated time.Duration
	lastZxid   int64
	watches    watchBook
	auths      []jute.AuthPacket
	closing    bool       // Close has begun: a lost connection is not retried
	pending    []*request // sent, awaiting their replies, in xid order
	xid        int32
}

// Connect starts connecting and returns at once, like new ZooKeeper(...):
// requests issued before the session exists wait for the first connection
// attempt. The first SyncConnected event tells when it is established.
func Connect(cfg Config) (*Conn, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("zkclient: no servers")
	}
	for _, s := range cfg.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, err
		}
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Second
	}
	servers := append([]string(nil), cfg.Servers...)
	rand.Shuffle(len(servers), func(i, j int) { servers[i], servers[j] = servers[j], servers[i] })
	cfg.Servers = servers
	c := &Conn{
		cfg:    cfg,
		submit: make(chan *request),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		first:  make(chan struct{}),
		events: newEventQueue(cfg.OnEvent),
		passwd: make([]byte, 16),
		server: servers[0],
	}
	go c.run()
	return c, nil
}

// FirstAttempt is closed once the first connection attempt has either
// established the session (its SyncConnected event is queued by then) or
// failed, so a one-shot tool can wait for the server's answer before it
// prints anything.
func (c *Conn) FirstAttempt() <-chan struct{} { return c.first }

// State returns the connection state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID returns the session id, 0 before the first connection.
func (c *Conn) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionTimeout returns the timeout the server granted, 0 before the
// first connection.
func (c *Conn) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.negotiated
}

// Server returns the address of the current (or last tried) server.
func (c *Conn) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// LastZxid returns the highest zxid seen in a reply.
func (c *Conn) LastZxid() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastZxid
}

// closeTimeout bounds the wait for the closeSession reply.
const closeTimeout = 3 * time.Second

// Close ends the session (closeSession) if it is connected, then the
// connection. Ephemeral nodes go at once instead of at session expiry.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		live := c.state == StateConnected || c.state == StateConnectedReadOnly
		c.mu.Unlock()
		if live {
			r := &request{op: jute.OpCloseSession, done: make(chan error, 1)}
			timer := time.NewTimer(closeTimeout)
			select {
			case c.submit <- r:
				select {
				case <-r.done:
				case <-timer.C:
				}
			case <-timer.C:
			}
			timer.Stop()
		}
		close(c.stop)
		<-c.done
		c.setState(StateClosed)
		c.events.push(Event{Type: jute.EventNone, State: jute.StateClosed, Zxid: -1})
		c.events.close()
	})
}

func (c *Conn) setState(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

// stopped reports whether Close has begun.
func (c *Conn) stopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// run is the connection loop: connect, serve until the connection fails,
// tell the watcher, try the next server. It ends when Close is called, the
// session expires or authentication fails.
func (c *Conn) run() {
	defer close(c.done)
	var firstOnce sync.Once
	endFirst := func() { firstOnce.Do(func() { close(c.first) }) }
	defer endFirst()
	for i := 0; !c.stopped(); i++ {
		server := c.cfg.Servers[i%len(c.cfg.Servers)]
		c.mu.Lock()
		c.server = server
		c.mu.Unlock()
		end := c.attempt(server, endFirst)
		if end {
			return
		}
		// As ClientCnxn does between attempts: a random pause so that many
		// clients of a failed server do not all reconnect at once.
		select {
		case <-c.stop:
			return
		case <-time.After(rand.N(time.Second)):
		}
	}
}

// attempt makes one connection and serves it. end reports that the
// session is over (expired or refused) and no reconnection makes sense.
// ended is called once the attempt has connected or failed.
func (c *Conn) attempt(server string, ended func()) (end bool) {
	nc, err := net.DialTimeout("tcp", server, c.connectTimeout())
	if err != nil {
		c.logf("connect to %s: %v", server, err)
		c.failQueued(jute.ErrConnectionLoss)
		ended()
		return false
	}
	resp, err := c.handshake(nc)
	if err != nil {
		nc.Close()
		c.logf("session handshake with %s: %v", server, err)
		c.failQueued(jute.ErrConnectionLoss)
		ended()
		return false
	}
	if resp.TimeOut <= 0 {
		// The server no longer knows the session (ClientCnxn.onConnected).
		nc.Close()
		c.setState(StateClosed)
		c.events.push(Event{Type: jute.EventNone, State: jute.StateExpired, Zxid: -1})
		c.failQueued(jute.ErrSessionExpired)
		ended()
		return true
	}
	c.mu.Lock()
	c.sessionID, c.passwd = resp.SessionID, append([]byte(nil), resp.Passwd...)
	c.negotiated = time.Duration(resp.TimeOut) * time.Millisecond
	state, keeper := StateConnected, jute.StateSyncConnected
	if resp.ReadOnly {
		state, keeper = StateConnectedReadOnly, jute.StateConnectedReadOnly
	}
	c.state = state
	c.mu.Unlock()
	c.events.push(Event{Type: jute.EventNone, State: keeper, Zxid: -1})
	ended()

	authFailed := c.serve(nc)
	if authFailed {
		c.setState(StateAuthFailed)
		c.events.push(Event{Type: jute.EventNone, State: jute.StateAuthFailed, Zxid: -1})
		c.failQueued(jute.ErrAuthFailed)
		return true
	}
	if c.stopped() {
		return true
	}
	c.setState(StateConnecting)
	c.events.push(Event{Type: jute.EventNone, State: jute.StateDisconnected, Zxid: -1})
	c.failQueued(jute.ErrConnectionLoss)
	return false
}

// connectTimeout is the Java client's: the session timeout shared among
// the servers.
func (c *Conn) connectTimeout() time.Duration {
	return c.cfg.SessionTimeout / time.Duration(len(c.cfg.Servers))
}

// handshake sends the ConnectRequest, resuming the session if there is
// one, and reads the ConnectResponse.
func (c *Conn) handshake(nc net.Conn) (jute.ConnectResponse, error) {
	c.mu.Lock()
	req := &jute.ConnectRequest{
		LastZxidSeen: c.lastZxid,
		TimeOut:      int32(c.cfg.SessionTimeout.Milliseconds()),
		SessionID:    c.sessionID,
		Passwd:       c.passwd,
		ReadOnly:     c.cfg.CanBeReadOnly,
		HasReadOnly:  true,
	}
	c.mu.Unlock()
	var resp jute.ConnectResponse
	nc.SetDeadline(time.Now().Add(c.connectTimeout()))
	if _, err := nc.Write(jute.AppendFrame(nil, req)); err != nil {
		return resp, err
	}
	frame, err := jute.ReadFrame(nc, nil, jute.MaxBuffer)
	if err != nil {
		return resp, err
	}
	err = jute.Decode(frame, &resp)
	nc.SetDeadline(time.Time{})
	return resp, err
}

// failQueued fails every request waiting to be sent.
func (c *Conn) failQueued(code jute.ErrCode) {
	for {
		select {
		case r := <-c.submit:
			r.finish(&Error{Code: code, Path: r.path})
		default:
			return
		}
	}
}

func (c *Conn) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
}
