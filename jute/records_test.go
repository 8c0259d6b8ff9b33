package jute

import (
	"bytes"
	"encoding/hex"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// Samples with a non-zero value in every field, shared by the round-trip
// tests, the fuzz seeds and FuzzAllRecords.

var sampleStat = Stat{
	Czxid: 0x100000001, Mzxid: 0x100000002, Ctime: 1700000000000, Mtime: 1700000000001,
	Version: 3, Cversion: 4, Aversion: 5, EphemeralOwner: 0x1000abcd, DataLength: 6,
	NumChildren: 7, Pzxid: 0x100000003,
}

var sampleACL = []ACL{
	{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}},
	{Perms: PermRead | PermAdmin, ID: ID{Scheme: "digest", ID: "bob:x1y2"}},
}

var samplePasswd = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

var sampleMultiRequest = MultiRequest{Ops: []MultiOp{
	{Type: OpCreate, Req: &CreateRequest{Path: "/a", Data: []byte("x"), ACL: sampleACL, Flags: ModeEphemeral}},
	{Type: OpCreate2, Req: &CreateRequest{Path: "/b", Data: []byte{}, ACL: sampleACL, Flags: ModePersistentSequential}},
	{Type: OpCreateContainer, Req: &CreateRequest{Path: "/c", ACL: sampleACL, Flags: ModeContainer}},
	{Type: OpCreateTTL, Req: &CreateTTLRequest{Path: "/d", Data: []byte("y"), ACL: sampleACL, Flags: ModePersistentWithTTL, TTL: 5000}},
	{Type: OpDelete, Req: &DeleteRequest{Path: "/e", Version: -1}},
	{Type: OpSetData, Req: &SetDataRequest{Path: "/f", Data: []byte("z"), Version: 2}},
	{Type: OpCheck, Req: &CheckVersionRequest{Path: "/g", Version: 9}},
	{Type: OpGetChildren, Req: &GetChildrenRequest{Path: "/h", Watch: true}},
	{Type: OpGetData, Req: &GetDataRequest{Path: "/i", Watch: true}},
}}

var sampleMultiResponse = MultiResponse{Results: []MultiResult{
	{Type: OpCreate, Resp: &CreateResponse{Path: "/a"}},
	{Type: OpCreate2, Resp: &Create2Response{Path: "/b0000000001", Stat: sampleStat}},
	{Type: OpSetData, Resp: &SetDataResponse{Stat: sampleStat}},
	{Type: OpDelete},
	{Type: OpCheck},
	{Type: OpGetChildren, Resp: &GetChildrenResponse{Children: []string{"x", "y"}}},
	{Type: OpGetData, Resp: &GetDataResponse{Data: []byte("v"), Stat: sampleStat}},
	{Type: OpError, Err: ErrNodeExists, Resp: &ErrorResponse{Err: ErrNodeExists}},
	{Type: OpError, Err: ErrRuntimeInconsistency, Resp: &ErrorResponse{Err: ErrRuntimeInconsistency}},
}}

