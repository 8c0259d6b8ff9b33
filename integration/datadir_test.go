package integration

// Bad data dirs: each test prepares a data dir with a zkd run of known
// writes, stops it, damages the dir, starts zkd again and checks what it
// serves, or that it refuses to start with a log line that says why.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
)

// zkdMustExit starts zkd on cfg expecting it to refuse: it returns the exit
// code and the log lines of that run.
func zkdMustExit(t *testing.T, cfg harness.Config) (int, []logLine) {
	t.Helper()
	code, text, err := harness.RunZkdToExit(t.Context(), harness.ZkdBin(t), cfg)
	if err != nil {
		t.Fatalf("%v\n--- log ---\n%s", err, text)
	}
	runs := parseRuns(text)
	if len(runs) == 0 {
		t.Fatalf("zkd exited with %d and wrote no log", code)
	}
	t.Logf("zkd exited with status %d", code)
	return code, runs[len(runs)-1]
}

// errorLines are the lines of a run at level error.
func errorLines(lines []logLine) []logLine {
	var out []logLine
	for _, l := range lines {
		if l.str("level") == "error" {
			out = append(out, l)
		}
	}
	return out
}

// openBadger opens zkd's badger DB directly, with zkd's own table options.
func openBadger(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).
		WithCompression(options.None).WithMemTableSize(16 << 20).
		WithValueThreshold(64 << 10).WithValueLogFileSize(64 << 20))
	if err != nil {
		t.Fatalf("open badger %s: %v", dir, err)
	}
	return db
}

// badgerKeys lists the keys with prefix, in order.
func badgerKeys(t *testing.T, db *badger.DB, prefix string) [][]byte {
	t.Helper()
	var keys [][]byte
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// flipByte flips one random bit of one random byte of the value at key.
func flipByte(t *testing.T, db *badger.DB, key []byte, seed uint64) {
	t.Helper()
	rng := newRand(seed, 99)
	err := db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return errors.New("empty value")
		}
		i, bit := rng.IntN(len(v)), rng.IntN(8)
		v[i] ^= 1 << bit
		t.Logf("flipped bit %d of byte %d of %d in the value of %q", bit, i, len(v), key)
		return txn.Set(key, v)
	})
	if err != nil {
		t.Fatalf("flip a byte of %q: %v", key, err)
	}
}

func txnKeyZxid(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[2:])) }

// writeNumbered creates parent and n children "<i>" with data "<i>".
func writeNumbered(t *testing.T, c *zk.Conn, parent string, n int) {
	t.Helper()
	must(t, createAll(c, parent))
	for i := range n {
		_, err := c.Create(fmt.Sprintf("%s/%04d", parent, i), []byte(strconv.Itoa(i)), 0, openACL)
		must(t, err)
	}
}

// checkNumbered checks that parent has exactly the children writeNumbered
// made.
func checkNumbered(t *testing.T, c *zk.Conn, parent string, n int) {
	t.Helper()
	children, _, err := c.Children(parent)
	must(t, err)
	if len(children) != n {
		t.Fatalf("%s has %d children, want %d", parent, len(children), n)
	}
	for i := range n {
		p := fmt.Sprintf("%s/%04d", parent, i)
		data, _, err := c.Get(p)
		if err != nil || string(data) != strconv.Itoa(i) {
			t.Fatalf("%s: %q, %v", p, data, err)
		}
	}
}

// ---------------------------------------------------------------------------
// a. A kill -9 during writes, then the newest badger WAL cut at a random
// offset: zkd starts and serves a gap-free prefix of the txns.

type truncAck struct {
	version int32
	mzxid   int64
}

type truncWriter struct {
	path  string
	czxid int64
	acks  []truncAck // in version order
	tried int32      // highest version sent
}

