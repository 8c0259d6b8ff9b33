// Package zkproto is a minimal synchronous ZooKeeper protocol client for
// tests: it speaks the wire format through the jute package so tests can send
// ops go-zookeeper lacks (addWatch, getEphemerals, whoAmI, multiRead,
// removeWatches) and frames no real client would send.
package zkproto

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/zabkafka/zabkafka/jute"
)

// Client is one connection with an established session. It is not safe for
// concurrent use.
type Client struct {
	Conn      net.Conn
	SessionID int64
	Passwd    []byte
	TimeOut   int32
	LastZxid  int64
	// Events holds watch notifications received while waiting for replies,
	// in arrival order.
	Events []Event
	br     *bufio.Reader
	xid    int32
}

// Event is a watch notification and the zxid its header carried.
type Event struct {
	jute.WatcherEvent
	Zxid int64
}

// Dial connects and creates a new session.
func Dial(addr string, timeout time.Duration) (*Client, error) {
	return Resume(addr, timeout, 0, make([]byte, 16), 0)
}

// Resume connects and resumes a session (id 0 creates one).
func Resume(addr string, timeout time.Duration, id int64, passwd []byte, lastZxid int64) (*Client, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Client{Conn: nc, br: bufio.NewReader(nc)}
	req := &jute.ConnectRequest{LastZxidSeen: lastZxid, TimeOut: int32(timeout.Milliseconds()),
		SessionID: id, Passwd: passwd, HasReadOnly: true}
	if err := c.WriteFrame(jute.AppendFrame(nil, req)); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect response: %w", err)
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil {
		nc.Close()
		return nil, err
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		return nil, fmt.Errorf("session expired (timeOut %d)", resp.TimeOut)
	}
	c.SessionID, c.Passwd, c.TimeOut = resp.SessionID, resp.Passwd, resp.TimeOut
	return c, nil
}

// Close closes the socket without closing the session.
func (c *Client) Close() error { return c.Conn.Close() }

// WriteFrame writes raw bytes.
func (c *Client) WriteFrame(b []byte) error {
	c.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Conn.Write(b)
	return err
}

// Call sends a request and waits for its reply, collecting notifications
// that arrive first. resp may be nil. A non-OK reply error is returned as
// the jute.ErrCode.
func (c *Client) Call(op jute.OpCode, req, resp jute.Record) error {
	c.xid++
	recs := []jute.Record{&jute.RequestHeader{Xid: c.xid, Type: op}}
	if req != nil {
		recs = append(recs, req)
	}
	if err := c.WriteFrame(jute.AppendFrame(nil, recs...)); err != nil {
		return err
	}
	for {
		h, body, err := c.ReadReply()
		if err != nil {
			return err
		}
		if h.Xid != c.xid {
			return fmt.Errorf("reply xid %d, want %d", h.Xid, c.xid)
		}
		if h.Err != jute.ErrOK {
			return h.Err
		}
		if resp != nil {
			return jute.Decode(body, resp)
		}
		return nil
	}
}

// ReadReply reads the next non-notification frame; notifications are
// appended to Events.
func (c *Client) ReadReply() (jute.ReplyHeader, []byte, error) {
	for {
		c.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
		if err != nil {
			return jute.ReplyHeader{}, nil, err
		}
		r := jute.NewReader(frame)
		var h jute.ReplyHeader
		h.Decode(r)
		if r.Err() != nil {
			return h, nil, r.Err()
		}
		if h.Zxid > c.LastZxid {
			c.LastZxid = h.Zxid
		}
		if h.Xid == jute.XidNotification {
			var ev jute.WatcherEvent
			ev.Decode(r)
			if r.Err() != nil {
				return h, nil, r.Err()
			}
			c.Events = append(c.Events, Event{WatcherEvent: ev, Zxid: h.Zxid})
			continue
		}
		return h, r.Rest(), nil
	}
}

// WaitEvents reads until at least n events are queued or the deadline
// passes, and returns (and clears) the queue.
func (c *Client) WaitEvents(n int, timeout time.Duration) ([]Event, error) {
	deadline := time.Now().Add(timeout)
	for len(c.Events) < n {
		c.Conn.SetReadDeadline(deadline)
		frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
		if err != nil {
			return c.takeEvents(), fmt.Errorf("waiting for %d events: %w", n, err)
		}
		r := jute.NewReader(frame)
		var h jute.ReplyHeader
		h.Decode(r)
		if h.Xid != jute.XidNotification {
			return c.takeEvents(), fmt.Errorf("unexpected reply xid %d while waiting for events", h.Xid)
		}
		var ev jute.WatcherEvent
		ev.Decode(r)
		c.Events = append(c.Events, Event{WatcherEvent: ev, Zxid: h.Zxid})
	}
	return c.takeEvents(), nil
}

func (c *Client) takeEvents() []Event {
	ev := c.Events
	c.Events = nil
	return ev
}

// Closed reports whether the server closed the connection within timeout.
func (c *Client) Closed(timeout time.Duration) bool {
	c.Conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := c.br.Read(buf)
		if err == io.EOF {
			return true
		}
		if err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}
