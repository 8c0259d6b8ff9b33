package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// errDialBack is the outcome of a dial to a higher id: the peer closed the
// connection and will dial us. It is not a failure.
var errDialBack = errors.New("peer dials back")

// errRefused wraps a verdict other than OK or dial back.
var errRefused = errors.New("handshake refused")

// start launches the goroutine that keeps the link connected, once. It is
// called on the first Send to the peer, or when the peer asks us to dial.
func (l *link) start() {
	if l.started.Load() || !l.started.CompareAndSwap(false, true) {
		return
	}
	if !l.t.spawn(l.run) {
		l.started.Store(false)
	}
}

// run keeps the link connected until Close. The higher id of the pair
// dials and keeps the connection; the lower id only pokes (dials, is told
// to wait, and waits for the connection to come in), as QuorumCnxManager
// does when a smaller sid connects to a bigger one.
func (l *link) run() {
	t := l.t
	b := backoff{min: t.cfg.BackoffMin, max: t.cfg.BackoffMax}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	failures, pokes := 0, 0
	for {
		if c := l.current(); c != nil {
			b.reset()
			failures, pokes = 0, 0
			select {
			case <-c.done:
			case <-t.ctx.Done():
				return
			}
			continue
		}
		err := l.dialOnce()
		var wait time.Duration
		switch {
		case err == nil:
			continue // connected; the loop waits on it
		case errors.Is(err, errDialBack):
			// Wait for the peer's dial; poke again if it does not come.
			wait = t.jitter(b.next())
			if pokes++; pokes == 8 {
				// It answers our dials but its dials do not reach us:
				// probably our address in its config, or a firewall.
				t.log.Warn().Uint64("peer", l.peer).Str("port", l.port.String()).Str("addr", l.addr).
					Int("pokes", pokes).Msg("peer does not dial back")
			}
		default:
			if t.ctx.Err() != nil {
				return
			}
			failures++
			l.stats.dialFailures.Add(1)
			wait = t.jitter(b.next())
			// The first failure in a row is news; the rest are the same
			// outage and would flood the log at one line per backoff.
			lvl := t.log.Debug()
			if failures == 1 {
				lvl = t.log.Warn()
			}
			lvl.Uint64("peer", l.peer).Str("port", l.port.String()).Str("addr", l.addr).
				Int("failures", failures).Dur("retry", wait).Err(err).Msg("dial failed")
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-l.kick:
			// Since Go 1.23 Stop leaves nothing to drain in timer.C.
			timer.Stop()
		case <-t.ctx.Done():
			return
		}
	}
}

// dialOnce dials the peer and runs the dialer's half of the handshake. On
// success the connection is installed and running.
func (l *link) dialOnce() error {
	t := l.t
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	nc, err := d.DialContext(t.ctx, "tcp", l.addr)
	if err != nil {
		return err
	}
	if !t.track(nc) {
		return net.ErrClosed
	}
	c := newConn(l, nc)
	fail := func(err error) error {
		nc.Close()
		t.untrack(nc)
		return err
	}
	nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	hello := header{port: l.port, status: statusHello, from: t.id, to: l.peer, maxFrame: uint32(l.limit), members: t.members}
	if _, err := nc.Write(hello.marshal(make([]byte, 0, headerLen))); err != nil {
		return fail(fmt.Errorf("writing handshake: %w", err))
	}
	var hb [headerLen]byte
	if _, err := io.ReadFull(nc, hb[:]); err != nil {
		return fail(fmt.Errorf("reading handshake reply: %w", err))
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return fail(err)
	}
	if h.from != l.peer || h.to != t.id || h.port != l.port {
		return fail(fmt.Errorf("%w: reply from server %d to %d on the %s port, expected %d to %d on the %s port",
			errRefused, h.from, h.to, h.port, l.peer, t.id, l.port))
	}
	switch h.status {
	case statusOK, statusDialBack:
	default:
		e := t.log.Warn()
		if h.status == statusMembers {
			e = t.log.Error().Str("ours", shortHash(t.members)).Str("theirs", shortHash(h.members))
		}
		e.Uint64("peer", l.peer).Str("port", l.port.String()).Str("remote", c.remote).
			Str("reason", h.status.reason()).Msg("handshake refused")
		return fail(fmt.Errorf("%w: %s", errRefused, h.status.reason()))
	}
	if h.members != t.members {
		// The acceptor judged our hash equal to its own, yet answers with
		// another: not a peer that follows this protocol.
		return fail(fmt.Errorf("%w: reply carries member hash %s, ours is %s", errRefused, shortHash(h.members), shortHash(t.members)))
	}
	if h.status == statusDialBack {
		fail(nil)
		return errDialBack
	}
	if l.peer > t.id {
		// Only a lower id is ever told OK by us-as-acceptor; a higher id
		// that says OK to our dial breaks the tie-break rule.
		return fail(fmt.Errorf("%w: server %d accepted a connection from lower id %d", errRefused, l.peer, t.id))
	}
	nc.SetDeadline(time.Time{})
	c.sendLimit = min(l.limit, int(h.maxFrame))
	old, _ := l.install(c, false)
	if old != nil {
		old.close("replaced by a new connection", nil)
	}
	c.run()
	return nil
}

// backoff doubles from min to max; jitter is applied by the caller.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }
