package jute

import (
	"bytes"
	"reflect"
	"testing"
)

// Every fuzz target checks the same invariant, on whatever decoder family it
// drives:
//
//  1. decoding arbitrary bytes never panics (an error is fine);
//  2. if decoding succeeds, encoding the value and decoding that again
//     succeeds, consumes every byte, and gives an equal value;
//  3. re-encoding is stable: the second encoding equals the first.
//
// Trailing input after a record is allowed (the Java server ignores it), so
// only the re-encoded bytes must be consumed exactly.

// checkStable runs decode over data and, if it succeeds, checks 2 and 3.
// decode returns the records it decoded, in wire order; it may choose a body
// record from a header it has read.
func checkStable(t *testing.T, data []byte, decode func(r *Reader) []Record) {
	t.Helper()
	r := NewReader(data)
	first := decode(r)
	if r.Err() != nil {
		return
	}
	var w Writer
	for _, rec := range first {
		rec.Encode(&w)
	}
	enc := w.B

	r2 := NewReader(enc)
	second := decode(r2)
	if r2.Err() != nil {
		t.Fatalf("re-encoded bytes do not decode: %v\ninput %x\nenc   %x", r2.Err(), data, enc)
	}
	if r2.Len() != 0 {
		t.Fatalf("%d re-encoded bytes left over\ninput %x\nenc   %x", r2.Len(), data, enc)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("decode(encode(v)) != v\nfirst  %+v\nsecond %+v\ninput %x", first, second, data)
	}
	var w2 Writer
	for _, rec := range second {
		rec.Encode(&w2)
	}
	if !bytes.Equal(enc, w2.B) {
		t.Fatalf("re-encode not stable\nfirst  %x\nsecond %x", enc, w2.B)
	}
}

// decodeOne returns a decode func for a single record of rec's type.
func decodeOne(rec Record) func(r *Reader) []Record {
	return func(r *Reader) []Record {
		v := newLike(rec)
		v.Decode(r)
		return []Record{v}
	}
}

// requestBody is the request record that follows a RequestHeader of type op,
// as the Java server picks it; nil when the op has no body.
func requestBody(op OpCode) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateTTLRequest{}
	case OpDelete:
		return &DeleteRequest{}
	case OpExists:
		return &ExistsRequest{}
	case OpGetData:
		return &GetDataRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetACL:
		return &GetACLRequest{}
	case OpSetACL:
		return &SetACLRequest{}
	case OpGetChildren:
		return &GetChildrenRequest{}
	case OpGetChildren2:
		return &GetChildren2Request{}
	case OpSync:
		return &SyncRequest{}
	case OpCheck:
		return &CheckVersionRequest{}
	case OpMulti, OpMultiRead:
		return &MultiRequest{}
	case OpReconfig:
		return &ReconfigRequest{}
	case OpCheckWatches:
		return &CheckWatchesRequest{}
	case OpRemoveWatches:
		return &RemoveWatchesRequest{}
	case OpAddWatch:
		return &AddWatchRequest{}
	case OpSetWatches:
		return &SetWatches{}
	case OpSetWatches2:
		return &SetWatches2{}
	case OpGetEphemerals:
		return &GetEphemeralsRequest{}
	case OpGetAllChildrenNumber:
		return &GetAllChildrenNumberRequest{}
	case OpAuth:
		return &AuthPacket{}
	case OpSASL:
		return &GetSASLRequest{}
	}
	return nil
}

// txnBody is the txn record that follows a TxnHeader of type op (also the
// record inside a MultiTxn's Txn.Data); nil when there is none.
func txnBody(op OpCode) Record {
	switch op {
	case OpCreate, OpCreate2:
		return &CreateTxn{}
	case OpCreateContainer:
		return &CreateContainerTxn{}
	case OpCreateTTL:
		return &CreateTTLTxn{}
	case OpDelete, OpDeleteContainer:
		return &DeleteTxn{}
	case OpSetData:
		return &SetDataTxn{}
	case OpSetACL:
		return &SetACLTxn{}
	case OpCheck:
		return &CheckVersionTxn{}
	case OpCreateSession:
		return &CreateSessionTxn{}
	case OpCloseSession:
		return &CloseSessionTxn{}
	case OpError:
		return &ErrorTxn{}
	case OpMulti:
		return &MultiTxn{}
	}
	return nil
}

