package transport

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/zabkafka/zabkafka/zab"
)

// link is everything about one peer on one port: the outbound queue, the
// current connection (dialed by whichever of the two has the higher id),
// the goroutine that keeps it up, and the counters.
type link struct {
	t     *Transport
	peer  uint64
	port  port
	addr  string
	limit int // frame limit on this port

	queue      chan zab.Message
	dropOldest bool

	started atomic.Bool
	kick    chan struct{} // cap 1: wakes run (a poke arrived, a connection was installed)

	// writerSem and readerSem (cap 1) let only one connection's writer
	// drain the queue and one connection's reader deliver at a time. When
	// a connection replaces another, the new one waits until the old one's
	// goroutines are gone; otherwise the old writer could still put a
	// message on the dying socket while the new writer sends a later one,
	// and the peer could see them out of order.
	writerSem chan struct{}
	readerSem chan struct{}

	mu  sync.Mutex
	cur *conn

	stats linkCounters
}

func newLink(t *Transport, peer uint64, p port, addr string) *link {
	l := &link{
		t: t, peer: peer, port: p, addr: addr,
		kick:      make(chan struct{}, 1),
		writerSem: make(chan struct{}, 1),
		readerSem: make(chan struct{}, 1),
	}
	if p == electionPort {
		l.limit = t.cfg.ElectionMaxFrameBytes
		l.queue = make(chan zab.Message, t.cfg.ElectionQueueLen)
		l.dropOldest = true
	} else {
		l.limit = t.cfg.MaxFrameBytes
		l.queue = make(chan zab.Message, t.cfg.QueueLen)
	}
	return l
}

// enqueue never blocks.
func (l *link) enqueue(m zab.Message) {
	select {
	case l.queue <- m:
		return
	default:
	}
	if l.dropOldest {
		select {
		case <-l.queue:
			l.dropped()
		default:
		}
		select {
		case l.queue <- m:
			return
		default:
		}
	}
	l.dropped()
}

// dropped counts a message lost to a full queue. It logs the first drop
// and then every power of two, so an outage is visible without one line
// per message.
func (l *link) dropped() {
	if n := l.stats.drops.Add(1); n&(n-1) == 0 {
		l.t.log.Warn().Uint64("peer", l.peer).Str("port", l.port.String()).
			Int("queue", cap(l.queue)).Uint64("drops", n).Msg("send queue full, dropping messages")
	}
}

func (l *link) current() *conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// wake nudges run without blocking.
func (l *link) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// install makes c the link's connection and returns the one it replaces
// (the caller closes it outside l.mu). dup is set instead when a live
// connection from another host already serves this peer: a second server
// claiming the same id, or a misconfiguration.
func (l *link) install(c *conn, checkHost bool) (old *conn, dup bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && l.cur.closed() {
		l.cur = nil // closing: its close will find it gone
	}
	if l.cur != nil && checkHost && !sameHost(l.cur.nc.RemoteAddr(), c.nc.RemoteAddr()) {
		return nil, true
	}
	old = l.cur
	l.cur = c
	if l.stats.connects.Add(1) > 1 {
		l.stats.reconnects.Add(1)
	}
	return old, false
}

// uninstall clears c if it is still the link's connection, and reports
// whether it was (false: it had been replaced, or never installed).
func (l *link) uninstall(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == c {
		l.cur = nil
		return true
	}
	return false
}

func sameHost(a, b net.Addr) bool {
	ta, ok1 := a.(*net.TCPAddr)
	tb, ok2 := b.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return a.String() == b.String()
	}
	return ta.IP.Equal(tb.IP)
}