// sampleRecords holds one sample of every struct in records.go.
func sampleRecords() []Record {
	return []Record{
		&ConnectRequest{ProtocolVersion: 1, LastZxidSeen: 0x200000005, TimeOut: 30000, SessionID: 0x1000abcd, Passwd: samplePasswd, ReadOnly: true, HasReadOnly: true},
		&ConnectResponse{ProtocolVersion: 1, TimeOut: 20000, SessionID: 0x1000abcd, Passwd: samplePasswd, ReadOnly: true, HasReadOnly: true},
		&RequestHeader{Xid: 7, Type: OpGetData},
		&ReplyHeader{Xid: 7, Zxid: 0x100000009, Err: ErrNoNode},
		&Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7, EphemeralOwner: 8, DataLength: 9, NumChildren: 10, Pzxid: 11},
		&ID{Scheme: "ip", ID: "10.0.0.1"},
		&ACL{Perms: PermCreate, ID: ID{Scheme: "sasl", ID: "alice"}},
		&CreateRequest{Path: "/app/lock-", Data: []byte("hello"), ACL: sampleACL, Flags: ModeEphemeralSequential},
		&CreateTTLRequest{Path: "/ttl", Data: []byte("t"), ACL: sampleACL, Flags: ModePersistentSequentialWithTTL, TTL: 60000},
		&CreateResponse{Path: "/app/lock-0000000001"},
		&Create2Response{Path: "/app/node", Stat: sampleStat},
		&DeleteRequest{Path: "/app/node", Version: 3},
		&ExistsRequest{Path: "/app", Watch: true},
		&ExistsResponse{Stat: sampleStat},
		&GetDataRequest{Path: "/zookeeper/config", Watch: true},
		&GetDataResponse{Data: []byte("server.1=a:2888:3888"), Stat: sampleStat},
		&SetDataRequest{Path: "/app", Data: []byte("new"), Version: 4},
		&SetDataResponse{Stat: sampleStat},
		&GetACLRequest{Path: "/app"},
		&GetACLResponse{ACL: sampleACL, Stat: sampleStat},
		&SetACLRequest{Path: "/app", ACL: sampleACL, Version: 1},
		&SetACLResponse{Stat: sampleStat},
		&GetChildrenRequest{Path: "/", Watch: true},
		&GetChildrenResponse{Children: []string{"zookeeper", "app", ""}},
		&GetChildren2Request{Path: "/app", Watch: true},
		&GetChildren2Response{Children: []string{"a", "b"}, Stat: sampleStat},
		&SyncRequest{Path: "/app"},
		&SyncResponse{Path: "/app"},
		&CheckVersionRequest{Path: "/app", Version: 2},
		&MultiHeader{Type: OpCreate, Done: true, Err: ErrNodeExists},
		&ErrorResponse{Err: ErrNoWatcher},
		&ReconfigRequest{JoiningServers: "server.4=h4:2888:3888", LeavingServers: "2,3", NewMembers: "server.1=h1:2888:3888", CurConfigID: 0x100000000},
		&CheckWatchesRequest{Path: "/w", Type: WatcherData},
		&RemoveWatchesRequest{Path: "/w", Type: WatcherAny},
		&AddWatchRequest{Path: "/w", Mode: AddWatchPersistentRecursive},
		&SetWatches{RelativeZxid: 0x10000000a, DataWatches: []string{"/d"}, ExistWatches: []string{"/e1", "/e2"}, ChildWatches: []string{"/c"}},
		&SetWatches2{RelativeZxid: 0x10000000b, DataWatches: []string{"/d"}, ExistWatches: []string{"/e"}, ChildWatches: []string{"/c"}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r", "/r2"}},
		&GetEphemeralsRequest{PrefixPath: "/app"},
		&GetEphemeralsResponse{Ephemerals: []string{"/app/e1", "/app/e2"}},
		&GetAllChildrenNumberRequest{Path: "/app"},
		&GetAllChildrenNumberResponse{TotalNumber: 42},
		&ClientInfo{AuthScheme: "ip", User: "127.0.0.1"},
		&WhoAmIResponse{ClientInfo: []ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: "bob"}}},
		&AuthPacket{Type: 1, Scheme: "digest", Auth: []byte("bob:secret")},
		&GetSASLRequest{Token: []byte{0x60, 0x82}},
		&SetSASLResponse{Token: []byte{0xa1, 0x07}},
		&WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/app"},
		&MultiOp{Type: OpSetData, Req: &SetDataRequest{Path: "/m", Data: []byte("d"), Version: 1}},
		&sampleMultiRequest,
		&MultiResult{Type: OpError, Err: ErrBadVersion, Resp: &ErrorResponse{Err: ErrBadVersion}},
		&sampleMultiResponse,
		&TxnHeader{ClientID: 0x1000abcd, Cxid: 12, Zxid: 0x10000000c, Time: 1700000000002, Type: OpCreate},
		&CreateTxn{Path: "/t", Data: []byte("d"), ACL: sampleACL, Ephemeral: true, ParentCVersion: 3},
		&CreateContainerTxn{Path: "/c", Data: []byte("d"), ACL: sampleACL, ParentCVersion: 4},
		&CreateTTLTxn{Path: "/ttl", Data: []byte("d"), ACL: sampleACL, ParentCVersion: 5, TTL: 1000},
		&DeleteTxn{Path: "/t"},
		&SetDataTxn{Path: "/t", Data: []byte("d2"), Version: 6},
		&CheckVersionTxn{Path: "/t", Version: 7},
		&SetACLTxn{Path: "/t", ACL: sampleACL, Version: 8},
		&CreateSessionTxn{TimeOut: 30000},
		&CloseSessionTxn{Paths2Delete: []string{"/e1", "/e2"}},
		&ErrorTxn{Err: ErrNoNode},
		&Txn{Type: OpDelete, Data: []byte{0, 0, 0, 2, '/', 't'}},
		&MultiTxn{Txns: []Txn{{Type: OpDelete, Data: []byte{0, 0, 0, 2, '/', 't'}}, {Type: OpError, Data: []byte{0xff, 0xff, 0xff, 0x9b}}}},
	}
}

