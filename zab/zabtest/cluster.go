package zabtest

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand"
	"slices"

	"github.com/zabkafka/zabkafka/zab"
)

// Options shape a simulated cluster.
type Options struct {
	Voters, Observers int
	Seed              int64

	ElectionTimeoutTicks, FinalizeWaitTicks, InitLimitTicks, SyncLimitTicks, HeartbeatTicks int
	MaxDiffEntries                                                                          int

	SnapEvery int // each node compacts its log after this many applied txns; 0 never
	MinDelay  int // message delay in ticks, at least 1
	MaxDelay  int

	// Pipeline makes the shells pipeline non-barrier Readys as zabnode
	// does: a server keeps stepping messages while its fsyncs are under
	// way, applies committed txns once they are durable locally, and
	// sends a Ready's late messages when its fsync completes.
	Pipeline bool

	KeepTrace bool         // keep every trace line (for printing a failing seed)
	Logf      func(string) // receives every trace line as it happens
}

// DefaultOptions is a 3-voter cluster with short timeouts.
func DefaultOptions() Options {
	return Options{
		Voters: 3, ElectionTimeoutTicks: 5, FinalizeWaitTicks: 2, InitLimitTicks: 20,
		SyncLimitTicks: 10, HeartbeatTicks: 2, MaxDiffEntries: 50, MinDelay: 1, MaxDelay: 1,
	}
}

// Node is one simulated server: a peer and its shell.
type Node struct {
	ID       uint64
	Observer bool
	Running  bool
	Peer     *zab.Peer
	Disk     *Disk
	KV       *KV

	busy      *zab.Ready // a Ready whose fsync has not finished (slow disk)
	busyUntil int64
	// With Options.Pipeline: pipelined Readys whose fsync has not
	// finished, oldest first; a barrier Ready waiting for them; committed
	// txns (and then sync answers) waiting to be durable here.
	pipe          []pipelined
	held          *zab.Ready
	deferred      []zab.Entry
	deferredSyncs []uint64
	applied       int // length of the global history this node's KV reflects
	sinceSnap     int
	synced        []uint64
}

type link struct{ from, to uint64 }

type pipelined struct {
	rd     zab.Ready
	doneAt int64
}

type inflight struct {
	m  zab.Message
	at int64
	// lost marks no message but the news that the connection broke: the
	// receiver's transport saw it close (zab.Peer.PeerLost of the sender).
	lost bool
}

// Cluster is the simulated ensemble. All randomness comes from one seeded
// source; nothing reads the clock.
type Cluster struct {
	opts  Options
	rand  *rand.Rand
	Now   int64
	ids   []uint64
	nodes map[uint64]*Node
	quor  int

	links   map[link][]inflight
	lastAt  map[link]int64
	blocked map[link]bool
	clogged map[link]bool

	LossRate     float64 // chance each message is dropped
	SlowDiskRate float64 // chance a Ready's fsync takes 1-3 ticks

	// Overlapped counts Readys taken while an earlier one's fsync was
	// still under way (pipelining exercised).
	Overlapped int

	trace      hash.Hash64
	traceLines []string
	events     int64
	chk        checker
	err        error
}

// NewCluster builds the nodes (none running). Voters are 1..Voters,
// observers follow.
func NewCluster(opts Options) *Cluster {
	if opts.MinDelay < 1 {
		opts.MinDelay = 1
	}
	if opts.MaxDelay < opts.MinDelay {
		opts.MaxDelay = opts.MinDelay
	}
	c := &Cluster{
		opts: opts, rand: rand.New(rand.NewSource(opts.Seed)), nodes: map[uint64]*Node{},
		links: map[link][]inflight{}, lastAt: map[link]int64{}, blocked: map[link]bool{}, clogged: map[link]bool{},
		trace: fnv.New64a(), quor: opts.Voters/2 + 1,
	}
	c.chk = newChecker(c)
	for i := 1; i <= opts.Voters+opts.Observers; i++ {
		id := uint64(i)
		c.ids = append(c.ids, id)
		c.nodes[id] = &Node{ID: id, Observer: i > opts.Voters, Disk: &Disk{}}
	}
	return c
}

// Rand is the cluster's random source, for scenario choices.
func (c *Cluster) Rand() *rand.Rand { return c.rand }

// IDs lists the servers.
func (c *Cluster) IDs() []uint64 { return c.ids }

// Node returns a server.
func (c *Cluster) Node(id uint64) *Node { return c.nodes[id] }

// Err is the first invariant violation, nil if none.
func (c *Cluster) Err() error { return c.err }

