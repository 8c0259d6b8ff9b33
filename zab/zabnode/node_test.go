package zabnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/storage/memstore"
	"github.com/zabkafka/zabkafka/zab"
)

// hub connects in-memory transports; every message goes through Marshal
// and Unmarshal as on the wire. A member marked down neither sends nor
// receives.
type hub struct {
	mu    sync.Mutex
	boxes map[uint64]chan zab.Message
	down  map[uint64]bool
}

func newHub() *hub { return &hub{boxes: map[uint64]chan zab.Message{}, down: map[uint64]bool{}} }

type memTransport struct {
	h  *hub
	in chan zab.Message
}

func (h *hub) transport(id uint64) *memTransport {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan zab.Message, 4096)
	h.boxes[id] = ch
	return &memTransport{h: h, in: ch}
}

func (h *hub) setDown(id uint64, down bool) {
	h.mu.Lock()
	h.down[id] = down
	h.mu.Unlock()
}

func (t *memTransport) Send(m zab.Message) {
	wire, err := zab.Unmarshal(m.Marshal(nil))
	if err != nil {
		panic(fmt.Sprintf("message does not survive the wire: %v", err))
	}
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	if t.h.down[m.From] || t.h.down[m.To] {
		return
	}
	select {
	case t.h.boxes[m.To] <- wire:
	default: // a full queue drops, as a transport may
	}
}

func (t *memTransport) Receive() <-chan zab.Message { return t.in }

// listMachine is a state machine that records the txns applied, in order.
type listMachine struct {
	mu   sync.Mutex
	zxid int64
	txns []string
}

func (m *listMachine) Apply(e zab.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Zxid <= m.zxid {
		return fmt.Errorf("apply %#x after %#x", e.Zxid, m.zxid)
	}
	m.zxid = e.Zxid
	m.txns = append(m.txns, string(e.Data))
	return nil
}

type listSnapshot struct {
	Zxid int64
	Txns []string
}

func (m *listMachine) Snapshot() (int64, []byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := json.Marshal(listSnapshot{m.zxid, m.txns})
	return m.zxid, b, err
}

func (m *listMachine) Restore(zxid int64, data []byte) error {
	var s listSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.zxid, m.txns = zxid, s.Txns
	return nil
}

func (m *listMachine) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.txns)
}

// member is one node of a test ensemble with its disk, which outlives
// restarts.
type member struct {
	id    uint64
	disk  *memstore.Disk
	store *memstore.Store
	sm    *listMachine
	node  *Node
	// closeTransport releases the member's transport.
	closeTransport func()
}

type ensemble struct {
	t       *testing.T
	hub     *hub
	voters  []uint64
	members map[uint64]*member
	// tcp, when set, makes a member's transport; its close func runs when
	// the member crashes or the test ends.
	tcp func(id uint64) (Transport, func())
	// logs collects every member's protocol events, printed on failure.
	logs *testlog.Buffer
}

func newEnsemble(t *testing.T, n int) *ensemble {
	return newEnsembleWith(t, n, nil)
}

func newEnsembleWith(t *testing.T, n int, tcp func(id uint64) (Transport, func())) *ensemble {
	e := &ensemble{t: t, hub: newHub(), members: map[uint64]*member{}, tcp: tcp, logs: &testlog.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last protocol events:\n%s", e.logs.Tail(80))
		}
	})
	for i := 1; i <= n; i++ {
		e.voters = append(e.voters, uint64(i))
	}
	for _, id := range e.voters {
		e.members[id] = &member{id: id, disk: memstore.NewDisk()}
		e.start(id)
	}
	t.Cleanup(func() {
		for _, m := range e.members {
			if m.node != nil {
				m.node.Stop()
				m.store.Close()
				m.closeTransport()
			}
		}
	})
	return e
}