func TestDataDirTruncatedTail(t *testing.T) {
	seed := testSeed(t)
	rng := newRand(seed, 0)
	// Snapshots too, so the cut can also fall inside a snapshot's writes.
	srv := harness.Zkd(t, durableServerConfig(map[string]string{"snapCount": "500"}))
	addr := srv.Addr()

	// Writers bump their own counter with versioned setData and record
	// the version and zxid of every acknowledgement.
	const nWriters = 4
	setup := connect(t, addr)
	must(t, createAll(setup, "/trunc"))
	writers := make([]*truncWriter, nWriters)
	for i := range writers {
		w := &truncWriter{path: fmt.Sprintf("/trunc/c-%d", i)}
		_, err := setup.Create(w.path, []byte("0"), 0, openACL)
		must(t, err)
		_, st, err := setup.Get(w.path)
		must(t, err)
		w.czxid = st.Czxid
		writers[i] = w
	}
	setup.Close()

	var acks atomic.Int64
	var wg sync.WaitGroup
	var clients []*rclient
	for _, w := range writers {
		c := reconnectingClient(t, addr, 4*time.Second)
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := int32(1); ; v++ {
				w.tried = v
				st, err := c.Set(w.path, []byte(strconv.Itoa(int(v))), v-1)
				if err != nil {
					return // the kill; its outcome is unknown
				}
				w.acks = append(w.acks, truncAck{st.Version, st.Mzxid})
				acks.Add(1)
			}
		}()
	}
	within(t, 30*time.Second, "3000 acknowledged writes", func() bool { return acks.Load() >= 3000 })
	time.Sleep(time.Duration(30+rng.IntN(271)) * time.Millisecond) // the kill moment
	srv.Kill()
	for _, c := range clients {
		c.Close() // a writer between two ops would wait for the restart
	}
	wg.Wait()
	t.Logf("%d writes acknowledged before the kill", acks.Load())

	// Cut the newest WAL (memtable log) at a random offset in its written
	// part. The first 20 bytes are badger's file header, written when the
	// file is created, so no crash can cut it.
	dir := storageDir(srv.Config())
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	must(t, err)
	if len(mems) == 0 {
		t.Fatalf("no *.mem file in %s", dir)
	}
	slices.Sort(mems) // fixed-width ids: newest last
	wal := mems[len(mems)-1]
	b, err := os.ReadFile(wal)
	must(t, err)
	written := len(bytes.TrimRight(b, "\x00"))
	const header = 20
	if written <= header {
		t.Fatalf("%s: nothing written after the header", wal)
	}
	cut := header + rng.IntN(written-header)
	must(t, os.Truncate(wal, int64(cut)))
	t.Logf("cut %s (%d bytes, %d written) at %d: %.0f%% of its entries kept", filepath.Base(wal), len(b), written, cut,
		100*float64(cut-header)/float64(written-header))

	srv = restartLogged(t, srv)
	// The state must be that after some zxid z and none later: every
	// counter holds the last version written at or before z.
	z := srvrZxid(t, addr)
	c := connect(t, addr)
	kept := 0
	for _, w := range writers {
		lastAck := int32(0)
		if len(w.acks) > 0 {
			lastAck = w.acks[len(w.acks)-1].version
		}
		// want: the newest acknowledged version at or before z.
		want, wantZxid := int32(0), w.czxid
		for _, a := range w.acks {
			if a.mzxid <= z {
				want, wantZxid = a.version, a.mzxid
			}
		}
		data, st, err := c.Get(w.path)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			if w.czxid <= z {
				t.Errorf("%s (created at %#x) is missing; the server is at %#x", w.path, w.czxid, z)
			}
			continue
		case err != nil:
			t.Fatal(err)
		case w.czxid > z:
			t.Errorf("%s exists but was created at %#x, after the server's zxid %#x", w.path, w.czxid, z)
		}
		if string(data) != strconv.Itoa(int(st.Version)) {
			t.Errorf("%s: version %d but data %q", w.path, st.Version, data)
		}
		switch {
		case st.Version == want && st.Mzxid == wantZxid:
		case st.Version == want+1 && want == lastAck && w.tried == want+1 && st.Mzxid <= z && st.Mzxid > wantZxid:
			// The write the kill cut off had made it to disk.
		default:
			t.Errorf("%s: version %d (mzxid %#x); at zxid %#x it should be version %d (mzxid %#x); %d acknowledged, %d tried",
				w.path, st.Version, st.Mzxid, z, want, wantZxid, lastAck, w.tried)
		}
		kept += int(st.Version)
		t.Logf("%s: version %d of %d acknowledged", w.path, st.Version, lastAck)
	}
	t.Logf("zkd serves zxid %#x: %d of %d acknowledged writes survived the cut", z, kept, acks.Load())
	// And it goes on from there.
	st, err := c.Set(writers[0].path, []byte("after"), -1)
	must(t, err)
	if st.Mzxid <= z {
		t.Errorf("a new write got zxid %#x, not above %#x", st.Mzxid, z)
	}
}