// TraceHash identifies the run: same seed, same hash.
func (c *Cluster) TraceHash() uint64 { return c.trace.Sum64() }

// Trace is every trace line, when Options.KeepTrace is set.
func (c *Cluster) Trace() []string { return c.traceLines }

func (c *Cluster) event(format string, args ...any) {
	line := fmt.Sprintf("t=%d ", c.Now) + fmt.Sprintf(format, args...)
	c.trace.Write([]byte(line))
	c.trace.Write([]byte{'\n'})
	if c.opts.KeepTrace {
		c.traceLines = append(c.traceLines, line)
	}
	if c.opts.Logf != nil {
		c.opts.Logf(line)
	}
}

func (c *Cluster) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("t=%d: "+format, append([]any{c.Now}, args...)...)
		c.event("INVARIANT VIOLATED: %v", c.err)
	}
}

func (c *Cluster) config(n *Node) zab.Config {
	var voters, observers []uint64
	for _, id := range c.ids {
		if c.nodes[id].Observer {
			observers = append(observers, id)
		} else {
			voters = append(voters, id)
		}
	}
	o := c.opts
	return zab.Config{
		ID: n.ID, Voters: voters, Observers: observers,
		ElectionTimeoutTicks: o.ElectionTimeoutTicks, FinalizeWaitTicks: o.FinalizeWaitTicks,
		InitLimitTicks: o.InitLimitTicks, SyncLimitTicks: o.SyncLimitTicks, HeartbeatTicks: o.HeartbeatTicks,
		MaxDiffEntries: o.MaxDiffEntries,
		Rand:           rand.New(rand.NewSource(c.rand.Int63())),
		Log:            n.Disk, HardState: n.Disk.HS, Applied: n.Disk.SnapshotZxid(),
		Logger: func(s string) { c.event("%s", s) },
	}
}

// Start starts (or restarts after a crash) a server from its disk: the
// state machine is restored from the disk's snapshot and the peer hands
// the later log entries out again once they are known committed.
func (c *Cluster) Start(id uint64) error {
	n := c.nodes[id]
	if n == nil {
		return fmt.Errorf("no server %d", id)
	}
	if n.Running {
		return fmt.Errorf("server %d is running", id)
	}
	n.KV = newKV()
	if n.Disk.Snap != nil {
		kv, err := restoreKV(n.Disk.Snap.Data)
		if err != nil {
			return err
		}
		n.KV = kv
	}
	c.event("start %d (disk: %+v last=%s snapshot=%s)", id, n.Disk.HS, zab.FormatZxid(n.Disk.LastZxid()),
		zab.FormatZxid(n.Disk.SnapshotZxid()))
	p, err := zab.NewPeer(c.config(n))
	if err != nil {
		return err
	}
	n.Peer, n.Running, n.busy, n.sinceSnap, n.synced = p, true, nil, 0, nil
	n.pipe, n.held, n.deferred, n.deferredSyncs = nil, nil, nil, nil
	c.chk.restored(n)
	c.processReady(n)
	c.chk.checkAll()
	return nil
}

// Crash stops a server: its unsynced Ready is lost and its connections
// reset (queued messages to and from it are dropped).
func (c *Cluster) Crash(id uint64) error {
	n := c.nodes[id]
	if n == nil || !n.Running {
		return fmt.Errorf("server %d is not running", id)
	}
	c.event("crash %d (lost unsynced ready: %v)", id, n.busy != nil || n.held != nil || len(n.pipe) > 0)
	n.Running, n.Peer, n.KV, n.busy = false, nil, nil, nil
	n.pipe, n.held, n.deferred, n.deferredSyncs = nil, nil, nil, nil
	for l := range c.links {
		if l.from == id || l.to == id {
			delete(c.links, l)
		}
	}
	// The crashed process's sockets close: every running server connected
	// to it sees that, a little later.
	for _, other := range c.ids {
		if other != id && c.nodes[other].Running && !c.blocked[link{id, other}] {
			c.connectionLost(id, other)
		}
	}
	return nil
}

// connectionLost tells to, after the link's delay, that its connection
// from `from` broke, behind whatever is already queued on the link.
func (c *Cluster) connectionLost(from, to uint64) {
	l := link{from, to}
	at := max(c.Now+int64(c.opts.MinDelay), c.lastAt[l])
	c.lastAt[l] = at
	c.links[l] = append(c.links[l], inflight{lost: true, at: at})
}

