package integration

// The client load the ensemble fault tests run while they kill, freeze, restart and cut off
// members, and the checks that follow it:
//
//   - writers create sequential znodes and two-znode multis and remember what was
//     acknowledged: every acknowledged write must be on every member at the end, no multi
//     half there;
//   - register clients read (sync + getData) and compare-and-set (setData with the version
//     they read) a few registers; the history goes to porcupine (integration/lincheck);
//   - live sessions each hold an ephemeral znode from before the first fault to the end: the
//     sessions must never expire, whatever leader change or move to another member.
//
// Clients start on different members (observers included) and move on when theirs goes away.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/lincheck"
)

const ensRoot = "/ens"

// workloadSize says how many clients of each kind run.
type workloadSize struct {
	writers, registers, live, keys int
	// think is the most a register client waits between operations (uniformly from 0): it
	// keeps the history small enough to check and leaves CPU to the servers.
	think time.Duration
}

type workload struct {
	t    *testing.T
	e    *harness.Ensemble
	stop chan struct{}
	wg   sync.WaitGroup

	writers []*ackWriter
	regs    []*registerClient
	live    []*liveSession
	keys    []string
	hist    *lincheck.History

	done    atomic.Int64 // operations with a definite outcome, all clients
	unknown atomic.Int64 // operations whose reply was lost

	// held stops clients from starting operations (quietly); inflight counts the ones
	// running.
	held     atomic.Bool
	inflight atomic.Int64
}

// begin waits while the workload is held and counts an operation in flight; end uncounts it.
func (w *workload) begin() bool {
	for w.held.Load() && !w.stopped() {
		time.Sleep(5 * time.Millisecond)
	}
	if w.stopped() {
		return false
	}
	w.inflight.Add(1)
	return true
}

func (w *workload) end() { w.inflight.Add(-1) }

// quietly runs f while no client operation runs: it holds the clients, waits up to 10 s for
// the operations in flight (one waiting for a member that is gone may take longer, and then
// f runs anyway), runs f and lets the clients go on.
func (w *workload) quietly(f func()) {
	w.held.Store(true)
	defer w.held.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for w.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f()
}

func (w *workload) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// startWorkload creates the znodes and starts every client, spread over the members.
func startWorkload(t *testing.T, e *harness.Ensemble, size workloadSize, seed uint64) *workload {
	t.Helper()
	w := &workload{t: t, e: e, stop: make(chan struct{}), hist: lincheck.NewHistory()}
	members := len(e.Members())
	next := 0
	member := func() int { next++; return (next-1)%members + 1 }

	setup := ensembleClient(t, e, 1, ensembleSessionTimeout)
	must(t, createAll(setup.Conn, ensRoot, ensRoot+"/reg"))
	for k := range size.keys {
		key := fmt.Sprintf("%s/reg/k%d", ensRoot, k)
		_, err := setup.Create(key, nil, 0, openACL) // lincheck.Initial: empty, version 0
		must(t, err)
		w.keys = append(w.keys, key)
	}
	for i := range size.writers {
		aw := &ackWriter{id: i, w: w, rng: newRand(seed, 100+i), multiAttempt: map[int]bool{}, multiAck: map[int]bool{}}
		must(t, createAll(setup.Conn, aw.dir(), aw.dir()+"/seq", aw.dir()+"/multi"))
		w.writers = append(w.writers, aw)
	}
	setup.Close()

	for i := range size.live {
		c := ensembleClient(t, e, member(), ensembleSessionTimeout)
		ls := &liveSession{conn: c, id: c.SessionID(), path: fmt.Sprintf("%s/live-%d", ensRoot, i)}
		_, err := c.Create(ls.path, []byte(strconv.FormatInt(ls.id, 16)), zk.FlagEphemeral, openACL)
		must(t, err)
		w.live = append(w.live, ls)
	}
	for _, aw := range w.writers {
		aw.conn = ensembleClient(t, e, member(), ensembleSessionTimeout)
	}
	for i := range size.registers {
		rc := &registerClient{id: i, w: w, rng: newRand(seed, 200+i), think: size.think,
			conn: ensembleClient(t, e, member(), ensembleSessionTimeout)}
		w.regs = append(w.regs, rc)
	}
	for _, aw := range w.writers {
		w.wg.Go(aw.loop)
	}
	for _, rc := range w.regs {
		w.wg.Go(rc.loop)
	}
	t.Cleanup(w.stopClients)
	return w
}

