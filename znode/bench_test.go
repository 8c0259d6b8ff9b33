package znode_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// applyChunk is how many creates (or deletes) run between untimed pauses
// that undo them, so a parent keeps the child count the benchmark names (up
// to applyChunk more) however large b.N grows.
const applyChunk = 256

// benchParent returns an applier whose tree holds /p with n children.
func benchParent(b *testing.B, n int) *applier {
	a := newApplier(b)
	a.create("/p", "")
	for i := range n {
		a.apply(0, jute.OpCreate, &jute.CreateTxn{
			Path: fmt.Sprintf("/p/c%07d", i), ACL: znode.OpenACLUnsafe, ParentCVersion: int32(i + 1),
		})
	}
	return a
}

// chunkTxns builds the creates and deletes of applyChunk new children of /p.
func chunkTxns(a *applier, round int) (creates, deletes []znode.Txn) {
	cv := a.stored("/p").Cversion
	data := []byte("0123456789abcdef")
	for j := range applyChunk {
		p := fmt.Sprintf("/p/new%d-%d", round, j)
		creates = append(creates, znode.Txn{Header: a.next(0, jute.OpCreate), Record: &jute.CreateTxn{
			Path: p, Data: data, ACL: znode.OpenACLUnsafe, ParentCVersion: cv + int32(j) + 1,
		}})
	}
	for j := range applyChunk {
		deletes = append(deletes, znode.Txn{Header: a.next(0, jute.OpDelete), Record: &jute.DeleteTxn{Path: fmt.Sprintf("/p/new%d-%d", round, j)}})
	}
	return creates, deletes
}

func applyAll(b *testing.B, tree *znode.Tree, txns []znode.Txn) {
	for i := range txns {
		if res := tree.Apply(&txns[i]); res.Err != jute.ErrOK {
			b.Fatalf("%s: %s", txns[i].Header.Type, res.Err)
		}
	}
}

// BenchmarkApply measures Tree.Apply of single txns (watch tables empty).
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{0, 1000, 100_000} {
		b.Run(fmt.Sprintf("create/children=%d", n), func(b *testing.B) { benchCreateDelete(b, n, true) })
	}
	b.Run("setData/bytes=100", func(b *testing.B) {
		a := benchParent(b, 0)
		rec := &jute.SetDataTxn{Path: "/p", Data: make([]byte, 100)}
		txn := znode.Txn{Header: a.next(0, jute.OpSetData), Record: rec}
		b.ReportAllocs()
		for b.Loop() {
			txn.Header.Zxid++
			txn.Header.Time++
			rec.Version++
			a.tree.Apply(&txn)
		}
	})
	for _, n := range []int{0, 1000, 100_000} {
		b.Run(fmt.Sprintf("delete/children=%d", n), func(b *testing.B) { benchCreateDelete(b, n, false) })
	}
}

// benchCreateDelete times the creates (create=true) or the deletes of
// chunks of new children of a parent that already has n.
func benchCreateDelete(b *testing.B, n int, create bool) {
	a := benchParent(b, n)
	b.ReportAllocs()
	var creates, deletes []znode.Txn
	i, round := 0, 0
	for b.Loop() {
		j := i % applyChunk
		if j == 0 {
			b.StopTimer()
			if create && round > 0 {
				applyAll(b, a.tree, deletes)
			}
			creates, deletes = chunkTxns(a, round)
			round++
			if !create {
				applyAll(b, a.tree, creates)
			}
			b.StartTimer()
		}
		if create {
			a.tree.Apply(&creates[j])
		} else {
			a.tree.Apply(&deletes[j])
		}
		i++
	}
}

// readTree is 100 x 100 x 10 = 100k leaves three levels deep (110,100 nodes
// with the inner ones), shared by the read benchmarks.
var readTree = sync.OnceValues(func() (*znode.Tree, []string) {
	tree := znode.New()
	zxid := int64(1 << 32)
	create := func(p string, cv int32) {
		zxid++
		tree.Apply(&znode.Txn{
			Header: jute.TxnHeader{Zxid: zxid, Time: zxid, Type: jute.OpCreate},
			Record: &jute.CreateTxn{Path: p, Data: []byte("some data of a leaf node"), ACL: znode.OpenACLUnsafe, ParentCVersion: cv},
		})
	}
	var leaves []string
	for i := range 100 {
		l1 := fmt.Sprintf("/app%02d", i)
		create(l1, int32(i+1))
		for j := range 100 {
			l2 := fmt.Sprintf("%s/svc%02d", l1, j)
			create(l2, int32(j+1))
			for k := range 10 {
				l3 := fmt.Sprintf("%s/item%d", l2, k)
				create(l3, int32(k+1))
				leaves = append(leaves, l3)
			}
		}
	}
	// Visit leaves in a scattered order, as unrelated clients would.
	scattered := make([]string, len(leaves))
	for i := range leaves {
		scattered[i] = leaves[(i*7919)%len(leaves)]
	}
	return tree, scattered
})

