package integration

// Durability of zkd as a real process: acknowledged writes survive SIGKILL,
// sessions come back after a restart (and expire when their client does not),
// snapshots plus purging restore exactly the tree that was served.
//
// Random choices come from a seed that every test logs; set
// ZABKAFKA_TEST_SEED to repeat a run.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
)

// ---------------------------------------------------------------------------
// Shared helpers (also used by datadir_test.go)

// testSeed returns the seed of a test's random choices and logs it.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ZABKAFKA_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ZABKAFKA_TEST_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (ZABKAFKA_TEST_SEED=%d repeats this run)", seed, seed)
	return seed
}

// newRand is a math/rand generator for stream k of seed.
func newRand(seed uint64, k int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(k))) }

// within polls cond until it holds or d passes, then fails the test.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// durableServerConfig is serverConfig with JSON logs, so tests can read
// what zkd said about its storage.
func durableServerConfig(extra map[string]string) harness.Config {
	cfg := serverConfig()
	cfg.Args = append(slices.Clone(cfg.Args), "-log-format", "json")
	for k, v := range extra {
		cfg.Extra[k] = v
	}
	return cfg
}

// quickHosts is a go-zookeeper HostProvider for one server that retries
// every 20 ms. The default provider sleeps a second after every failed
// round and fails queued requests with ErrNoServer meanwhile; with this one
// a client is back within moments of a restart and a request made during
// the outage waits for the reconnect. Once the client is closed it reports
// the end of a round, where go-zookeeper notices the close, so a closed
// client stops dialing a server that is gone.
type quickHosts struct {
	server string
	tries  atomic.Int64
	closed atomic.Bool
}

func (h *quickHosts) Init(servers []string) error {
	if len(servers) != 1 {
		return fmt.Errorf("quickHosts: want one server, got %v", servers)
	}
	h.server = servers[0]
	return nil
}

func (h *quickHosts) Len() int { return 1 }

func (h *quickHosts) Next() (string, bool) {
	if h.closed.Load() {
		return h.server, true
	}
	if h.tries.Add(1) > 1 {
		time.Sleep(20 * time.Millisecond)
	}
	return h.server, false
}

func (h *quickHosts) Connected() { h.tries.Store(0) }

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// sessionWatch records the session states a go-zookeeper connection went
// through.
type sessionWatch struct {
	expired atomic.Int64
	hasSess atomic.Int64
}

func (w *sessionWatch) callback(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	switch ev.State {
	case zk.StateExpired:
		w.expired.Add(1)
	case zk.StateHasSession:
		w.hasSess.Add(1)
	}
}

// rclient is a go-zookeeper session that reconnects quickly (quickHosts).
type rclient struct {
	*zk.Conn
	sw    *sessionWatch
	hosts *quickHosts
}

// Close ends the session; while the server is down it gives up at once.
func (c *rclient) Close() {
	c.hosts.closed.Store(true)
	c.Conn.Close()
}

