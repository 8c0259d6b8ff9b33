package zkserver

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/storage/memstore"
	"github.com/zabkafka/zabkafka/znode"
)

// testEnsemble is an ensemble of in-process members on loopback ports,
// each on its own memstore disk, so members can crash and restart.
type testEnsemble struct {
	t       *testing.T
	servers map[int64]string // server.N values
	clients map[int64]int    // client ports
	disks   map[int64]*memstore.Disk
	stores  map[int64]*memstore.Store
	members map[int64]*Server
	log     *testlog.Buffer
}

func newTestEnsemble(t *testing.T, voters, observers int) *testEnsemble {
	t.Helper()
	e := &testEnsemble{t: t, servers: map[int64]string{}, clients: map[int64]int{}, disks: map[int64]*memstore.Disk{},
		stores: map[int64]*memstore.Store{}, members: map[int64]*Server{}, log: &testlog.Buffer{}}
	ports := freePorts(t, 3*(voters+observers))
	for id := int64(1); id <= int64(voters+observers); id++ {
		v := fmt.Sprintf("127.0.0.1:%d:%d", ports[0], ports[1])
		if id > int64(voters) {
			v += ":observer"
		}
		e.servers[id] = v
		e.clients[id] = ports[2]
		ports = ports[3:]
		e.disks[id] = memstore.NewDisk()
	}
	t.Cleanup(func() {
		for _, s := range e.members {
			s.Stop()
		}
		if t.Failed() {
			t.Logf("ensemble log:\n%s", e.log.Tail(120))
		}
	})
	for id := range e.servers {
		e.start(id)
	}
	return e
}

// freePorts returns n distinct loopback ports nothing listens on now: all
// are held open together while they are picked, so none comes twice.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func (e *testEnsemble) config(id int64) *Config {
	cfg := testConfig()
	cfg.TickTime = 100 * time.Millisecond
	cfg.InitLimit, cfg.SyncLimit = 10, 5
	cfg.ClientPort = e.clients[id]
	cfg.ServerID = id
	cfg.Servers = e.servers
	cfg.SnapCount = 200
	return cfg
}