// ---------------------------------------------------------------------------
// b. The value of the last t/<zxid> entry garbled: zkd drops it, says so,
// and serves everything before it.

func TestDataDirGarbledTail(t *testing.T) {
	seed := testSeed(t)
	srv := harness.Zkd(t, durableServerConfig(nil))
	addr := srv.Addr()
	c := connect(t, addr)
	must(t, c.AddAuth("digest", []byte("super:test")))
	writeNumbered(t, c, "/garble", 200)
	before := digestTree(t, c)
	c.Close()

	// The last txn: a create on a raw session, which is left open so no
	// closeSession follows it.
	raw, err := zkproto.Dial(addr, 4*time.Second)
	must(t, err)
	defer raw.Close()
	must(t, rawCreate(raw, "/garble/last", 0))
	var ex jute.ExistsResponse
	must(t, raw.Call(jute.OpExists, &jute.ExistsRequest{Path: "/garble/last"}, &ex))
	lastZxid := ex.Stat.Czxid
	must(t, srv.Stop())

	db := openBadger(t, storageDir(srv.Config()))
	keys := badgerKeys(t, db, "t/")
	if len(keys) == 0 {
		t.Fatal("no t/ keys")
	}
	lastKey := keys[len(keys)-1]
	if z := txnKeyZxid(lastKey); z != lastZxid {
		db.Close()
		t.Fatalf("the last log entry is %#x, not the create of /garble/last at %#x", z, lastZxid)
	}
	flipByte(t, db, lastKey, seed)
	must(t, db.Close())

	srv = harness.Restart(t, srv)
	opened := findLines(lastRun(t, srv), "storage opened")
	if len(opened) != 1 {
		t.Fatalf("%d \"storage opened\" lines", len(opened))
	}
	report := opened[0].str("report")
	t.Logf("zkd: storage opened (%s): %s", opened[0].str("level"), report)
	if wantDrop := fmt.Sprintf("dropped 1 entries %#x..%#x", lastZxid, lastZxid); !strings.Contains(report, wantDrop) {
		t.Errorf("report %q does not say %q", report, wantDrop)
	}
	if opened[0].str("level") != "warn" {
		t.Errorf("a repaired store is reported at level %q, want warn", opened[0].str("level"))
	}
	sc := superClient(t, addr)
	defer sc.Close()
	c = sc.Conn
	ok, _, err := c.Exists("/garble/last")
	must(t, err)
	if ok {
		t.Error("/garble/last, whose log entry was garbled, exists")
	}
	checkNumbered(t, c, "/garble", 200)
	// New sessions, but the same nodes and stats as before the last txn.
	sameTree(t, "after dropping the garbled entry", before, digestTree(t, c))
	// The zxid of the dropped entry is used again.
	if z := srvrZxid(t, addr); z < lastZxid-1 {
		t.Errorf("zkd serves zxid %#x, want at least %#x", z, lastZxid-1)
	}
}

// ---------------------------------------------------------------------------
// c. A flipped byte in the newest snapshot: zkd deletes it, says so, and
// restores the same tree from an older snapshot plus the log.

