package broker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection: a reader goroutine that frames, decodes
// and handles requests in order, and a writer goroutine that sends the
// responses in the same order. A client may pipeline: the reader goes on
// with the next request while earlier responses are still being written or
// waited for (a long-polling fetch), and the writer keeps request order.
type conn struct {
	b        *Broker
	nc       net.Conn
	listener string

	out  chan pending  // responses in request order
	done chan struct{} // closed when the writer exits
}

// pending is one request's place in the response order.
type pending struct {
	corr  int32
	reply reply
}

// maxPipelined bounds the requests read ahead of the responses written; the
// reader stops reading when it is reached, which is the backpressure Kafka
// gets from muting the channel.
const maxPipelined = 64

// keepFrameBuffer is the largest read or write buffer a connection keeps
// between requests (a produce request or fetch response of a few MiB is
// common); larger frames get a buffer of their own.
const keepFrameBuffer = 4 << 20

func (b *Broker) serveConn(nc net.Conn, listener string) {
	c := &conn{b: b, nc: nc, listener: listener, out: make(chan pending, maxPipelined), done: make(chan struct{})}
	go c.writeLoop()
	c.readLoop()
	<-c.done
	nc.Close()
}

func (c *conn) logClose(err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	c.b.log.Info().Err(err).Str("remote", c.nc.RemoteAddr().String()).Str("listener", c.listener).Msg("closing connection")
}

func (c *conn) readLoop() {
	defer close(c.out)
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var buf []byte
	for {
		if c.b.cfg.ConnectionsMaxIdle > 0 {
			c.nc.SetReadDeadline(time.Now().Add(c.b.cfg.ConnectionsMaxIdle))
		}
		frame, err := readFrame(br, buf, c.b.cfg.SocketRequestMaxBytes)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("idle for connections.max.idle.ms (%v)", c.b.cfg.ConnectionsMaxIdle)
			}
			if !errors.Is(err, io.EOF) {
				select {
				case c.out <- pending{reply: reply{close: err}}:
				case <-c.done:
				}
			}
			return
		}
		if cap(frame) <= keepFrameBuffer {
			buf = frame
		} else {
			buf = nil
		}
		p, ok := c.handle(frame)
		select {
		case c.out <- p:
		case <-c.done:
			return
		}
		if !ok {
			return
		}
	}
}

// handle decodes and runs one request. ok is false when the connection must
// close after the responses before this one.
func (c *conn) handle(frame []byte) (p pending, ok bool) {
	hdr, req, err := parseRequest(frame)
	p = pending{corr: hdr.CorrelationID}
	defer func() {
		// A bug in a handler costs this connection, not the broker
		// (Kafka's request handler threads catch every exception).
		if r := recover(); r != nil {
			c.b.log.Error().Str("api", kmsg.NameForKey(hdr.Key)).Int16("version", hdr.Version).
				Interface("panic", r).Str("stack", string(debug.Stack())).Msg("request handler failed")
			p, ok = pending{corr: hdr.CorrelationID, reply: reply{close: fmt.Errorf("internal error handling %s", kmsg.NameForKey(hdr.Key))}}, false
		}
	}()
	if err != nil {
		p.reply = reply{close: err}
		return p, false
	}
	rc := &reqContext{hdr: hdr, listener: c.listener, remote: c.nc.RemoteAddr()}
	if hdr.Key == int16(kmsg.ApiVersions) {
		// Answered for any version, so a client can learn what we speak.
		p.reply = handleApiVersions(c.b, rc, req)
		return p, true
	}
	if !interBroker(hdr.Key) {
		c.b.awaitReady()
	}
	if !supported(hdr.Key, hdr.Version) {
		p.reply = reply{close: fmt.Errorf("%w: %s v%d", errUnsupportedVersion, kmsg.NameForKey(hdr.Key), hdr.Version)}
		return p, false
	}
	p.reply = apis[hdr.Key].handle(c.b, rc, req)
	return p, p.reply.close == nil
}

func (c *conn) writeLoop() {
	defer close(c.done)
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var buf []byte
	for p := range c.out {
		r := p.reply
		if r.later != nil {
			if err := bw.Flush(); err != nil {
				c.fail(err)
				return
			}
			r.resp = <-r.later
		}
		if r.close != nil {
			if r.release != nil {
				r.release()
			}
			bw.Flush()
			c.logClose(r.close)
			c.fail(nil)
			return
		}
		if r.none || r.resp == nil {
			if r.release != nil {
				r.release()
			}
			continue
		}
		buf = appendResponse(buf[:0], p.corr, r.resp)
		if r.release != nil {
			r.release()
		}
		if _, err := bw.Write(buf); err != nil {
			c.fail(err)
			return
		}
		if cap(buf) > keepFrameBuffer {
			buf = nil
		}
		if len(c.out) == 0 {
			if err := bw.Flush(); err != nil {
				c.fail(err)
				return
			}
		}
	}
	bw.Flush()
}

// fail closes the socket so the reader stops, and drains what it still
// queues so it never blocks.
func (c *conn) fail(err error) {
	c.logClose(err)
	c.nc.Close()
	go func() {
		for p := range c.out {
			if p.reply.later != nil {
				<-p.reply.later
			}
			if p.reply.release != nil {
				p.reply.release()
			}
		}
	}()
}

// appendResponse frames a response: size, correlation id, the response
// header's tagged fields when the response is flexible (never for
// ApiVersions, whose response header is always v0 so a client can read it
// before it knows our versions), then the body.
func appendResponse(dst []byte, corr int32, resp kmsg.Response) []byte {
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[4:], uint32(corr))
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}

// interBroker reports the controller and replication requests, which are
// served before this broker has its first metadata.
func interBroker(key int16) bool {
	switch kmsg.Key(key) {
	case kmsg.LeaderAndISR, kmsg.StopReplica, kmsg.UpdateMetadata, kmsg.ControlledShutdown, kmsg.AlterPartition:
		return true
	}
	return false
}

// metadataWait bounds how long a client request waits for this broker's
// first metadata from the controller.
const metadataWait = 15 * time.Second

// awaitReady holds client requests until the controller has told this
// broker about the cluster. Kafka answers them from an empty cache (a
// restarted broker says UNKNOWN_TOPIC_OR_PARTITION for a while, which
// librdkafka consumers treat as fatal); waiting for the first UpdateMetadata,
// which the controller sends to a starting broker at once, avoids that.
func (b *Broker) awaitReady() {
	select {
	case <-b.ready:
		return
	default:
	}
	t := time.NewTimer(metadataWait)
	defer t.Stop()
	select {
	case <-b.ready:
	case <-t.C:
		b.readyOnce.Do(func() {
			b.log.Warn().Dur("waited", metadataWait).Msg("no metadata from the controller yet; serving clients anyway")
			close(b.ready)
		})
	case <-b.ctx.Done():
	}
}
