package transport

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/zab"
)

// Three members exchange messages of every type both ways; each pair's
// quorum and election streams arrive complete and in order, and every
// link ends up with exactly one connection that was never replaced.
func TestExchangeEveryType(t *testing.T) {
	ids := []uint64{1, 2, 3}
	e := newEnsemble(t, ids, nil, nil)
	const rounds = 3
	sent := map[[2]uint64][]zab.Message{} // {from, to}
	var seq uint64
	for r := 0; r < rounds; r++ {
		for _, from := range ids {
			for _, to := range ids {
				if from == to {
					continue
				}
				// A SNAP over the election limit shows the quorum port
				// has its own, larger limit.
				ms := everyType(from, to, &seq, DefaultElectionMaxFrameBytes+1000)
				for _, m := range ms {
					e.nodes[from].tr.Send(m)
				}
				sent[[2]uint64{from, to}] = append(sent[[2]uint64{from, to}], ms...)
			}
		}
	}
	for _, to := range ids {
		for _, from := range ids {
			if from == to {
				continue
			}
			wantQ, wantE := split(sent[[2]uint64{from, to}])
			n := e.nodes[to]
			waitFor(t, 10*time.Second, fmt.Sprintf("%d->%d traffic", from, to), func() bool {
				return len(n.from(from, false)) >= len(wantQ) && len(n.from(from, true)) >= len(wantE)
			})
			if err := sameMessages(wantQ, n.from(from, false)); err != nil {
				t.Errorf("%d->%d quorum: %v", from, to, err)
			}
			if err := sameMessages(wantE, n.from(from, true)); err != nil {
				t.Errorf("%d->%d election: %v", from, to, err)
			}
		}
	}
	for _, id := range ids {
		n := e.nodes[id]
		for _, p := range n.tr.Stats().Peers {
			for _, ls := range []LinkStats{p.Quorum, p.Election} {
				if !ls.Connected || ls.Connects != 1 || ls.Reconnects != 0 || ls.Drops != 0 {
					t.Errorf("node %d peer %d: %+v, want one connection, no drops", id, p.ID, ls)
				}
			}
			if p.Quorum.MessagesSent != uint64(rounds*16) || p.Election.MessagesReceived != uint64(rounds) {
				t.Errorf("node %d peer %d: sent %d quorum, received %d election messages", id, p.ID,
					p.Quorum.MessagesSent, p.Election.MessagesReceived)
			}
			if !n.tr.Connected(p.ID) {
				t.Errorf("node %d: Connected(%d) false", id, p.ID)
			}
		}
		// Two peers, two ports: four sockets, the pokes all closed.
		waitFor(t, 5*time.Second, "only live sockets", func() bool { return trackedConns(n.tr) == 4 })
	}
}