// newLike returns a new zero record of the same type as rec.
func newLike(rec Record) Record {
	return reflect.New(reflect.TypeOf(rec).Elem()).Interface().(Record)
}

func typeName(rec Record) string { return reflect.TypeOf(rec).Elem().Name() }

func mustDecode(t testing.TB, b []byte, rec Record) {
	t.Helper()
	if err := Decode(b, rec); err != nil {
		t.Fatalf("decode %s: %v", typeName(rec), err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSamplesCoverRecords parses records.go and checks that every struct
// declared there has a sample, so a new record cannot miss its codec tests.
func TestSamplesCoverRecords(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "records.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if _, ok := ts.Type.(*ast.StructType); ok {
				declared = append(declared, ts.Name.Name)
			}
		}
		return true
	})
	have := map[string]bool{}
	for _, rec := range sampleRecords() {
		if have[typeName(rec)] {
			t.Errorf("two samples of %s", typeName(rec))
		}
		have[typeName(rec)] = true
	}
	sort.Strings(declared)
	for _, name := range declared {
		if !have[name] {
			t.Errorf("records.go declares %s but sampleRecords has no sample of it", name)
		}
	}
	if len(declared) != len(have) {
		t.Errorf("records.go declares %d structs, sampleRecords has %d", len(declared), len(have))
	}
}