// reconnectingClient opens a session that reconnects quickly and logs
// nothing, and waits until the session exists. The caller closes it.
func reconnectingClient(t *testing.T, addr string, timeout time.Duration) *rclient {
	t.Helper()
	c := &rclient{sw: &sessionWatch{}, hosts: &quickHosts{}}
	conn, _, err := zk.Connect([]string{addr}, timeout, zk.WithHostProvider(c.hosts),
		zk.WithLogger(quietLogger{}), zk.WithLogInfo(false), zk.WithEventCallback(c.sw.callback))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	c.Conn = conn
	deadline := time.Now().Add(10 * time.Second)
	for c.sw.hasSess.Load() == 0 {
		if time.Now().After(deadline) {
			c.Close()
			t.Fatalf("no session with %s after 10s", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// superClient is a fresh session authenticated as the super user, who
// may read every node whatever its ACL. The caller closes it.
func superClient(t *testing.T, addr string) *rclient {
	t.Helper()
	c := reconnectingClient(t, addr, 4*time.Second)
	if err := c.AddAuth("digest", []byte("super:test")); err != nil {
		c.Close()
		t.Fatalf("super auth: %v", err)
	}
	return c
}

// treeDigest walks every znode and describes each by path, data, full Stat
// and ACL. The client must be allowed to read everything (super), and
// nothing may change during the walk.
type treeDigest struct {
	Sum   string
	Nodes map[string]string // path -> description
}

func digestTree(t *testing.T, c *zk.Conn) treeDigest {
	t.Helper()
	d := treeDigest{Nodes: make(map[string]string)}
	var walk func(p string)
	walk = func(p string) {
		data, st, err := c.Get(p)
		if err != nil {
			t.Fatalf("digest: get %s: %v", p, err)
		}
		acl, st2, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("digest: getACL %s: %v", p, err)
		}
		if *st != *st2 {
			t.Fatalf("digest: %s changed during the walk: %+v then %+v", p, *st, *st2)
		}
		children, st3, err := c.Children(p)
		if err != nil {
			t.Fatalf("digest: children %s: %v", p, err)
		}
		if *st != *st3 {
			t.Fatalf("digest: %s changed during the walk: %+v then %+v", p, *st, *st3)
		}
		d.Nodes[p] = fmt.Sprintf("data=%x stat=%+v acl=%+v", data, *st, acl)
		sort.Strings(children)
		for _, ch := range children {
			walk(path.Join(p, ch))
		}
	}
	walk("/")
	paths := make([]string, 0, len(d.Nodes))
	for p := range d.Nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%q %s\n", p, d.Nodes[p])
	}
	d.Sum = hex.EncodeToString(h.Sum(nil))
	return d
}

// sameTree fails the test with the differing nodes unless a and b match.
func sameTree(t *testing.T, what string, before, after treeDigest) {
	t.Helper()
	if before.Sum == after.Sum {
		t.Logf("%s: same tree (%d nodes, sha256 %s)", what, len(after.Nodes), after.Sum[:16])
		return
	}
	var diffs []string
	for p, want := range before.Nodes {
		if got, ok := after.Nodes[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: missing (was %s)", p, want))
		} else if got != want {
			diffs = append(diffs, fmt.Sprintf("%s:\n  before %s\n  after  %s", p, want, got))
		}
	}
	for p, got := range after.Nodes {
		if _, ok := before.Nodes[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: new (%s)", p, got))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	t.Fatalf("%s: tree differs (%d nodes before, %d after):\n%s", what, len(before.Nodes), len(after.Nodes), strings.Join(diffs, "\n"))
}

// logLine is one JSON line of zkd's log.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// parseRuns splits a zkd log into runs (the harness writes a "=== harness"
// header before each start) and parses the JSON lines of each.
func parseRuns(text string) [][]logLine {
	var runs [][]logLine
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "=== harness") {
			runs = append(runs, nil)
			continue
		}
		var l logLine
		if json.Unmarshal([]byte(line), &l) != nil {
			l = logLine{"message": line, "unparsed": true}
		}
		if len(runs) == 0 {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], l)
	}
	return runs
}

// lastRun is the log of the newest start of srv.
func lastRun(t *testing.T, srv *harness.Server) []logLine {
	t.Helper()
	runs := parseRuns(readLog(t, srv.LogPath()))
	if len(runs) == 0 {
		t.Fatalf("%s: empty log", srv.LogPath())
	}
	return runs[len(runs)-1]
}

func findLines(lines []logLine, msg string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l.str("message") == msg {
			out = append(out, l)
		}
	}
	return out
}