// Partition cuts every link between different groups and drops what is
// queued on them. Servers in no group are isolated.
func (c *Cluster) Partition(groups ...[]uint64) {
	group := map[uint64]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	c.blocked = map[link]bool{}
	for _, a := range c.ids {
		for _, b := range c.ids {
			ga, gb := group[a], group[b]
			if a != b && (ga == 0 || gb == 0 || ga != gb) {
				c.blocked[link{a, b}] = true
				delete(c.links, link{a, b})
			}
		}
	}
	c.event("partition %v", groups)
}

// Heal removes partitions and clogs.
func (c *Cluster) Heal() {
	c.blocked = map[link]bool{}
	c.clogged = map[link]bool{}
	c.event("heal")
}

// Clog holds messages on a link until Heal.
func (c *Cluster) Clog(from, to uint64) {
	c.clogged[link{from, to}] = true
	c.event("clog %d->%d", from, to)
}

// ResetLink drops what is queued between a and b, both ways.
func (c *Cluster) ResetLink(a, b uint64) {
	delete(c.links, link{a, b})
	delete(c.links, link{b, a})
	c.event("reset link %d<->%d", a, b)
	if a != b && c.nodes[a].Running && c.nodes[b].Running {
		c.connectionLost(a, b)
		c.connectionLost(b, a)
	}
}

func (c *Cluster) send(m zab.Message) {
	l := link{m.From, m.To}
	to := c.nodes[m.To]
	switch {
	case to == nil || !to.Running:
		return // connection refused
	case c.blocked[l]:
		return
	case c.LossRate > 0 && c.rand.Float64() < c.LossRate:
		c.event("lose %s", m.Describe())
		return
	}
	at := c.Now + int64(c.opts.MinDelay)
	if d := c.opts.MaxDelay - c.opts.MinDelay; d > 0 {
		at += int64(c.rand.Intn(d + 1))
	}
	at = max(at, c.lastAt[l])
	c.lastAt[l] = at
	c.links[l] = append(c.links[l], inflight{m: m, at: at})
}

// processReady runs the shell loop for n until the peer has nothing more:
// send early messages, persist (one fsync), send, install and apply, Advance.
// With Options.Pipeline, non-barrier Readys go through pipeline instead.
func (c *Cluster) processReady(n *Node) {
	for i := 0; n.Running && !n.busyNow() && n.Peer.HasReady(); i++ {
		if i > 1000 {
			c.fail("server %d: Ready loop does not settle", n.ID)
			return
		}
		rd := n.Peer.Ready()
		// Early messages leave as the fsync starts; a slow disk or a crash
		// before it completes lets them arrive at learners first.
		for _, m := range rd.Early {
			c.send(m)
		}
		if c.opts.Pipeline && !rd.Barrier() {
			c.pipeline(n, rd)
			continue
		}
		if len(n.pipe) > 0 {
			// A barrier waits for the fsyncs under way; the server takes
			// no input meanwhile.
			n.held = &rd
			return
		}
		if !c.handlePlain(n, &rd) {
			return
		}
	}
}

// fsyncTicks is how long the next fsync takes: 0 (done at once), or 1-3
// ticks on a slow disk (SlowDiskRate).
func (c *Cluster) fsyncTicks() int64 {
	if c.SlowDiskRate > 0 && c.rand.Float64() < c.SlowDiskRate {
		return 1 + int64(c.rand.Intn(3))
	}
	return 0
}

// handlePlain completes rd now, or leaves the server busy until its slow
// fsync is done (false then).
func (c *Cluster) handlePlain(n *Node, rd *zab.Ready) bool {
	if d := c.fsyncTicks(); d > 0 {
		n.busy = rd
		n.busyUntil = c.Now + d
		return false
	}
	c.complete(n, rd)
	return true
}

// pipeline starts a non-barrier Ready: its requests are proposed and what
// it commits is applied (once durable here) now; it is persisted, its late
// messages sent and it is Advanced when its fsync completes, after the
// fsyncs started before it.
func (c *Cluster) pipeline(n *Node, rd zab.Ready) {
	n.deferred = append(n.deferred, rd.Committed...)
	n.deferredSyncs = append(n.deferredSyncs, rd.Synced...)
	c.applyDurable(n)
	c.proposeRequests(n, rd.Requests)
	at := c.Now + c.fsyncTicks()
	if k := len(n.pipe); k > 0 {
		at = max(at, n.pipe[k-1].doneAt)
		c.Overlapped++
	}
	n.pipe = append(n.pipe, pipelined{rd: rd, doneAt: at})
	c.completePipeline(n)
}

