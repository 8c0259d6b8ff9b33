package zabnode

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/memstore"
	"github.com/zabkafka/zabkafka/zab"
)

// The in-memory tail answers every range exactly as the storage does, through
// appends across epochs (zxid gaps), truncations, snapshots and evictions.
func TestStorageLogTailMatchesStorage(t *testing.T) {
	for seed := int64(1); seed <= 50; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			st, err := memstore.New(1, memstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			l := newStorageLog(st)
			l.maxTail, l.maxBytes = 1+r.Intn(20), 1+r.Intn(200)
			epoch, counter := uint32(1), uint32(0)
			var last int64
			for step := 0; step < 300; step++ {
				switch k := r.Intn(20); {
				case k == 0 && last > 0: // TRUNC to an earlier zxid
					ents := storedEntries(t, st, 0, last)
					if len(ents) == 0 {
						continue
					}
					z := ents[r.Intn(len(ents))].Zxid
					if err := st.TruncateAfter(z); err != nil {
						t.Fatal(err)
					}
					l.truncateTail(z)
					last = z
					epoch++
					counter = 0
				case k == 1 && last > 0: // SNAP: the history restarts at a snapshot
					z := zab.MakeZxid(epoch+1, 0) + int64(r.Intn(3))
					if _, err := st.SaveSnapshot(z, strings.NewReader("snap")); err != nil {
						t.Fatal(err)
					}
					if err := st.TruncateAfter(z); err != nil {
						t.Fatal(err)
					}
					if err := st.PurgeBefore(z + 1); err != nil {
						t.Fatal(err)
					}
					l.resetTail()
					last = z
					epoch++
					counter = 0
				case k == 2: // a new epoch: the counter restarts
					epoch++
					counter = 0
				default:
					var es []zab.Entry
					for range 1 + r.Intn(4) {
						counter++
						z := zab.MakeZxid(epoch, counter)
						if z <= last {
							continue
						}
						es = append(es, zab.Entry{Zxid: z, Data: make([]byte, r.Intn(30))})
						last = z
					}
					if err := st.Append(toStorageEntries(es), nil, true); err != nil {
						t.Fatal(err)
					}
					l.appended(es)
				}
				all := storedEntries(t, st, 0, last)
				for range 5 {
					after, through := int64(0), last
					if len(all) > 0 {
						after = all[r.Intn(len(all))].Zxid - int64(r.Intn(2))
						through = all[r.Intn(len(all))].Zxid + int64(r.Intn(2))
					}
					got, err := l.Entries(after, through)
					if err != nil {
						t.Fatal(err)
					}
					want := storedEntries(t, st, after, through)
					if !slices.EqualFunc(got, want, func(a, b zab.Entry) bool { return a.Zxid == b.Zxid && len(a.Data) == len(b.Data) }) {
						t.Fatalf("step %d: Entries(%#x, %#x) = %v, storage has %v (tail from %v)", step, after, through, zxids(got), zxids(want), zxids(l.tail))
					}
				}
				if len(l.tail) > l.maxTail || (l.tailBytes > l.maxBytes) {
					t.Fatalf("tail of %d entries, %d bytes over its bounds", len(l.tail), l.tailBytes)
				}
			}
		})
	}
}

func storedEntries(t *testing.T, st storage.Storage, after, through int64) []zab.Entry {
	t.Helper()
	var out []zab.Entry
	if err := st.Entries(after+1, through, func(e storage.Entry) error {
		out = append(out, zab.Entry{Zxid: e.Zxid, Data: e.Data})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func zxids(es []zab.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, zab.FormatZxid(e.Zxid))
	}
	return out
}

// BenchmarkStorageLogAppended is the cost of mirroring a Ready's appends
// once the tail is full (it was a copy of the whole tail per Ready).
func BenchmarkStorageLogAppended(b *testing.B) {
	l := &storageLog{maxTail: maxTailEntries, maxBytes: maxTailBytes}
	data := make([]byte, 100)
	z := int64(0)
	batch := make([]zab.Entry, 5)
	for b.Loop() {
		for i := range batch {
			z++
			batch[i] = zab.Entry{Zxid: z, Data: data}
		}
		l.appended(batch)
	}
}
