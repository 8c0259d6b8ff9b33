package transport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/zab"
)

// logBuffer captures zerolog output (one JSON line per event) and finds
// lines by their fields.
type logBuffer struct{ testlog.Buffer }

// lines returns the log lines whose fields include every key/value of want
// (values compared in their fmt form).
func (l *logBuffer) lines(want map[string]any) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber() // 4194304, not 4.194304e+06
		if d.Decode(&f) != nil {
			continue
		}
		ok := true
		for k, v := range want {
			if fmt.Sprint(f[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes. Polling a
// condition is the synchronisation; no test sleeps for a fixed time.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, what, cond)
}

type testNode struct {
	id    uint64
	tr    *Transport
	cfg   Config
	logs  *logBuffer
	mu    sync.Mutex
	got   []zab.Message
	drain sync.WaitGroup
}

func (n *testNode) received() []zab.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

// from returns what n received from id on one port, in arrival order.
func (n *testNode) from(id uint64, election bool) []zab.Message {
	var out []zab.Message
	for _, m := range n.received() {
		if m.From == id && (m.Type == zab.Notification) == election {
			out = append(out, m)
		}
	}
	return out
}

func (n *testNode) close() {
	n.tr.Close()
	n.drain.Wait()
}

type ensemble struct {
	t       *testing.T
	members map[uint64]Member
	nodes   map[uint64]*testNode
	tweak   func(*Config)
}

// newEnsemble listens on loopback for every id in ids, adds the phantom ids
// as members nobody runs (raw test connections impersonate them), and
// starts a transport per id.
func newEnsemble(t *testing.T, ids, phantoms []uint64, tweak func(*Config)) *ensemble {
	t.Helper()
	e := &ensemble{t: t, members: map[uint64]Member{}, nodes: map[uint64]*testNode{}, tweak: tweak}
	lns := map[uint64][2]net.Listener{}
	for _, id := range ids {
		q, el := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
		lns[id] = [2]net.Listener{q, el}
		e.members[id] = Member{QuorumAddr: q.Addr().String(), ElectionAddr: el.Addr().String()}
	}
	for _, id := range phantoms {
		e.members[id] = Member{QuorumAddr: deadAddr(t), ElectionAddr: deadAddr(t), Observer: true}
	}
	for _, id := range ids {
		e.start(id, lns[id][0], lns[id][1])
	}
	t.Cleanup(func() {
		for _, n := range e.nodes {
			n.close()
		}
		if t.Failed() {
			for _, id := range ids {
				if n := e.nodes[id]; n != nil {
					t.Logf("log of %d:\n%s", id, n.logs.String())
				}
			}
		}
	})
	return e
}

func (e *ensemble) start(id uint64, q, el net.Listener) *testNode {
	e.t.Helper()
	n := &testNode{id: id, logs: &logBuffer{}}
	if old := e.nodes[id]; old != nil {
		n.logs = old.logs
	}
	cfg := Config{
		ID: id, Members: e.members,
		Logger:         zerolog.New(n.logs).Level(zerolog.DebugLevel).With().Timestamp().Logger(),
		QuorumListener: q, ElectionListener: el,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
	}
	if e.tweak != nil {
		e.tweak(&cfg)
	}
	runNode(e.t, n, cfg)
	e.nodes[id] = n
	return n
}

// runNode starts a transport for n and drains its Receive into n.got.
func runNode(t testing.TB, n *testNode, cfg Config) {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	n.id, n.tr, n.cfg = cfg.ID, tr, cfg
	n.drain.Add(1)
	go func() {
		defer n.drain.Done()
		for m := range tr.Receive() {
			n.mu.Lock()
			n.got = append(n.got, m)
			n.mu.Unlock()
		}
	}()
}

// restart closes id's transport and starts a new one on the same addresses.
func (e *ensemble) restart(id uint64) *testNode {
	e.t.Helper()
	e.nodes[id].close()
	m := e.members[id]
	return e.start(id, listen(e.t, m.QuorumAddr), listen(e.t, m.ElectionAddr))
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	// A just-closed listener's port can take a moment to be free again.
	waitFor(t, 5*time.Second, "listen on "+addr, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	return ln
}

// deadAddr is a loopback address nobody listens on: dials are refused.
func deadAddr(t testing.TB) string {
	ln := listen(t, "127.0.0.1:0")
	a := ln.Addr().String()
	ln.Close()
	return a
}

// everyType returns one valid message of every type from -> to, with Ref
// numbering them from *seq on, so order can be checked on arrival.
func everyType(from, to uint64, seq *uint64, snapBytes int) []zab.Message {
	z := func(c uint32) int64 { return zab.MakeZxid(1, c) }
	ent := func(cs ...uint32) []zab.Entry {
		var es []zab.Entry
		for _, c := range cs {
			es = append(es, zab.Entry{Zxid: z(c), Data: []byte(fmt.Sprintf("txn-%d", c))})
		}
		return es
	}
	ms := []zab.Message{
		{Type: zab.Request, Epoch: 1, Data: bytes.Repeat([]byte("r"), 100)},
		{Type: zab.Proposal, Epoch: 1, Zxid: z(1), Entries: ent(1)},
		{Type: zab.Ack, Epoch: 1, Zxid: z(1)},
		{Type: zab.Commit, Epoch: 1, Zxid: z(1)},
		{Type: zab.Ping, Epoch: 1, Zxid: z(1), CommitZxid: z(1)},
		{Type: zab.Sync, Epoch: 1},
		{Type: zab.Inform, Epoch: 1, Zxid: z(2), Entries: ent(2)},
		{Type: zab.NewLeader, Epoch: 2, Zxid: zab.MakeZxid(2, 0)},
		{Type: zab.FollowerInfo, Epoch: 1, Zxid: z(2)},
		{Type: zab.UpToDate, Epoch: 2, Zxid: z(2)},
		{Type: zab.Diff, Epoch: 2, Zxid: z(2), Entries: ent(3, 4, 5)},
		{Type: zab.Trunc, Epoch: 2, Zxid: z(1), Entries: ent(2)},
		{Type: zab.Snap, Epoch: 2, Zxid: z(5), Data: bytes.Repeat([]byte{0xAB}, snapBytes)},
		{Type: zab.ObserverInfo, Epoch: 1, Zxid: z(5)},
		{Type: zab.LeaderInfo, Epoch: 2},
		{Type: zab.AckEpoch, Epoch: 2, CurrentEpoch: 1, Zxid: z(5)},
		{Type: zab.Notification, State: zab.Looking, Round: 7, Vote: zab.Vote{Leader: 3, Zxid: z(5), PeerEpoch: 1}},
	}
	for i := range ms {
		*seq++
		ms[i].From, ms[i].To, ms[i].Ref = from, to, *seq
	}
	return ms
}

// split separates quorum and election traffic, the two FIFO streams.
func split(ms []zab.Message) (quorum, election []zab.Message) {
	for _, m := range ms {
		if m.Type == zab.Notification {
			election = append(election, m)
		} else {
			quorum = append(quorum, m)
		}
	}
	return quorum, election
}

// sameMessages reports the first difference between want and got.
func sameMessages(want, got []zab.Message) error {
	if len(want) != len(got) {
		return fmt.Errorf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			return fmt.Errorf("message %d: got %s ref=%d, want %s ref=%d", i, got[i].Describe(), got[i].Ref, want[i].Describe(), want[i].Ref)
		}
	}
	return nil
}

// trackedConns is how many sockets t holds open.
func trackedConns(t *Transport) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}