// completePipeline completes, in order, the pipelined Readys whose fsync
// is done, then a barrier that waited for them.
func (c *Cluster) completePipeline(n *Node) {
	for n.Running && len(n.pipe) > 0 && n.pipe[0].doneAt <= c.Now {
		rd := n.pipe[0].rd
		n.pipe = n.pipe[1:]
		if err := n.Disk.persist(&rd); err != nil {
			c.fail("server %d persist: %v", n.ID, err)
			return
		}
		for _, m := range rd.Messages {
			c.send(m)
		}
		n.Peer.Advance(rd)
		c.applyDurable(n)
	}
	if n.Running && len(n.pipe) == 0 && n.held != nil {
		rd := n.held
		n.held = nil
		c.handlePlain(n, rd)
	}
}

// applyDurable applies the deferred committed txns that are durable here,
// then, once none waits, the deferred sync answers.
func (c *Cluster) applyDurable(n *Node) {
	durable := n.Disk.LastZxid()
	i := 0
	for ; i < len(n.deferred) && n.deferred[i].Zxid <= durable; i++ {
		c.apply(n, n.deferred[i])
	}
	if i > 0 {
		c.event("%d applied through %s", n.ID, zab.FormatZxid(n.KV.Applied))
		n.sinceSnap += i
	}
	n.deferred = n.deferred[i:]
	if len(n.deferred) == 0 {
		n.synced = append(n.synced, n.deferredSyncs...)
		n.deferredSyncs = nil
	}
	c.maybeSnapshot(n)
}

func (c *Cluster) apply(n *Node, e zab.Entry) {
	if err := n.KV.Apply(e); err != nil {
		c.fail("server %d: %v", n.ID, err)
		return
	}
	c.chk.applied(n, e)
}

func (c *Cluster) proposeRequests(n *Node, reqs []zab.ForwardedRequest) {
	for _, r := range reqs {
		if _, err := n.Peer.Propose(r.Data); err != nil {
			c.event("%d drops request from %d: %v", n.ID, r.From, err)
		}
	}
}

func (c *Cluster) maybeSnapshot(n *Node) {
	if c.opts.SnapEvery > 0 && n.sinceSnap >= c.opts.SnapEvery {
		n.sinceSnap = 0
		n.Disk.compact(n.KV.Applied, n.KV.Snapshot())
	}
}

func (c *Cluster) complete(n *Node, rd *zab.Ready) {
	n.busy = nil
	if len(n.pipe) > 0 || len(n.deferred) > 0 {
		c.fail("server %d handles a barrier Ready with %d pipelined Readys and %d committed txns outstanding", n.ID, len(n.pipe), len(n.deferred))
		return
	}
	if err := n.Disk.persist(rd); err != nil {
		c.fail("server %d persist: %v", n.ID, err)
		return
	}
	if rd.SoftState != nil {
		c.event("%d soft state %s leader=%d serving=%v", n.ID, rd.SoftState.State, rd.SoftState.Leader, rd.SoftState.Serving)
	}
	for _, m := range rd.Messages {
		if m.Type == zab.Snap {
			if n.KV.Applied != m.Zxid {
				c.fail("server %d sends a snapshot at %s but its state is at %s", n.ID, zab.FormatZxid(m.Zxid), zab.FormatZxid(n.KV.Applied))
				return
			}
			m.Data = n.KV.Snapshot()
		}
		c.send(m)
	}
	if rd.Snapshot != nil {
		kv, err := restoreKV(rd.Snapshot.Data)
		if err != nil || kv.Applied != rd.Snapshot.Zxid {
			c.fail("server %d: bad snapshot at %s: %v", n.ID, zab.FormatZxid(rd.Snapshot.Zxid), err)
			return
		}
		n.KV = kv
		c.event("%d installed snapshot %s", n.ID, zab.FormatZxid(kv.Applied))
		c.chk.restored(n)
	}
	for _, e := range rd.Committed {
		c.apply(n, e)
	}
	if len(rd.Committed) > 0 {
		c.event("%d applied through %s", n.ID, zab.FormatZxid(n.KV.Applied))
	}
	n.synced = append(n.synced, rd.Synced...)
	n.Peer.Advance(*rd)
	c.proposeRequests(n, rd.Requests)
	n.sinceSnap += len(rd.Committed)
	c.maybeSnapshot(n)
}

// Tick advances the clock one tick: finished fsyncs complete, every
// running server ticks, then every message that is due is delivered.
func (c *Cluster) Tick() {
	c.Now++
	for _, id := range c.ids {
		n := c.nodes[id]
		if n.Running && n.busy != nil && n.busyUntil <= c.Now {
			c.complete(n, n.busy)
			c.processReady(n)
		}
		if n.Running && len(n.pipe) > 0 {
			c.completePipeline(n)
			c.processReady(n)
		}
	}
	for _, id := range c.ids {
		n := c.nodes[id]
		if n.Running && !n.busyNow() {
			n.Peer.Tick()
			c.processReady(n)
		}
	}
	c.chk.checkAll()
	c.deliverDue()
}

