package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/zab"
)

// rawConn is a test's hand-driven connection to a transport's port.
type rawConn struct {
	t *testing.T
	net.Conn
}

func rawDial(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		la, err := net.ResolveTCPAddr("tcp", local)
		if err != nil {
			t.Fatal(err)
		}
		d.LocalAddr = la
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, local, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c}
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("raw write: %v", err)
	}
}

func (c *rawConn) hello(p port, from, to uint64, members [32]byte) {
	c.t.Helper()
	c.write(header{port: p, status: statusHello, from: from, to: to, maxFrame: minFrameLimit, members: members}.marshal(nil))
}

// reply reads the acceptor's verdict.
func (c *rawConn) reply() header {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [headerLen]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.t.Fatalf("reading handshake reply: %v", err)
	}
	h, err := parseHeader(b[:])
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// expectClosed waits for the transport to close the connection. A reset
// (the transport closed with our bytes unread) counts as closed.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection not closed by the transport: %v", err)
	}
}

func (c *rawConn) closeWrite() { c.Conn.(*net.TCPConn).CloseWrite() }

func frameOf(m zab.Message) []byte { return appendFrame(nil, m) }

// Every kind of bad input on both ports is rejected with a log line naming
// the reason, only its own connection is closed, and the real members keep
// exchanging messages over their original connections throughout.
func TestBadInput(t *testing.T) {
	const quorumLimit = 1 << 20
	e := newEnsemble(t, []uint64{1, 2, 3}, []uint64{9}, func(c *Config) { c.MaxFrameBytes = quorumLimit })
	n1 := e.nodes[1]
	members := n1.tr.members
	wrongMembers := members
	wrongMembers[0] ^= 0xFF

	var seq uint64
	traffic := func(what string) {
		t.Helper()
		for _, pair := range [][2]uint64{{2, 1}, {3, 1}, {1, 2}, {1, 3}} {
			from, to := pair[0], pair[1]
			seq++
			ref := seq
			e.nodes[from].tr.Send(zab.Message{Type: zab.Ping, From: from, To: to, Epoch: 1, Ref: ref})
			e.nodes[from].tr.Send(zab.Message{Type: zab.Notification, From: from, To: to, Ref: ref})
			n := e.nodes[to]
			waitFor(t, 5*time.Second, fmt.Sprintf("%s: %d->%d", what, from, to), func() bool {
				q, el := n.from(from, false), n.from(from, true)
				return len(q) > 0 && q[len(q)-1].Ref == ref && len(el) > 0 && el[len(el)-1].Ref == ref
			})
		}
	}
	traffic("before")

	type step func(c *rawConn, p port)
	accepted := func(c *rawConn, p port) {
		c.hello(p, 9, 1, members)
		if h := c.reply(); h.status != statusOK {
			t.Fatalf("hello as 9 on %s: %s", p, h.status.reason())
		}
	}
	verdict := func(from, to uint64, hash [32]byte, want status) step {
		return func(c *rawConn, p port) {
			c.hello(p, from, to, hash)
			if h := c.reply(); h.status != want || h.from != 1 || h.to != from {
				t.Errorf("reply %+v, want %s from 1", h, want.reason())
			}
		}
	}
	other := func(p port) port { return 3 - p }
	wrongTypeFor := func(p port) zab.MessageType {
		if p == quorumPort {
			return zab.Notification
		}
		return zab.Ping
	}
	cases := []struct {
		name  string
		local string // source address, for the duplicate
		do    step
		want  map[string]any
	}{
		{"garbage", "", func(c *rawConn, p port) {
			c.write(bytes.Repeat([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 3))
		}, map[string]any{"message": "handshake rejected", "reason": "bad handshake"}},
		{"truncated handshake", "", func(c *rawConn, p port) {
			c.write(header{port: p, from: 9, to: 1, members: members}.marshal(nil)[:20])
			c.closeWrite()
		}, map[string]any{"message": "handshake rejected", "reason": "truncated handshake"}},
		{"unknown id", "", verdict(77, 1, members, statusUnknownID),
			map[string]any{"message": "handshake rejected", "reason": "unknown server id", "peer": 77}},
		{"own id", "", verdict(1, 1, members, statusUnknownID),
			map[string]any{"message": "handshake rejected", "reason": "unknown server id", "peer": 1}},
		{"duplicate id", "127.0.0.2:0", verdict(3, 1, members, statusDuplicate),
			map[string]any{"message": "handshake rejected", "reason": "duplicate server id", "peer": 3}},
		{"member list mismatch", "", verdict(9, 1, wrongMembers, statusMembers),
			map[string]any{"message": "handshake rejected", "reason": "member list mismatch", "peer": 9, "level": "error",
				"ours": shortHash(members), "theirs": shortHash(wrongMembers)}},
		{"wrong server id", "", verdict(9, 2, members, statusWrongTarget),
			map[string]any{"message": "handshake rejected", "reason": "wrong server id", "peer": 9, "to": 2}},
		{"wrong port kind", "", func(c *rawConn, p port) {
			c.hello(other(p), 9, 1, members)
			if h := c.reply(); h.status != statusWrongPort {
				t.Errorf("reply %s", h.status.reason())
			}
		}, map[string]any{"message": "handshake rejected", "reason": "wrong port", "peer": 9}},
		{"frame over the limit", "", func(c *rawConn, p port) {
			accepted(c, p)
			limit := quorumLimit
			if p == electionPort {
				limit = DefaultElectionMaxFrameBytes
			}
			c.write(binary.BigEndian.AppendUint32(nil, uint32(limit+1)))
		}, map[string]any{"message": "bad frame", "reason": "frame too large", "peer": 9}},
		{"truncated frame", "", func(c *rawConn, p port) {
			accepted(c, p)
			c.write(binary.BigEndian.AppendUint32(nil, 100))
			c.write(make([]byte, 10))
			c.closeWrite()
		}, map[string]any{"message": "bad frame", "reason": "truncated frame", "peer": 9}},
		{"garbage frame", "", func(c *rawConn, p port) {
			accepted(c, p)
			c.write(binary.BigEndian.AppendUint32(nil, 30))
			c.write(bytes.Repeat([]byte{0xFF}, 30))
		}, map[string]any{"message": "bad frame", "reason": "undecodable", "peer": 9}},
		{"from mismatch", "", func(c *rawConn, p port) {
			accepted(c, p)
			m := zab.Message{Type: zab.Ping, From: 2, To: 1, Epoch: 7, Zxid: zab.MakeZxid(7, 3)}
			if p == electionPort {
				m.Type = zab.Notification
			}
			c.write(frameOf(m))
		}, map[string]any{"message": "bad frame", "reason": "from mismatch", "peer": 9, "from": 2, "zxid": "0x700000003", "epoch": 7}},
		{"to mismatch", "", func(c *rawConn, p port) {
			accepted(c, p)
			m := zab.Message{Type: zab.Ping, From: 9, To: 3}
			if p == electionPort {
				m.Type = zab.Notification
			}
			c.write(frameOf(m))
		}, map[string]any{"message": "bad frame", "reason": "to mismatch", "peer": 9}},
		{"type on the wrong port", "", func(c *rawConn, p port) {
			accepted(c, p)
			c.write(frameOf(zab.Message{Type: wrongTypeFor(p), From: 9, To: 1}))
		}, map[string]any{"message": "bad frame", "reason": "message type not carried on this port", "peer": 9}},
	}
	handshakeCases, frameCases := 0, 0
	for _, p := range []port{quorumPort, electionPort} {
		addr := e.members[1].QuorumAddr
		if p == electionPort {
			addr = e.members[1].ElectionAddr
		}
		for _, c := range cases {
			t.Run(p.String()+"/"+c.name, func(t *testing.T) {
				want := map[string]any{"port": p.String()}
				for k, v := range c.want {
					want[k] = v
				}
				before := len(n1.logs.lines(want))
				rc := rawDial(t, addr, c.local)
				rc.t = t
				c.do(rc, p)
				rc.expectClosed()
				waitFor(t, 5*time.Second, fmt.Sprintf("log line %v", want), func() bool {
					return len(n1.logs.lines(want)) == before+1
				})
				traffic(c.name)
			})
			if c.want["message"] == "bad frame" {
				frameCases++
			} else {
				handshakeCases++
			}
		}
	}
	s := n1.tr.Stats()
	if s.RejectedConnections != uint64(handshakeCases) || s.RejectedFrames != uint64(frameCases) {
		t.Errorf("rejected %d connections and %d frames, want %d and %d", s.RejectedConnections, s.RejectedFrames, handshakeCases, frameCases)
	}
	// The real members' connections were never disturbed.
	for _, id := range []uint64{1, 2, 3} {
		for _, p := range e.nodes[id].tr.Stats().Peers {
			if p.ID == 9 || (id != 1 && p.ID != 1) {
				continue // only the links to and from 1 carry traffic
			}
			if p.Quorum.Connects != 1 || p.Election.Connects != 1 || p.Quorum.Disconnects != 0 || p.Election.Disconnects != 0 {
				t.Errorf("node %d, peer %d: %+v", id, p.ID, p)
			}
		}
	}
}

// Two members configured with different member lists refuse each other,
// and both say why, whichever of them dials.
func TestMemberListMismatchLoggedOnBothSides(t *testing.T) {
	e := newEnsemble(t, []uint64{1}, nil, nil)
	theirs := map[uint64]Member{}
	for id, m := range e.members {
		theirs[id] = m
	}
	q, el := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	theirs[2] = Member{QuorumAddr: q.Addr().String(), ElectionAddr: el.Addr().String()}
	theirs[5] = Member{QuorumAddr: "127.0.0.1:1", ElectionAddr: "127.0.0.1:2"} // only 2 knows 5
	e.members[2] = theirs[2]                                                   // 1 knows 2, without 5
	// 1 was built before 2 joined its map; rebuild it with the new list.
	e.restart(1)
	n2 := &testNode{logs: &logBuffer{}}
	runNode(t, n2, Config{ID: 2, Members: theirs, QuorumListener: q, ElectionListener: el,
		Logger:     zerolog.New(n2.logs),
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	t.Cleanup(n2.close)
	n1 := e.nodes[1]

	// 2 dials 1 (higher id); 1 pokes 2 (lower id). Each way, both log.
	n2.tr.Send(zab.Message{Type: zab.Ping, To: 1})
	n1.tr.Send(zab.Message{Type: zab.Notification, To: 2})
	for _, c := range []struct {
		n        *testNode
		p        string
		acceptor bool
	}{{n1, "quorum", true}, {n2, "quorum", false}, {n2, "election", true}, {n1, "election", false}} {
		msg := "handshake refused"
		if c.acceptor {
			msg = "handshake rejected"
		}
		want := map[string]any{"message": msg, "reason": "member list mismatch", "port": c.p, "level": "error"}
		waitFor(t, 5*time.Second, fmt.Sprintf("%d logs %v", c.n.tr.id, want), func() bool { return len(c.n.logs.lines(want)) > 0 })
	}
	if n1.tr.Connected(2) || n2.tr.Connected(1) {
		t.Error("mismatched members connected")
	}
}

// A peer that stops reading: Send keeps returning at once, the queue
// overflows into counted drops, and the write timeout cuts the connection.
func TestSlowPeer(t *testing.T) {
	fakeQ := listen(t, "127.0.0.1:0")
	t.Cleanup(func() { fakeQ.Close() })
	q, el := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	members := map[uint64]Member{
		5: {QuorumAddr: q.Addr().String(), ElectionAddr: el.Addr().String()},
		4: {QuorumAddr: fakeQ.Addr().String(), ElectionAddr: deadAddr(t)},
	}
	hash := membersHash(members)
	// Peer 4 accepts 5's dial, answers the handshake and never reads.
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := fakeQ.Accept()
			if err != nil {
				return
			}
			var b [headerLen]byte
			io.ReadFull(c, b[:])
			c.Write(header{port: quorumPort, status: statusOK, from: 4, to: 5, maxFrame: DefaultMaxFrameBytes, members: hash}.marshal(nil))
			held <- c
		}
	}()
	t.Cleanup(func() {
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	n5 := &testNode{logs: &logBuffer{}}
	runNode(t, n5, Config{ID: 5, Members: members, QuorumListener: q, ElectionListener: el,
		Logger: zerolog.New(n5.logs), QueueLen: 64, WriteTimeout: 300 * time.Millisecond,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	t.Cleanup(n5.close)

	big := bytes.Repeat([]byte{1}, 64<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 5000; i++ {
			z := zab.MakeZxid(1, uint32(i))
			n5.tr.Send(zab.Message{Type: zab.Proposal, To: 4, Epoch: 1, Zxid: z, Entries: []zab.Entry{{Zxid: z, Data: big}}})
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Send blocked on a peer that does not read")
	}
	p, _ := n5.tr.Stats().Peer(4)
	if p.Quorum.Drops == 0 {
		t.Errorf("no drops: %+v", p.Quorum)
	}
	waitFor(t, 10*time.Second, "write timeout", func() bool {
		return len(n5.logs.lines(map[string]any{"message": "peer disconnected", "reason": "write error", "peer": 4})) > 0
	})
}
