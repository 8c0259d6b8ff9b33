package integration

// Shared by the ensemble tests: which servers they run against, the ensemble configuration,
// clients that start on a chosen member and move to the others, and the tree digest compared
// across members.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// zkdEnsembleWired says whether zkd runs a zoo.cfg with server.N lines as an ensemble member.
// Until the main branch says "zkd: ensemble ready", the zkd variants of the ensemble tests
// skip.
const zkdEnsembleWired = true

// ensembleKind is one server implementation the ensemble tests run against.
type ensembleKind struct {
	name string
	kind func(t *testing.T) harness.ServerKind
}

var ensembleKinds = []ensembleKind{
	{"zkd", func(t *testing.T) harness.ServerKind {
		if !zkdEnsembleWired {
			t.Skip("zkd ensemble not wired yet")
		}
		return harness.ZkdKindFor(t)
	}},
	{"apache", func(t *testing.T) harness.ServerKind { return harness.ApacheKindFor(t) }},
}

// forEachKind runs f in a subtest per server implementation.
func forEachKind(t *testing.T, f func(t *testing.T, kind harness.ServerKind)) {
	for _, k := range ensembleKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k.kind(t)) })
	}
}

// soak reports whether ZABKAFKA_SOAK=1 asks for the long versions of the ensemble tests.
func soak() bool { return os.Getenv("ZABKAFKA_SOAK") == "1" }

// Ensemble timing, the same for both implementations: a 200 ms tick, learners must connect
// and sync within 5 s (initLimit 25) and answer within 2 s (syncLimit 10).
const (
	ensembleTickMs    = 200
	ensembleInitLimit = 25
	ensembleSyncLimit = 10
	// ensembleSessionTimeout outlasts a client's move to another member when its own stops
	// answering (go-zookeeper notices after 2/3 of it) plus an election.
	ensembleSessionTimeout = 10 * time.Second
)

// ensembleConfig is the configuration of the ensemble tests: zoo.cfg keys as in
// serverConfig (super user, TTL nodes, quick container checks) plus session timeouts up to
// 20 s.
func ensembleConfig(voters, observers int) harness.EnsembleConfig {
	member := serverConfig()
	member.Extra["maxSessionTimeout"] = "20000"
	return harness.EnsembleConfig{
		Voters:     voters,
		Observers:  observers,
		TickTimeMs: ensembleTickMs,
		InitLimit:  ensembleInitLimit,
		SyncLimit:  ensembleSyncLimit,
		Member:     member,
	}
}

// ensembleHosts is a go-zookeeper HostProvider that starts with one member and then tries
// the others in order, pausing 20 ms after each round instead of go-zookeeper's second (the
// default provider also fails queued requests with ErrNoServer after each round). Once the
// client is closed it ends the round, where go-zookeeper notices the close.
type ensembleHosts struct {
	mu      sync.Mutex
	servers []string
	next    int
	tries   int
	closed  atomic.Bool
}

// Init keeps the order the provider was made with: go-zookeeper shuffles the connect
// string before it hands it over.
func (h *ensembleHosts) Init(servers []string) error {
	if len(servers) != len(h.servers) {
		return fmt.Errorf("ensembleHosts: got %v, made for %v", servers, h.servers)
	}
	return nil
}

func (h *ensembleHosts) Len() int { return len(h.servers) }

func (h *ensembleHosts) Next() (string, bool) {
	h.mu.Lock()
	s := h.servers[h.next%len(h.servers)]
	h.next++
	h.tries++
	round := h.tries > len(h.servers)
	if round {
		h.tries = 1
	}
	h.mu.Unlock()
	if h.closed.Load() {
		return s, true
	}
	if round {
		time.Sleep(20 * time.Millisecond)
	}
	return s, false
}

// Connected resets the round. When the connection breaks, the client moves on to the next
// member, as the Java client does: the one it was on may be frozen, and a frozen member
// accepts a new connection and then answers nothing until the handshake times out.
func (h *ensembleHosts) Connected() {
	h.mu.Lock()
	h.tries = 0
	h.mu.Unlock()
}

// cappedConn caps every deadline go-zookeeper sets at max after now. go-zookeeper gives its
// connect handshake ten times its receive timeout, so a client that picks a frozen member
// (SIGSTOP: the kernel still accepts the connection) would wait that long and lose its
// session; capped, it moves on after one receive timeout, as it does when an established
// connection goes quiet.
type cappedConn struct {
	net.Conn
	max time.Duration
}

func (c cappedConn) capped(t time.Time) time.Time {
	if limit := time.Now().Add(c.max); t.IsZero() || t.After(limit) {
		return limit
	}
	return t
}

func (c cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.capped(t)) }
func (c cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.capped(t)) }
func (c cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.capped(t)) }

// eclient is a go-zookeeper session over an ensemble.
type eclient struct {
	*zk.Conn
	sw    *sessionWatch
	hosts *ensembleHosts
	first int // the member it connected to first
}

// Close ends the session; while no member answers it gives up at once.
func (c *eclient) Close() {
	c.hosts.closed.Store(true)
	c.Conn.Close()
}

