package znode_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// TestSnapshotRoundTrip builds rich trees from the model's random txns
// (ephemerals, containers, TTL nodes, sessions, ACLs), snapshots them,
// restores, and checks the restored tree is the same and keeps behaving the
// same: the same further txns give the same state, so every index
// (children, ephemerals by session, containers, quotas, data size, ACL
// references) was rebuilt.
func TestSnapshotRoundTrip(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		g := newGen(seed)
		tree := znode.New()
		for range 1500 {
			txn := g.step().txn
			tree.Apply(&txn)
		}
		view := tree.Capture()
		var buf bytes.Buffer
		if _, err := view.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		restored, err := znode.ReadSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got, want := dumpTree(restored), dumpTree(tree); got != want {
			t.Fatalf("seed %d: restored tree differs:\n%s\n--- want ---\n%s", seed, got, want)
		}
		if restored.Digest() != view.Digest() {
			t.Fatalf("seed %d: digest changed", seed)
		}
		// Equal trees encode to equal bytes.
		var again bytes.Buffer
		restored.Capture().WriteTo(&again)
		if !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatalf("seed %d: re-encoding differs", seed)
		}
		for range 500 {
			txn := g.step().txn
			tree.Apply(&txn)
			restored.Apply(&txn)
		}
		if got, want := dumpTree(restored), dumpTree(tree); got != want {
			t.Fatalf("seed %d: trees diverge after more txns:\n%s\n--- want ---\n%s", seed, got, want)
		}
	}
}

func TestSnapshotRejectsDamage(t *testing.T) {
	a := newApplier(t)
	a.create("/a", "hello")
	a.createACL("/a/b", []jute.ACL{{Perms: jute.PermRead, ID: jute.ID{Scheme: "world", ID: "anyone"}}})
	var buf bytes.Buffer
	if _, err := a.tree.Capture().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	// A flipped byte in a node's data changes the digest; a cut stream
	// misses frames; garbage is not a snapshot.
	flipped := bytes.Clone(good)
	flipped[bytes.Index(flipped, []byte("hello"))] ^= 0x20
	for name, b := range map[string][]byte{
		"flipped data": flipped,
		"truncated":    good[:len(good)-9],
		"empty":        nil,
		"garbage":      []byte("\x00\x00\x00\x08notasnap"),
	} {
		if _, err := znode.ReadSnapshot(bytes.NewReader(b)); !errors.Is(err, znode.ErrBadSnapshot) {
			t.Errorf("%s: err %v, want ErrBadSnapshot", name, err)
		}
	}
}

// FuzzReadSnapshot: no input panics, and whatever decodes re-encodes to a
// snapshot that decodes to the same digest.
func FuzzReadSnapshot(f *testing.F) {
	a := newApplier(f)
	a.create("/a", "x")
	a.createEphemeral(7, "/a/e")
	var buf bytes.Buffer
	a.tree.Capture().WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := znode.ReadSnapshot(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := tree.Capture().WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := znode.ReadSnapshot(&out)
		if err != nil || again.Digest() != tree.Digest() {
			t.Fatalf("re-read: %v", err)
		}
	})
}

func BenchmarkSnapshot(b *testing.B) {
	a := newApplier(b)
	data := string(bytes.Repeat([]byte("x"), 100))
	a.create("/bench", "")
	for i := range 100_000 {
		a.create("/bench/"+string(rune('a'+i%26))+itoa(i), data)
	}
	b.Run("capture", func(b *testing.B) {
		for b.Loop() {
			a.tree.Capture()
		}
	})
	view := a.tree.Capture()
	var buf bytes.Buffer
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			view.WriteTo(&buf)
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := znode.ReadSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}
