package znode_test

import (
	"bytes"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

func sampleTxns() []*znode.Txn {
	h := func(z int64, typ jute.OpCode) jute.TxnHeader {
		return jute.TxnHeader{ClientID: 0x1234, Cxid: 7, Zxid: z, Time: 1700000000000, Type: typ}
	}
	create := &jute.CreateTxn{Path: "/a", Data: []byte("x"), ACL: znode.OpenACLUnsafe, ParentCVersion: 1}
	sub := jute.Encode(nil, &jute.CreateTxn{Path: "/a/b", ACL: znode.OpenACLUnsafe, ParentCVersion: 1})
	return []*znode.Txn{
		{Header: h(1, jute.OpCreateSession), Record: &jute.CreateSessionTxn{TimeOut: 30000}},
		{Header: h(2, jute.OpCreate), Record: create},
		{Header: h(3, jute.OpSetData), Record: &jute.SetDataTxn{Path: "/a", Data: []byte("y"), Version: 1}},
		{Header: h(4, jute.OpMulti), Record: &jute.MultiTxn{Txns: []jute.Txn{{Type: jute.OpCreate, Data: sub}}}},
		{Header: h(5, jute.OpError), Record: &jute.ErrorTxn{Err: jute.ErrNoNode}},
		{Header: h(6, jute.OpCloseSession), Record: &jute.CloseSessionTxn{Paths2Delete: []string{"/e"}}},
		{Header: h(7, jute.OpDelete), Record: &jute.DeleteTxn{Path: "/a"}},
	}
}

// TestTxnRoundTrip: every txn kind decodes to what was encoded.
func TestTxnRoundTrip(t *testing.T) {
	for _, txn := range sampleTxns() {
		b := znode.EncodeTxn(nil, txn)
		got, err := znode.DecodeTxn(b)
		if err != nil {
			t.Fatalf("%s: %v", txn.Header.Type, err)
		}
		if again := znode.EncodeTxn(nil, got); !bytes.Equal(again, b) {
			t.Fatalf("%s: re-encoded %x, want %x", txn.Header.Type, again, b)
		}
	}
	if _, err := znode.DecodeTxn([]byte{1, 2, 3}); err == nil {
		t.Fatal("a truncated header decoded")
	}
}

// FuzzDecodeTxn: log entries that pass their checksum but hold anything
// never panic the decoder, re-encode stably, and apply to a tree without
// panicking (a replay must fail cleanly, not crash the server).
func FuzzDecodeTxn(f *testing.F) {
	for _, txn := range sampleTxns() {
		f.Add(znode.EncodeTxn(nil, txn))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		txn, err := znode.DecodeTxn(b)
		if err != nil {
			return
		}
		enc := znode.EncodeTxn(nil, txn)
		again, err := znode.DecodeTxn(enc)
		if err != nil || !bytes.Equal(znode.EncodeTxn(nil, again), enc) {
			t.Fatalf("unstable round trip: %v", err)
		}
		tree := znode.New()
		tree.Apply(txn)
	})
}
