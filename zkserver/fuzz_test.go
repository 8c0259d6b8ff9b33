package zkserver

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/jute"
)

// FuzzServerRequest sends one arbitrary frame after a real handshake, on a
// fresh connection to an in-process server, and then checks the invariant
// that matters: whatever the bytes, the server neither panics nor stops
// serving a bystander session, and it either answers or closes only the
// fuzzed connection. The seeds are valid requests of every kind, so the
// fuzzer starts from inputs that reach the prepare and apply stages.
func FuzzServerRequest(f *testing.F) {
	open := []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}
	seed := func(op jute.OpCode, rec jute.Record) {
		recs := []jute.Record{&jute.RequestHeader{Xid: 1, Type: op}}
		if rec != nil {
			recs = append(recs, rec)
		}
		f.Add(jute.Encode(nil, &multiRecord{recs}))
	}
	seed(jute.OpCreate, &jute.CreateRequest{Path: "/f", Data: []byte("x"), ACL: open, Flags: jute.ModeEphemeralSequential})
	seed(jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/t", ACL: open, Flags: jute.ModePersistentWithTTL, TTL: 1000})
	seed(jute.OpCreateContainer, &jute.CreateRequest{Path: "/c", ACL: open, Flags: jute.ModeContainer})
	seed(jute.OpSetData, &jute.SetDataRequest{Path: "/", Data: []byte("d"), Version: -1})
	seed(jute.OpSetACL, &jute.SetACLRequest{Path: "/zookeeper", ACL: open, Version: -1})
	seed(jute.OpDelete, &jute.DeleteRequest{Path: "/zookeeper/quota", Version: -1})
	seed(jute.OpGetChildren2, &jute.GetChildren2Request{Path: "/", Watch: true})
	seed(jute.OpAddWatch, &jute.AddWatchRequest{Path: "/", Mode: jute.AddWatchPersistentRecursive})
	seed(jute.OpSetWatches2, &jute.SetWatches2{RelativeZxid: 0, DataWatches: []string{"/"}, PersistentWatches: []string{"/x"}})
	seed(jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/", Type: jute.WatcherAny})
	seed(jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("u:p")})
	seed(jute.OpWhoAmI, nil)
	seed(jute.OpCloseSession, nil)
	seed(jute.OpMulti, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m", ACL: open}},
		{Type: jute.OpCheck, Req: &jute.CheckVersionRequest{Path: "/m", Version: 0}},
		{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: "/m", Version: -1}},
	}})
	seed(jute.OpMultiRead, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpGetData, Req: &jute.GetDataRequest{Path: "/"}},
	}})
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf6}) // createSession sent by a client

	s := startServer(f)
	bystander := dialRaw(f, s)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > jute.MaxBuffer {
			return
		}
		c := dialRaw(t, s)
		defer c.nc.Close()
		c.nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.nc.Write(jute.AppendFrame(nil, rawBytes(body))); err != nil {
			t.Fatal(err)
		}
		// Read until the server answers or closes; a reply must be a whole,
		// decodable frame.
		for range 4 {
			frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
			if err != nil {
				break
			}
			var h jute.ReplyHeader
			if err := jute.Decode(frame, &h); err != nil {
				t.Fatalf("undecodable reply header: %v", err)
			}
			if h.Xid != jute.XidNotification {
				break
			}
		}
		if !bystander.ping(t) {
			t.Fatal("the bystander session stopped being served")
		}
	})
}

type multiRecord struct{ recs []jute.Record }

func (m *multiRecord) Encode(w *jute.Writer) {
	for _, r := range m.recs {
		r.Encode(w)
	}
}
func (m *multiRecord) Decode(*jute.Reader) {}

type rawBytes []byte

func (b rawBytes) Encode(w *jute.Writer) { w.B = append(w.B, b...) }
func (rawBytes) Decode(*jute.Reader)     {}

type rawConn struct {
	nc  net.Conn
	br  *bufio.Reader
	xid int32
}

// dialRaw opens a connection and establishes a session.
func dialRaw(tb testing.TB, s *Server) *rawConn {
	tb.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	c := &rawConn{nc: nc, br: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	req := &jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}
	if _, err := nc.Write(jute.AppendFrame(nil, req)); err != nil {
		tb.Fatal(err)
	}
	frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
	if err != nil {
		tb.Fatalf("handshake: %v", err)
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil || resp.TimeOut == 0 {
		tb.Fatalf("connect response %+v %v", resp, err)
	}
	return c
}

// ping sends a ping and reports whether its reply came back.
func (c *rawConn) ping(tb testing.TB) bool {
	tb.Helper()
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(jute.AppendFrame(nil, &jute.RequestHeader{Xid: jute.XidPing, Type: jute.OpPing})); err != nil {
		return false
	}
	for {
		frame, err := jute.ReadFrame(c.br, nil, jute.MaxBuffer)
		if err != nil {
			return false
		}
		var h jute.ReplyHeader
		if jute.Decode(frame, &h) != nil {
			return false
		}
		if h.Xid == jute.XidPing {
			return true
		}
	}
}