func TestDataDirCorruptNewestSnapshot(t *testing.T) {
	seed := testSeed(t)
	srv := harness.Zkd(t, durableServerConfig(map[string]string{
		"snapCount":                 "50",
		"autopurge.snapRetainCount": "3",
		"autopurge.purgeInterval":   "200ms",
	}))
	addr := srv.Addr()
	live := superClient(t, addr)
	defer live.Close()
	must(t, createAll(live.Conn, "/snapdmg"))
	var workers []*treeWorker
	for i := range 3 {
		w := &treeWorker{root: fmt.Sprintf("/snapdmg/w%d", i), rng: newRand(seed, i+1), kids: make(map[string]int)}
		must(t, createAll(live.Conn, w.root))
		workers = append(workers, w)
	}
	writeTrees(t, addr, workers, 200)
	waitSnapshotsPurged(t, srv)
	before := digestTree(t, live.Conn)
	must(t, srv.Stop())

	db := openBadger(t, storageDir(srv.Config()))
	var snaps []int64 // zxids with a meta key, ascending
	chunks := map[int64][][]byte{}
	for _, k := range badgerKeys(t, db, "u/") {
		z := int64(binary.BigEndian.Uint64(k[2:10]))
		switch rest := string(k[10:]); {
		case rest == "/meta":
			snaps = append(snaps, z)
		case strings.HasPrefix(rest, "/chunk/"):
			chunks[z] = append(chunks[z], k)
		}
	}
	if len(snaps) < 2 {
		db.Close()
		t.Fatalf("%d snapshots, want at least 2", len(snaps))
	}
	newest := snaps[len(snaps)-1]
	cs := chunks[newest]
	flipByte(t, db, cs[newRand(seed, 7).IntN(len(cs))], seed)
	must(t, db.Close())
	t.Logf("snapshots %#x; damaged the newest, %#x (%d chunks)", snaps, newest, len(cs))

	srv = harness.Restart(t, srv)
	run := lastRun(t, srv)
	var damaged []logLine
	for _, l := range errorLines(run) {
		if l.str("snapshot") == fmt.Sprintf("%#x", newest) {
			damaged = append(damaged, l)
		}
	}
	if len(damaged) == 0 {
		t.Errorf("no error line about the damaged snapshot %#x; error lines: %v", newest, errorLines(run))
	} else {
		t.Logf("zkd: %s: %s (%s)", damaged[0].str("message"), damaged[0].str("error"), damaged[0].str("snapshot"))
	}
	restored := findLines(run, "state restored")
	if len(restored) != 1 {
		t.Fatalf("%d \"state restored\" lines", len(restored))
	}
	from := restored[0].str("snapshot")
	if from == fmt.Sprintf("%#x", newest) || from == "0x0" {
		t.Errorf("restored from snapshot %s, want an older one than %#x", from, newest)
	}
	t.Logf("restored from snapshot %s plus %v txns", from, restored[0]["replayed"])
	c := superClient(t, addr)
	defer c.Close()
	sameTree(t, "after falling back to an older snapshot", before, digestTree(t, c.Conn))
}

// ---------------------------------------------------------------------------
// d. Another server's data dir: zkd refuses it and names the owner.