// stopClients stops the writers and register clients and closes their sessions; the live
// sessions stay. Closing the sessions first ends requests waiting for a member that will not
// answer; they count as lost.
func (w *workload) stopClients() {
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	for _, aw := range w.writers {
		aw.conn.Close()
	}
	for _, rc := range w.regs {
		rc.conn.Close()
	}
	w.wg.Wait()
}

// progress waits until the clients complete n more operations within d: the ensemble serves
// writes and reads again.
func (w *workload) progress(what string, n int64, d time.Duration) {
	w.t.Helper()
	base := w.done.Load()
	start := time.Now()
	within(w.t, d, fmt.Sprintf("%d client operations %s", n, what), func() bool {
		return w.done.Load() >= base+n || w.t.Failed()
	})
	if w.t.Failed() {
		w.t.FailNow()
	}
	w.t.Logf("%s: %d operations done in %v", what, w.done.Load()-base, time.Since(start).Round(time.Millisecond))
}

// ackWriter creates sequential znodes and multis on its own session.
type ackWriter struct {
	id   int
	w    *workload
	conn *eclient
	rng  *rand.Rand

	mu           sync.Mutex
	seqAttempted int
	seqAck       []string
	nextMulti    int
	multiAttempt map[int]bool
	multiAck     map[int]bool
}

func (a *ackWriter) dir() string { return fmt.Sprintf("%s/w%d", ensRoot, a.id) }

func (a *ackWriter) loop() {
	for a.w.begin() {
		var err error
		if a.rng.IntN(2) == 0 {
			err = a.seqCreate()
		} else {
			err = a.multiCreate()
		}
		a.w.end()
		switch {
		case err == nil:
			a.w.done.Add(1)
		case unknownOutcome(err):
			a.w.unknown.Add(1)
		case a.w.stopped():
			return
		default:
			a.w.t.Errorf("writer %d: %v", a.id, err)
			return
		}
	}
}

func (a *ackWriter) seqCreate() error {
	a.mu.Lock()
	a.seqAttempted++
	a.mu.Unlock()
	name, err := a.conn.Create(a.dir()+"/seq/n-", []byte("s"), zk.FlagSequence, openACL)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.seqAck = append(a.seqAck, path.Base(name))
	a.mu.Unlock()
	return nil
}

func (a *ackWriter) multiName(i int, half string) string { return fmt.Sprintf("m-%d-%s", i, half) }

func (a *ackWriter) multiCreate() error {
	a.mu.Lock()
	i := a.nextMulti
	a.nextMulti++
	a.multiAttempt[i] = true
	a.mu.Unlock()
	data := []byte(strconv.Itoa(i))
	_, err := a.conn.Multi(
		&zk.CreateRequest{Path: a.dir() + "/multi/" + a.multiName(i, "a"), Data: data, Acl: openACL},
		&zk.CreateRequest{Path: a.dir() + "/multi/" + a.multiName(i, "b"), Data: data, Acl: openACL})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.multiAck[i] = true
	a.mu.Unlock()
	return nil
}

// check verifies the writer's acknowledgements against a digest of the whole tree.
func (a *ackWriter) check(t *testing.T, d treeDigest) (acked int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	seqDir, multiDir := a.dir()+"/seq", a.dir()+"/multi"
	for _, name := range a.seqAck {
		if _, ok := d.Nodes[seqDir+"/"+name]; !ok {
			t.Errorf("writer %d: acknowledged sequential znode %s/%s is missing", a.id, seqDir, name)
		}
	}
	seqs, multis := 0, map[int]int{}
	for p := range d.Nodes {
		switch dir, name := path.Split(p); strings.TrimSuffix(dir, "/") {
		case seqDir:
			seqs++
		case multiDir:
			var i int
			var half string
			if _, err := fmt.Sscanf(strings.ReplaceAll(name, "-", " "), "m %d %s", &i, &half); err != nil || !a.multiAttempt[i] {
				t.Errorf("writer %d: %s was never attempted", a.id, p)
				continue
			}
			multis[i]++
		}
	}
	if seqs > a.seqAttempted {
		t.Errorf("writer %d: %d sequential znodes, only %d creates attempted", a.id, seqs, a.seqAttempted)
	}
	for i := range a.multiAck {
		if multis[i] != 2 {
			t.Errorf("writer %d: acknowledged multi %d has %d of its 2 znodes", a.id, i, multis[i])
		}
	}
	for i, n := range multis {
		if n != 2 {
			t.Errorf("writer %d: multi %d is half applied (%d of 2 znodes)", a.id, i, n)
		}
	}
	return len(a.seqAck) + len(a.multiAck)
}

// registerClient reads and compare-and-sets the registers, recording the history.
type registerClient struct {
	id    int
	w     *workload
	conn  *eclient
	rng   *rand.Rand
	think time.Duration
	seq   int
}

func (r *registerClient) loop() {
	for r.w.begin() {
		key := r.w.keys[r.rng.IntN(len(r.w.keys))]
		version, ok := r.read(key)
		if ok {
			if r.rng.IntN(8) == 0 {
				version += 1 - 2*min(version, 1) // sometimes a wrong version (never -1, "any"): BadVersion
			}
			r.cas(key, version)
		}
		r.w.end()
		if r.think > 0 {
			time.Sleep(time.Duration(r.rng.Int64N(int64(r.think))))
		}
	}
}

// read is sync + getData: ZooKeeper serves a read from the member's own copy, and only a
// sync first makes it linearizable.
func (r *registerClient) read(key string) (version int32, ok bool) {
	call := r.w.hist.Begin(r.id, lincheck.Input{Kind: lincheck.Read, Key: key})
	before := r.w.memberOf(r.conn.Server())
	_, err := r.conn.Sync(key)
	var data []byte
	var st *zk.Stat
	if err == nil {
		data, st, err = r.conn.Get(key)
	}
	call.Note = fmt.Sprintf("session 0x%x on %s..%s", r.conn.SessionID(), before, r.w.memberOf(r.conn.Server()))
	if !r.settle(call, err) {
		return 0, false
	}
	call.End(lincheck.Output{OK: true, Value: string(data), Version: st.Version})
	return st.Version, true
}

func (r *registerClient) cas(key string, version int32) {
	r.seq++
	value := fmt.Sprintf("c%d-%d", r.id, r.seq)
	call := r.w.hist.Begin(r.id, lincheck.Input{Kind: lincheck.CAS, Key: key, Value: value, Version: version})
	before := r.w.memberOf(r.conn.Server())
	st, err := r.conn.Set(key, []byte(value), version)
	zxid := ""
	if err == nil {
		zxid = fmt.Sprintf(" zxid %#x", st.Mzxid)
	}
	call.Note = fmt.Sprintf("session 0x%x on %s..%s%s", r.conn.SessionID(), before, r.w.memberOf(r.conn.Server()), zxid)
	if errors.Is(err, zk.ErrBadVersion) {
		call.End(lincheck.Output{OK: false})
		r.w.done.Add(1)
		return
	}
	if r.settle(call, err) {
		call.End(lincheck.Output{OK: true, Version: st.Version})
	}
}

// settle records a lost reply or a failure and reports whether the operation succeeded (and
// still needs its End).
func (r *registerClient) settle(call *lincheck.Call, err error) bool {
	switch {
	case err == nil:
		r.w.done.Add(1)
		return true
	case unknownOutcome(err) || r.w.stopped():
		call.Lost()
		r.w.unknown.Add(1)
	default:
		call.Lost()
		r.w.t.Errorf("register client %d: %v", r.id, err)
	}
	return false
}