// start (re)starts member id on its disk.
func (e *testEnsemble) start(id int64) *Server {
	e.t.Helper()
	st, err := memstore.Open(e.disks[id], id, memstore.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	log := zerolog.New(e.log).With().Int64("member", id).Logger().Level(zerolog.InfoLevel)
	s, err := OpenEnsemble(e.config(id), log, st, EnsembleOptions{ZabTick: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.members[id], e.stores[id] = s, st
	return s
}

// crash stops member id as kill -9 would: unsynced writes are lost.
func (e *testEnsemble) crash(id int64) {
	e.stores[id].Crash()
	e.members[id].Stop()
	delete(e.members, id)
}

// leader waits until the live members agree on one serving leader and
// every other live member serves, and returns the leader's id.
func (e *testEnsemble) leader() int64 {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var leaders []int64
		serving := 0
		for id, s := range e.members {
			switch s.mode() {
			case "leader":
				leaders = append(leaders, id)
				serving++
			case "follower", "observer":
				serving++
			}
		}
		if len(leaders) == 1 && serving == len(e.members) {
			return leaders[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	var modes []string
	for id, s := range e.members {
		modes = append(modes, fmt.Sprintf("%d=%s", id, s.mode()))
	}
	e.t.Fatalf("no serving ensemble within 20s: %s", strings.Join(modes, " "))
	return 0
}

func (e *testEnsemble) addr(id int64) string { return "127.0.0.1:" + strconv.Itoa(e.clients[id]) }

// follower returns a live member other than leader.
func (e *testEnsemble) follower(leader int64) int64 {
	for id := range e.members {
		if id != leader {
			return id
		}
	}
	e.t.Fatal("no live member besides the leader")
	return 0
}

func (e *testEnsemble) dial(ids ...int64) *zk.Conn {
	e.t.Helper()
	var addrs []string
	for _, id := range ids {
		addrs = append(addrs, e.addr(id))
	}
	return e.dialAddrs(4*time.Second, addrs...)
}

// dialAddrs connects with the given session timeout and waits for the
// session; the connection closes when the test ends.
func (e *testEnsemble) dialAddrs(timeout time.Duration, addrs ...string) *zk.Conn {
	e.t.Helper()
	c, ev, err := zk.Connect(addrs, timeout, zk.WithLogInfo(false))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	giveUp := time.After(15 * time.Second)
	for {
		select {
		case ev := <-ev:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-giveUp:
			e.t.Fatalf("no session with %v", addrs)
		}
	}
}

// digest is the tree's digest on member id once it has applied zxid.
func (e *testEnsemble) digest(id int64, zxid int64) uint64 {
	e.t.Helper()
	s := e.members[id]
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d uint64
		var last int64
		s.Tree(func(t *znode.Tree) { last, d = t.LastZxid(), t.Digest() })
		if last >= zxid {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("member %d applied only %#x, want %#x", id, last, zxid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *testEnsemble) lastZxid(id int64) int64 {
	var z int64
	e.members[id].Tree(func(t *znode.Tree) { z = t.LastZxid() })
	return z
}

// checkConverged checks that every live member holds the same tree.
func (e *testEnsemble) checkConverged() {
	e.t.Helper()
	var top int64
	for id := range e.members {
		top = max(top, e.lastZxid(id))
	}
	var want uint64
	first := true
	for id := range e.members {
		d := e.digest(id, top)
		if first {
			want, first = d, false
		} else if d != want {
			e.t.Fatalf("member %d digest %x differs from %x at %#x", id, d, want, top)
		}
	}
}

func TestEnsembleWritesOnEveryMember(t *testing.T) {
	e := newTestEnsemble(t, 3, 1)
	leader := e.leader()
	// One client per member, observer included: every member takes writes
	// (forwarding them) and serves reads.
	for id := int64(1); id <= 4; id++ {
		c := e.dial(id)
		for i := range 20 {
			p := fmt.Sprintf("/m%d-%d", id, i)
			if _, err := c.Create(p, []byte(p), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatalf("create %s via member %d (leader %d): %v", p, id, leader, err)
			}
			// Per-session FIFO: the read after the write sees it, locally.
			data, _, err := c.Get(p)
			if err != nil || string(data) != p {
				t.Fatalf("read back %s via member %d: %q %v", p, id, data, err)
			}
		}
	}
	// A client of one member sees another member's writes after sync.
	c1 := e.dial(1)
	for id := int64(2); id <= 4; id++ {
		p := fmt.Sprintf("/m%d-19", id)
		if _, err := c1.Sync(p); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := c1.Exists(p); err != nil || !ok {
			t.Fatalf("after sync member 1 lacks %s: %v %v", p, ok, err)
		}
	}
	e.checkConverged()
}

func TestEnsembleSrvrAndMntr(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	leader := e.leader()
	for id, s := range e.members {
		out := s.FourLetterWord("srvr")
		want := "Mode: follower"
		if id == leader {
			want = "Mode: leader"
		}
		if !strings.Contains(out, want) {
			t.Fatalf("member %d srvr lacks %q:\n%s", id, want, out)
		}
	}
	if out := e.members[leader].FourLetterWord("srvr"); !strings.Contains(out, "Proposal sizes last/min/max: ") {
		t.Fatalf("leader srvr lacks the proposal sizes:\n%s", out)
	}
	mntr := e.members[leader].FourLetterWord("mntr")
	for _, line := range []string{"zk_server_state\tleader", "zk_peer_state\tleading - broadcast", "zk_learners\t2",
		"zk_synced_followers\t2", "zk_synced_observers\t0", "zk_quorum_size\t3", "zk_cnt_election_time\t1"} {
		if !strings.Contains(mntr, line+"\n") {
			t.Fatalf("leader mntr lacks %q:\n%s", line, mntr)
		}
	}
	for id, s := range e.members {
		if id == leader {
			continue
		}
		mntr := s.FourLetterWord("mntr")
		if !strings.Contains(mntr, "zk_peer_state\tfollowing - broadcast\n") || strings.Contains(mntr, "zk_learners") {
			t.Fatalf("follower %d mntr:\n%s", id, mntr)
		}
	}
	conf := e.members[leader].FourLetterWord("conf")
	for id, v := range e.servers {
		if line := fmt.Sprintf("server.%d=%s:participant\n", id, v); !strings.Contains(conf, line) {
			t.Fatalf("conf lacks %q:\n%s", line, conf)
		}
	}
	// A member alone is not serving and says so.
	for id := range e.members {
		if id != leader {
			e.crash(id)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.members[leader].FourLetterWord("srvr") != notServing {
		if time.Now().After(deadline) {
			t.Fatalf("leader without quorum still answers srvr:\n%s", e.members[leader].FourLetterWord("srvr"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEnsembleLeaderCrash kills the leader while clients write: the
// session and its ephemeral node survive, every acknowledged write is
// kept, and the members converge, also after the old leader returns.
func TestEnsembleLeaderCrash(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	leader := e.leader()
	follower := e.follower(leader)
	owner := e.dial(follower, leader)
	if _, err := owner.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	sid := owner.SessionID()

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		c := e.dial(1, 2, 3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("/w%d-%d", w, i)
				if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err == nil {
					mu.Lock()
					acked[p] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let some writes through before the crash
	e.crash(leader)
	newLeader := e.leader()
	if newLeader == leader {
		t.Fatalf("crashed leader %d still leads", leader)
	}
	// Writes succeed again under the new leader.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		c := e.dial(newLeader)
		if _, err := c.Create(fmt.Sprintf("/after-%d", n), nil, 0, zk.WorldACL(zk.PermAll)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no write succeeded after the crash")
		}
	}
	close(stop)
	wg.Wait()
	e.start(leader)
	e.leader()

	check := e.dial(leader)
	if _, err := check.Sync("/"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for p := range acked {
		if ok, _, err := check.Exists(p); err != nil || !ok {
			t.Fatalf("acknowledged %s lost (%v)", p, err)
		}
	}
	ok, st, err := check.Exists("/eph")
	if err != nil || !ok || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral of session %#x after leader change: %v %+v %v", sid, ok, st, err)
	}
	if _, err := owner.Set("/eph", []byte("still mine"), -1); err != nil {
		t.Fatalf("session of the ephemeral cannot write after the leader change: %v", err)
	}
	e.checkConverged()
	t.Logf("%d acknowledged writes kept across the crash of leader %d", len(acked), leader)
}

// TestEnsembleFollowerFarBehind restarts a follower after more writes than
// a DIFF carries and after snapshots and purges moved the log on: it
// catches up by SNAP (then DIFF) and holds the same tree.
func TestEnsembleFollowerFarBehind(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	leader := e.leader()
	behind := e.follower(leader)
	e.crash(behind)
	c := e.dial(leader)
	for i := range 1500 {
		if _, err := c.Create(fmt.Sprintf("/n%04d", i), []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	e.start(behind)
	e.leader()
	e.checkConverged()
	if n := e.lastZxid(behind); n != e.lastZxid(leader) {
		t.Fatalf("follower at %#x, leader at %#x", n, e.lastZxid(leader))
	}
	if !strings.Contains(e.log.String(), `"state restored from a snapshot"`) {
		t.Fatalf("the far-behind follower was not synced by SNAP")
	}
}

// TestEnsembleWholeRestart stops every member abruptly and starts them
// again: what was acknowledged is there, sessions come back, and the new
// epoch continues the zxids.
func TestEnsembleWholeRestart(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	e.leader()
	c := e.dial(1, 2, 3)
	for i := range 100 {
		if _, err := c.Create(fmt.Sprintf("/r%03d", i), []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	_, st, err := c.Exists("/r099")
	if err != nil {
		t.Fatal(err)
	}
	for id := range e.members {
		e.crash(id)
	}
	for id := int64(1); id <= 3; id++ {
		e.start(id)
	}
	leader := e.leader()
	e.checkConverged()
	c2 := e.dial(leader)
	_, st2, err := c2.Exists("/r099")
	if err != nil || st2 == nil || st2.Czxid != st.Czxid {
		t.Fatalf("acknowledged /r099 after a full restart: %+v %v (was %+v)", st2, err, st)
	}
	if _, err := c2.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, st3, _ := c2.Exists("/after")
	if st3.Czxid>>32 <= st.Czxid>>32 {
		t.Fatalf("zxid %#x after the restart is not in a new epoch (before %#x)", st3.Czxid, st.Czxid)
	}
}

// TestEnsembleSessionExpiry lets a client of a follower go silent: the
// leader expires its session and every member drops its ephemeral node,
// while a session with a short timeout that keeps talking through a
// follower stays alive (the follower reports it to the leader).
func TestEnsembleSessionExpiry(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	leader := e.leader()
	follower := e.follower(leader)
	connect := func(addr string) *zk.Conn { return e.dialAddrs(400*time.Millisecond, addr) }
	live := connect(e.addr(follower))
	if _, err := live.Create("/live", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	p := newFreezeProxy(t, e.addr(follower))
	silent := connect(p.addr())
	if _, err := silent.Create("/silent", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	p.freeze() // the client can no longer reach any member: it goes silent
	watch := e.dial(leader)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, _, err := watch.Exists("/silent")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the silent session's ephemeral was never removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Several timeouts of the live session go by; it must survive them.
	until := time.Now().Add(2 * time.Second)
	for time.Now().Before(until) {
		if _, _, err := live.Get("/live"); err != nil {
			t.Fatalf("live session: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for id := range e.members {
		c := e.dial(id)
		if _, err := c.Sync("/"); err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := c.Exists("/silent"); ok {
			t.Fatalf("member %d still has /silent", id)
		}
		if ok, _, _ := c.Exists("/live"); !ok {
			t.Fatalf("member %d lost the live session's ephemeral", id)
		}
	}
	e.checkConverged()
}

// freezeProxy forwards TCP to a server until freeze, after which it
// refuses new connections and stops moving bytes on existing ones, without
// closing them: to the client the server went silent.
type freezeProxy struct {
	ln     net.Listener
	frozen chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, frozen: make(chan struct{}), closed: make(chan struct{})}
	t.Cleanup(func() { p.freeze(); ln.Close(); close(p.closed) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case <-p.frozen:
				c.Close()
				continue
			default:
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

func (p *freezeProxy) addr() string { return p.ln.Addr().String() }

func (p *freezeProxy) freeze() { p.once.Do(func() { close(p.frozen) }) }

func (p *freezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-p.frozen:
			<-p.closed // hold the socket open, move nothing
			return
		default:
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// Every member shows the membership in /zookeeper/config, with version -1,
// as ZooKeeper's members do.
func TestEnsembleConfigNode(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	e.leader()
	var want strings.Builder
	for id := int64(1); id <= 3; id++ {
		fmt.Fprintf(&want, "server.%d=%s:participant\n", id, e.servers[id])
	}
	want.WriteString("version=0")
	for id := int64(1); id <= 3; id++ {
		c := e.dial(id)
		data, st, err := c.Get("/zookeeper/config")
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != want.String() || st.Version != -1 || st.Mzxid != 0 || int(st.DataLength) != len(data) {
			t.Fatalf("member %d /zookeeper/config = %q %+v, want %q version -1", id, data, st, want.String())
		}
	}
	e.checkConverged()
}

// A txn of a session with a lower cxid than the session's oldest request
// here comes from the member the client used before; it must not close the
// client's new connection. A higher one means a request here was lost.
func TestMatchPendingMovedSession(t *testing.T) {
	s := New(testConfig(), zerolog.Nop())
	e := &ensemble{s: s, pending: map[int64][]*request{}}
	r5, r6 := &request{session: 7, xid: 5}, &request{session: 7, xid: 6}
	e.pending[7] = []*request{r5, r6}
	if got := e.matchPending(7, 3); got != nil || len(e.pending[7]) != 2 {
		t.Fatalf("older txn matched %v, pending %d", got, len(e.pending[7]))
	}
	if got := e.matchPending(7, 0); got != nil || len(e.pending[7]) != 2 {
		t.Fatalf("closeSession txn matched %v", got)
	}
	if got := e.matchPending(7, 5); got != r5 {
		t.Fatalf("cxid 5 matched %v", got)
	}
	if got := e.matchPending(7, 9); got != nil || len(e.pending[7]) != 0 {
		t.Fatalf("a lost request: matched %v, %d left pending", got, len(e.pending[7]))
	}
}

// A session that moves to a follower is reported to the leader at once, not
// at the client's next ping (a third of its timeout later): a client that
// moved twice in a row, away from members that were going down, saw its
// session expire although it was connected all along.
func TestEnsembleResumedSessionTouchesLeader(t *testing.T) {
	e := newTestEnsemble(t, 3, 0)
	leader := e.leader()
	var followers []int64
	for id := range e.members {
		if id != leader {
			followers = append(followers, id)
		}
	}
	const timeout = 4000
	first, resp := rawSession(t, e.addr(followers[0]), 0, nil, timeout)
	first.Close() // gone without closing the session
	id := resp.SessionID
	expiry := func() int64 {
		tr := e.members[leader].sessions
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.q.expiry[id]
	}
	testwait.For(t, 5*time.Second, "the leader to track the new session", func() bool { return expiry() != 0 })
	// The client is away for a while (the scenario, not a synchronisation).
	time.Sleep(500 * time.Millisecond)
	resumedAt := time.Now().UnixMilli()
	second, _ := rawSession(t, e.addr(followers[1]), id, resp.Passwd, timeout)
	defer second.Close()
	// The resumed connection sends nothing more; the follower must report it.
	testwait.For(t, 2*time.Second, "the leader to re-arm the resumed session", func() bool {
		return expiry() >= resumedAt+timeout
	})
}

// rawSession connects to addr with a ConnectRequest for session id (0: a
// new one) and returns the connection, which sends nothing more.
func rawSession(t *testing.T, addr string, id int64, passwd []byte, timeoutMs int32) (net.Conn, jute.ConnectResponse) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	req := &jute.ConnectRequest{TimeOut: timeoutMs, SessionID: id, Passwd: passwd}
	if _, err := nc.Write(jute.AppendFrame(nil, req)); err != nil {
		t.Fatal(err)
	}
	frame, err := jute.ReadFrame(bufio.NewReader(nc), nil, jute.MaxBuffer)
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil || resp.TimeOut == 0 {
		t.Fatalf("connect response from %s: %+v %v", addr, resp, err)
	}
	nc.SetDeadline(time.Time{})
	return nc, resp
}