// ensembleClient opens a session that connects to member first, moves to the next member
// when its server goes away, and logs nothing. It waits for the session and closes it when
// the test ends.
func ensembleClient(t *testing.T, e *harness.Ensemble, first int, timeout time.Duration) *eclient {
	t.Helper()
	addrs := e.Addrs()
	var order []string
	for i := range addrs {
		order = append(order, addrs[(first-1+i)%len(addrs)])
	}
	return clientOver(t, order, first, timeout)
}

// pinnedClient is a session with member id alone.
func pinnedClient(t *testing.T, e *harness.Ensemble, id int) *eclient {
	t.Helper()
	return clientOver(t, []string{e.Member(id).Addr()}, id, ensembleSessionTimeout)
}

func clientOver(t *testing.T, servers []string, first int, timeout time.Duration) *eclient {
	t.Helper()
	c := &eclient{sw: &sessionWatch{}, hosts: &ensembleHosts{servers: servers}, first: first}
	recvTimeout := timeout * 2 / 3
	dial := func(network, addr string, to time.Duration) (net.Conn, error) {
		nc, err := net.DialTimeout(network, addr, to)
		if err != nil {
			return nil, err
		}
		return cappedConn{Conn: nc, max: recvTimeout}, nil
	}
	conn, _, err := zk.Connect(servers, timeout, zk.WithHostProvider(c.hosts), zk.WithDialer(dial),
		zk.WithLogger(quietLogger{}), zk.WithLogInfo(false), zk.WithEventCallback(c.sw.callback))
	if err != nil {
		t.Fatalf("connect %v: %v", servers, err)
	}
	c.Conn = conn
	t.Cleanup(c.Close)
	deadline := time.Now().Add(30 * time.Second)
	for c.sw.hasSess.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no session with %v after 30s", servers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// ensembleDigest walks the tree as one member sees it, after a sync, skipping /zookeeper
// (its config node names the member's own ports in some versions), and describes every
// znode by the fields every member must agree on: data, czxid, mzxid, version, cversion,
// aversion, ephemeralOwner and children. Times are the leader's and could be compared too,
// but pzxid is left out: ZooKeeper's fuzzy snapshots can restore it differently
// (ZOOKEEPER-3056 and friends), which is not what these tests are after. Nothing may change
// during the walk.
func ensembleDigest(t *testing.T, c *zk.Conn) treeDigest {
	t.Helper()
	if _, err := c.Sync("/"); err != nil {
		t.Fatalf("digest: sync: %v", err)
	}
	d := treeDigest{Nodes: make(map[string]string)}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 32) // requests in flight: go-zookeeper pipelines them
		errs []string
	)
	var walk func(p string)
	walk = func(p string) {
		defer wg.Done()
		sem <- struct{}{}
		data, st, err := c.Get(p)
		var children []string
		var st2 *zk.Stat
		if err == nil {
			children, st2, err = c.Children(p)
		}
		<-sem
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("%s: %v", p, err))
			return
		case *st != *st2:
			errs = append(errs, fmt.Sprintf("%s changed during the walk: %+v then %+v", p, *st, *st2))
			return
		}
		sort.Strings(children)
		d.Nodes[p] = fmt.Sprintf("data=%q czxid=%#x mzxid=%#x v=%d cv=%d av=%d owner=%#x children=%v",
			data, st.Czxid, st.Mzxid, st.Version, st.Cversion, st.Aversion, st.EphemeralOwner, children)
		for _, ch := range children {
			kid := path.Join(p, ch)
			if kid == "/zookeeper" {
				continue
			}
			wg.Add(1)
			go walk(kid)
		}
	}
	wg.Add(1)
	walk("/")
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		t.Fatalf("digest: %d errors, first: %s", len(errs), strings.Join(errs[:min(5, len(errs))], "; "))
	}
	d.Sum = sumNodes(d.Nodes)
	return d
}

// sumNodes hashes path -> description pairs in path order.
func sumNodes(nodes map[string]string) string {
	paths := make([]string, 0, len(nodes))
	for p := range nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "%q %s\n", p, nodes[p])
	}
	return sha256Hex(b.String())
}

// sameTreeOnEveryMember digests the tree on each of ids (all members when empty) through a
// session pinned to it and fails the test unless they all agree. It returns the digest.
func sameTreeOnEveryMember(t *testing.T, e *harness.Ensemble, ids ...int) treeDigest {
	t.Helper()
	if len(ids) == 0 {
		for _, m := range e.Members() {
			ids = append(ids, m.ID)
		}
	}
	var first treeDigest
	for i, id := range ids {
		c := pinnedClient(t, e, id)
		d := ensembleDigest(t, c.Conn)
		c.Close()
		if i == 0 {
			first = d
			continue
		}
		sameTree(t, fmt.Sprintf("member %d vs member %d", ids[0], id), first, d)
	}
	t.Logf("members %v agree on the tree: %d znodes, sha256 %s", ids, len(first.Nodes), first.Sum[:16])
	return first
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