// requireNonZero fails if any field of v (recursing into struct fields) is
// its zero value: a field the codec forgot would then round-trip unnoticed.
func requireNonZero(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), path+"."+v.Type().Field(i).Name
		if f.IsZero() {
			t.Errorf("%s is zero in the sample", name)
		}
		if f.Kind() == reflect.Struct {
			requireNonZero(t, name, f)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, rec := range sampleRecords() {
		t.Run(typeName(rec), func(t *testing.T) {
			requireNonZero(t, typeName(rec), reflect.ValueOf(rec).Elem())
			enc := Encode(nil, rec)
			got := newLike(rec)
			r := NewReader(enc)
			got.Decode(r)
			if r.Err() != nil {
				t.Fatalf("decode: %v", r.Err())
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes left after decode", r.Len())
			}
			if !reflect.DeepEqual(rec, got) {
				t.Errorf("round trip mismatch\n sent %+v\n  got %+v", rec, got)
			}
			if again := Encode(nil, got); !bytes.Equal(enc, again) {
				t.Errorf("re-encode differs\n first %x\nsecond %x", enc, again)
			}
			// Appending to existing bytes must not disturb them.
			prefix := []byte{0xde, 0xad}
			if out := Encode(prefix, rec); !bytes.Equal(out[:2], prefix) || !bytes.Equal(out[2:], enc) {
				t.Errorf("Encode with a prefix wrote %x", out)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		hex  string
		size int
	}{
		{"RequestHeader", &RequestHeader{Xid: 1, Type: OpGetData}, "00000001 00000004", 8},
		{"PingHeader", &RequestHeader{Xid: XidPing, Type: OpPing}, "fffffffe 0000000b", 8},
		{"ReplyHeader", &ReplyHeader{Xid: 1, Zxid: 0x100000002, Err: ErrNoNode},
			"00000001 0000000100000002 ffffff9b", 16},
		{"Stat", &Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7,
			EphemeralOwner: 8, DataLength: 9, NumChildren: 10, Pzxid: 11},
			"0000000000000001 0000000000000002 0000000000000003 0000000000000004 00000005 00000006 00000007" +
				" 0000000000000008 00000009 0000000a 000000000000000b", 68},
		// A fresh Java client: version 0, no zxid, 30 s, no session, 16 zero bytes.
		{"ConnectRequest", &ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)},
			"00000000 0000000000000000 00007530 0000000000000000 00000010 00000000000000000000000000000000", 44},
		{"ConnectRequestReadOnly", &ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true, ReadOnly: true},
			"00000000 0000000000000000 00007530 0000000000000000 00000010 00000000000000000000000000000000 01", 45},
		{"ConnectResponse", &ConnectResponse{TimeOut: 20000, SessionID: 0x1000abcd, Passwd: samplePasswd},
			"00000000 00004e20 000000001000abcd 00000010 0102030405060708090a0b0c0d0e0f10", 36},
		{"ConnectResponseReadOnly", &ConnectResponse{TimeOut: 20000, SessionID: 0x1000abcd, Passwd: samplePasswd, HasReadOnly: true},
			"00000000 00004e20 000000001000abcd 00000010 0102030405060708090a0b0c0d0e0f10 00", 37},
		{"GetDataRequest", &GetDataRequest{Path: "/a", Watch: true}, "00000002 2f61 01", 7},
		{"CreateRequest", &CreateRequest{Path: "/a", Data: []byte("x"), ACL: []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}, Flags: ModeEphemeral},
			"00000002 2f61 00000001 78 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00000001", 0},
		{"WatcherEvent", &WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"},
			"00000001 00000003 00000002 2f61", 14},
		{"EmptyMulti", &MultiRequest{}, "ffffffff 01 ffffffff", 9},
		{"MultiRequest", &MultiRequest{Ops: []MultiOp{{Type: OpDelete, Req: &DeleteRequest{Path: "/a", Version: -1}}}},
			"00000002 00 ffffffff 00000002 2f61 ffffffff  ffffffff 01 ffffffff", 0},
		// The Java failure shape: ops before the failing one OK, the failing
		// one its code, in the header and the ErrorResponse.
		{"MultiResponse", &MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Resp: &CreateResponse{Path: "/a"}},
			{Type: OpError, Err: ErrNodeExists, Resp: &ErrorResponse{Err: ErrNodeExists}},
			{Type: OpDelete},
		}}, "00000001 00 00000000 00000002 2f61  ffffffff 00 ffffff92 ffffff92  00000002 00 00000000  ffffffff 01 ffffffff", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got := Encode(nil, tt.rec)
			if !bytes.Equal(got, want) {
				t.Fatalf("encode\n got %x\nwant %x", got, want)
			}
			if tt.size != 0 && len(got) != tt.size {
				t.Errorf("size %d, want %d", len(got), tt.size)
			}
			dec := newLike(tt.rec)
			mustDecode(t, want, dec)
			if !reflect.DeepEqual(dec, tt.rec) {
				t.Errorf("decode\n got %+v\nwant %+v", dec, tt.rec)
			}
		})
	}
}

// An OpError result without a Resp still gets its ErrorResponse body.
func TestMultiResultErrorWithoutBody(t *testing.T) {
	res := MultiResult{Type: OpError, Err: ErrNoNode}
	want := unhex(t, "ffffffff 00 ffffff9b ffffff9b")
	if got := Encode(nil, &res); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}

func TestNullAndEmptyBuffers(t *testing.T) {
	// Java round-trips null data; an empty buffer stays empty.
	null := Encode(nil, &GetDataResponse{Data: nil})
	empty := Encode(nil, &GetDataResponse{Data: []byte{}})
	if !bytes.HasPrefix(null, []byte{0xff, 0xff, 0xff, 0xff}) || !bytes.HasPrefix(empty, []byte{0, 0, 0, 0}) {
		t.Fatalf("null %x, empty %x", null[:4], empty[:4])
	}
	var a, b GetDataResponse
	mustDecode(t, null, &a)
	mustDecode(t, empty, &b)
	if a.Data != nil {
		t.Errorf("null buffer decoded as %#v, want nil", a.Data)
	}
	if b.Data == nil || len(b.Data) != 0 {
		t.Errorf("empty buffer decoded as %#v, want non-nil empty", b.Data)
	}

	// A null ustring reads as "", a null vector as nil; both re-encode as empty.
	var c CreateRequest
	mustDecode(t, unhex(t, "ffffffff ffffffff ffffffff 00000000"), &c)
	want := CreateRequest{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("null fields decoded as %+v", c)
	}
	if got := Encode(nil, &c); !bytes.Equal(got, unhex(t, "00000000 ffffffff 00000000 00000000")) {
		t.Errorf("re-encoded as %x", got)
	}

	// Other negative lengths are errors.
	for _, in := range []string{"fffffffe", "80000000"} {
		var g GetDataResponse
		if err := Decode(unhex(t, in+"00000000"), &g); !errors.Is(err, ErrLength) {
			t.Errorf("buffer length %s: err %v, want ErrLength", in, err)
		}
		var s GetChildrenResponse
		if err := Decode(unhex(t, in+"00000000"), &s); !errors.Is(err, ErrLength) {
			t.Errorf("vector count %s: err %v, want ErrLength", in, err)
		}
	}
}