// Both members of a pair send at the same instant, so the lower id pokes
// while the higher id dials. One connection per port must survive, and
// the traffic must arrive complete and in order. Repeated to shake out
// interleavings.
func TestSimultaneousDial(t *testing.T) {
	for iter := 0; iter < 10; iter++ {
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			e := newEnsemble(t, []uint64{1, 2}, nil, nil)
			var seq [3]uint64
			var sent [3][]zab.Message // by sender
			var start, wg sync.WaitGroup
			start.Add(1)
			for _, pair := range [][2]uint64{{1, 2}, {2, 1}} {
				from, to := pair[0], pair[1]
				for i := 0; i < 50; i++ {
					sent[from] = append(sent[from], everyType(from, to, &seq[from], 10)...)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.Wait()
					for _, m := range sent[from] {
						e.nodes[from].tr.Send(m)
					}
				}()
			}
			start.Done()
			wg.Wait()
			for _, pair := range [][2]uint64{{1, 2}, {2, 1}} {
				from, to := pair[0], pair[1]
				wantQ, wantE := split(sent[from])
				n := e.nodes[to]
				waitFor(t, 10*time.Second, fmt.Sprintf("%d->%d traffic", from, to), func() bool {
					return len(n.from(from, false)) >= len(wantQ) && len(n.from(from, true)) >= len(wantE)
				})
				if err := sameMessages(wantQ, n.from(from, false)); err != nil {
					t.Errorf("%d->%d quorum: %v", from, to, err)
				}
				// The election queue keeps only the newest 64
				// notifications when it overflows before the connection
				// is up; what arrives is a suffix, in order.
				gotE := n.from(from, true)
				if len(gotE) > len(wantE) || len(gotE) == 0 {
					t.Fatalf("%d->%d election: %d messages of %d", from, to, len(gotE), len(wantE))
				}
				if err := sameMessages(wantE[len(wantE)-len(gotE):], gotE); err != nil {
					t.Errorf("%d->%d election: %v", from, to, err)
				}
			}
			for _, id := range []uint64{1, 2} {
				tr := e.nodes[id].tr
				waitFor(t, 5*time.Second, "one socket per port", func() bool { return trackedConns(tr) == 2 })
				for _, p := range tr.Stats().Peers {
					if p.Quorum.Connects != 1 || p.Election.Connects != 1 {
						t.Errorf("node %d: connects quorum %d election %d, want 1 each", id, p.Quorum.Connects, p.Election.Connects)
					}
				}
			}
			// And the surviving connections carry traffic in order.
			var more []zab.Message
			for i := 0; i < 20; i++ {
				more = append(more, everyType(1, 2, &seq[1], 10)...)
			}
			before := len(e.nodes[2].from(1, false))
			for _, m := range more {
				e.nodes[1].tr.Send(m)
			}
			wantQ, _ := split(append(sent[1], more...))
			waitFor(t, 10*time.Second, "more traffic", func() bool { return len(e.nodes[2].from(1, false)) >= before+320 })
			if err := sameMessages(wantQ, e.nodes[2].from(1, false)); err != nil {
				t.Error(err)
			}
		})
	}
}

// A member restarts on the same addresses; both directions flow again
// through reconnects with backoff, in order, on both ports.
func TestPeerRestart(t *testing.T) {
	ids := []uint64{1, 2, 3}
	e := newEnsemble(t, ids, nil, nil)
	exchange := func(round string) {
		t.Helper()
		for _, a := range ids {
			for _, b := range ids {
				if a == b {
					continue
				}
				n := e.nodes[b]
				qBefore, eBefore := len(n.from(a, false)), len(n.from(a, true))
				// A message written just as the peer went away is lost
				// with the connection (TCP reports the loss later), so
				// resend until one gets through, as the ZAB core does.
				var last time.Time
				waitFor(t, 10*time.Second, fmt.Sprintf("%s: %d->%d", round, a, b), func() bool {
					if time.Since(last) > 100*time.Millisecond {
						last = time.Now()
						e.nodes[a].tr.Send(zab.Message{Type: zab.Ping, From: a, To: b, Epoch: 1})
						e.nodes[a].tr.Send(zab.Message{Type: zab.Notification, From: a, To: b})
					}
					return len(n.from(a, false)) > qBefore && len(n.from(a, true)) > eBefore
				})
			}
		}
	}
	exchange("before")
	// 2 is in the middle: it dials 1 and is dialed by 3.
	e.restart(2)
	exchange("after restarting 2")
	e.restart(3)
	e.restart(1)
	exchange("after restarting 3 and 1")
	// 2's transport outlived the restarts of 3 and 1: it reconnected to both.
	for _, id := range []uint64{1, 3} {
		s, _ := e.nodes[2].tr.Stats().Peer(id)
		if s.Quorum.Reconnects == 0 || s.Election.Reconnects == 0 {
			t.Errorf("2 did not reconnect to %d: %+v", id, s)
		}
	}
}