func (e *ensemble) start(id uint64) {
	e.t.Helper()
	m := e.members[id]
	st, err := memstore.Open(m.disk, int64(id), memstore.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	m.store, m.sm = st, &listMachine{}
	e.hub.setDown(id, false)
	var tr Transport = e.hub.transport(id)
	m.closeTransport = func() {}
	if e.tcp != nil {
		tr, m.closeTransport = e.tcp(id)
	}
	node, err := Start(Config{
		Peer: zab.Config{ID: id, Voters: e.voters, ElectionTimeoutTicks: 5, FinalizeWaitTicks: 1,
			InitLimitTicks: 20, SyncLimitTicks: 10, HeartbeatTicks: 2},
		Storage: st, Transport: tr, StateMachine: m.sm,
		Tick: 5 * time.Millisecond, Seed: int64(id),
		Logger: zerolog.New(e.logs).Level(zerolog.DebugLevel).With().Timestamp().Logger(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	m.node = node
}

// crash stops a member as kill -9 would: what its disk had not synced is
// lost.
func (e *ensemble) crash(id uint64) {
	m := e.members[id]
	e.hub.setDown(id, true)
	m.node.Stop()
	m.store.Crash()
	m.closeTransport()
	m.node = nil
}

// leader waits until one live member leads and serves, and every other
// live member serves, and returns the leader.
func (e *ensemble) leader() *member {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var lead *member
		serving := 0
		live := 0
		for _, m := range e.members {
			if m.node == nil {
				continue
			}
			live++
			st := m.node.Status()
			if st.Serving {
				serving++
			}
			if st.State == zab.Leading && st.Established {
				lead = m
			}
		}
		if lead != nil && serving == live {
			return lead
		}
		time.Sleep(5 * time.Millisecond)
	}
	var states []string
	for _, id := range e.voters {
		if m := e.members[id]; m.node != nil {
			states = append(states, m.node.Status().String())
		}
	}
	e.t.Fatalf("no established leader with every live member serving:\n%s", strings.Join(states, "\n"))
	return nil
}

// propose proposes txns on the leader, retrying while leadership moves.
func (e *ensemble) propose(txns ...string) {
	e.t.Helper()
	for _, txn := range txns {
		for attempt := 0; ; attempt++ {
			lead := e.leader()
			if _, err := lead.node.Propose([]byte(txn)); err == nil {
				break
			} else if attempt > 20 {
				e.t.Fatalf("propose %q: %v", txn, err)
			}
		}
	}
}

// converge waits until every live member has applied exactly want.
func (e *ensemble) converge(want []string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var lagging []string
		for _, id := range e.voters {
			m := e.members[id]
			if m.node == nil {
				continue
			}
			if got := m.sm.list(); !slices.Equal(got, want) {
				if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
					e.t.Fatalf("member %d applied %v, not a prefix of %v", id, got, want)
				}
				lagging = append(lagging, fmt.Sprintf("%d at %d/%d", id, len(got), len(want)))
			}
		}
		if len(lagging) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("members did not converge: %v", lagging)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func txns(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// TestEnsembleCommitsAndSurvivesLeaderCrash runs three nodes on memstore
// disks: txns proposed on the leader are applied everywhere in order; the
// leader crashes (losing unsynced writes), the others elect a new one and
// go on; the old leader restarts from its disk and catches up.
func TestEnsembleCommitsAndSurvivesLeaderCrash(t *testing.T) {
	leaderCrashScenario(newEnsemble(t, 3))
}

// leaderCrashScenario commits txns, crashes the leader, commits more on
// the survivors' new leader, restarts the old one and checks that every
// member applied the same sequence.
func leaderCrashScenario(e *ensemble) {
	e.t.Helper()
	first := txns("a", 50)
	e.propose(first...)
	e.converge(first)

	old := e.leader()
	e.crash(old.id)
	second := txns("b", 30)
	e.propose(second...)
	all := append(slices.Clone(first), second...)
	e.converge(all)
	if lead := e.leader(); lead.id == old.id {
		e.t.Fatal("the crashed member still leads")
	}

	e.start(old.id)
	third := txns("c", 10)
	e.propose(third...)
	all = append(all, third...)
	e.converge(all)
	// The restarted member's durable log holds what it applied.
	if last := e.members[old.id].store.LastZxid(); last == 0 {
		e.t.Fatal("restarted member has an empty log")
	}
}

// TestFollowerRestartsAndCatchesUp crashes each follower in turn while
// writes go on.
func TestFollowerRestartsAndCatchesUp(t *testing.T) {
	e := newEnsemble(t, 3)
	var all []string
	for round := range 3 {
		lead := e.leader()
		var follower uint64
		for _, id := range e.voters {
			if id != lead.id && e.members[id].node != nil {
				follower = id
				break
			}
		}
		e.crash(follower)
		batch := txns(fmt.Sprintf("r%d", round), 20)
		e.propose(batch...)
		all = append(all, batch...)
		e.start(follower)
		e.converge(all)
	}
}

// TestRestoreSkipsDamagedSnapshot: a snapshot that fails its checksum is
// deleted and the older one restored.
func TestRestoreSkipsDamagedSnapshot(t *testing.T) {
	disk := memstore.NewDisk()
	st, err := memstore.Open(disk, 1, memstore.Options{})
	must(t, err)
	defer func() { st.Close() }()
	older := &listMachine{zxid: 10, txns: []string{"old-state"}}
	newer := &listMachine{zxid: 20, txns: []string{"new-state-with-a-long-marker"}}
	for _, m := range []*listMachine{older, newer} {
		z, data, err := m.Snapshot()
		must(t, err)
		_, err = st.SaveSnapshot(z, bytes.NewReader(data))
		must(t, err)
	}
	st.Close()
	if !disk.Corrupt([]byte("new-state-with-a-long-marker")) {
		t.Fatal("could not damage the newer snapshot")
	}
	st, err = memstore.Open(disk, 1, memstore.Options{})
	must(t, err)
	sm := &listMachine{}
	z, err := restoreNewest(st, sm, zerolog.Nop())
	must(t, err)
	if z != 10 || !slices.Equal(sm.list(), []string{"old-state"}) {
		t.Fatalf("restored %#x %v, want the older snapshot", z, sm.list())
	}
	snaps, err := st.Snapshots()
	must(t, err)
	if len(snaps) != 1 || snaps[0].Zxid != 10 {
		t.Fatalf("snapshots after restore: %+v", snaps)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ProposeBatch proposes a prepared batch under the zxids it was prepared
// for, all persisted by one storage sync on the leader; a batch prepared
// for a zxid that is no longer next is refused whole.
func TestProposeBatch(t *testing.T) {
	e := newEnsemble(t, 3)
	lead := e.leader()
	first, err := lead.node.NextZxid()
	if err != nil {
		t.Fatal(err)
	}
	before := lead.store.CommitStats().Syncs
	batch := [][]byte{[]byte("b1"), []byte("b2"), []byte("b3"), []byte("b4")}
	zxids, err := lead.node.ProposeBatch(first, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, z := range zxids {
		if z != first+int64(i) {
			t.Fatalf("txn %d got %s, want %s", i, zab.FormatZxid(z), zab.FormatZxid(first+int64(i)))
		}
	}
	e.converge([]string{"b1", "b2", "b3", "b4"})
	// The leader's appends of the batch: one sync (a later Ready may add
	// hard state or nothing; the four entries never take four syncs).
	if syncs := lead.store.CommitStats().Syncs - before; syncs > 2 {
		t.Fatalf("the batch took %d syncs on the leader", syncs)
	}
	if _, err := lead.node.ProposeBatch(first, [][]byte{[]byte("stale")}); !errors.Is(err, ErrZxidMoved) {
		t.Fatalf("a batch prepared for a used zxid: %v, want ErrZxidMoved", err)
	}
	var follower *member
	for _, m := range e.members {
		if m != lead && m.node != nil {
			follower = m
			break
		}
	}
	if _, err := follower.node.ProposeBatch(first+4, [][]byte{[]byte("x")}); !errors.Is(err, zab.ErrNotLeader) {
		t.Fatalf("ProposeBatch on a follower: %v, want ErrNotLeader", err)
	}
	e.converge([]string{"b1", "b2", "b3", "b4"})
}

// TestPipelinedFollowerAppliesOnlyDurable: while one follower's disk holds
// its syncs, the leader and the other follower commit without it; the
// held follower keeps taking in proposals (its loop does not wait for the
// sync) but applies none of them until they are durable on its own disk,
// so its state never gets ahead of its log. Released, it applies them all.
func TestPipelinedFollowerAppliesOnlyDurable(t *testing.T) {
	e := newEnsemble(t, 3)
	lead := e.leader()
	var slow, other *member
	for _, id := range e.voters {
		switch m := e.members[id]; {
		case m == lead:
		case slow == nil:
			slow = m
		default:
			other = m
		}
	}
	e.propose("a")
	e.converge([]string{"a"})
	slow.disk.HoldSyncs()
	t.Cleanup(slow.disk.ReleaseSyncs)
	want := append([]string{"a"}, txns("b", 50)...)
	e.propose(want[1:]...)
	testwait.For(t, 10*time.Second, "the leader and the other follower apply every txn", func() bool {
		return slices.Equal(lead.sm.list(), want) && slices.Equal(other.sm.list(), want)
	})
	last := lead.node.Status().LastZxid
	testwait.For(t, 10*time.Second, "the held follower takes in every proposal", func() bool {
		return slow.node.Status().LastZxid == last
	})
	if got := slow.sm.list(); !slices.Equal(got, want[:1]) {
		t.Fatalf("the held follower applied %v before its disk synced them", got)
	}
	slow.disk.ReleaseSyncs()
	e.converge(want)
}