// A decoded buffer aliases the frame but must not let an append reach into
// the bytes after it.
func TestDecodedBufferCapacity(t *testing.T) {
	in := Encode(nil, &SetDataRequest{Path: "/a", Data: []byte("ab"), Version: 0x01020304})
	var s SetDataRequest
	mustDecode(t, in, &s)
	_ = append(s.Data, 'X', 'X', 'X', 'X')
	var again SetDataRequest
	mustDecode(t, in, &again)
	if again.Version != 0x01020304 {
		t.Fatalf("append to a decoded buffer overwrote the input: version %#x", again.Version)
	}
}

func TestConnectReadOnlyByte(t *testing.T) {
	base := unhex(t, "00000000 0000000000000005 00007530 0000000000000007 00000010 00000000000000000000000000000000")
	tests := []struct {
		name         string
		tail         []byte
		has, readOnl bool
	}{
		{"absent", nil, false, false},
		{"false", []byte{0}, true, false},
		{"true", []byte{1}, true, true},
		{"non-zero is true", []byte{7}, true, true},
		{"trailing bytes ignored", []byte{1, 9, 9}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(append([]byte{}, base...), tt.tail...)
			var c ConnectRequest
			mustDecode(t, in, &c)
			if c.HasReadOnly != tt.has || c.ReadOnly != tt.readOnl {
				t.Errorf("HasReadOnly=%v ReadOnly=%v, want %v %v", c.HasReadOnly, c.ReadOnly, tt.has, tt.readOnl)
			}
			if c.LastZxidSeen != 5 || c.SessionID != 7 || c.TimeOut != 30000 || len(c.Passwd) != 16 {
				t.Errorf("mandatory fields wrong: %+v", c)
			}
			// The response mirrors the same optional byte.
			resp := append(unhex(t, "00000000 00007530 0000000000000007 00000010 00000000000000000000000000000000"), tt.tail...)
			var cr ConnectResponse
			mustDecode(t, resp, &cr)
			if cr.HasReadOnly != tt.has || cr.ReadOnly != tt.readOnl {
				t.Errorf("response HasReadOnly=%v ReadOnly=%v, want %v %v", cr.HasReadOnly, cr.ReadOnly, tt.has, tt.readOnl)
			}
		})
	}

	// Encode writes the byte only when HasReadOnly, whatever ReadOnly says.
	if n := len(Encode(nil, &ConnectRequest{Passwd: make([]byte, 16), ReadOnly: true})); n != 44 {
		t.Errorf("ConnectRequest without HasReadOnly is %d bytes, want 44", n)
	}
	if n := len(Encode(nil, &ConnectResponse{Passwd: make([]byte, 16), ReadOnly: true})); n != 36 {
		t.Errorf("ConnectResponse without HasReadOnly is %d bytes, want 36", n)
	}

	// Decoding into a used record clears a stale HasReadOnly.
	c := ConnectRequest{HasReadOnly: true, ReadOnly: true}
	mustDecode(t, base, &c)
	if c.HasReadOnly || c.ReadOnly {
		t.Errorf("stale read-only flags survived: %+v", c)
	}
}