// liveSession holds an ephemeral znode for the whole test.
type liveSession struct {
	conn *eclient
	id   int64
	path string
}

// checkLive verifies, through a session pinned to each of ids, that every live session's
// ephemeral is there and owned by it, and that no live session expired or changed id.
func (w *workload) checkLive(when string, ids ...int) {
	t := w.t
	t.Helper()
	for _, ls := range w.live {
		if n := ls.conn.sw.expired.Load(); n != 0 {
			t.Errorf("%s: live session 0x%x (started on member %d) expired %d times", when, ls.id, ls.conn.first, n)
		}
		if got := ls.conn.SessionID(); got != ls.id {
			t.Errorf("%s: live session 0x%x now has id 0x%x", when, ls.id, got)
		}
	}
	for _, id := range ids {
		c := pinnedClient(t, w.e, id)
		if _, err := c.Sync("/"); err != nil {
			t.Fatalf("%s: sync on member %d: %v", when, id, err)
		}
		for _, ls := range w.live {
			ok, st, err := c.Exists(ls.path)
			switch {
			case err != nil:
				t.Fatalf("%s: exists %s on member %d: %v", when, ls.path, id, err)
			case !ok:
				t.Errorf("%s: member %d: ephemeral %s of live session 0x%x is gone", when, id, ls.path, ls.id)
			case st.EphemeralOwner != ls.id:
				t.Errorf("%s: member %d: %s is owned by 0x%x, want 0x%x", when, id, ls.path, st.EphemeralOwner, ls.id)
			}
		}
		c.Close()
	}
}

// checkAcknowledged verifies every writer's acknowledgements and the live sessions'
// ephemerals against a digest of the tree.
func (w *workload) checkAcknowledged(d treeDigest) {
	t := w.t
	t.Helper()
	acked := 0
	for _, aw := range w.writers {
		acked += aw.check(t, d)
	}
	for _, ls := range w.live {
		if desc, ok := d.Nodes[ls.path]; !ok || !strings.Contains(desc, fmt.Sprintf("owner=%#x ", ls.id)) {
			t.Errorf("ephemeral %s of live session 0x%x: %q", ls.path, ls.id, desc)
		}
	}
	t.Logf("%d acknowledged creates and multis are all there; %d operations had a lost reply", acked, w.unknown.Load())
}

// checkLinearizable runs porcupine over the register history. A violation fails the test
// when strict, and is only logged otherwise (see staleLeaderSync).
func (w *workload) checkLinearizable(strict bool) {
	t := w.t
	t.Helper()
	res, err := w.hist.Check(2*time.Minute, "")
	if err != nil {
		t.Errorf("lincheck: %v", err)
	}
	t.Logf("linearizability: %s", res.Stats)
	switch {
	case res.TimedOut:
		t.Errorf("porcupine could not decide within 2 minutes; history kept at %s", res.Visualization)
	case !res.Linearizable && !strict:
		t.Logf("the register history is NOT linearizable, which %s is known to allow; porcupine's visualization: %s\n%s",
			w.e.Kind.Name, res.Visualization, res.Explanation)
	case !res.Linearizable:
		t.Errorf("the register history is NOT linearizable; porcupine's visualization: %s\n%s", res.Visualization, res.Explanation)
	case res.CASOK == 0 || res.Reads == 0:
		t.Errorf("the register history has %d successful CAS and %d reads: the check proves nothing", res.CASOK, res.Reads)
	}
}

// memberOf names the member with client address addr, "m2".
func (w *workload) memberOf(addr string) string {
	for _, m := range w.e.Members() {
		if m.Addr() == addr {
			return "m" + strconv.Itoa(m.ID)
		}
	}
	return addr
}

// event logs a fault and records it in the register history, where an explanation of a
// violation shows it.
func (w *workload) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.hist.Annotate(msg)
	w.t.Log(msg)
}

// others returns ids without skip.
func others(ids []int, skip ...int) []int {
	return slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return slices.Contains(skip, id) })
}
