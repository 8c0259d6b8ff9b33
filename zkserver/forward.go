package zkserver

import (
	"errors"
	"fmt"

	"github.com/zabkafka/zabkafka/jute"
)

// What a learner sends its leader through zab.Node.Request, as ZooKeeper's
// REQUEST and the session part of its PING packets: a client write to
// prepare, or the sessions its clients have been heard from. The leader
// distrusts it like any input from the network: a message that does not
// decode is logged and dropped.

const (
	fwdRequest byte = 1 // one client write (or createSession/closeSession)
	fwdTouch   byte = 2 // session ids whose clients were heard from
)

// maxTouchBatch bounds the session ids in one touch message (decode side).
const maxTouchBatch = 1 << 20

var errBadForward = errors.New("malformed forwarded request")

// encodeForwarded encodes a client request for the leader.
func encodeForwarded(r *request) []byte {
	w := &jute.Writer{B: make([]byte, 0, 64)}
	w.B = append(w.B, fwdRequest)
	w.Long(r.session)
	w.Int(r.xid)
	w.Int(int32(r.op))
	w.Int(int32(len(r.auth)))
	for _, id := range r.auth {
		w.String(id.Scheme)
		w.String(id.ID)
	}
	w.B = jute.Encode(w.B, r.body)
	return w.B
}

// encodeTouches encodes session ids heard from since the last report.
func encodeTouches(ids []int64) []byte {
	w := &jute.Writer{B: make([]byte, 0, 5+8*len(ids))}
	w.B = append(w.B, fwdTouch)
	w.Int(int32(len(ids)))
	for _, id := range ids {
		w.Long(id)
	}
	return w.B
}

// forwarded is a decoded learner message: a request or a touch list.
type forwarded struct {
	req     *request
	touches []int64
}

// decodeForwarded decodes what encodeForwarded or encodeTouches made.
func decodeForwarded(b []byte) (forwarded, error) {
	if len(b) == 0 {
		return forwarded{}, fmt.Errorf("%w: empty", errBadForward)
	}
	r := jute.NewReader(b[1:])
	switch b[0] {
	case fwdTouch:
		n := r.Count(8)
		if r.Err() != nil || n > maxTouchBatch {
			return forwarded{}, fmt.Errorf("%w: touch count", errBadForward)
		}
		ids := make([]int64, 0, n)
		for range n {
			ids = append(ids, r.Long())
		}
		if err := r.Err(); err != nil || r.Len() != 0 {
			return forwarded{}, fmt.Errorf("%w: touch list: %v", errBadForward, err)
		}
		return forwarded{touches: ids}, nil
	case fwdRequest:
		req := &request{forwarded: true}
		req.session = r.Long()
		req.xid = r.Int()
		req.op = jute.OpCode(r.Int())
		n := r.Count(8)
		if r.Err() != nil {
			return forwarded{}, fmt.Errorf("%w: header: %v", errBadForward, r.Err())
		}
		req.auth = make([]jute.ID, 0, n)
		for range n {
			req.auth = append(req.auth, jute.ID{Scheme: r.String(), ID: r.String()})
		}
		body := forwardedBody(req.op)
		if body == nil {
			return forwarded{}, fmt.Errorf("%w: op %s is not a write", errBadForward, req.op)
		}
		body.Decode(r)
		if err := r.Err(); err != nil {
			return forwarded{}, fmt.Errorf("%w: %s body: %v", errBadForward, req.op, err)
		}
		if r.Len() != 0 {
			return forwarded{}, fmt.Errorf("%w: %d bytes after the %s body", errBadForward, r.Len(), req.op)
		}
		req.body = body
		return forwarded{req: req}, nil
	}
	return forwarded{}, fmt.Errorf("%w: kind %d", errBadForward, b[0])
}

// forwardedBody is the record a forwarded op carries: the client's request,
// or for createSession the timeout the learner negotiated.
func forwardedBody(op jute.OpCode) jute.Record {
	switch {
	case op == jute.OpCreateSession:
		return &jute.CreateSessionTxn{}
	case !op.IsWrite():
		return nil
	}
	return newRequestBody(op)
}