func TestDataDirOfAnotherServer(t *testing.T) {
	cfg := durableServerConfig(nil)
	cfg.MyID = 1
	srv := harness.Zkd(t, cfg)
	c := connect(t, srv.Addr())
	writeNumbered(t, c, "/owned", 20)
	c.Close()
	must(t, srv.Stop())

	for _, id := range []int{2, 0} {
		other := srv.Config()
		other.MyID = id
		if id == 0 {
			must(t, os.Remove(filepath.Join(other.DataDir(), "myid")))
		}
		code, lines := zkdMustExit(t, other)
		if code == 0 {
			t.Errorf("myid %d: zkd exited with status 0", id)
		}
		want := fmt.Sprintf("it holds server 1's data, this is server %d", id)
		found := false
		for _, l := range errorLines(lines) {
			if strings.Contains(l.str("error"), want) {
				found = true
				t.Logf("myid %d: zkd: %s: %s", id, l.str("message"), l.str("error"))
			}
		}
		if !found {
			t.Errorf("myid %d: no error line saying %q; log: %v", id, want, lines)
		}
	}

	// The refusals changed nothing: server 1 still finds its data.
	own := srv.Config()
	own.MyID = 1
	srv2, err := harness.StartZkd(t.Context(), harness.ZkdBin(t), own)
	must(t, err)
	harness.StopOnCleanup(t, srv2)
	c = connect(t, srv2.Addr())
	checkNumbered(t, c, "/owned", 20)
}

// ---------------------------------------------------------------------------
// e. A data dir zkd cannot open: it exits non-zero, naming the dir.

func TestDataDirUnreadable(t *testing.T) {
	t.Run("db path is a file", func(t *testing.T) {
		cfg := durableServerConfig(nil)
		cfg.Dir = t.TempDir()
		must(t, os.MkdirAll(cfg.Dir+"/data", 0o755))
		dbPath := cfg.Dir + "/data/zkd-db"
		must(t, os.WriteFile(dbPath, []byte("not a directory\n"), 0o644))
		checkRefusal(t, cfg, dbPath)
	})
	t.Run("garbage MANIFEST", func(t *testing.T) {
		seed := testSeed(t)
		srv := harness.Zkd(t, durableServerConfig(nil))
		c := connect(t, srv.Addr())
		writeNumbered(t, c, "/m", 10)
		c.Close()
		must(t, srv.Stop())
		dbPath := storageDir(srv.Config())
		garbage := make([]byte, 64)
		rng := newRand(seed, 1)
		for i := range garbage {
			garbage[i] = byte(rng.IntN(256))
		}
		must(t, os.WriteFile(filepath.Join(dbPath, "MANIFEST"), garbage, 0o600))
		checkRefusal(t, srv.Config(), dbPath)
	})
}

// checkRefusal starts zkd on cfg and wants a non-zero exit with an error
// line naming dbPath.
func checkRefusal(t *testing.T, cfg harness.Config, dbPath string) {
	t.Helper()
	code, lines := zkdMustExit(t, cfg)
	if code == 0 {
		t.Errorf("zkd exited with status 0")
	}
	for _, l := range errorLines(lines) {
		if strings.Contains(l.str("error"), dbPath) || l.str("dir") == dbPath {
			t.Logf("zkd: %s: %s", l.str("message"), l.str("error"))
			return
		}
	}
	t.Errorf("no error line names %s; log: %v", dbPath, lines)
}

// ---------------------------------------------------------------------------
// A txn missing from the middle of the log: zkd refuses to start rather
// than serve a state that skips it.

func TestDataDirLogGap(t *testing.T) {
	seed := testSeed(t)
	srv := harness.Zkd(t, durableServerConfig(nil))
	c := connect(t, srv.Addr())
	writeNumbered(t, c, "/gap", 50)
	c.Close()
	must(t, srv.Stop())

	db := openBadger(t, storageDir(srv.Config()))
	keys := badgerKeys(t, db, "t/")
	if len(keys) < 10 {
		db.Close()
		t.Fatalf("%d log entries", len(keys))
	}
	victim := keys[1+newRand(seed, 1).IntN(len(keys)-2)]
	must(t, db.Update(func(txn *badger.Txn) error { return txn.Delete(victim) }))
	must(t, db.Close())
	z := txnKeyZxid(victim)
	t.Logf("deleted log entry %#x of %#x..%#x", z, txnKeyZxid(keys[0]), txnKeyZxid(keys[len(keys)-1]))

	code, lines := zkdMustExit(t, srv.Config())
	if code == 0 {
		t.Errorf("zkd exited with status 0")
	}
	want := fmt.Sprintf("the log jumps from %#x to %#x", z-1, z+1)
	for _, l := range errorLines(lines) {
		if strings.Contains(l.str("error"), want) {
			t.Logf("zkd: %s: %s", l.str("message"), l.str("error"))
			return
		}
	}
	t.Errorf("no error line says %q; log: %v", want, lines)
}