// decodeHeaderAndBody decodes a header, then the body its type selects.
func decodeHeaderAndBody(hdr Record, typeOf func(Record) OpCode, body func(OpCode) Record) func(r *Reader) []Record {
	return func(r *Reader) []Record {
		h := newLike(hdr)
		h.Decode(r)
		out := []Record{h}
		if r.Err() != nil {
			return out
		}
		if b := body(typeOf(h)); b != nil {
			b.Decode(r)
			out = append(out, b)
		}
		return out
	}
}

func addSeeds(f *testing.F, recs ...Record) {
	for _, rec := range recs {
		f.Add(Encode(nil, rec))
	}
}

func FuzzConnectRequest(f *testing.F) {
	addSeeds(f,
		&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)},
		&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true, ReadOnly: true},
		&ConnectRequest{LastZxidSeen: 0x100000005, TimeOut: 4000, SessionID: 0x1000abcd, Passwd: samplePasswd},
		&ConnectResponse{TimeOut: 20000, SessionID: 0x1000abcd, Passwd: samplePasswd, HasReadOnly: true},
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decodeOne(&ConnectRequest{}))
		checkStable(t, data, decodeOne(&ConnectResponse{}))
	})
}

// FuzzRequestHeader drives what a connection decodes after the handshake: a
// RequestHeader and the request record its type selects.
func FuzzRequestHeader(f *testing.F) {
	frames := [][]Record{
		{&RequestHeader{Xid: XidPing, Type: OpPing}},
		{&RequestHeader{Xid: 1, Type: OpGetData}, &GetDataRequest{Path: "/a", Watch: true}},
		{&RequestHeader{Xid: 2, Type: OpCreate}, &CreateRequest{Path: "/a", Data: []byte("x"), ACL: sampleACL, Flags: 1}},
		{&RequestHeader{Xid: 3, Type: OpMulti}, &sampleMultiRequest},
		{&RequestHeader{Xid: XidAuth, Type: OpAuth}, &AuthPacket{Scheme: "digest", Auth: []byte("u:p")}},
		{&RequestHeader{Xid: XidSetWatches, Type: OpSetWatches2}, &SetWatches2{RelativeZxid: 5, DataWatches: []string{"/a"}}},
		{&RequestHeader{Xid: 4, Type: OpReconfig}, &ReconfigRequest{NewMembers: "server.1=a:1:2"}},
	}
	for _, fr := range frames {
		var w Writer
		for _, rec := range fr {
			rec.Encode(&w)
		}
		f.Add(w.B)
	}
	decode := decodeHeaderAndBody(&RequestHeader{},
		func(h Record) OpCode { return h.(*RequestHeader).Type }, requestBody)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decode)
		checkStable(t, data, decodeOne(&ReplyHeader{}))
	})
}

func FuzzMultiRequest(f *testing.F) {
	addSeeds(f, &sampleMultiRequest, &MultiRequest{},
		&MultiRequest{Ops: []MultiOp{{Type: OpCheck, Req: &CheckVersionRequest{Path: "/a", Version: 1}}}})
	f.Add([]byte{0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff}) // op with no terminator
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decodeOne(&MultiRequest{}))
	})
}

func FuzzMultiResponse(f *testing.F) {
	addSeeds(f, &sampleMultiResponse, &MultiResponse{},
		&MultiResponse{Results: []MultiResult{{Type: OpError, Err: ErrNoNode, Resp: &ErrorResponse{Err: ErrNoNode}}}})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decodeOne(&MultiResponse{}))
	})
}