// Send to an unreachable peer never blocks; what does not fit in the queue
// is dropped and counted.
func TestUnreachablePeerDrops(t *testing.T) {
	e := newEnsemble(t, []uint64{5}, []uint64{4, 9}, func(c *Config) { c.QueueLen = 16; c.ElectionQueueLen = 4 })
	tr := e.nodes[5].tr
	const n = 10000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			tr.Send(zab.Message{Type: zab.Proposal, From: 5, To: 9, Zxid: 1, Entries: []zab.Entry{{Zxid: 1}}})
			tr.Send(zab.Message{Type: zab.Notification, From: 5, To: 4})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on an unreachable peer")
	}
	s := tr.Stats()
	p9, _ := s.Peer(9)
	p4, _ := s.Peer(4)
	if p9.Quorum.Drops != n-16 || p9.Quorum.Queued != 16 {
		t.Errorf("peer 9 quorum: %+v, want %d drops and 16 queued", p9.Quorum, n-16)
	}
	if p4.Election.Drops != n-4 || p4.Election.Queued != 4 {
		t.Errorf("peer 4 election: %+v, want %d drops and 4 queued", p4.Election, n-4)
	}
	if p4.Election.Connected || tr.Connected(4) {
		t.Error("connected to a dead address")
	}
	waitFor(t, 5*time.Second, "dial failures", func() bool {
		p, _ := tr.Stats().Peer(9)
		return p.Quorum.DialFailures >= 2
	})
	// One warning for the outage, not one per retry.
	if got := len(e.nodes[5].logs.lines(map[string]any{"message": "dial failed", "level": "warn", "peer": 9, "port": "quorum"})); got != 1 {
		t.Errorf("%d dial-failed warnings for peer 9, want 1", got)
	}
	tr.Send(zab.Message{Type: zab.Ping, From: 5, To: 77})
	if got := tr.Stats().UnknownPeerDrops; got != 1 {
		t.Errorf("UnknownPeerDrops = %d, want 1", got)
	}
}

