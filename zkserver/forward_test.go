package zkserver

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
)

func forwardSamples() []*request {
	open := []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}
	auth := []jute.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:hash"}}
	return []*request{
		{session: 0x100, xid: 0, op: jute.OpCreateSession, body: &jute.CreateSessionTxn{TimeOut: 4000}},
		{session: 0x100, xid: 7, op: jute.OpCreate, auth: auth, body: &jute.CreateRequest{Path: "/a", Data: []byte("x"), ACL: open, Flags: jute.ModeEphemeralSequential}},
		{session: 0x100, xid: 8, op: jute.OpSetData, auth: auth, body: &jute.SetDataRequest{Path: "/a", Data: nil, Version: 3}},
		{session: 0x100, xid: 9, op: jute.OpMulti, body: &jute.MultiRequest{Ops: []jute.MultiOp{
			{Type: jute.OpCheck, Req: &jute.CheckVersionRequest{Path: "/a", Version: 1}},
			{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: "/a", Version: -1}}}}},
		{session: 0x100, xid: 10, op: jute.OpCloseSession, body: noBody{}},
	}
}

// A forwarded request decodes on the leader to what the learner read from
// its client.
func TestForwardedRoundTrip(t *testing.T) {
	for _, r := range forwardSamples() {
		f, err := decodeForwarded(encodeForwarded(r))
		if err != nil {
			t.Fatalf("%s: %v", r.op, err)
		}
		g := f.req
		if !g.forwarded || g.session != r.session || g.xid != r.xid || g.op != r.op || !reflect.DeepEqual(g.body, r.body) ||
			len(g.auth) != len(r.auth) || (len(r.auth) > 0 && !reflect.DeepEqual(g.auth, r.auth)) {
			t.Fatalf("%s: got %+v, want %+v", r.op, g, r)
		}
	}
	ids := []int64{1, -5, 0x7fffffffffffffff}
	f, err := decodeForwarded(encodeTouches(ids))
	if err != nil || !reflect.DeepEqual(f.touches, ids) {
		t.Fatalf("touches: %v %v", f.touches, err)
	}
}

// Anything else is refused with errBadForward, never a panic: a truncated
// message, trailing bytes, an unknown kind, a read op, a count beyond the
// data.
func TestForwardedRejectsBadInput(t *testing.T) {
	good := encodeForwarded(forwardSamples()[1])
	cases := map[string][]byte{
		"empty":        nil,
		"unknown kind": {9, 0, 0},
		"truncated":    good[:len(good)-3],
		"trailing":     append(bytes.Clone(good), 0),
		"read op":      encodeForwarded(&request{session: 1, op: jute.OpGetData, body: &jute.GetDataRequest{Path: "/"}}),
		"touch count":  {fwdTouch, 0x7f, 0xff, 0xff, 0xff},
	}
	for name, b := range cases {
		if _, err := decodeForwarded(b); !errors.Is(err, errBadForward) {
			t.Errorf("%s: err %v, want errBadForward", name, err)
		}
	}
}

// FuzzDecodeForwarded: a learner's message is network input to the
// leader; it either decodes to a write that encodes back to the same
// bytes, or fails cleanly.
func FuzzDecodeForwarded(f *testing.F) {
	for _, r := range forwardSamples() {
		f.Add(encodeForwarded(r))
	}
	f.Add(encodeTouches([]int64{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fw, err := decodeForwarded(b)
		if err != nil {
			if !errors.Is(err, errBadForward) {
				t.Fatalf("error %v does not wrap errBadForward", err)
			}
			return
		}
		if fw.req == nil && fw.touches == nil {
			t.Fatal("decoded to nothing")
		}
		if fw.req != nil && !fw.req.op.IsWrite() && fw.req.op != jute.OpCreateSession {
			t.Fatalf("decoded a non-write %s", fw.req.op)
		}
	})
}