func FuzzSetWatches2(f *testing.F) {
	addSeeds(f,
		&SetWatches2{RelativeZxid: 0x10000000b, DataWatches: []string{"/d"}, ExistWatches: []string{"/e"},
			ChildWatches: []string{"/c"}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r"}},
		&SetWatches2{},
		&SetWatches{RelativeZxid: 1, DataWatches: []string{"/a", "/b"}},
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decodeOne(&SetWatches2{}))
		checkStable(t, data, decodeOne(&SetWatches{}))
	})
}

// FuzzTxnHeader drives a txn as the log stores it: a TxnHeader and the txn
// record its type selects.
func FuzzTxnHeader(f *testing.F) {
	txns := [][2]Record{
		{&TxnHeader{ClientID: 1, Cxid: 2, Zxid: 3, Time: 4, Type: OpCreate}, &CreateTxn{Path: "/a", Data: []byte("x"), ACL: sampleACL, ParentCVersion: 1}},
		{&TxnHeader{ClientID: 1, Zxid: 5, Type: OpCreateSession}, &CreateSessionTxn{TimeOut: 30000}},
		{&TxnHeader{ClientID: 1, Zxid: 6, Type: OpCloseSession}, &CloseSessionTxn{Paths2Delete: []string{"/e"}}},
		{&TxnHeader{ClientID: 1, Zxid: 7, Type: OpError}, &ErrorTxn{Err: ErrNoNode}},
	}
	for _, tx := range txns {
		f.Add(Encode(Encode(nil, tx[0]), tx[1]))
	}
	decode := decodeHeaderAndBody(&TxnHeader{},
		func(h Record) OpCode { return h.(*TxnHeader).Type }, txnBody)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decode)
	})
}

// FuzzMultiTxn decodes a MultiTxn and then each sub-txn's data by its type,
// as a server applying the multi would.
func FuzzMultiTxn(f *testing.F) {
	sub := func(rec Record) []byte { return Encode(nil, rec) }
	addSeeds(f, &MultiTxn{}, &MultiTxn{Txns: []Txn{
		{Type: OpCreate, Data: sub(&CreateTxn{Path: "/a", Data: []byte("x"), ACL: sampleACL, ParentCVersion: 1})},
		{Type: OpSetData, Data: sub(&SetDataTxn{Path: "/a", Data: []byte("y"), Version: 1})},
		{Type: OpCheck, Data: sub(&CheckVersionTxn{Path: "/a", Version: 1})},
		{Type: OpDelete, Data: sub(&DeleteTxn{Path: "/a"})},
		{Type: OpError, Data: sub(&ErrorTxn{Err: ErrRuntimeInconsistency})},
	}})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MultiTxn
		checkStable(t, data, func(r *Reader) []Record {
			m = MultiTxn{}
			m.Decode(r)
			return []Record{&m}
		})
		if Decode(data, &m) != nil {
			return
		}
		for _, tx := range m.Txns {
			if body := txnBody(tx.Type); body != nil {
				checkStable(t, tx.Data, decodeOne(body))
			}
		}
	})
}

func FuzzCreateTxn(f *testing.F) {
	addSeeds(f,
		&CreateTxn{Path: "/a", Data: []byte("x"), ACL: sampleACL, Ephemeral: true, ParentCVersion: 1},
		&CreateTxn{Path: "/a"},
		&CreateTTLTxn{Path: "/t", Data: []byte("x"), ACL: sampleACL, ParentCVersion: 2, TTL: 100},
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, data, decodeOne(&CreateTxn{}))
		checkStable(t, data, decodeOne(&CreateContainerTxn{}))
		checkStable(t, data, decodeOne(&CreateTTLTxn{}))
	})
}

// FuzzAllRecords picks a record type from the first byte and decodes the
// rest as that record, so every codec gets fuzzed.
func FuzzAllRecords(f *testing.F) {
	recs := sampleRecords()
	for i, rec := range recs {
		f.Add(append([]byte{byte(i)}, Encode(nil, rec)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		checkStable(t, data[1:], decodeOne(recs[int(data[0])%len(recs)]))
	})
}
