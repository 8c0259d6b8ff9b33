package integration

import (
	"encoding/binary"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
)

func lengthPrefix(n int32, payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(n)), payload...)
}

// TestBadInputClosesOnlyThatConnection sends each kind of bad input on its
// own session and checks that the server answers as ZooKeeper does (an
// UNIMPLEMENTED reply where ZooKeeper sends one), closes that connection,
// logs why, and keeps serving a bystander session that is in the middle of
// its own work.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	srv := startZkd(t)
	bystander := connect(t, srv.Addr())
	_, err := bystander.Create("/bystander", []byte("0"), 0, openACL)
	must(t, err)
	_, _, bw, err := bystander.GetW("/bystander")
	must(t, err)
	eph, err := bystander.Create("/bystander-eph", nil, zk.FlagEphemeral, openACL)
	must(t, err)

	header := func(xid int32, op jute.OpCode) []byte {
		return jute.Encode(nil, &jute.RequestHeader{Xid: xid, Type: op})
	}
	cases := []struct {
		name string
		send []byte
		// wantReply is the error code ZooKeeper answers with before closing;
		// ErrOK means the connection closes with no reply.
		wantReply jute.ErrCode
		logLine   string
		// halfClose ends the client's side after sending, so the server
		// sees the stream end inside the frame.
		halfClose bool
	}{
		{"oversized frame", lengthPrefix(jute.MaxBuffer+1, nil), jute.ErrOK, "frame too large or negative", false},
		{"negative length", lengthPrefix(-5, nil), jute.ErrOK, "frame too large or negative", false},
		{"truncated frame", lengthPrefix(100, []byte("only a few bytes")), jute.ErrOK, "truncated frame", true},
		{"frame shorter than a header", lengthPrefix(3, []byte{0, 0, 1}), jute.ErrOK, "malformed request", false},
		{"truncated body", lengthPrefix(12, append(header(1, jute.OpGetData), 0, 0, 0, 9)), jute.ErrOK, "malformed request", false},
		{"garbage", lengthPrefix(16, []byte("\x00\x00\x00\x01\x00\x00\x00\x04\xff\xff\xff\x7fjunk")), jute.ErrOK, "malformed request", false},
		{"hostile vector count", lengthPrefix(24, append(header(1, jute.OpSetWatches), 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0)), jute.ErrOK, "malformed request", false},
		{"unknown op code", lengthPrefix(8, header(7, 4242)), jute.ErrUnimplemented, "unimplemented request", false},
		{"bare check", lengthPrefix(int32(8+len(jute.Encode(nil, &jute.CheckVersionRequest{Path: "/bystander", Version: -1}))),
			append(header(7, jute.OpCheck), jute.Encode(nil, &jute.CheckVersionRequest{Path: "/bystander", Version: -1})...)), jute.ErrUnimplemented, "unimplemented request", false},
		{"sasl without a sasl provider", lengthPrefix(12, append(header(7, jute.OpSASL), 0, 0, 0, 0)), jute.ErrUnimplemented, "unimplemented request", false},
		{"multi mixing reads and writes", lengthPrefix(int32(8+len(mixedMulti())), append(header(7, jute.OpMulti), mixedMulti()...)), jute.ErrOK, "malformed request", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logBefore := readLog(t, srv.LogPath())
			c := rawConnect(t, srv.Addr())
			must(t, c.WriteFrame(tc.send))
			if tc.halfClose {
				must(t, c.Conn.(*net.TCPConn).CloseWrite())
			}
			if tc.wantReply != jute.ErrOK {
				h, _, err := c.ReadReply()
				if err != nil {
					t.Fatalf("no reply before close: %v", err)
				}
				if h.Err != tc.wantReply || h.Xid != 7 {
					t.Fatalf("reply %+v, want xid 7 err %v", h, tc.wantReply)
				}
			}
			if !c.Closed(5 * time.Second) {
				t.Fatal("connection still open")
			}
			eventually(t, "a log line: "+tc.logLine, func() bool {
				return strings.Contains(strings.TrimPrefix(readLog(t, srv.LogPath()), logBefore), tc.logLine)
			})
			// The bystander session keeps working: reads, writes, its watch.
			st, err := bystander.Set("/bystander", []byte(tc.name), -1)
			must(t, err)
			data, _, err := bystander.Get("/bystander")
			must(t, err)
			if string(data) != tc.name || st.Version < 1 {
				t.Fatalf("bystander read %q", data)
			}
		})
	}
	if ev := waitEvent(t, bw); ev.Type != zk.EventNodeDataChanged {
		t.Fatalf("bystander watch: %+v", ev)
	}
	ok, _, err := bystander.Exists(eph)
	must(t, err)
	if !ok {
		t.Fatal("the bystander's ephemeral is gone")
	}
	// The server counts what it refused.
	out, err := harness.FourLetter(srv.Addr(), "mntr", 5*time.Second)
	must(t, err)
	if !strings.Contains(out, "zk_bad_input_count\t") {
		t.Fatalf("mntr has no bad input count:\n%s", out)
	}
}

func mixedMulti() []byte {
	return jute.Encode(nil, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/x", ACL: openRawACL()}},
		{Type: jute.OpGetData, Req: &jute.GetDataRequest{Path: "/x"}},
	}})
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBadHandshakes covers bad first frames: garbage instead of a
// ConnectRequest, an unknown four-letter word, and a silent client.
func TestBadHandshakes(t *testing.T) {
	srv := startZkd(t)
	bystander := connect(t, srv.Addr())
	for name, payload := range map[string][]byte{
		"short connect request": lengthPrefix(10, make([]byte, 10)),
		"unknown 4lw":           []byte("abcd"),
		"huge first length":     lengthPrefix(0x7fffffff, nil),
	} {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", srv.Addr())
			must(t, err)
			defer nc.Close()
			_, err = nc.Write(payload)
			must(t, err)
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, err := nc.Read(buf)
			if err == nil {
				t.Fatalf("server answered %q to a bad handshake", buf[:n])
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection not closed")
			}
			_, err = bystander.Create("/after-"+strings.ReplaceAll(name, " ", "-"), nil, 0, openACL)
			must(t, err)
		})
	}
	// A well-formed request after the handshake still works on a new client.
	c, err := zkproto.Dial(srv.Addr(), 4*time.Second)
	must(t, err)
	c.Close()
}
