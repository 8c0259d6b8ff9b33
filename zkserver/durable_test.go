package zkserver

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/memstore"
	"github.com/zabkafka/zabkafka/znode"
)

// testConfig is a server on a free loopback port with short ticks and
// every 4lw allowed.
func testConfig() *Config {
	cfg := DefaultConfig()
	cfg.ClientPort = 0
	cfg.TickTime = 100 * time.Millisecond
	cfg.MinSessionTimeout, cfg.MaxSessionTimeout = 200*time.Millisecond, 10*time.Second
	cfg.FourLetterWords = []string{"*"}
	return cfg
}

// startDurable opens a store on disk and a server on it, and starts it.
func startDurable(t *testing.T, cfg *Config, disk *memstore.Disk, wrap func(storage.Storage) storage.Storage) (*Server, *testlog.Buffer) {
	t.Helper()
	st, err := memstore.Open(disk, 0, memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var store storage.Storage = st
	if wrap != nil {
		store = wrap(st)
	}
	logs := &testlog.Buffer{}
	s, err := Open(cfg, zerolog.New(logs), store)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, logs
}

func digest(s *Server) (d uint64, zxid int64) {
	s.Tree(func(t *znode.Tree) { d, zxid = t.Digest(), t.LastZxid() })
	return d, zxid
}

// writeMix makes n rounds of varied writes: creates, sequential creates,
// setData, setACL, deletes, multis, an ephemeral.
func writeMix(t *testing.T, c *zk.Conn, prefix string, n int) {
	t.Helper()
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create(prefix, []byte("root"), 0, acl); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := fmt.Sprintf("%s/n%d", prefix, i)
		must2(t)(c.Create(p, []byte(p), 0, acl))
		must2(t)(c.Create(p+"/seq-", nil, zk.FlagSequence, acl))
		must2(t)(c.Set(p, []byte(fmt.Sprint("v", i)), 0))
		if i%3 == 0 {
			must2(t)(c.SetACL(p, append(zk.WorldACL(zk.PermAll), zk.DigestACL(zk.PermRead, "u", "p")...), -1))
		}
		if i%4 == 1 {
			must2(t)(c.Multi(&zk.CreateRequest{Path: p + "/m1", Data: []byte("a"), Acl: acl},
				&zk.CreateRequest{Path: p + "/m2", Data: []byte("b"), Acl: acl},
				&zk.SetDataRequest{Path: p, Data: []byte("multi"), Version: -1}))
		}
		if i%5 == 2 {
			children, _, err := c.Children(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range children {
				if err := c.Delete(p+"/"+ch, -1); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Delete(p, -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	must2(t)(c.Create(prefix+"/eph", []byte("mine"), zk.FlagEphemeral, acl))
}

func must2(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestartRestoresState stops a durable server cleanly and opens its
// disk again: same tree digest, zxids continue, the session that owned an
// ephemeral is back (with a fresh timeout) and can resume.
func TestRestartRestoresState(t *testing.T) {
	disk := memstore.NewDisk()
	s1, _ := startDurable(t, testConfig(), disk, nil)
	c := dial(t, s1)
	writeMix(t, c, "/r", 60)
	before, lastZxid := digest(s1)
	sid := c.SessionID()
	s1.Stop()

	cfg := testConfig()
	cfg.ClientPort = s1.Addr().(*net.TCPAddr).Port // where the client will look for it
	s2, logs := startDurable(t, cfg, disk, nil)
	after, zxid := digest(s2)
	if after != before || zxid != lastZxid {
		t.Fatalf("restored digest %#x at zxid %#x, want %#x at %#x", after, zxid, before, lastZxid)
	}
	if !s2.sessions.valid(sid) {
		t.Fatalf("session %#x not restored", sid)
	}
	if !strings.Contains(logs.String(), "state restored") {
		t.Fatalf("no restore line in the log:\n%s", logs)
	}
	// The old client reconnects by itself and resumes its session.
	eventuallyTrue(t, "client resumes its session on the restarted server", func() bool {
		_, _, err := c.Get("/r/eph")
		return err == nil && c.SessionID() == sid
	})
	st, err := c.Set("/r", []byte("after"), -1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mzxid != lastZxid+1 {
		t.Fatalf("first write after restart got zxid %#x, want %#x", st.Mzxid, lastZxid+1)
	}
}

// TestRestoredSessionExpires: a session whose client does not come back
// after a restart expires one timeout later, and its ephemeral goes.
func TestRestoredSessionExpires(t *testing.T) {
	disk := memstore.NewDisk()
	s1, _ := startDurable(t, testConfig(), disk, nil)
	c, _, err := zk.Connect([]string{s1.Addr().String()}, 500*time.Millisecond, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	must2(t)(c.Create("/gone", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)))
	sid := c.SessionID()
	s1.Stop()
	c.Close() // too late to tell anyone: the server is down

	s2, _ := startDurable(t, testConfig(), disk, nil)
	if !s2.sessions.valid(sid) {
		t.Fatalf("session %#x not restored", sid)
	}
	eventuallyTrue(t, "restored session expires and its ephemeral is deleted", func() bool {
		var exists bool
		s2.Tree(func(t *znode.Tree) { _, exists = t.Lookup("/gone") })
		return !exists && !s2.sessions.valid(sid)
	})
}

// TestCrashKeepsAcknowledgedWrites crashes the disk under a loaded server
// (unsynced writes are lost, in-flight appends fail, the server stops) and
// restarts on what survived: every acknowledged write is there, multis are
// whole, and counters never go back.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	disk := memstore.NewDisk()
	acked := &sync.Map{} // path -> data acknowledged, over all rounds
	for round := range 5 {
		s, _ := startDurable(t, testConfig(), disk, nil)
		st := s.store.(*memstore.Store)
		c := dial(t, s)
		if round == 0 {
			must2(t)(c.Create("/k", nil, 0, zk.WorldACL(zk.PermAll)))
		}
		checkAcked(t, s, acked, round)

		const writers = 8
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				writer(c, acked, w, round, stop)
			}()
		}
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond) // a random moment to crash at
		st.Crash()
		close(stop)
		wg.Wait()
		s.Stop()
		c.Close()
	}
}

// writer creates nodes and multis until stop; it records what the server
// acknowledged.
func writer(c *zk.Conn, acked *sync.Map, w, round int, stop chan struct{}) {
	acl := zk.WorldACL(zk.PermAll)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		p := fmt.Sprintf("/k/w%d-r%d-%d", w, round, i)
		if i%2 == 0 {
			if _, err := c.Create(p, []byte(p), 0, acl); err != nil {
				return
			}
			acked.Store(p, p)
			continue
		}
		if _, err := c.Multi(&zk.CreateRequest{Path: p + "a", Data: []byte("a"), Acl: acl},
			&zk.CreateRequest{Path: p + "b", Data: []byte("b"), Acl: acl}); err != nil {
			return
		}
		acked.Store(p+"a", "a")
		acked.Store(p+"b", "b")
	}
}

// checkAcked asserts every acknowledged node is in s, and that no multi was
// applied by halves.
func checkAcked(t *testing.T, s *Server, acked *sync.Map, round int) {
	t.Helper()
	n := 0
	s.Tree(func(tr *znode.Tree) {
		acked.Range(func(k, v any) bool {
			n++
			data, _, _, ok := tr.GetData(k.(string))
			if !ok || string(data) != v.(string) {
				t.Errorf("round %d: acknowledged %s=%q is lost (found %v, %q)", round, k, v, ok, data)
			}
			return true
		})
		children, _, _, _ := tr.Children("/k")
		present := map[string]bool{}
		for _, ch := range children {
			present[ch] = true
		}
		for ch := range present {
			if base, ok := strings.CutSuffix(ch, "a"); ok && !present[base+"b"] {
				t.Errorf("round %d: half a multi: /k/%s without /k/%sb", round, ch, base)
			}
		}
	})
	t.Logf("round %d: %d acknowledged nodes present", round, n)
}

// corruptingStore damages the newest snapshot as it is read back.
type corruptingStore struct {
	storage.Storage
	zxid int64
}

func (c *corruptingStore) OpenSnapshot(zxid int64) (io.ReadCloser, error) {
	rc, err := c.Storage.OpenSnapshot(zxid)
	if err != nil || zxid != c.zxid {
		return rc, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	b[len(b)/2] ^= 0x40
	return io.NopCloser(strings.NewReader(string(b))), nil
}

// TestSnapshotsPurgeAndFallback: snapshots every few txns, autopurge keeps
// snapRetainCount of them and the txns after the oldest; a restart restores
// the same tree, also when the newest snapshot turns out damaged.
func TestSnapshotsPurgeAndFallback(t *testing.T) {
	cfg := testConfig()
	cfg.SnapCount = 40
	cfg.PurgeInterval = 20 * time.Millisecond
	cfg.SnapRetainCount = 3
	disk := memstore.NewDisk()
	s1, logs := startDurable(t, cfg, disk, nil)
	c := dial(t, s1)
	writeMix(t, c, "/s", 150)
	eventuallyTrue(t, "purge keeps 3 snapshots and drops older txns", func() bool {
		snaps, err := s1.store.Snapshots()
		return err == nil && len(snaps) == 3 && s1.store.FirstZxid() == snaps[2].Zxid+1
	})
	if n := s1.snaps.taken.Load(); n < 6 {
		t.Fatalf("%d snapshots taken over %d txns with snapCount 40", n, s1.tree.LastZxid())
	}
	if !strings.Contains(logs.String(), "purged") {
		t.Fatalf("no purge in the log")
	}
	mntr := s1.FourLetterWord("mntr")
	for _, key := range []string{"zk_cnt_fsynctime", "zk_avg_snapshottime", "zk_snap_count", "zk_txnlog_bytes"} {
		if !strings.Contains(mntr, key+"\t") {
			t.Errorf("mntr lacks %s", key)
		}
	}
	before, _ := digest(s1)
	s1.Stop()

	s2, _ := startDurable(t, cfg, disk, nil)
	if got, _ := digest(s2); got != before {
		t.Fatalf("restored digest %#x, want %#x", got, before)
	}
	s2.Stop()

	// The newest snapshot is looked up as s3 opens the disk: a snapshot can
	// still complete after the digest is read (s1's last txns) or during s2.
	var damaged int64
	s3, logs3 := startDurable(t, cfg, disk, func(st storage.Storage) storage.Storage {
		snaps, err := st.Snapshots()
		if err != nil || len(snaps) == 0 {
			t.Fatalf("no snapshots to damage: %v", err)
		}
		damaged = snaps[0].Zxid
		return &corruptingStore{Storage: st, zxid: damaged}
	})
	if got, _ := digest(s3); got != before {
		t.Fatalf("digest after falling back from a damaged snapshot %#x, want %#x", got, before)
	}
	if !strings.Contains(logs3.String(), "snapshot is damaged") {
		t.Fatalf("damaged snapshot not logged:\n%s", logs3)
	}
	left, _ := s3.store.Snapshots()
	for _, m := range left {
		if m.Zxid == damaged {
			t.Fatalf("damaged snapshot %#x was kept", m.Zxid)
		}
	}
}

// TestGapInLogRefusesToStart: a log that skips txns after the snapshot (as
// if entries had been purged without one) must not be served.
func TestGapInLogRefusesToStart(t *testing.T) {
	disk := memstore.NewDisk()
	st, err := memstore.Open(disk, 0, memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var entries []storage.Entry
	for z := int64(1); z <= 5; z++ {
		if z == 3 {
			continue
		}
		txn := &znode.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate},
			Record: &jute.CreateTxn{Path: fmt.Sprint("/g", z), ACL: znode.OpenACLUnsafe}}
		entries = append(entries, storage.Entry{Zxid: z, Data: znode.EncodeTxn(nil, txn)})
	}
	if err := st.Append(entries, nil, true); err != nil {
		t.Fatal(err)
	}
	_, err = Open(testConfig(), zerolog.New(io.Discard), st)
	if err == nil || !strings.Contains(err.Error(), "jumps from 0x2 to 0x4") {
		t.Fatalf("Open over a log with a gap: %v", err)
	}
	st.Close()
}

// TestFailedAppendStopsServer: a log write that fails stops the server
// with the error, and the write is not acknowledged.
func TestFailedAppendStopsServer(t *testing.T) {
	disk := memstore.NewDisk()
	s, _ := startDurable(t, testConfig(), disk, nil)
	c := dial(t, s)
	disk.Fail(errors.New("EIO"))
	if _, err := c.Create("/x", nil, 0, zk.WorldACL(zk.PermAll)); err == nil {
		t.Fatal("create acknowledged although the log write failed")
	}
	select {
	case <-s.failed: // what Run waits for before it returns failErr
		if s.failErr == nil || !strings.Contains(s.failErr.Error(), "EIO") {
			t.Fatalf("server failed with %v, want the append error", s.failErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running after a failed log write")
	}
	select {
	case <-s.stopping:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after a failed log write")
	}
}

func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
