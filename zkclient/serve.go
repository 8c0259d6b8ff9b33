package zkclient

import (
	"bufio"
	"fmt"
	"net"
	"time"

	"github.com/zabkafka/zabkafka/jute"
)

// serve runs one established connection until it fails or Close stops it.
// The calling goroutine reads; a second one writes requests and pings.
// authFailed reports that the server refused credentials, which ends the
// session for good (ClientCnxn changes the state to AUTH_FAILED).
func (c *Conn) serve(nc net.Conn) (authFailed bool) {
	readTimeout := c.SessionTimeout() * 2 / 3
	if err := c.prime(nc); err != nil {
		c.logf("priming connection to %s: %v", nc.RemoteAddr(), err)
		nc.Close()
		return false
	}
	writerDone := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(nc, readTimeout/2, readerDone)
	}()
	authFailed, err := c.readLoop(nc, readTimeout)
	if err != nil && !c.stopped() {
		c.logf("connection to %s lost: %v", nc.RemoteAddr(), err)
	}
	close(readerDone)
	nc.Close()
	<-writerDone
	c.failPending(jute.ErrConnectionLoss)
	return authFailed
}

// prime re-sends what the server must know before any request of this
// connection: the credentials added so far and the watches to re-arm
// (ClientCnxn.primeConnection). Their replies carry special xids and are
// not matched against pending requests.
func (c *Conn) prime(nc net.Conn) error {
	c.mu.Lock()
	var frame []byte
	for i := range c.auths {
		frame = jute.AppendFrame(frame, &jute.RequestHeader{Xid: jute.XidAuth, Type: jute.OpAuth}, &c.auths[i])
	}
	if !c.watches.empty() {
		frame = jute.AppendFrame(frame, &jute.RequestHeader{Xid: jute.XidSetWatches, Type: jute.OpSetWatches2},
			c.watches.setWatches(c.lastZxid))
	}
	c.mu.Unlock()
	if frame == nil {
		return nil
	}
	nc.SetWriteDeadline(time.Now().Add(c.connectTimeout()))
	_, err := nc.Write(frame)
	return err
}

// writeLoop sends submitted requests in order, and a ping whenever the
// connection has been idle for pingEvery, until the reader stops or Close.
func (c *Conn) writeLoop(nc net.Conn, pingEvery time.Duration, readerDone <-chan struct{}) {
	bw := bufio.NewWriter(nc)
	ping := time.NewTimer(pingEvery)
	defer ping.Stop()
	var buf []byte
	for {
		select {
		case <-readerDone:
			return
		case <-c.stop:
			nc.Close() // wakes the reader
			return
		case <-ping.C:
			buf = jute.AppendFrame(buf[:0], &jute.RequestHeader{Xid: jute.XidPing, Type: jute.OpPing})
		case r := <-c.submit:
			buf = c.frameRequest(buf[:0], r)
			if buf == nil {
				continue
			}
		}
		nc.SetWriteDeadline(time.Now().Add(pingEvery * 2))
		_, err := bw.Write(buf)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			nc.Close() // the reader sees the failure and ends the connection
			return
		}
		ping.Reset(pingEvery)
	}
}

// frameRequest gives r its xid, queues it as pending and returns its frame.
// Auth packets use their special xid and expect no matched reply; AddAuth
// has already recorded them for later reconnections.
func (c *Conn) frameRequest(buf []byte, r *request) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.op == jute.OpAuth {
		r.finish(nil)
		return jute.AppendFrame(buf, &jute.RequestHeader{Xid: jute.XidAuth, Type: jute.OpAuth}, r.req)
	}
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	r.xid = c.xid
	c.pending = append(c.pending, r)
	hdr := &jute.RequestHeader{Xid: r.xid, Type: r.op}
	if r.req == nil {
		return jute.AppendFrame(buf, hdr)
	}
	return jute.AppendFrame(buf, hdr, r.req)
}

// readLoop reads frames until the connection fails. Every frame must arrive
// within readTimeout: the writer pings at half of it, so silence means the
// server is gone.
func (c *Conn) readLoop(nc net.Conn, readTimeout time.Duration) (authFailed bool, err error) {
	br := bufio.NewReaderSize(nc, 64<<10)
	for {
		nc.SetReadDeadline(time.Now().Add(readTimeout))
		// A fresh buffer per frame: decoded records alias it and go to
		// the caller.
		frame, err := jute.ReadFrame(br, nil, jute.MaxBuffer)
		if err != nil {
			return false, err
		}
		r := jute.NewReader(frame)
		var h jute.ReplyHeader
		h.Decode(r)
		if r.Err() != nil {
			return false, fmt.Errorf("reply header: %w", r.Err())
		}
		switch h.Xid {
		case jute.XidPing, jute.XidSetWatches:
			continue
		case jute.XidAuth:
			if h.Err == jute.ErrAuthFailed {
				return true, fmt.Errorf("authentication failed")
			}
			continue
		case jute.XidNotification:
			if err := c.notify(r); err != nil {
				return false, err
			}
			continue
		}
		if err := c.reply(h, r.Rest()); err != nil {
			return false, err
		}
	}
}

// notify records and queues a watch notification.
func (c *Conn) notify(r *jute.Reader) error {
	var ev jute.WatcherEvent
	ev.Decode(r)
	if r.Err() != nil {
		return fmt.Errorf("notification: %w", r.Err())
	}
	c.mu.Lock()
	c.watches.trigger(ev.Type, ev.Path)
	c.mu.Unlock()
	c.events.push(Event{Type: ev.Type, State: ev.State, Path: ev.Path, Zxid: -1})
	return nil
}

// reply completes the oldest pending request. Replies come in request
// order, so a reply for any other xid means the stream is broken.
func (c *Conn) reply(h jute.ReplyHeader, body []byte) error {
	c.mu.Lock()
	if len(c.pending) == 0 || c.pending[0].xid != h.Xid {
		c.mu.Unlock()
		return fmt.Errorf("reply xid %d does not match the oldest request", h.Xid)
	}
	r := c.pending[0]
	c.pending[0] = nil
	c.pending = c.pending[1:]
	if h.Zxid > 0 {
		c.lastZxid = h.Zxid
	}
	var events []Event
	if r.onReply != nil {
		events = r.onReply(&c.watches, h.Err)
	}
	c.mu.Unlock()

	var err error
	if h.Err != jute.ErrOK {
		err = &Error{Code: h.Err, Path: r.path}
	}
	// A failed multi still carries its per-op results.
	if r.resp != nil && (h.Err == jute.ErrOK || r.op == jute.OpMulti) && len(body) > 0 {
		if derr := jute.Decode(body, r.resp); derr != nil && err == nil {
			err = &Error{Code: jute.ErrMarshallingError, Path: r.path}
		}
	}
	for _, ev := range events {
		c.events.push(ev)
	}
	c.events.after(func() { r.finish(err) })
	return nil
}

// failPending fails every request sent on the lost connection.
func (c *Conn) failPending(code jute.ErrCode) {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, r := range pending {
		r.finish(&Error{Code: code, Path: r.path})
	}
}
