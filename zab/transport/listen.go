package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rs/zerolog"
)

// serve accepts connections on one port until the listener is closed.
func (t *Transport) serve(ln net.Listener, p port) {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http's Server does rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Error().Str("port", p.String()).Err(err).Dur("retry", delay).Msg("accept failed")
			select {
			case <-time.After(delay):
			case <-t.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		if !t.track(nc) {
			return
		}
		if !t.spawn(func() { t.accept(nc, p) }) {
			nc.Close()
			t.untrack(nc)
			return
		}
	}
}

// accept runs the acceptor's half of the handshake on a new connection
// and then either keeps it, sends the peer away to be dialed back, or
// rejects it with a log line. Nothing here affects other connections,
// except that a kept connection replaces a stale one from the same peer.
func (t *Transport) accept(nc net.Conn, p port) {
	remote := nc.RemoteAddr().String()
	nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	var hb [headerLen]byte
	if _, err := io.ReadFull(nc, hb[:]); err != nil {
		reason := "truncated handshake"
		var ne net.Error
		switch {
		case t.ctx.Err() != nil || errors.Is(err, net.ErrClosed):
			nc.Close()
			t.untrack(nc)
			return
		case errors.As(err, &ne) && ne.Timeout():
			reason = "handshake timeout"
		case errors.Is(err, io.EOF):
			reason = "closed before handshake"
		}
		t.reject(nc, p, reason, 0, err, nil)
		return
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		// Not our protocol (or not our version): no reply, since the
		// other side would not understand it.
		t.reject(nc, p, "bad handshake", 0, err, nil)
		return
	}
	if h.status != statusHello {
		t.reject(nc, p, "bad handshake", 0, fmt.Errorf("%w: status %q where a hello belongs", errBadHeader, h.status.reason()), nil)
		return
	}
	st := t.judge(h, p)
	var c, old *conn
	var l *link
	if st == statusOK {
		l = t.links[p][h.from]
		c = newConn(l, nc)
		c.sendLimit = min(l.limit, int(h.maxFrame))
		var dup bool
		if old, dup = l.install(c, true); dup {
			st = statusDuplicate
			// If the connection we hold is half-open (the peer moved to
			// another address), the probe's reset ends it and the peer's
			// next attempt succeeds.
			if cur := l.current(); cur != nil {
				cur.probeNow()
			}
		}
	}
	reply := header{port: p, status: st, from: t.id, to: h.from, maxFrame: uint32(t.limit(p)), members: t.members}
	_, werr := nc.Write(reply.marshal(make([]byte, 0, headerLen)))
	switch st {
	case statusOK:
		if old != nil {
			old.close("replaced by a new connection from the peer", nil)
		}
		if werr != nil {
			c.close("writing handshake reply", werr)
			return
		}
		nc.SetDeadline(time.Time{})
		c.run()
		l.wake() // our run loop may be waiting for this dial-back
	case statusDialBack:
		nc.Close()
		t.untrack(nc)
		l = t.links[p][h.from]
		t.log.Debug().Uint64("peer", h.from).Str("port", p.String()).Str("remote", remote).Msg("dialing back")
		l.start()
		l.onPoke()
	default:
		t.reject(nc, p, st.reason(), h.from, nil, func(e *zerolog.Event) *zerolog.Event {
			if st == statusMembers {
				e = e.Str("ours", shortHash(t.members)).Str("theirs", shortHash(h.members))
			}
			if st == statusWrongTarget {
				e = e.Uint64("to", h.to)
			}
			return e
		})
	}
}

// judge decides what to do with a well-formed hello.
func (t *Transport) judge(h header, p port) status {
	switch {
	case h.port != p:
		return statusWrongPort
	case h.to != t.id:
		return statusWrongTarget
	case h.from == t.id || t.links[p][h.from] == nil:
		return statusUnknownID
	case h.members != t.members:
		return statusMembers
	case h.from < t.id:
		// QuorumCnxManager.handleConnection: a connection from a smaller
		// sid is closed and the bigger side connects instead.
		return statusDialBack
	}
	return statusOK
}

// reject logs and closes a connection that failed the handshake.
func (t *Transport) reject(nc net.Conn, p port, reason string, claimed uint64, err error, more func(*zerolog.Event) *zerolog.Event) {
	t.rejectedConns.Add(1)
	e := t.log.Warn()
	if reason == statusMembers.reason() {
		e = t.log.Error()
	}
	e = e.Str("port", p.String()).Str("remote", nc.RemoteAddr().String()).Str("reason", reason)
	if claimed != 0 {
		e = e.Uint64("peer", claimed)
	}
	if err != nil {
		e = e.Err(err)
	}
	if more != nil {
		e = more(e)
	}
	e.Msg("handshake rejected")
	nc.Close()
	t.untrack(nc)
}

// onPoke handles a lower id that dialed us: it holds no connection from
// us. If we think we hold one, it is probably half-open (the peer
// restarted), so probe it rather than cut it: a live connection survives
// the probe, a dead one fails it and run dials again. If we hold none,
// wake run so it dials now instead of after its backoff.
func (l *link) onPoke() {
	if c := l.current(); c != nil {
		c.probeNow()
		return
	}
	l.wake()
}