// Every strict prefix of an encoding is ErrShort or ErrLength, never a panic
// and never success (except where a trailing field is optional).
func TestTruncated(t *testing.T) {
	recs := []Record{
		&ConnectRequest{TimeOut: 30000, Passwd: samplePasswd},
		&ConnectResponse{TimeOut: 30000, Passwd: samplePasswd},
		&ReplyHeader{Xid: 1, Zxid: 2, Err: 3},
		&CreateRequest{Path: "/a/b", Data: []byte("data"), ACL: sampleACL, Flags: 1},
		&GetDataResponse{Data: []byte("data"), Stat: sampleStat},
		&SetWatches2{RelativeZxid: 1, DataWatches: []string{"/a"}, ExistWatches: []string{"/b"}, ChildWatches: []string{"/c"}, PersistentWatches: []string{"/d"}, PersistentRecursiveWatches: []string{"/e"}},
		&WhoAmIResponse{ClientInfo: []ClientInfo{{AuthScheme: "ip", User: "u"}}},
		&sampleMultiRequest,
		&sampleMultiResponse,
		&MultiTxn{Txns: []Txn{{Type: OpDelete, Data: []byte("xyz")}}},
		&CreateTTLTxn{Path: "/t", Data: []byte("d"), ACL: sampleACL, ParentCVersion: 1, TTL: 2},
	}
	for _, rec := range recs {
		t.Run(typeName(rec), func(t *testing.T) {
			enc := Encode(nil, rec)
			for n := 0; n < len(enc); n++ {
				got := newLike(rec)
				err := Decode(enc[:n:n], got)
				if err == nil {
					t.Errorf("prefix of %d/%d bytes decoded without error: %+v", n, len(enc), got)
					continue
				}
				if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) {
					t.Errorf("prefix of %d/%d bytes: err %v, want ErrShort or ErrLength", n, len(enc), err)
				}
			}
		})
	}
}

// heapGrowth reports how many bytes f allocates.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileCounts(t *testing.T) {
	tests := []struct {
		name   string
		rec    Record
		prefix string // bytes before the count
	}{
		{"CreateRequest.ACL", &CreateRequest{}, "00000001 2f 00000000"},
		{"GetACLResponse.ACL", &GetACLResponse{}, ""},
		{"GetChildrenResponse", &GetChildrenResponse{}, ""},
		{"SetWatches2.DataWatches", &SetWatches2{}, "0000000000000001"},
		{"WhoAmIResponse", &WhoAmIResponse{}, ""},
		{"CloseSessionTxn", &CloseSessionTxn{}, ""},
		{"MultiTxn", &MultiTxn{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, count := range []string{"7fffffff", "00100000", "fffffffe", "80000000"} {
				in := append(unhex(t, tt.prefix+count), make([]byte, 64)...)
				var err error
				grew := heapGrowth(func() { err = Decode(in, newLike(tt.rec)) })
				if !errors.Is(err, ErrLength) {
					t.Errorf("count %s: err %v, want ErrLength", count, err)
				}
				if grew > 16<<10 {
					t.Errorf("count %s: decode allocated %d bytes for a %d-byte input", count, grew, len(in))
				}
			}
		})
	}
}

// The Count bound is exact: n elements of the minimum size fit, n+1 do not.
func TestCountBoundIsTight(t *testing.T) {
	tests := []struct {
		rec     Record
		minElem int
	}{
		{&GetACLResponse{}, minACLBytes},
		{&GetChildrenResponse{}, 4},
		{&WhoAmIResponse{}, minClientInfoBytes},
		{&MultiTxn{}, minTxnBytes},
	}
	for _, tt := range tests {
		t.Run(typeName(tt.rec), func(t *testing.T) {
			// Three minimal elements (all zero bytes: empty strings, perms 0),
			// plus, for GetACLResponse, the Stat that follows the vector.
			tail := 0
			if _, ok := tt.rec.(*GetACLResponse); ok {
				tail = statBytes
			}
			body := make([]byte, 3*tt.minElem+tail)
			ok := append(unhex(t, "00000003"), body...)
			if err := Decode(ok, newLike(tt.rec)); err != nil {
				t.Errorf("3 minimal elements: %v", err)
			}
			over := append(unhex(t, "00000004"), make([]byte, 3*tt.minElem+tt.minElem-1)...)
			if err := Decode(over, newLike(tt.rec)); !errors.Is(err, ErrLength) {
				t.Errorf("4 elements in too few bytes: err %v, want ErrLength", err)
			}
		})
	}
}

