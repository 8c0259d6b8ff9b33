package jute

import (
	"errors"
	"fmt"
)

// Codecs for multi (14) and multiRead (22), as MultiOperationRecord and
// MultiResponse do it in the Java server: each op or result is a MultiHeader
// followed by that op's record, and a header with Done set ends the list
// (writers send {-1, true, -1}). There is no count, so the list is only as
// long as the input that holds it.

// ErrMultiOpType means a multi request or response named an op type that
// cannot appear there (Java: "Invalid type of op"), or a lone MultiOp or
// MultiResult found the terminator where an entry belongs.
var ErrMultiOpType = errors.New("jute: invalid op type in multi")

// multiInitialCap sizes the op list on the first op: most multis are a
// handful of ops, and one allocation beats three rounds of growth.
const multiInitialCap = 4

// multiEnd is the header that ends a multi request or response.
var multiEnd = MultiHeader{Type: -1, Done: true, Err: -1}

// failWith makes err the Reader's sticky error (if it has none yet).
func (r *Reader) failWith(err error) { r.fail(err) }

// newMultiOpRequest returns an empty request record for a multi op type, or
// nil when the type cannot appear in a multi request.
func newMultiOpRequest(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return new(CreateRequest)
	case OpCreateTTL:
		return new(CreateTTLRequest)
	case OpDelete:
		return new(DeleteRequest)
	case OpSetData:
		return new(SetDataRequest)
	case OpCheck:
		return new(CheckVersionRequest)
	case OpGetChildren:
		return new(GetChildrenRequest)
	case OpGetData:
		return new(GetDataRequest)
	}
	return nil
}

// multiOpRequestFits reports whether rec is the request record of type t, so
// the encoder never writes bytes a decoder would read as another record.
func multiOpRequestFits(t OpCode, rec Record) bool {
	switch rec.(type) {
	case *CreateRequest:
		return t == OpCreate || t == OpCreate2 || t == OpCreateContainer
	case *CreateTTLRequest:
		return t == OpCreateTTL
	case *DeleteRequest:
		return t == OpDelete
	case *SetDataRequest:
		return t == OpSetData
	case *CheckVersionRequest:
		return t == OpCheck
	case *GetChildrenRequest:
		return t == OpGetChildren
	case *GetDataRequest:
		return t == OpGetData
	}
	return false
}

// newMultiResult returns an empty result body for a multi result type. ok is
// false when the type cannot appear in a multi response; delete and check
// results have no body (nil, true).
func newMultiResult(t OpCode) (rec Record, ok bool) {
	switch t {
	case OpCreate:
		return new(CreateResponse), true
	case OpCreate2:
		return new(Create2Response), true
	case OpSetData:
		return new(SetDataResponse), true
	case OpDelete, OpCheck:
		return nil, true
	case OpGetChildren:
		return new(GetChildrenResponse), true
	case OpGetData:
		return new(GetDataResponse), true
	case OpError:
		return new(ErrorResponse), true
	}
	return nil, false
}

// multiResultFits reports whether rec is the result body of type t.
func multiResultFits(t OpCode, rec Record) bool {
	switch rec.(type) {
	case nil:
		return t == OpDelete || t == OpCheck
	case *CreateResponse:
		return t == OpCreate
	case *Create2Response:
		return t == OpCreate2
	case *SetDataResponse:
		return t == OpSetData
	case *GetChildrenResponse:
		return t == OpGetChildren
	case *GetDataResponse:
		return t == OpGetData
	case *ErrorResponse:
		return t == OpError
	}
	return false
}

// Encode writes the op's header {Type, false, -1} and its request record, as
// the Java client does. A Req that does not match Type is a bug in the
// caller, not input, so it panics rather than write a frame nobody can read.
func (o *MultiOp) Encode(w *Writer) {
	if o.Req == nil || !multiOpRequestFits(o.Type, o.Req) {
		panic(fmt.Sprintf("jute: multi op %v carries request %T", o.Type, o.Req))
	}
	h := MultiHeader{Type: o.Type, Done: false, Err: -1}
	h.Encode(w)
	o.Req.Encode(w)
}