// deliverDue delivers due messages one at a time, picking a random link
// each time (FIFO within a link), checking the invariants after each.
func (c *Cluster) deliverDue() {
	var due []link
	for c.err == nil {
		due = due[:0]
		for l, q := range c.links {
			if len(q) > 0 && q[0].at <= c.Now && !c.clogged[l] && !c.nodes[l.to].busyNow() {
				due = append(due, l)
			}
		}
		if len(due) == 0 {
			return
		}
		slices.SortFunc(due, func(a, b link) int {
			if a.from != b.from {
				return cmpU(a.from, b.from)
			}
			return cmpU(a.to, b.to)
		})
		l := due[c.rand.Intn(len(due))]
		f := c.links[l][0]
		c.links[l] = c.links[l][1:]
		if len(c.links[l]) == 0 {
			delete(c.links, l)
		}
		if f.lost {
			c.deliverLost(l.from, l.to)
			continue
		}
		c.deliver(f.m)
	}
}

// busyNow: the server takes no input (a plain Ready's fsync, or a barrier
// waiting for pipelined fsyncs).
func (n *Node) busyNow() bool { return n.busy != nil || n.held != nil }

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *Cluster) deliver(m zab.Message) {
	n := c.nodes[m.To]
	if !n.Running {
		return
	}
	c.events++
	if m.Type != zab.Ping || c.opts.KeepTrace {
		c.event("deliver %s", m.Describe())
	}
	// Round-trip through the codec, as the transport would.
	b := m.Marshal(nil)
	m2, err := zab.Unmarshal(b)
	if err != nil {
		c.fail("codec: %v for %s", err, m.Describe())
		return
	}
	if err := n.Peer.Step(m2); err != nil && !errors.Is(err, zab.ErrUnexpectedMessage) {
		c.fail("server %d rejects %s: %v", n.ID, m.Describe(), err)
	}
	c.processReady(n)
	c.chk.checkAll()
}

// deliverLost tells server to that its connection from `from` broke.
func (c *Cluster) deliverLost(from, to uint64) {
	n := c.nodes[to]
	if !n.Running {
		return
	}
	c.events++
	c.event("connection %d->%d lost", from, to)
	if err := n.Peer.PeerLost(from); err != nil {
		c.fail("server %d PeerLost(%d): %v", to, from, err)
	}
	c.processReady(n)
	c.chk.checkAll()
}

// Propose writes data through server id: the leader proposes it, a
// learner forwards it as a REQUEST.
func (c *Cluster) Propose(id uint64, data string) error {
	n := c.nodes[id]
	if n == nil || !n.Running || n.busyNow() {
		return fmt.Errorf("server %d cannot take writes now", id)
	}
	var err error
	if st := n.Peer.Status(); st.State == zab.Leading {
		var z int64
		z, err = n.Peer.Propose([]byte(data))
		if err == nil {
			c.event("%d proposes %s at %s", id, data, zab.FormatZxid(z))
		}
	} else {
		err = n.Peer.Request([]byte(data))
		if err == nil {
			c.event("%d forwards %s", id, data)
		}
	}
	c.processReady(n)
	c.chk.checkAll()
	return err
}

// Sync asks server id for a sync point.
func (c *Cluster) Sync(id uint64, ref uint64) error {
	n := c.nodes[id]
	if n == nil || !n.Running || n.busyNow() {
		return fmt.Errorf("server %d cannot sync now", id)
	}
	err := n.Peer.Sync(ref)
	c.processReady(n)
	return err
}

// Leader returns the established leader with the highest epoch, if any.
func (c *Cluster) Leader() (uint64, bool) {
	var best uint64
	var epoch uint32
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.Running {
			continue
		}
		if st := n.Peer.Status(); st.State == zab.Leading && st.Established && (best == 0 || st.Epoch > epoch) {
			best, epoch = id, st.Epoch
		}
	}
	return best, best != 0
}

// InFlight counts queued messages.
func (c *Cluster) InFlight() int {
	n := 0
	for _, q := range c.links {
		n += len(q)
	}
	return n
}

// Committed is the global committed history's length and last zxid.
func (c *Cluster) Committed() (int, int64) {
	if len(c.chk.hist) == 0 {
		return 0, 0
	}
	return len(c.chk.hist), c.chk.hist[len(c.chk.hist)-1].zxid
}

// Applied is how many txns of the global history server id reflects.
func (c *Cluster) Applied(id uint64) int { return c.nodes[id].applied }
