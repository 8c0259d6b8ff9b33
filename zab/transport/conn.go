package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/zab"
)

const (
	readBufSize  = 64 << 10
	writeBufSize = 64 << 10
	// keepBuf is the largest frame buffer a reader or writer keeps between
	// frames; a SNAP-sized buffer is dropped after use.
	keepBuf = 1 << 20
	// writeChunk is how much of a big frame is written per deadline.
	writeChunk = 1 << 20
)

// conn is one established, authenticated connection of a link. Its two
// goroutines only frame, encode or decode, and enqueue (STYLE.md 2).
type conn struct {
	l      *link
	nc     net.Conn
	remote string
	done   chan struct{} // closed by close
	// sendLimit is the smaller of this port's frame limit and the one the
	// peer announced in the handshake.
	sendLimit int
	once      sync.Once
	probe     chan struct{} // cap 1: write a keepalive frame now
}

func newConn(l *link, nc net.Conn) *conn {
	return &conn{l: l, nc: nc, remote: nc.RemoteAddr().String(), done: make(chan struct{}), probe: make(chan struct{}, 1)}
}

func (c *conn) logCtx(e *zerolog.Event) *zerolog.Event {
	return e.Uint64("peer", c.l.peer).Str("port", c.l.port.String()).Str("remote", c.remote)
}

// run starts the reader and the writer.
func (c *conn) run() {
	c.l.t.log.Info().Uint64("peer", c.l.peer).Str("port", c.l.port.String()).Str("remote", c.remote).
		Msg("peer connected")
	if !c.l.t.spawn(c.readLoop) || !c.l.t.spawn(c.writeLoop) {
		c.close("transport closed", nil)
	}
}

// close ends the connection once; later calls do nothing. Whoever sees the
// failure first names the reason.
func (c *conn) close(reason string, err error) {
	c.once.Do(func() {
		close(c.done)
		c.nc.Close()
		c.l.t.untrack(c.nc)
		if c.l.uninstall(c) && c.l.port == quorumPort {
			c.l.t.peerLost(c.l.peer)
		}
		c.l.stats.disconnects.Add(1)
		c.l.wake()
		lvl := zerolog.InfoLevel
		if c.l.t.isClosed() {
			lvl = zerolog.DebugLevel
		}
		e := c.logCtx(c.l.t.log.WithLevel(lvl)).Str("reason", reason)
		if err != nil {
			e = e.Err(err)
		}
		e.Msg("peer disconnected")
	})
}

func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// probeNow asks the writer to send a keepalive: on a half-open socket the
// peer's kernel answers with a reset and the reader sees the error.
func (c *conn) probeNow() {
	select {
	case c.probe <- struct{}{}:
	default:
	}
}

// readLoop reads frames, decodes and checks them, and hands them to
// Receive. Anything wrong closes this connection only.
func (c *conn) readLoop() {
	select {
	case c.l.readerSem <- struct{}{}:
	case <-c.done:
		return
	}
	defer func() { <-c.l.readerSem }()
	t := c.l.t
	br := bufio.NewReaderSize(c.nc, readBufSize)
	var buf []byte
	for {
		p, err := readFrame(br, c.l.limit, buf)
		if err != nil {
			c.readFailed(err)
			return
		}
		if cap(p) <= keepBuf {
			buf = p[:0]
		} else {
			buf = nil
		}
		if len(p) == 0 {
			continue // keepalive
		}
		m, err := zab.Unmarshal(p)
		if err != nil {
			c.badFrame("undecodable", err, nil)
			return
		}
		if m.From != c.l.peer {
			c.badFrame("from mismatch", nil, &m)
			return
		}
		if m.To != t.id {
			c.badFrame("to mismatch", nil, &m)
			return
		}
		if (m.Type == zab.Notification) != (c.l.port == electionPort) {
			c.badFrame("message type not carried on this port", nil, &m)
			return
		}
		c.l.stats.msgsRecv.Add(1)
		c.l.stats.lastRecv.Store(time.Now().UnixNano())
		c.l.stats.bytesRecv.Add(uint64(len(p) + frameHeaderLen))
		select {
		case t.recv <- m:
		case <-c.done:
			return
		case <-t.ctx.Done():
			// Close does not wait for the shell to drain Receive.
			c.close("transport closed", nil)
			return
		}
	}
}

