package znode

import (
	"fmt"

	"github.com/zabkafka/zabkafka/jute"
)

// EncodeTxn appends the log form of a txn to dst: the jute TxnHeader then
// the record, as ZooKeeper's txn log stores them (without its checksum and
// length framing: storage adds its own).
func EncodeTxn(dst []byte, t *Txn) []byte {
	w := jute.Writer{B: dst}
	t.Header.Encode(&w)
	if t.Record != nil {
		t.Record.Encode(&w)
	}
	return w.B
}

// DecodeTxn reads a txn written by EncodeTxn. A txn type with no record and
// no body (an old createSession) decodes with a nil Record. The sub-txns of
// a multi are checked too, so whatever decodes can be applied.
func DecodeTxn(b []byte) (*Txn, error) {
	r := jute.NewReader(b)
	t := &Txn{}
	t.Header.Decode(r)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("znode: txn header: %w", err)
	}
	if r.Len() == 0 {
		return t, nil
	}
	rec := NewTxnRecord(t.Header.Type)
	if rec == nil {
		return nil, fmt.Errorf("znode: txn %#x: no record for type %s", t.Header.Zxid, t.Header.Type)
	}
	rec.Decode(r)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("znode: txn %#x (%s): %w", t.Header.Zxid, t.Header.Type, err)
	}
	if m, ok := rec.(*jute.MultiTxn); ok {
		// Apply trusts the sub-txns the prepare stage built; a txn read
		// back from disk earns that trust here.
		for i, sub := range m.Txns {
			if sub.Type == jute.OpMulti {
				return nil, fmt.Errorf("znode: txn %#x: multi inside a multi (op %d)", t.Header.Zxid, i)
			}
			if _, err := DecodeTxnRecord(sub.Type, sub.Data); err != nil {
				return nil, fmt.Errorf("znode: txn %#x: multi op %d: %w", t.Header.Zxid, i, err)
			}
		}
	}
	t.Record = rec
	return t, nil
}