// Decode reads one op. A terminator header here is an error: only
// MultiRequest knows where the list ends.
func (o *MultiOp) Decode(r *Reader) {
	var h MultiHeader
	h.Decode(r)
	if r.Err() != nil {
		return
	}
	if h.Done {
		r.failWith(fmt.Errorf("%w: end of list where an op belongs", ErrMultiOpType))
		return
	}
	o.decodeBody(r, h.Type)
}

func (o *MultiOp) decodeBody(r *Reader, t OpCode) {
	o.Type, o.Req = t, newMultiOpRequest(t)
	if o.Req == nil {
		r.failWith(fmt.Errorf("%w: request op %v", ErrMultiOpType, t))
		return
	}
	o.Req.Decode(r)
}

func (m *MultiRequest) Encode(w *Writer) {
	for i := range m.Ops {
		m.Ops[i].Encode(w)
	}
	end := multiEnd
	end.Encode(w)
}

// Decode reads ops until a header with Done set; the Java server looks only
// at Done, not at the terminator's type or err. Input that ends first is
// ErrShort.
func (m *MultiRequest) Decode(r *Reader) {
	m.Ops = nil
	for r.Err() == nil {
		var h MultiHeader
		h.Decode(r)
		if r.Err() != nil || h.Done {
			return
		}
		if m.Ops == nil {
			m.Ops = make([]MultiOp, 0, multiInitialCap)
		}
		var op MultiOp
		op.decodeBody(r, h.Type)
		m.Ops = append(m.Ops, op)
	}
}

// Encode writes the result's header {Type, false, Err} and its body. For
// OpError with no Resp the body is ErrorResponse{Err}, since the Java server
// puts the same code in both places. A Resp that does not match Type panics,
// as in MultiOp.Encode.
func (res *MultiResult) Encode(w *Writer) {
	h := MultiHeader{Type: res.Type, Done: false, Err: res.Err}
	if res.Type == OpError && res.Resp == nil {
		h.Encode(w)
		w.Int(int32(res.Err)) // ErrorResponse{Err}
		return
	}
	if !multiResultFits(res.Type, res.Resp) {
		panic(fmt.Sprintf("jute: multi result %v carries response %T", res.Type, res.Resp))
	}
	h.Encode(w)
	if res.Resp != nil {
		res.Resp.Encode(w)
	}
}

// Decode reads one result; a terminator header here is an error.
func (res *MultiResult) Decode(r *Reader) {
	var h MultiHeader
	h.Decode(r)
	if r.Err() != nil {
		return
	}
	if h.Done {
		r.failWith(fmt.Errorf("%w: end of list where a result belongs", ErrMultiOpType))
		return
	}
	res.decodeBody(r, h)
}

func (res *MultiResult) decodeBody(r *Reader, h MultiHeader) {
	rec, ok := newMultiResult(h.Type)
	res.Type, res.Err, res.Resp = h.Type, h.Err, rec
	if !ok {
		r.failWith(fmt.Errorf("%w: result op %v", ErrMultiOpType, h.Type))
		return
	}
	if rec != nil {
		rec.Decode(r)
	}
}

func (m *MultiResponse) Encode(w *Writer) {
	for i := range m.Results {
		m.Results[i].Encode(w)
	}
	end := multiEnd
	end.Encode(w)
}

// Decode reads results until a header with Done set, as MultiRequest.Decode.
func (m *MultiResponse) Decode(r *Reader) {
	m.Results = nil
	for r.Err() == nil {
		var h MultiHeader
		h.Decode(r)
		if r.Err() != nil || h.Done {
			return
		}
		if m.Results == nil {
			m.Results = make([]MultiResult, 0, multiInitialCap)
		}
		var res MultiResult
		res.decodeBody(r, h)
		m.Results = append(m.Results, res)
	}
}