func (c *conn) readFailed(err error) {
	switch {
	case c.closed() || errors.Is(err, net.ErrClosed):
		c.close("closed", nil)
	case errors.Is(err, io.EOF):
		c.close("end of stream", nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.badFrame("truncated frame", err, nil)
	case errors.Is(err, ErrFrameTooLarge):
		c.badFrame("frame too large", err, nil)
	default:
		c.close("read error", err)
	}
}

// badFrame logs a frame the peer should never have sent and closes the
// connection: after a framing error the stream cannot be trusted.
func (c *conn) badFrame(reason string, err error, m *zab.Message) {
	t := c.l.t
	t.rejectedFrames.Add(1)
	e := c.logCtx(t.log.Warn()).Str("reason", reason)
	if err != nil {
		e = e.Err(err)
	}
	if m != nil {
		e = e.Uint64("from", m.From).Uint64("to", m.To).Str("type", m.Type.String()).
			Uint32("epoch", m.Epoch).Str("zxid", zab.FormatZxid(m.Zxid))
	}
	e.Msg("bad frame")
	c.close(reason, err)
}

// writeLoop drains the link's queue into one buffered writer and flushes
// when the queue is empty, so a burst of proposals leaves in few writes
// (DESIGN.md 5: batching in the transport).
func (c *conn) writeLoop() {
	select {
	case c.l.writerSem <- struct{}{}:
	case <-c.done:
		return
	}
	defer func() { <-c.l.writerSem }()
	w := &frameWriter{c: c, bw: bufio.NewWriterSize(c.nc, writeBufSize)}
	for {
		select {
		case <-c.done:
			return
		case <-c.l.t.ctx.Done():
			c.close("transport closed", nil)
			return
		case <-c.probe:
			w.keepalive()
		case m := <-c.l.queue:
			w.write(m)
		}
	drain:
		for w.err == nil {
			select {
			case m := <-c.l.queue:
				w.write(m)
			case <-c.probe:
				w.keepalive()
			default:
				break drain
			}
		}
		w.flush()
		if w.err != nil {
			if c.closed() || errors.Is(w.err, net.ErrClosed) {
				c.close("closed", nil)
			} else {
				c.close("write error", w.err)
			}
			return
		}
	}
}

// frameWriter is the writer goroutine's state: a sticky error, so one check
// after the batch covers every write in it.
type frameWriter struct {
	c       *conn
	bw      *bufio.Writer
	scratch []byte
	pending int // messages and bytes written since the last flush
	bytes   int
	err     error
}

func (w *frameWriter) write(m zab.Message) {
	if w.err != nil {
		return
	}
	l := w.c.l
	w.scratch = appendFrame(w.scratch[:0], m)
	if len(w.scratch)-frameHeaderLen > w.c.sendLimit {
		// The peer would reject it and cut the connection; losing one
		// message is cheaper, and the core recovers from the gap.
		l.stats.drops.Add(1)
		w.c.logCtx(l.t.log.Error()).Str("type", m.Type.String()).Str("zxid", zab.FormatZxid(m.Zxid)).
			Int("bytes", len(w.scratch)-frameHeaderLen).Int("limit", w.c.sendLimit).Msg("message over the frame limit dropped")
	} else {
		// Writes that reach the socket get a deadline. A big frame (a
		// SNAP) goes in chunks, each with a fresh deadline, so
		// WriteTimeout bounds a stall, not the time a snapshot takes.
		for b := w.scratch; len(b) > 0 && w.err == nil; {
			n := len(b)
			if n > w.bw.Available() {
				w.deadline()
				n = min(n, writeChunk)
			}
			_, w.err = w.bw.Write(b[:n])
			b = b[n:]
		}
		w.pending++
		w.bytes += len(w.scratch)
	}
	if cap(w.scratch) > keepBuf {
		w.scratch = nil
	}
}

func (w *frameWriter) keepalive() {
	if w.err != nil {
		return
	}
	if w.bw.Available() < frameHeaderLen {
		w.deadline()
	}
	_, w.err = w.bw.Write([]byte{0, 0, 0, 0})
}

func (w *frameWriter) flush() {
	if w.err == nil {
		w.deadline()
		w.err = w.bw.Flush()
	}
	if w.err == nil {
		w.c.l.stats.msgsSent.Add(uint64(w.pending))
		w.c.l.stats.lastSent.Store(time.Now().UnixNano())
		w.c.l.stats.bytesSent.Add(uint64(w.bytes))
	}
	w.pending, w.bytes = 0, 0
}

// deadline bounds each write that reaches the socket: a peer that stops
// reading is cut off after WriteTimeout instead of holding the writer (and
// its queue) forever.
func (w *frameWriter) deadline() {
	w.c.nc.SetWriteDeadline(time.Now().Add(w.c.l.t.cfg.WriteTimeout))
}
