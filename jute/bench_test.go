package jute

import "testing"

// Codec benchmarks for the hot records. Encoding appends to a reused buffer
// and decoding reuses one Reader and one record, as a connection loop does,
// so the allocations reported are the record's own (strings, slices).

func benchRecords() []struct {
	name string
	recs []Record
} {
	return []struct {
		name string
		recs []Record
	}{
		{"GetDataRequest", []Record{&GetDataRequest{Path: "/zookeeper/config", Watch: true}}},
		{"GetDataResponse", []Record{&GetDataResponse{Data: make([]byte, 100), Stat: sampleStat}}},
		{"CreateRequest", []Record{&CreateRequest{Path: "/app/locks/lock-", Data: []byte("client-1"),
			ACL: []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}, Flags: ModeEphemeralSequential}}},
		{"ReplyHeader+Stat", []Record{&ReplyHeader{Xid: 9, Zxid: 0x100000009}, &sampleStat}},
		{"MultiRequest3", []Record{&MultiRequest{Ops: []MultiOp{
			{Type: OpCheck, Req: &CheckVersionRequest{Path: "/app/config", Version: 3}},
			{Type: OpCreate, Req: &CreateRequest{Path: "/app/nodes/n", Data: []byte("x"),
				ACL: []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}, Flags: ModePersistentSequential}},
			{Type: OpSetData, Req: &SetDataRequest{Path: "/app/config", Data: []byte("v4"), Version: 3}},
		}}}},
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchRecords() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			w := Writer{B: make([]byte, 0, 512)}
			for b.Loop() {
				w.B = w.B[:0]
				for _, rec := range bc.recs {
					rec.Encode(&w)
				}
			}
			b.SetBytes(int64(len(w.B)))
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchRecords() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var w Writer
			into := make([]Record, len(bc.recs))
			for i, rec := range bc.recs {
				rec.Encode(&w)
				into[i] = newLike(rec)
			}
			in := w.B
			b.SetBytes(int64(len(in)))
			var r Reader
			for b.Loop() {
				r.Reset(in)
				for _, rec := range into {
					rec.Decode(&r)
				}
				if r.Err() != nil {
					b.Fatal(r.Err())
				}
			}
		})
	}
}