// fourLetterMap runs a four-letter word that answers "key<sep>value" lines.
func fourLetterMap(t *testing.T, addr, cmd, sep string) map[string]string {
	t.Helper()
	reply, err := harness.FourLetter(addr, cmd, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	m := make(map[string]string)
	for _, line := range strings.Split(reply, "\n") {
		if k, v, ok := strings.Cut(line, sep); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// srvrZxid is the zxid srvr reports: the last txn the server applied.
func srvrZxid(t *testing.T, addr string) int64 {
	t.Helper()
	z, ok := fourLetterMap(t, addr, "srvr", ":")["Zxid"]
	if !ok {
		t.Fatalf("srvr has no Zxid line")
	}
	return parseHex(t, z)
}

// storageDir is where zkd keeps its badger DB for a harness config.
func storageDir(cfg harness.Config) string { return cfg.DataDir() + "/zkd-db" }

// ---------------------------------------------------------------------------
// TestCrashKillNineKeepsAcknowledgedWrites

// unknownOutcome reports whether err leaves an op's outcome open: the
// connection broke after the request may have reached the server.
// Errors the server answered with are definite.
func unknownOutcome(err error) bool {
	switch {
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrSessionExpired),
		errors.Is(err, zk.ErrNoServer), errors.Is(err, zk.ErrClosing), errors.Is(err, zk.ErrSessionMoved):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// crashWriter writes continuously on its own session and remembers what
// the server acknowledged and what it merely attempted.
type crashWriter struct {
	id   int
	conn *rclient
	rng  *rand.Rand
	run  *crashRun

	expect int32 // counter version the writer believes is current (writer goroutine only)

	mu            sync.Mutex
	lastAck       int32 // highest acknowledged counter version
	maxAttempted  int32 // highest counter version ever sent
	multiAttempt  map[int]bool
	multiAck      map[int]bool
	nextMulti     int
	seqAck        []string // names of acknowledged sequential nodes
	seqAttempted  int
	acks, unknown int
}

type crashRun struct {
	t          *testing.T
	stop       chan struct{}
	maxAckZxid atomic.Int64 // largest mzxid of an acknowledged setData
	acks       atomic.Int64
	writers    []*crashWriter
}

func (r *crashRun) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func (r *crashRun) noteZxid(z int64) {
	for {
		cur := r.maxAckZxid.Load()
		if z <= cur || r.maxAckZxid.CompareAndSwap(cur, z) {
			return
		}
	}
}

func (w *crashWriter) counterPath() string { return fmt.Sprintf("/crash/c-%d", w.id) }
func (w *crashWriter) multiParent() string { return fmt.Sprintf("/crash/multi-%d", w.id) }
func (w *crashWriter) seqParent() string   { return fmt.Sprintf("/crash/seq-%d", w.id) }
func (w *crashWriter) multiName(i int, half string) string {
	return fmt.Sprintf("m-%d-%d-%s", w.id, i, half)
}

func (w *crashWriter) loop(wg *sync.WaitGroup) {
	defer wg.Done()
	for !w.run.stopped() {
		var ok bool
		switch w.rng.IntN(4) {
		case 0, 1:
			ok = w.setCounter()
		case 2:
			ok = w.multiCreate()
		default:
			ok = w.seqCreate()
		}
		if !ok {
			return
		}
	}
}

func (w *crashWriter) acked() {
	w.mu.Lock()
	w.acks++
	w.mu.Unlock()
	w.run.acks.Add(1)
}

func (w *crashWriter) unknownOp() {
	w.mu.Lock()
	w.unknown++
	w.mu.Unlock()
}

// setCounter is a versioned setData whose data is the new version.
func (w *crashWriter) setCounter() bool {
	next := w.expect + 1
	w.mu.Lock()
	w.maxAttempted = max(w.maxAttempted, next)
	w.mu.Unlock()
	st, err := w.conn.Set(w.counterPath(), []byte(strconv.Itoa(int(next))), w.expect)
	switch {
	case err == nil:
		if st.Version != next || st.Mzxid <= 0 {
			w.run.t.Errorf("writer %d: setData to version %d acknowledged with stat %+v", w.id, next, *st)
			return false
		}
		w.mu.Lock()
		w.lastAck = next
		w.mu.Unlock()
		w.run.noteZxid(st.Mzxid)
		w.expect = next
		w.acked()
		return true
	case unknownOutcome(err):
		w.unknownOp()
		return w.resync()
	default:
		w.run.t.Errorf("writer %d: setData %s version %d -> %d: %v", w.id, w.counterPath(), w.expect, next, err)
		return false
	}
}

// resync reads the counter after an op with an unknown outcome: the
// server holds either the last acknowledged version or the attempted one.
func (w *crashWriter) resync() bool {
	for !w.run.stopped() {
		data, st, err := w.conn.Get(w.counterPath())
		if err == nil {
			w.mu.Lock()
			lo, hi := w.lastAck, w.maxAttempted
			w.mu.Unlock()
			if st.Version < lo || st.Version > hi || string(data) != strconv.Itoa(int(st.Version)) {
				w.run.t.Errorf("writer %d: after a lost connection %s has version %d data %q; acknowledged %d, attempted up to %d",
					w.id, w.counterPath(), st.Version, data, lo, hi)
				return false
			}
			w.expect = st.Version
			return true
		}
		if !unknownOutcome(err) {
			w.run.t.Errorf("writer %d: get %s: %v", w.id, w.counterPath(), err)
			return false
		}
	}
	return false
}

// multiCreate creates two nodes in one multi.
func (w *crashWriter) multiCreate() bool {
	w.mu.Lock()
	i := w.nextMulti
	w.nextMulti++
	w.multiAttempt[i] = true
	w.mu.Unlock()
	data := []byte(strconv.Itoa(i))
	_, err := w.conn.Multi(
		&zk.CreateRequest{Path: w.multiParent() + "/" + w.multiName(i, "a"), Data: data, Acl: openACL},
		&zk.CreateRequest{Path: w.multiParent() + "/" + w.multiName(i, "b"), Data: data, Acl: openACL})
	switch {
	case err == nil:
		w.mu.Lock()
		w.multiAck[i] = true
		w.mu.Unlock()
		w.acked()
		return true
	case unknownOutcome(err):
		w.unknownOp()
		return true
	default:
		w.run.t.Errorf("writer %d: multi %d: %v", w.id, i, err)
		return false
	}
}

// seqCreate creates a sequential node.
func (w *crashWriter) seqCreate() bool {
	w.mu.Lock()
	w.seqAttempted++
	w.mu.Unlock()
	name, err := w.conn.Create(w.seqParent()+"/n-", []byte("s"), zk.FlagSequence, openACL)
	switch {
	case err == nil:
		w.mu.Lock()
		w.seqAck = append(w.seqAck, path.Base(name))
		w.mu.Unlock()
		w.acked()
		return true
	case unknownOutcome(err):
		w.unknownOp()
		return true
	default:
		w.run.t.Errorf("writer %d: sequential create: %v", w.id, err)
		return false
	}
}

// check verifies, from a fresh session c, everything the writers were
// told: acknowledged state is there, attempted state is all or nothing.
// Writers may keep writing meanwhile, so each acknowledgement set is taken
// before the read and each attempt set after it.
func (r *crashRun) check(c *zk.Conn, addr, when string) {
	t := r.t
	t.Helper()
	zxidBefore := r.maxAckZxid.Load()
	for _, w := range r.writers {
		// Counter: a version between the last acknowledged and the last
		// attempted one, and data that says the same (no torn write).
		w.mu.Lock()
		lo := w.lastAck
		w.mu.Unlock()
		data, st, err := c.Get(w.counterPath())
		if err != nil {
			t.Fatalf("%s: get %s: %v", when, w.counterPath(), err)
		}
		w.mu.Lock()
		hi := w.maxAttempted
		w.mu.Unlock()
		if st.Version < lo || st.Version > hi {
			t.Errorf("%s: %s has version %d; acknowledged %d, attempted up to %d", when, w.counterPath(), st.Version, lo, hi)
		}
		if string(data) != strconv.Itoa(int(st.Version)) {
			t.Errorf("%s: %s has version %d but data %q", when, w.counterPath(), st.Version, data)
		}

		// Multis: every acknowledged one has both nodes, none has one.
		w.mu.Lock()
		acked := make([]int, 0, len(w.multiAck))
		for i := range w.multiAck {
			acked = append(acked, i)
		}
		w.mu.Unlock()
		children, _, err := c.Children(w.multiParent())
		if err != nil {
			t.Fatalf("%s: children %s: %v", when, w.multiParent(), err)
		}
		present := make(map[string]bool, len(children))
		for _, ch := range children {
			present[ch] = true
		}
		for _, i := range acked {
			if !present[w.multiName(i, "a")] || !present[w.multiName(i, "b")] {
				t.Errorf("%s: acknowledged multi %d of writer %d: a=%v b=%v", when, i, w.id,
					present[w.multiName(i, "a")], present[w.multiName(i, "b")])
			}
		}
		w.mu.Lock()
		for _, ch := range children {
			var wid, i int
			var half string
			if _, err := fmt.Sscanf(strings.ReplaceAll(ch, "-", " "), "m %d %d %s", &wid, &i, &half); err != nil || wid != w.id {
				t.Errorf("%s: unexpected node %s/%s", when, w.multiParent(), ch)
				continue
			}
			other := map[string]string{"a": "b", "b": "a"}[half]
			if !present[w.multiName(i, other)] {
				t.Errorf("%s: half a multi: %s/%s exists, its partner %s does not", when, w.multiParent(), ch, w.multiName(i, other))
			}
			if !w.multiAttempt[i] {
				t.Errorf("%s: %s/%s exists but was never attempted", when, w.multiParent(), ch)
			}
		}
		w.mu.Unlock()

		// Sequential nodes: every acknowledged one exists; no more exist
		// than were attempted.
		w.mu.Lock()
		seqAck := slices.Clone(w.seqAck)
		w.mu.Unlock()
		children, _, err = c.Children(w.seqParent())
		if err != nil {
			t.Fatalf("%s: children %s: %v", when, w.seqParent(), err)
		}
		present = make(map[string]bool, len(children))
		for _, ch := range children {
			present[ch] = true
		}
		for _, name := range seqAck {
			if !present[name] {
				t.Errorf("%s: acknowledged sequential node %s/%s is missing", when, w.seqParent(), name)
			}
		}
		w.mu.Lock()
		if len(children) > w.seqAttempted {
			t.Errorf("%s: %s has %d children, only %d creates were attempted", when, w.seqParent(), len(children), w.seqAttempted)
		}
		w.mu.Unlock()
	}

	// Zxids continue after every acknowledged one.
	st, err := c.Set("/crash/probe", []byte(when), -1)
	if err != nil {
		t.Fatalf("%s: probe write: %v", when, err)
	}
	if st.Mzxid <= zxidBefore {
		t.Errorf("%s: a new write got zxid %#x, not above the acknowledged %#x: zxids went back", when, st.Mzxid, zxidBefore)
	}
	if z := srvrZxid(t, addr); z < st.Mzxid {
		t.Errorf("%s: srvr reports zxid %#x, below the probe's %#x", when, z, st.Mzxid)
	}
}

func TestCrashKillNineKeepsAcknowledgedWrites(t *testing.T) {
	// 16 SIGKILLs, and a SIGTERM under load in rounds 2, 7, 12, 17.
	crashKillNine(t, 20, nil)
}

// TestCrashKillNineTxnValueLog runs the crash test with txns in badger's
// value log (zkd.txnValueLog=yes), where a commit syncs two files.
func TestCrashKillNineTxnValueLog(t *testing.T) {
	crashKillNine(t, 8, map[string]string{"zkd.txnValueLog": "yes"})
}

// crashKillNine kills (and now and then stops) a server under
// continuous writes, rounds times, checking after every restart that
// nothing acknowledged is lost and nothing unacknowledged is half applied.
func crashKillNine(t *testing.T, rounds int, extra map[string]string) {
	const writers = 8
	seed := testSeed(t)
	rng := newRand(seed, 0)
	// Small snapCount and a quick purge, so kills also land during
	// snapshots and purges and restarts use snapshots plus the log.
	keys := map[string]string{
		"snapCount":                 "1000",
		"autopurge.snapRetainCount": "3",
		"autopurge.purgeInterval":   "300ms",
	}
	maps.Copy(keys, extra)
	cfg := durableServerConfig(keys)
	srv := harness.Zkd(t, cfg)
	addr := srv.Addr()

	setup := connect(t, addr)
	must(t, createAll(setup, "/crash", "/crash/probe"))
	run := &crashRun{t: t, stop: make(chan struct{})}
	for i := range writers {
		w := &crashWriter{id: i, run: run, rng: newRand(seed, 1+i),
			multiAttempt: make(map[int]bool), multiAck: make(map[int]bool)}
		must(t, createAll(setup, w.multiParent(), w.seqParent()))
		_, err := setup.Create(w.counterPath(), []byte("0"), 0, openACL)
		must(t, err)
		run.writers = append(run.writers, w)
	}
	setup.Close()

	// A session that lives through every crash, holding an ephemeral.
	live := reconnectingClient(t, addr, 4*time.Second)
	defer live.Close()
	_, err := live.Create("/crash/eph-live", []byte("live"), zk.FlagEphemeral, openACL)
	must(t, err)
	liveID := live.SessionID()

	var wg sync.WaitGroup
	for _, w := range run.writers {
		w.conn = reconnectingClient(t, addr, 4*time.Second)
		wg.Add(1)
		go w.loop(&wg)
	}
	// Closing the sessions first ends ops waiting for a server that may
	// never come back (a failed test); writers count those as unknown.
	stopWriters := sync.OnceFunc(func() {
		close(run.stop)
		for _, w := range run.writers {
			w.conn.Close()
		}
		wg.Wait()
	})
	defer stopWriters()

	checkLive := func(when string) {
		t.Helper()
		c := reconnectingClient(t, addr, 4*time.Second)
		defer c.Close()
		ok, st, err := c.Exists("/crash/eph-live")
		if err != nil {
			t.Fatalf("%s: exists /crash/eph-live: %v", when, err)
		}
		if !ok || st.EphemeralOwner != liveID {
			t.Errorf("%s: ephemeral of the live session 0x%x: exists=%v owner=0x%x", when, liveID, ok, st.EphemeralOwner)
		}
		run.check(c.Conn, addr, when)
	}

	var goneKilledAt time.Time
	var goneID int64
	closedAt := 0
	start := time.Now()
	var outage time.Duration
	kills := 0
	for round := 1; round <= rounds; round++ {
		// Let the writers get going against this process, then kill it at
		// a random moment while they write.
		term := round%5 == 2
		base := run.acks.Load()
		within(t, 20*time.Second, fmt.Sprintf("writers to resume after restart %d", round-1), func() bool {
			return run.acks.Load() >= base+writers
		})
		if round == rounds/2 {
			// A session closed just before the crash stays closed: its
			// ephemeral must not come back with the restart.
			raw, err := zkproto.Dial(addr, 4*time.Second)
			must(t, err)
			must(t, rawCreate(raw, "/crash/eph-closed", 1))
			must(t, raw.Call(jute.OpCloseSession, nil, nil))
			raw.Close()
			closedAt = round
		}
		if round == rounds {
			// A session whose client disappears with the server: it comes
			// back with the restored state, and then expires.
			raw, err := zkproto.Dial(addr, 4*time.Second)
			must(t, err)
			must(t, rawCreate(raw, "/crash/eph-gone", 1))
			goneID = raw.SessionID
			defer raw.Close()
		}
		time.Sleep(time.Duration(30+rng.IntN(271)) * time.Millisecond) // the kill moment, not a synchronisation
		killedAt := time.Now()
		what := fmt.Sprintf("after SIGKILL %d (round %d)", kills+1, round)
		if term {
			what = fmt.Sprintf("after SIGTERM (round %d)", round)
			if err := srv.Stop(); err != nil {
				t.Errorf("SIGTERM under load: %v", err)
			}
		} else {
			srv.Kill()
			kills++
		}
		if round == rounds {
			goneKilledAt = killedAt
		}
		srv = harness.Restart(t, srv)
		outage += time.Since(killedAt)
		checkLive(what)
		if closedAt > 0 {
			c := reconnectingClient(t, addr, 4*time.Second)
			ok, st, err := c.Exists("/crash/eph-closed")
			c.Close()
			must(t, err)
			if ok {
				t.Errorf("%s: the ephemeral of a session closed before round %d is back (owner 0x%x)", what, closedAt, st.EphemeralOwner)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d SIGKILLs and %d SIGTERMs in %v (outages %v in total, %v on average)", kills, rounds-kills,
		time.Since(start).Round(time.Millisecond), outage.Round(time.Millisecond), (outage / time.Duration(rounds)).Round(time.Millisecond))
	cutOff := 0
	for _, w := range run.writers {
		w.mu.Lock()
		cutOff += w.unknown
		w.mu.Unlock()
	}
	if cutOff == 0 {
		t.Errorf("no op was cut off by a kill: the kills did not land during writes")
	}

	// The abandoned session is back after the restart...
	c := reconnectingClient(t, addr, 4*time.Second)
	defer c.Close()
	ok, st, err := c.Exists("/crash/eph-gone")
	must(t, err)
	switch elapsed := time.Since(goneKilledAt); {
	case ok && st.EphemeralOwner != goneID:
		t.Errorf("/crash/eph-gone has owner 0x%x, want 0x%x", st.EphemeralOwner, goneID)
	case !ok && elapsed < 3500*time.Millisecond:
		// Restored sessions get a full timeout (4s) from the restart on.
		t.Errorf("the ephemeral of session 0x%x was gone %v after the kill, before its timeout could run out", goneID, elapsed)
	case !ok:
		t.Logf("the restart took %v; /crash/eph-gone had already expired", elapsed)
	}
	// ...and, since its client never returns, expires.
	within(t, 15*time.Second, "the abandoned session's ephemeral to be deleted", func() bool {
		ok, _, err := c.Exists("/crash/eph-gone")
		must(t, err)
		return !ok
	})
	t.Logf("abandoned session 0x%x expired %v after the last kill", goneID, time.Since(goneKilledAt).Round(time.Millisecond))

	// Final check with the writers stopped.
	stopWriters()
	checkLive("at the end")
	if n := live.sw.expired.Load(); n != 0 {
		t.Errorf("the live session 0x%x saw %d expirations", liveID, n)
	}
	if live.SessionID() != liveID {
		t.Errorf("the live session changed id from 0x%x to 0x%x", liveID, live.SessionID())
	}
	var acks, unknown, multis, seqs int
	for _, w := range run.writers {
		w.mu.Lock()
		acks += w.acks
		unknown += w.unknown
		multis += len(w.multiAck)
		seqs += len(w.seqAck)
		w.mu.Unlock()
		if n := w.conn.sw.expired.Load(); n != 0 {
			t.Errorf("writer %d's session expired %d times; restored sessions should have been resumed", w.id, n)
		}
	}
	t.Logf("%d acknowledged ops (%d multis, %d sequential creates), %d with unknown outcome (%d cut off by kills); last acknowledged zxid %#x",
		acks, multis, seqs, unknown, cutOff, run.maxAckZxid.Load())
}

// newestFirst reports whether snapshots are listed with strictly
// decreasing zxids.
func newestFirst(snaps []storage.SnapshotMeta) bool {
	for i := 1; i < len(snaps); i++ {
		if snaps[i].Zxid >= snaps[i-1].Zxid {
			return false
		}
	}
	return true
}

// createAll creates persistent nodes that do not exist yet.
func createAll(c *zk.Conn, paths ...string) error {
	for _, p := range paths {
		if _, err := c.Create(p, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// TestSnapshotsAndPurgeRestoreSameTree

// treeWorker writes a random mix of txns in its own subtree, on a model
// that keeps its ops valid.
type treeWorker struct {
	root  string
	rng   *rand.Rand
	nodes []string       // live persistent nodes below root
	kids  map[string]int // live children per node
	n     int
}

var workerACLs = [][]zk.ACL{
	zk.WorldACL(zk.PermAll),
	zk.WorldACL(zk.PermRead),
	append(zk.WorldACL(zk.PermRead|zk.PermWrite), zk.DigestACL(zk.PermAll, "alice", "secret")...),
	zk.DigestACL(zk.PermAll, "bob", "pw"),
	{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}},
}

func (w *treeWorker) data() []byte {
	b := make([]byte, w.rng.IntN(80))
	for i := range b {
		b[i] = byte(w.rng.IntN(256))
	}
	return b
}

// step runs one random op. The client is the super user, so ACLs never
// get in the way.
func (w *treeWorker) step(c *zk.Conn) error {
	pick := func() string { return w.nodes[w.rng.IntN(len(w.nodes))] }
	switch r := w.rng.IntN(100); {
	case r < 30 || len(w.nodes) < 5:
		parent := w.root
		if len(w.nodes) > 0 && w.rng.IntN(3) == 0 {
			if p := pick(); strings.Count(p, "/") < 6 {
				parent = p
			}
		}
		p := fmt.Sprintf("%s/n%d", parent, w.n)
		w.n++
		acl := workerACLs[w.rng.IntN(len(workerACLs))]
		if _, err := c.Create(p, w.data(), 0, acl); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		w.nodes = append(w.nodes, p)
		w.kids[parent]++
	case r < 55:
		p := pick()
		if _, err := c.Set(p, w.data(), -1); err != nil {
			return fmt.Errorf("set %s: %w", p, err)
		}
	case r < 70:
		i := w.rng.IntN(len(w.nodes))
		p := w.nodes[i]
		if w.kids[p] > 0 {
			return nil
		}
		if err := c.Delete(p, -1); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
		w.nodes = slices.Delete(w.nodes, i, i+1)
		w.kids[path.Dir(p)]--
		delete(w.kids, p)
	case r < 85:
		p := pick()
		if _, err := c.SetACL(p, workerACLs[w.rng.IntN(len(workerACLs))], -1); err != nil {
			return fmt.Errorf("setACL %s: %w", p, err)
		}
	default:
		p, err := c.Create(w.root+"/s-", w.data(), zk.FlagSequence, openACL)
		if err != nil {
			return fmt.Errorf("sequential create in %s: %w", w.root, err)
		}
		w.nodes = append(w.nodes, p)
		w.kids[w.root]++
	}
	return nil
}

// writeTrees runs ops random ops in each of the workers' subtrees, one
// session and goroutine per worker.
func writeTrees(t *testing.T, addr string, workers []*treeWorker, ops int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(workers))
	for _, w := range workers {
		c := superClient(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for range ops {
				if err := w.step(c.Conn); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitSnapshotsPurged waits until every snapshot zkd started has been
// written and a purge ran after the newest one, so the store holds at most
// snapRetainCount snapshots until the next txn. No txn may be running.
//
// A purge lists the snapshots, deletes, then logs "purged"; a snapshot
// saved meanwhile is logged before that line but was not in the list. The
// purge loop is sequential, so the second purge logged after the last
// "snapshot saved" line listed that snapshot.
func waitSnapshotsPurged(t *testing.T, srv *harness.Server) {
	t.Helper()
	within(t, 15*time.Second, "snapshots written and purged", func() bool {
		taken, err := strconv.Atoi(fourLetterMap(t, srv.Addr(), "mntr", "\t")["zk_snap_count"])
		if err != nil {
			t.Fatalf("mntr zk_snap_count: %v", err)
		}
		finished, purgesAfter := 0, 0
		for _, l := range lastRun(t, srv) {
			switch l.str("message") {
			case "snapshot saved", "snapshot failed", "snapshot abandoned: shutting down":
				finished++
				purgesAfter = 0
			case "purged":
				purgesAfter++
			}
		}
		return taken > 0 && finished == taken && purgesAfter >= 2
	})
}

func TestSnapshotsAndPurgeRestoreSameTree(t *testing.T) {
	seed := testSeed(t)
	// The log on its own dataLogDir, as ZooKeeper's docs advise: zkd's
	// DB lives there.
	dir := t.TempDir()
	logDir := dir + "/txnlog"
	cfg := durableServerConfig(map[string]string{
		"snapCount":                 "100",
		"autopurge.snapRetainCount": "3",
		"autopurge.purgeInterval":   "200ms",
		"dataLogDir":                logDir,
	})
	cfg.Dir = dir
	srv := harness.Zkd(t, cfg)
	addr := srv.Addr()

	// A live session with ephemerals; it also walks the tree before each
	// stop, because a new session would be a txn (and maybe a snapshot).
	live := superClient(t, addr)
	defer live.Close()
	must(t, createAll(live.Conn, "/snap"))
	var workers []*treeWorker
	for i := range 6 {
		w := &treeWorker{root: fmt.Sprintf("/snap/w%d", i), rng: newRand(seed, i), kids: make(map[string]int)}
		must(t, createAll(live.Conn, w.root))
		workers = append(workers, w)
	}
	for i := range 5 {
		_, err := live.Create(fmt.Sprintf("/snap/eph-%d", i), []byte("e"), zk.FlagEphemeral, openACL)
		must(t, err)
	}

	writeTrees(t, addr, workers, 600)
	_, err := live.Set("/snap/eph-0", []byte("changed"), -1)
	must(t, err)
	waitSnapshotsPurged(t, srv)
	lastZxid := srvrZxid(t, addr)
	// dirs: the DB is under dataLogDir; dataDir holds only myid.
	dirs := fourLetterMap(t, addr, "dirs", ":")
	dataSize, err1 := strconv.ParseInt(dirs["datadir_size"], 10, 64)
	logSize, err2 := strconv.ParseInt(dirs["logdir_size"], 10, 64)
	if err1 != nil || err2 != nil || dataSize <= 0 || logSize <= dataSize {
		t.Errorf("dirs = %v: want the log dir, which holds the DB, larger than a non-empty data dir", dirs)
	}
	mntr := fourLetterMap(t, addr, "mntr", "\t")
	t.Logf("at zxid %#x: %s snapshots taken, first txn in the log %s, last snapshot %s",
		lastZxid, mntr["zk_snap_count"], mntr["zk_txnlog_first_zxid"], mntr["zk_last_snapshot_zxid"])
	before := digestTree(t, live.Conn)

	// SIGTERM, then look at the store as zkd left it.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(storageDir(srv.Config())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("with dataLogDir set, %s should not exist (stat: %v)", storageDir(srv.Config()), err)
	}
	st, err := badgerstore.Open(logDir+"/zkd-db", 0, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := st.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	first, last, rec := st.FirstZxid(), st.LastZxid(), st.Recovery()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var zxids []string
	for _, m := range snaps {
		zxids = append(zxids, fmt.Sprintf("%#x", m.Zxid))
	}
	t.Logf("store after SIGTERM: snapshots %v, log %#x..%#x, recovery: %s", zxids, first, last, rec)
	switch {
	case len(snaps) == 0 || len(snaps) > 3:
		t.Errorf("%d snapshots kept, want 1..3 (autopurge.snapRetainCount=3)", len(snaps))
	case !newestFirst(snaps):
		t.Errorf("snapshots not newest first: %v", zxids)
	default:
		if first <= 1 {
			t.Errorf("the log still starts at %#x: old txns were not purged", first)
		}
		if oldest := snaps[len(snaps)-1].Zxid; first > oldest+1 {
			t.Errorf("the log starts at %#x, after the oldest kept snapshot %#x: falling back to it would lose txns", first, oldest)
		}
		if snaps[0].Zxid > lastZxid || last != lastZxid {
			t.Errorf("newest snapshot %#x, last log entry %#x; zkd served zxid %#x", snaps[0].Zxid, last, lastZxid)
		}
	}
	if !rec.Clean() {
		t.Errorf("a clean stop left a store that needed repair: %s", rec)
	}

	srv = harness.Restart(t, srv)
	c := superClient(t, addr)
	sameTree(t, "restart after SIGTERM", before, digestTree(t, c.Conn))
	c.Close()
	restored := findLines(lastRun(t, srv), "state restored")
	if len(restored) != 1 || restored[0].str("snapshot") == "0x0" {
		t.Errorf("start-up did not restore from a snapshot: %v", restored)
	}

	// More txns, then SIGKILL.
	writeTrees(t, addr, workers, 300)
	_, err = live.Set("/snap/eph-1", []byte("changed too"), -1)
	must(t, err)
	before = digestTree(t, live.Conn)
	srv.Kill()
	srv = harness.Restart(t, srv)
	c = superClient(t, addr)
	sameTree(t, "restart after SIGKILL", before, digestTree(t, c.Conn))
	c.Close()
	t.Logf("restored after SIGKILL: %v", findLines(lastRun(t, srv), "state restored"))
}