func TestMultiTerminator(t *testing.T) {
	end := "ffffffff 01 ffffffff"
	del := "00000002 00 ffffffff 00000002 2f61 00000003"

	t.Run("request ends at any done header", func(t *testing.T) {
		// Java looks only at done, not at the terminator's type or err.
		var m MultiRequest
		r := NewReader(unhex(t, del+"00000005 01 00000000 cafe"))
		m.Decode(r)
		if r.Err() != nil || len(m.Ops) != 1 {
			t.Fatalf("err %v, ops %+v", r.Err(), m.Ops)
		}
		if !bytes.Equal(r.Rest(), []byte{0xca, 0xfe}) {
			t.Errorf("decode read past the terminator: rest %x", r.Rest())
		}
		want := MultiOp{Type: OpDelete, Req: &DeleteRequest{Path: "/a", Version: 3}}
		if !reflect.DeepEqual(m.Ops[0], want) {
			t.Errorf("op %+v", m.Ops[0])
		}
	})
	t.Run("request header err is ignored", func(t *testing.T) {
		var m MultiRequest
		mustDecode(t, unhex(t, "00000002 00 00000000 00000002 2f61 00000003"+end), &m)
		if got := Encode(nil, &m); !bytes.Equal(got, unhex(t, del+end)) {
			t.Errorf("re-encoded as %x", got)
		}
	})
	t.Run("missing terminator", func(t *testing.T) {
		for _, in := range []string{"", del, del + "ffffffff", del + "ffffffff01ffff"} {
			var m MultiRequest
			if err := Decode(unhex(t, in), &m); !errors.Is(err, ErrShort) {
				t.Errorf("%q: err %v, want ErrShort", in, err)
			}
			var res MultiResponse
			if err := Decode(unhex(t, strings.Replace(in, del, "00000002 00 00000000", 1)), &res); !errors.Is(err, ErrShort) {
				t.Errorf("response %q: err %v, want ErrShort", in, err)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		var m MultiRequest
		mustDecode(t, unhex(t, end), &m)
		if m.Ops != nil {
			t.Errorf("ops %+v", m.Ops)
		}
		var res MultiResponse
		mustDecode(t, unhex(t, end), &res)
		if res.Results != nil {
			t.Errorf("results %+v", res.Results)
		}
	})
	t.Run("request op types", func(t *testing.T) {
		for _, op := range []OpCode{OpExists, OpSetACL, OpMulti, OpError, OpPing, OpDeleteContainer, OpGetChildren2, 99} {
			var m MultiRequest
			in := append(Encode(nil, &MultiHeader{Type: op, Err: -1}), unhex(t, "00000002 2f61 00000000"+end)...)
			if err := Decode(in, &m); !errors.Is(err, ErrMultiOpType) {
				t.Errorf("op %v: err %v, want ErrMultiOpType", op, err)
			}
		}
	})
	t.Run("result op types", func(t *testing.T) {
		for _, op := range []OpCode{OpCreateTTL, OpCreateContainer, OpExists, OpMulti, OpGetChildren2, 99} {
			var res MultiResponse
			in := append(Encode(nil, &MultiHeader{Type: op}), unhex(t, "00000002 2f61"+end)...)
			if err := Decode(in, &res); !errors.Is(err, ErrMultiOpType) {
				t.Errorf("op %v: err %v, want ErrMultiOpType", op, err)
			}
		}
	})
	t.Run("lone entry meets terminator", func(t *testing.T) {
		if err := Decode(unhex(t, end), &MultiOp{}); !errors.Is(err, ErrMultiOpType) {
			t.Errorf("MultiOp: err %v", err)
		}
		if err := Decode(unhex(t, end), &MultiResult{}); !errors.Is(err, ErrMultiOpType) {
			t.Errorf("MultiResult: err %v", err)
		}
	})
}

func TestMultiEncodeMismatchPanics(t *testing.T) {
	tests := []Record{
		&MultiRequest{Ops: []MultiOp{{Type: OpDelete, Req: &CreateRequest{}}}},
		&MultiRequest{Ops: []MultiOp{{Type: OpCreateTTL, Req: &CreateRequest{}}}},
		&MultiRequest{Ops: []MultiOp{{Type: OpDelete}}},
		&MultiRequest{Ops: []MultiOp{{Type: OpExists, Req: &GetDataRequest{}}}},
		&MultiResponse{Results: []MultiResult{{Type: OpCreate, Resp: &Create2Response{}}}},
		&MultiResponse{Results: []MultiResult{{Type: OpDelete, Resp: &ErrorResponse{}}}},
		&MultiResponse{Results: []MultiResult{{Type: OpSetData}}},
	}
	for i, rec := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: encode of %+v did not panic", i, rec)
				}
			}()
			Encode(nil, rec)
		}()
	}
}