// ---------------------------------------------------------------------------
// A damaged log entry that a snapshot already covers: the snapshot plus the
// intact entries after it hold every acknowledged txn, so zkd must serve
// the same tree as before.
//
// Fails with zkd as of d4e6f7f: storage's recoverLog (storage/recovery.go)
// deletes the damaged entry and every later one whatever the snapshots
// cover, and restore (zkserver/restore.go) then serves the newest snapshot
// with nothing to replay, so the intact, acknowledged txns after that
// snapshot are gone and their zxids are handed out again.

func TestDataDirDamagedEntryCoveredBySnapshot(t *testing.T) {
	seed := testSeed(t)
	srv := harness.Zkd(t, durableServerConfig(map[string]string{"snapCount": "100"}))
	addr := srv.Addr()
	c := superClient(t, addr)
	defer c.Close()
	writeNumbered(t, c.Conn, "/covered", 150)
	// Wait until the snapshots started meanwhile are written.
	within(t, 10*time.Second, "snapshots written", func() bool {
		m := fourLetterMap(t, addr, "mntr", "\t")
		finished := len(findLines(lastRun(t, srv), "snapshot saved"))
		return m["zk_snap_count"] != "0" && m["zk_snap_count"] == strconv.Itoa(finished)
	})
	snap := parseHex(t, fourLetterMap(t, addr, "mntr", "\t")["zk_last_snapshot_zxid"])
	// Txns after the newest snapshot (far fewer than a snapCount/2 more,
	// so no new snapshot starts).
	for i := range 5 {
		_, err := c.Set(fmt.Sprintf("/covered/%04d", i), []byte("after the snapshot"), -1)
		must(t, err)
	}
	before := digestTree(t, c.Conn)
	last := srvrZxid(t, addr)
	c.Close()
	must(t, srv.Stop())

	db := openBadger(t, storageDir(srv.Config()))
	var covered [][]byte
	for _, k := range badgerKeys(t, db, "t/") {
		if z := txnKeyZxid(k); z < snap {
			covered = append(covered, k)
		}
	}
	if len(covered) == 0 {
		db.Close()
		t.Fatalf("no log entry before the snapshot at %#x", snap)
	}
	victim := covered[newRand(seed, 1).IntN(len(covered))]
	flipByte(t, db, victim, seed)
	must(t, db.Close())
	t.Logf("damaged log entry %#x; newest snapshot %#x; last txn %#x", txnKeyZxid(victim), snap, last)

	srv = restartLogged(t, srv)
	c2 := superClient(t, addr)
	defer c2.Close()
	if z := srvrZxid(t, addr); z < last {
		t.Errorf("zkd serves zxid %#x, but txns up to %#x were acknowledged and only %#x (covered by snapshot %#x) was damaged",
			z, last, txnKeyZxid(victim), snap)
	}
	sameTree(t, "after a damaged entry covered by a snapshot", before, digestTree(t, c2.Conn))
}

// restartLogged restarts zkd on its data and logs what its start-up
// recovered, so a failing test shows the storage report and restore line.
func restartLogged(t *testing.T, srv *harness.Server) *harness.Server {
	t.Helper()
	srv = harness.Restart(t, srv)
	for _, l := range findLines(lastRun(t, srv), "storage opened") {
		t.Logf("zkd: storage opened: %s", l.str("report"))
	}
	for _, l := range findLines(lastRun(t, srv), "state restored") {
		t.Logf("zkd: state restored from snapshot %s, replayed %v, zxid %s", l.str("snapshot"), l["replayed"], l.str("zxid"))
	}
	return srv
}