func BenchmarkGetData(b *testing.B) {
	tree, leaves := readTree()
	b.Run("leaf", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, _, _, ok := tree.GetData(leaves[i%len(leaves)]); !ok {
				b.Fatal("missing leaf")
			}
			i++
		}
	})
	b.Run("missing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tree.GetData("/app42/svc42/nope")
		}
	})
}

func BenchmarkExists(b *testing.B) {
	tree, leaves := readTree()
	b.Run("leaf", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tree.Exists(leaves[i%len(leaves)])
			i++
		}
	})
	b.Run("missing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tree.Exists("/app42/svc42/nope")
		}
	})
}

func BenchmarkChildren(b *testing.B) {
	tree, _ := readTree()
	for _, tc := range []struct {
		name, path string
	}{
		{"children=0", "/app42/svc42/item4"},
		{"children=10", "/app42/svc42"},
		{"children=100", "/app42"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tree.Children(tc.path)
			}
		})
	}
	// Children sorts the names on every call: a large parent pays for it.
	b.Run("children=100000", func(b *testing.B) {
		a := benchParent(b, 100_000)
		b.ReportAllocs()
		for b.Loop() {
			a.tree.Children("/p")
		}
	})
}

func BenchmarkValidatePath(b *testing.B) {
	for _, tc := range []struct {
		name, path string
		ok         bool
	}{
		{"root", "/", true},
		{"short", "/a", true},
		{"3-levels", "/app/locks/lock-0000000042", true},
		{"long-256", "/" + strings.Repeat("segment/", 31) + "leaf-123", true},
		{"unicode", "/\u670d\u52a1/\u914d\u7f6e/caf\u00e9", true},
		{"invalid-dotdot", "/app/../etc", false},
		{"invalid-control", "/app/lo\x01ck", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if znode.ValidatePath(tc.path) != tc.ok {
				b.Fatalf("ValidatePath(%q) != %v", tc.path, tc.ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				znode.ValidatePath(tc.path)
			}
		})
	}
}

// countingWatcher is the cheapest Watcher: it counts what it is told.
type countingWatcher struct{ n int }

func (c *countingWatcher) Notify(jute.WatcherEvent, int64) { c.n++ }
func (c *countingWatcher) CanRead([]jute.ACL) bool         { return true }

// BenchmarkWatchTrigger is setData on a path watched by 0, 1 or 100
// watchers. One-shot watches are re-registered each round (counted), as the
// clients would; the recursive case puts the watchers on "/" three levels up.
func BenchmarkWatchTrigger(b *testing.B) {
	for _, kind := range []string{"persistent", "oneshot", "recursive"} {
		for _, n := range []int{0, 1, 100} {
			if n == 0 && kind != "persistent" {
				continue
			}
			b.Run(fmt.Sprintf("%s/watchers=%d", kind, n), func(b *testing.B) { benchWatchTrigger(b, kind, n) })
		}
	}
}

func benchWatchTrigger(b *testing.B, kind string, n int) {
	a := newApplier(b)
	const p = "/a/b/w"
	for _, q := range []string{"/a", "/a/b", p} {
		a.create(q, "")
	}
	ws := a.tree.Watches
	watchers := make([]*countingWatcher, n)
	for i := range watchers {
		watchers[i] = &countingWatcher{}
		switch kind {
		case "persistent":
			ws.AddPersistent(p, watchers[i], false)
		case "recursive":
			ws.AddPersistent("/", watchers[i], true)
		}
	}
	rec := &jute.SetDataTxn{Path: p, Data: []byte("0123456789")}
	txn := znode.Txn{Header: a.next(0, jute.OpSetData), Record: rec}
	b.ReportAllocs()
	for b.Loop() {
		if kind == "oneshot" {
			for _, w := range watchers {
				ws.AddData(p, w)
			}
		}
		txn.Header.Zxid++
		rec.Version++
		a.tree.Apply(&txn)
	}
	for _, w := range watchers {
		if w.n == 0 {
			b.Fatalf("a watcher was never told")
		}
	}
}