func TestConfigValidation(t *testing.T) {
	good := map[uint64]Member{1: {QuorumAddr: "127.0.0.1:1", ElectionAddr: "127.0.0.1:2"}}
	cases := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"no id", Config{Members: good}, "ID"},
		{"id not a member", Config{ID: 2, Members: good}, "ID"},
		{"bad addr", Config{ID: 1, Members: map[uint64]Member{1: {QuorumAddr: "nope", ElectionAddr: "127.0.0.1:2"}}}, "Members[1].QuorumAddr"},
		{"same addr", Config{ID: 1, Members: map[uint64]Member{1: {QuorumAddr: "127.0.0.1:2", ElectionAddr: "127.0.0.1:2"}}}, "Members[1]"},
		{"backoff", Config{ID: 1, Members: good, BackoffMin: time.Second, BackoffMax: time.Millisecond}, "BackoffMax"},
		{"frame", Config{ID: 1, Members: good, MaxFrameBytes: -1}, "MaxFrameBytes"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v, want ErrInvalidConfig naming %s", c.name, err, c.key)
		}
	}
	tr, err := New(Config{ID: 1, Members: good})
	if err != nil {
		t.Fatal(err)
	}
	if tr.cfg.MaxFrameBytes != DefaultMaxFrameBytes || tr.cfg.ElectionMaxFrameBytes != DefaultElectionMaxFrameBytes {
		t.Errorf("defaults not applied: %+v", tr.cfg)
	}
	tr.Close()
	if err := tr.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
	var got []time.Duration
	for i := 0; i < 8; i++ {
		got = append(got, b.next())
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff %v, want %v ms", got, want)
		}
	}
	b.reset()
	if d := b.next(); d != 50*time.Millisecond {
		t.Fatalf("after reset %v", d)
	}
	tr, err := New(Config{ID: 1, Members: map[uint64]Member{1: {QuorumAddr: "127.0.0.1:1", ElectionAddr: "127.0.0.1:2"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if j := tr.jitter(time.Second); j < 500*time.Millisecond || j >= time.Second {
			t.Fatalf("jitter %v outside [500ms, 1s)", j)
		}
	}
}

// A message over the receiver's frame limit is dropped by the sender (the
// receiver would cut the connection for it), even when the sender's own
// limit is larger: the limits are exchanged in the handshake. A big
// message under the limit crosses in several deadline chunks; the
// connection is unaffected.
func TestBigMessages(t *testing.T) {
	const limit = 4 << 20
	e := newEnsemble(t, []uint64{1, 2}, nil, func(c *Config) {
		c.MaxFrameBytes = limit
		if c.ID == 2 {
			c.MaxFrameBytes = 4 * limit
		}
	})
	snap := func(n int, ref uint64) zab.Message {
		return zab.Message{Type: zab.Snap, From: 2, To: 1, Epoch: 1, Zxid: 9, Ref: ref, Data: make([]byte, n)}
	}
	tr := e.nodes[2].tr
	tr.Send(snap(limit+1, 1))
	tr.Send(snap(3*writeChunk+17, 2))
	tr.Send(zab.Message{Type: zab.Ping, From: 2, To: 1, Ref: 3})
	n1 := e.nodes[1]
	waitFor(t, 10*time.Second, "the ping", func() bool { return len(n1.from(2, false)) == 2 })
	got := n1.from(2, false)
	if got[0].Ref != 2 || len(got[0].Data) != 3*writeChunk+17 || got[1].Ref != 3 {
		t.Fatalf("got %s ref=%d, %s ref=%d", got[0].Describe(), got[0].Ref, got[1].Describe(), got[1].Ref)
	}
	p, _ := tr.Stats().Peer(1)
	if p.Quorum.Drops != 1 || p.Quorum.Connects != 1 {
		t.Errorf("%+v, want one drop on one connection", p.Quorum)
	}
	if len(e.nodes[2].logs.lines(map[string]any{"message": "message over the frame limit dropped", "peer": 1, "type": "SNAP", "limit": limit})) != 1 {
		t.Error("no log line for the dropped SNAP")
	}
}

// Close returns even when the shell has stopped draining Receive and
// messages are still arriving, leaves no goroutine behind, closes Receive,
// and Send afterwards is a counted no-op.
func TestCloseStopsEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	members := map[uint64]Member{}
	lns := map[uint64][2]net.Listener{}
	for _, id := range []uint64{1, 2} {
		q, el := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
		lns[id] = [2]net.Listener{q, el}
		members[id] = Member{QuorumAddr: q.Addr().String(), ElectionAddr: el.Addr().String()}
	}
	trs := map[uint64]*Transport{}
	for _, id := range []uint64{1, 2} {
		tr, err := New(Config{ID: id, Members: members, QuorumListener: lns[id][0], ElectionListener: lns[id][1], RecvQueueLen: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		trs[id] = tr
	}
	// Nobody reads 1's Receive: its reader blocks once 4 messages wait.
	for i := 0; i < 100; i++ {
		trs[2].Send(zab.Message{Type: zab.Ping, To: 1})
		trs[2].Send(zab.Message{Type: zab.Notification, To: 1})
	}
	waitFor(t, 5*time.Second, "1's receive queue full", func() bool { return len(trs[1].Receive()) == 4 })
	closed := make(chan struct{})
	go func() {
		trs[1].Close()
		trs[2].Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a receiver that does not drain")
	}
	for range trs[1].Receive() {
	}
	trs[2].Send(zab.Message{Type: zab.Ping, To: 1})
	if p, _ := trs[2].Stats().Peer(1); p.Quorum.Drops == 0 {
		t.Error("Send after Close not counted as a drop")
	}
	waitFor(t, 5*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
}

// When a peer goes away its quorum connection closes and Lost reports it,
// once per broken connection; a transport closing itself reports nothing.
func TestLostReportsBrokenQuorumConnection(t *testing.T) {
	e := newEnsemble(t, []uint64{1, 2}, nil, nil)
	waitFor(t, 10*time.Second, "quorum connection 1<->2", func() bool {
		e.nodes[1].tr.Send(zab.Message{Type: zab.Ping, From: 1, To: 2, Epoch: 1})
		return len(e.nodes[2].from(1, false)) > 0
	})
	select {
	case id := <-e.nodes[1].tr.Lost():
		t.Fatalf("lost %d while connected", id)
	default:
	}
	e.nodes[2].close()
	select {
	case id := <-e.nodes[1].tr.Lost():
		if id != 2 {
			t.Fatalf("lost %d, want 2", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("peer 2 closed but 1 reported no loss")
	}
	select {
	case id := <-e.nodes[2].tr.Lost():
		t.Fatalf("a closed transport reported losing %d", id)
	default:
	}
}