func TestFrames(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		frame := AppendFrame([]byte{0xee}, &RequestHeader{Xid: 5, Type: OpGetData}, &GetDataRequest{Path: "/a", Watch: true})
		if !bytes.Equal(frame, unhex(t, "ee 0000000f 00000005 00000004 00000002 2f61 01")) {
			t.Fatalf("frame %x", frame)
		}
		src := bytes.NewReader(append(frame[1:], frame[1:]...))
		buf := make([]byte, 0, 64)
		for i := 0; i < 2; i++ {
			p, err := ReadFrame(src, buf, MaxBuffer)
			if err != nil {
				t.Fatal(err)
			}
			if &p[0] != &buf[:1][0] {
				t.Errorf("ReadFrame did not reuse a big enough buffer")
			}
			var h RequestHeader
			var g GetDataRequest
			r := NewReader(p)
			h.Decode(r)
			g.Decode(r)
			if r.Err() != nil || h.Xid != 5 || h.Type != OpGetData || g.Path != "/a" || !g.Watch || r.Len() != 0 {
				t.Errorf("decoded %+v %+v, err %v", h, g, r.Err())
			}
		}
		if _, err := ReadFrame(src, buf, MaxBuffer); err != io.EOF {
			t.Errorf("after the last frame: err %v, want io.EOF", err)
		}
	})
	t.Run("connect frame", func(t *testing.T) {
		// What a Java client sends first: 45 bytes after the length prefix.
		frame := AppendFrame(nil, &ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true})
		if !bytes.HasPrefix(frame, unhex(t, "0000002d")) || len(frame) != 49 {
			t.Errorf("connect frame %x", frame)
		}
	})
	t.Run("bad lengths", func(t *testing.T) {
		for _, tt := range []struct {
			hdr  string
			max  int
			want int32
		}{
			{"ffffffff", MaxBuffer, -1},
			{"80000000", MaxBuffer, -0x80000000},
			{"00100000", MaxBuffer, MaxBuffer + 1},
			{"7fffffff", MaxBuffer, 0x7fffffff},
			{"00000011", 16, 17},
		} {
			_, err := ReadFrame(bytes.NewReader(unhex(t, tt.hdr)), nil, tt.max)
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Length != tt.want {
				t.Errorf("length %s: err %v, want *FrameError{%d}", tt.hdr, err, tt.want)
			}
		}
	})
	t.Run("largest frame", func(t *testing.T) {
		in := append(unhex(t, "000fffff"), make([]byte, MaxBuffer)...)
		p, err := ReadFrame(bytes.NewReader(in), nil, MaxBuffer)
		if err != nil || len(p) != MaxBuffer {
			t.Errorf("MaxBuffer frame: len %d, err %v", len(p), err)
		}
	})
	t.Run("short", func(t *testing.T) {
		for in, want := range map[string]error{
			"":                io.EOF,
			"0000":            io.ErrUnexpectedEOF,
			"00000004":        io.ErrUnexpectedEOF,
			"00000004 010203": io.ErrUnexpectedEOF,
		} {
			if _, err := ReadFrame(bytes.NewReader(unhex(t, in)), nil, MaxBuffer); err != want {
				t.Errorf("%q: err %v, want %v", in, err, want)
			}
		}
	})
	t.Run("empty frame", func(t *testing.T) {
		p, err := ReadFrame(bytes.NewReader(unhex(t, "00000000")), make([]byte, 8), MaxBuffer)
		if err != nil || len(p) != 0 {
			t.Errorf("got %x, %v", p, err)
		}
	})
}

// Decoding a getData request (the hottest read) allocates only its path.
func TestGetDataRequestDecodeAllocs(t *testing.T) {
	in := Encode(nil, &GetDataRequest{Path: "/zookeeper/config", Watch: true})
	var r Reader
	var g GetDataRequest
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(in)
		g.Decode(&r)
	})
	if r.Err() != nil || allocs > 1 {
		t.Errorf("%v allocations per decode (err %v), want 1", allocs, r.Err())
	}
}
