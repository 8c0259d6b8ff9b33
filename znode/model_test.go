package znode_test

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// The property test: random valid txns applied to a Tree and to a naive model
// written straight from the rules of reference 1.7, 1.9 and 1.10. After every
// txn every node's client stat, data, ACL and children must agree, and a
// persistent recursive watch on "/" must see exactly the model's events.

// mnode is a node of the model. creates is the stored cversion.
type mnode struct {
	data                              []byte
	acl                               []jute.ACL
	czxid, mzxid, pzxid, ctime, mtime int64
	version, aversion, creates        int32
	owner                             int64 // as stored
	kids                              map[string]bool
}

type model struct {
	nodes    map[string]*mnode
	sessions map[int64]int32
}

const (
	modelContainer int64 = math.MinInt64
	modelTTLByte         = 0xff
)

func isTTLMarker(owner int64) bool    { return owner != 0 && uint64(owner)>>56 == modelTTLByte }
func isSpecialOwner(owner int64) bool { return owner == modelContainer || isTTLMarker(owner) }
func isSessionOwner(owner int64) bool { return owner != 0 && !isSpecialOwner(owner) }

func newModel() *model {
	open := znode.OpenACLUnsafe
	read := []jute.ACL{{Perms: jute.PermRead, ID: jute.ID{Scheme: "world", ID: "anyone"}}}
	return &model{
		nodes: map[string]*mnode{
			"/":                 {acl: open, kids: map[string]bool{"zookeeper": true}},
			"/zookeeper":        {acl: open, kids: map[string]bool{"quota": true, "config": true}},
			"/zookeeper/quota":  {acl: open, kids: map[string]bool{}},
			"/zookeeper/config": {acl: read, kids: map[string]bool{}, aversion: -1},
		},
		sessions: map[int64]int32{},
	}
}

func (m *model) clone() *model {
	c := &model{nodes: make(map[string]*mnode, len(m.nodes)), sessions: maps.Clone(m.sessions)}
	for p, n := range m.nodes {
		nn := *n
		nn.kids = maps.Clone(n.kids)
		c.nodes[p] = &nn
	}
	return c
}

func parentOf(p string) string {
	i := strings.LastIndex(p, "/")
	if i == 0 {
		return "/"
	}
	return p[:i]
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

func isSystem(p string) bool { return p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/") }

// paths returns the sorted paths whose node passes keep (all if nil).
func (m *model) paths(keep func(string, *mnode) bool) []string {
	var out []string
	for p, n := range m.nodes {
		if keep == nil || keep(p, n) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// stat is the client-visible stat (DataNode.copyStat).
func (m *model) stat(p string) jute.Stat {
	n := m.nodes[p]
	owner := n.owner
	if isSpecialOwner(owner) {
		owner = 0
	}
	kids := int32(len(n.kids))
	return jute.Stat{
		Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: 2*n.creates - kids, Aversion: n.aversion,
		EphemeralOwner: owner, DataLength: int32(len(n.data)), NumChildren: kids, Pzxid: n.pzxid,
	}
}

func (m *model) create(p string, data []byte, acl []jute.ACL, owner, zxid, now int64) []event {
	parent := m.nodes[parentOf(p)]
	parent.creates++
	parent.pzxid = zxid
	parent.kids[p[strings.LastIndex(p, "/")+1:]] = true
	m.nodes[p] = &mnode{
		data: data, acl: acl, owner: owner, kids: map[string]bool{},
		czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: now, mtime: now,
	}
	return []event{{created, p, zxid}}
}

func (m *model) delete(p string, zxid int64) []event {
	parent := m.nodes[parentOf(p)]
	delete(parent.kids, p[strings.LastIndex(p, "/")+1:])
	parent.pzxid = max(parent.pzxid, zxid)
	delete(m.nodes, p)
	return []event{{deleted, p, zxid}}
}

func (m *model) setData(p string, data []byte, zxid, now int64) []event {
	n := m.nodes[p]
	n.data, n.version, n.mzxid, n.mtime = data, n.version+1, zxid, now
	return []event{{changed, p, zxid}}
}

func (m *model) setACL(p string, acl []jute.ACL) {
	n := m.nodes[p]
	n.acl, n.aversion = acl, n.aversion+1
}

func (m *model) ephemerals(session int64) []string {
	return m.paths(func(_ string, n *mnode) bool { return n.owner == session && isSessionOwner(session) })
}

// closeSession deletes the listed ephemerals in order, then any the list
// missed, then forgets the session.
func (m *model) closeSession(session int64, listed []string, zxid int64) []event {
	var ev []event
	for _, p := range listed {
		ev = append(ev, m.delete(p, zxid)...)
	}
	for _, p := range m.ephemerals(session) {
		ev = append(ev, m.delete(p, zxid)...)
	}
	delete(m.sessions, session)
	return ev
}

// expired is ContainerManager.getCandidates.
func (m *model) expired(now int64) []string {
	return m.paths(func(_ string, n *mnode) bool {
		switch {
		case len(n.kids) > 0:
			return false
		case n.owner == modelContainer:
			return n.creates > 0
		case isTTLMarker(n.owner):
			return now-n.mtime > n.owner&(1<<40-1)
		}
		return false
	})
}

func (m *model) dataSize() int64 {
	var size int64
	for p, n := range m.nodes {
		// Every path counts, the root's "/" too, as Java's approximate
		// data size does.
		size += int64(len(n.data) + len(p))
	}
	return size
}

// gen produces valid txns the way the prepare stage would: it checks each
// against the model first and fills in the derived fields.
type gen struct {
	rng  *rand.Rand
	m    *model
	zxid int64
	now  int64
}

// genStep is one generated txn with what applying it must produce.
type genStep struct {
	txn      znode.Txn
	events   []event        // seen by a recursive watch on "/"
	multiErr []jute.ErrCode // per-op results of a multi
}

type op struct {
	typ     jute.OpCode
	rec     jute.Record
	session int64
}

var (
	modelNames    = []string{"a", "b", "c"}
	modelSessions = []int64{sessA, sessB, -0x7fffffffffffff5f, 0x0200000000000001}
	modelACLs     = [][]jute.ACL{
		znode.OpenACLUnsafe,
		znode.ReadACLUnsafe,
		{{Perms: jute.PermAll, ID: jute.ID{Scheme: "digest", ID: "u:hash"}}},
		{{Perms: jute.PermRead, ID: jute.ID{Scheme: "ip", ID: "10.0.0.0/8"}}, {Perms: jute.PermAll, ID: znode.AnyoneID}},
	}
	multiFailures = []jute.ErrCode{jute.ErrNoNode, jute.ErrNodeExists, jute.ErrBadVersion, jute.ErrNotEmpty}
)

func newGen(seed uint64) *gen {
	return &gen{
		rng:  rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15)),
		m:    newModel(),
		zxid: 1 << 32,
		now:  1_700_000_000_000,
	}
}

func (g *gen) pick(paths []string) string { return paths[g.rng.IntN(len(paths))] }

func (g *gen) data() []byte {
	if g.rng.IntN(8) == 0 {
		return nil
	}
	b := make([]byte, g.rng.IntN(7))
	for i := range b {
		b[i] = byte('a' + g.rng.IntN(26))
	}
	return b
}

func (g *gen) liveSessions() []int64 {
	return slices.Sorted(maps.Keys(g.m.sessions))
}

// anySession is the session a request comes from: a live one, or 0 (as the
// container manager's own requests).
func (g *gen) anySession() int64 {
	live := g.liveSessions()
	if len(live) == 0 || g.rng.IntN(4) == 0 {
		return 0
	}
	return live[g.rng.IntN(len(live))]
}

// step returns the next valid txn, already applied to the model.
func (g *gen) step() genStep {
	g.zxid++
	g.now += 1 + int64(g.rng.IntN(300))
	for {
		var o op
		var ev []event
		ok := false
		switch k := g.rng.IntN(100); {
		case k < 32:
			o, ev, ok = g.create(g.m, g.anySession())
		case k < 50:
			o, ev, ok = g.delete(g.m)
		case k < 64:
			o, ev, ok = g.setData(g.m)
		case k < 70:
			o, ok = g.setACL(g.m)
		case k < 76:
			o, ok = g.createSession()
		case k < 80:
			o, ev, ok = g.closeSession()
		default:
			if s, ok := g.multi(k >= 92); ok {
				return s
			}
		}
		if ok {
			return genStep{txn: g.txn(o), events: ev}
		}
	}
}

func (g *gen) txn(o op) znode.Txn {
	return znode.Txn{
		Header: jute.TxnHeader{ClientID: o.session, Cxid: int32(g.zxid), Zxid: g.zxid, Time: g.now, Type: o.typ},
		Record: o.rec,
	}
}

func (g *gen) create(m *model, session int64) (op, []event, bool) {
	parents := m.paths(func(p string, n *mnode) bool {
		return depth(p) < 3 && !isSystem(p) && !isSessionOwner(n.owner)
	})
	parentPath := g.pick(parents)
	parent := m.nodes[parentPath]
	mode := g.rng.IntN(10)
	name := modelNames[g.rng.IntN(len(modelNames))]
	if mode == 6 || mode == 7 { // sequential: suffix the stored cversion
		name += fmt.Sprintf("%010d", parent.creates)
	}
	p := parentPath + "/" + name
	if parentPath == "/" {
		p = "/" + name
	}
	if _, exists := m.nodes[p]; exists {
		return op{}, nil, false
	}
	data, acl, cv := g.data(), modelACLs[g.rng.IntN(len(modelACLs))], parent.creates+1
	typ := []jute.OpCode{jute.OpCreate, jute.OpCreate2}[g.rng.IntN(2)]
	var o op
	var owner int64
	switch mode {
	case 4, 5, 7:
		if session == 0 {
			return op{}, nil, false
		}
		owner = session
		o = op{typ: typ, rec: &jute.CreateTxn{Path: p, Data: data, ACL: acl, Ephemeral: true, ParentCVersion: cv}}
	case 8:
		owner = modelContainer
		o = op{typ: jute.OpCreateContainer, rec: &jute.CreateContainerTxn{Path: p, Data: data, ACL: acl, ParentCVersion: cv}}
	case 9:
		ttl := 1 + int64(g.rng.IntN(5000))
		owner = int64(-1)<<56 | ttl
		o = op{typ: jute.OpCreateTTL, rec: &jute.CreateTTLTxn{Path: p, Data: data, ACL: acl, ParentCVersion: cv, TTL: ttl}}
	default:
		o = op{typ: typ, rec: &jute.CreateTxn{Path: p, Data: data, ACL: acl, ParentCVersion: cv}}
	}
	o.session = session
	return o, m.create(p, data, acl, owner, g.zxid, g.now), true
}

func (g *gen) delete(m *model) (op, []event, bool) {
	leaves := m.paths(func(p string, n *mnode) bool { return p != "/" && !isSystem(p) && len(n.kids) == 0 })
	if len(leaves) == 0 {
		return op{}, nil, false
	}
	p := g.pick(leaves)
	typ := jute.OpDelete
	if isSpecialOwner(m.nodes[p].owner) && g.rng.IntN(2) == 0 {
		typ = jute.OpDeleteContainer
	}
	return op{typ: typ, rec: &jute.DeleteTxn{Path: p}}, m.delete(p, g.zxid), true
}

func (g *gen) writable(m *model) []string {
	return m.paths(func(p string, _ *mnode) bool { return !isSystem(p) })
}

func (g *gen) setData(m *model) (op, []event, bool) {
	p := g.pick(g.writable(m))
	data := g.data()
	rec := &jute.SetDataTxn{Path: p, Data: data, Version: m.nodes[p].version + 1}
	return op{typ: jute.OpSetData, rec: rec}, m.setData(p, data, g.zxid, g.now), true
}

func (g *gen) setACL(m *model) (op, bool) {
	p := g.pick(g.writable(m))
	acl := modelACLs[g.rng.IntN(len(modelACLs))]
	rec := &jute.SetACLTxn{Path: p, ACL: acl, Version: m.nodes[p].aversion + 1}
	m.setACL(p, acl)
	return op{typ: jute.OpSetACL, rec: rec}, true
}

func (g *gen) check(m *model) (op, []event, bool) {
	p := g.pick(m.paths(nil))
	return op{typ: jute.OpCheck, rec: &jute.CheckVersionTxn{Path: p, Version: m.nodes[p].version}}, nil, true
}

func (g *gen) createSession() (op, bool) {
	var idle []int64
	for _, s := range modelSessions {
		if _, live := g.m.sessions[s]; !live {
			idle = append(idle, s)
		}
	}
	if len(idle) == 0 {
		return op{}, false
	}
	s := idle[g.rng.IntN(len(idle))]
	timeout := int32(4000 + g.rng.IntN(36000))
	g.m.sessions[s] = timeout
	return op{typ: jute.OpCreateSession, rec: &jute.CreateSessionTxn{TimeOut: timeout}, session: s}, true
}

func (g *gen) closeSession() (op, []event, bool) {
	live := g.liveSessions()
	if len(live) == 0 {
		return op{}, nil, false
	}
	s := live[g.rng.IntN(len(live))]
	listed := g.m.ephemerals(s)
	if len(listed) > 0 && g.rng.IntN(4) == 0 {
		// A path the leader did not know of: the tree must delete it anyway.
		listed = slices.Delete(listed, 0, 1)
	}
	ev := g.m.closeSession(s, listed, g.zxid)
	return op{typ: jute.OpCloseSession, rec: &jute.CloseSessionTxn{Paths2Delete: listed}, session: s}, ev, true
}

// subOp generates one op of a multi against a scratch model.
func (g *gen) subOp(m *model, session int64) (op, []event) {
	for {
		var o op
		var ev []event
		var ok bool
		switch k := g.rng.IntN(10); {
		case k < 4:
			o, ev, ok = g.create(m, session)
		case k < 6:
			o, ev, ok = g.delete(m)
		case k < 9:
			o, ev, ok = g.setData(m)
		default:
			o, ev, ok = g.check(m)
		}
		if ok {
			return o, ev
		}
	}
}

// multi builds a MultiTxn of 1-4 ops. A failed one carries the ErrorTxn the
// prepare stage wrote, and after it either RUNTIMEINCONSISTENCY ErrorTxns (as
// prep writes them) or real ops (which apply must turn into errors too).
func (g *gen) multi(fail bool) (genStep, bool) {
	scratch := g.m.clone()
	session := g.anySession()
	n := 1 + g.rng.IntN(4)
	failAt := -1
	if fail {
		failAt = g.rng.IntN(n)
	}
	var txns []jute.Txn
	var events []event
	var errs []jute.ErrCode
	for i := range n {
		switch {
		case i == failAt:
			code := multiFailures[g.rng.IntN(len(multiFailures))]
			txns, errs = append(txns, errTxn(code)), append(errs, code)
		case failAt >= 0 && i > failAt && g.rng.IntN(2) == 0:
			txns, errs = append(txns, errTxn(jute.ErrRuntimeInconsistency)), append(errs, jute.ErrRuntimeInconsistency)
		default:
			o, ev := g.subOp(scratch, session)
			code := jute.ErrOK
			if failAt >= 0 && i > failAt {
				code = jute.ErrRuntimeInconsistency
			}
			txns, errs = append(txns, subTxn(o.typ, o.rec)), append(errs, code)
			events = append(events, ev...)
		}
	}
	if fail {
		events = nil
	} else {
		*g.m = *scratch
	}
	o := op{typ: jute.OpMulti, rec: &jute.MultiTxn{Txns: txns}, session: session}
	return genStep{txn: g.txn(o), events: events, multiErr: errs}, true
}

// checkResult compares Apply's result with the model just after the txn.
func checkResult(res znode.Result, s genStep, m *model) error {
	if res.Err != jute.ErrOK {
		return fmt.Errorf("err %s", res.Err)
	}
	if s.multiErr != nil {
		var got []jute.ErrCode
		for _, r := range res.Multi {
			got = append(got, r.Err)
		}
		if !slices.Equal(got, s.multiErr) {
			return fmt.Errorf("multi results %v, want %v", got, s.multiErr)
		}
		return nil
	}
	switch s.txn.Header.Type {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL, jute.OpSetData, jute.OpSetACL:
		if want := m.stat(res.Path); res.Stat != want {
			return fmt.Errorf("result stat of %s\n got %+v\nwant %+v", res.Path, res.Stat, want)
		}
	}
	return nil
}

// compareTree checks every node of the model against the tree, and the
// tree-wide figures.
func compareTree(tree *znode.Tree, m *model, zxid, now int64) error {
	for _, p := range m.paths(nil) {
		n := m.nodes[p]
		data, st, acl, ok := tree.GetData(p)
		if !ok {
			return fmt.Errorf("%s: missing from the tree", p)
		}
		if want := m.stat(p); st != want {
			return fmt.Errorf("%s: stat\n got %+v\nwant %+v", p, st, want)
		}
		if !bytes.Equal(data, n.data) || !slices.Equal(acl, n.acl) {
			return fmt.Errorf("%s: data %q acl %v, want %q %v", p, data, acl, n.data, n.acl)
		}
		kids, _, _, _ := tree.Children(p)
		if want := slices.Sorted(maps.Keys(n.kids)); !slices.Equal(kids, want) {
			return fmt.Errorf("%s: children %q, want %q", p, kids, want)
		}
		if info, _ := tree.Lookup(p); info.Stat.Cversion != n.creates || info.Stat.EphemeralOwner != n.owner {
			return fmt.Errorf("%s: stored cversion %d owner %#x, want %d %#x", p, info.Stat.Cversion, info.Stat.EphemeralOwner, n.creates, n.owner)
		}
	}
	// With every model node's children right, a stray node could only be
	// unreachable: the count catches it.
	if got, want := tree.NodeCount(), len(m.nodes)+1; got != want {
		return fmt.Errorf("NodeCount %d, want %d", got, want)
	}
	if got, want := tree.ApproximateDataSize(), m.dataSize(); got != want {
		return fmt.Errorf("ApproximateDataSize %d, want %d", got, want)
	}
	if tree.LastZxid() != zxid {
		return fmt.Errorf("LastZxid %#x, want %#x", tree.LastZxid(), zxid)
	}
	if !maps.Equal(tree.Sessions(), m.sessions) {
		return fmt.Errorf("sessions %v, want %v", tree.Sessions(), m.sessions)
	}
	total := 0
	for _, s := range modelSessions {
		want := m.ephemerals(s)
		total += len(want)
		if got := tree.Ephemerals(s, ""); !slices.Equal(got, want) {
			return fmt.Errorf("ephemerals of %#x: %q, want %q", s, got, want)
		}
	}
	if tree.EphemeralCount() != total {
		return fmt.Errorf("EphemeralCount %d, want %d", tree.EphemeralCount(), total)
	}
	for _, at := range []int64{now, now + 2500, now + 6000} {
		if got, want := tree.ExpiredSpecialNodes(at), m.expired(at); !slices.Equal(got, want) {
			return fmt.Errorf("ExpiredSpecialNodes(now%+d) = %q, want %q", at-now, got, want)
		}
	}
	return nil
}

func describe(s genStep) string {
	h := s.txn.Header
	return fmt.Sprintf("zxid %#x %s session %#x %+v", h.Zxid, h.Type, h.ClientID, s.txn.Record)
}

func TestModel(t *testing.T) {
	const ops = 3000
	for _, seed := range []uint64{1, 2, 3, 4, 5, 0xdecafbad} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := newGen(seed)
			tree := znode.New()
			w := &recorder{}
			tree.Watches.AddPersistent("/", w, true)
			kinds := map[jute.OpCode]int{}
			for i := range ops {
				s := g.step()
				kinds[s.txn.Header.Type]++
				res := tree.Apply(&s.txn)
				err := checkResult(res, s, g.m)
				if err == nil {
					err = compareTree(tree, g.m, g.zxid, g.now)
				}
				if got := w.take(); err == nil && !sameEvents(got, s.events) {
					err = fmt.Errorf("events %+v\nwant %+v", got, s.events)
				}
				if err != nil {
					t.Fatalf("seed %d op %d (%s): %v", seed, i, describe(s), err)
				}
			}
			// The mix must exercise every kind of txn.
			for _, k := range []jute.OpCode{jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL,
				jute.OpDelete, jute.OpSetData, jute.OpSetACL, jute.OpCreateSession, jute.OpCloseSession, jute.OpMulti} {
				if kinds[k] == 0 {
					t.Errorf("no %s txn in %d ops", k, ops)
				}
			}
		})
	}
}

// TestModelDeterminism: the same txns give the same tree, stats, sessions and
// events, whether applied as built or decoded from their encoding (as a
// learner reads them from the leader or a server from its log).
func TestModelDeterminism(t *testing.T) {
	g := newGen(42)
	var txns []znode.Txn
	for range 2000 {
		txns = append(txns, g.step().txn)
	}
	run := func(decode bool) (string, []event) {
		tree := znode.New()
		w := &recorder{}
		tree.Watches.AddPersistent("/", w, true)
		for _, txn := range txns {
			if decode {
				rec, err := znode.DecodeTxnRecord(txn.Header.Type, jute.Encode(nil, txn.Record))
				if err != nil {
					t.Fatalf("decode %s: %v", txn.Header.Type, err)
				}
				txn.Record = rec
			}
			tree.Apply(&txn)
		}
		return dumpTree(tree), w.events
	}
	dumpA, evA := run(false)
	dumpB, evB := run(false)
	dumpC, evC := run(true)
	if dumpA != dumpB || dumpA != dumpC {
		t.Errorf("dumps differ:\n%s\n---\n%s\n---\n%s", dumpA, dumpB, dumpC)
	}
	if !slices.Equal(evA, evB) || !slices.Equal(evA, evC) {
		t.Errorf("event streams differ (%d, %d, %d events)", len(evA), len(evB), len(evC))
	}
	if len(evA) < 1000 || strings.Count(dumpA, "\n") < 20 {
		t.Errorf("too little happened: %d events, dump\n%s", len(evA), dumpA)
	}
}

// dumpTree renders everything a tree holds, in a fixed order.
func dumpTree(tree *znode.Tree) string {
	return dumpState(tree) + fmt.Sprintf("zxid=%#x\n", tree.LastZxid())
}

// dumpState is dumpTree without the last zxid, which every txn moves, even
// a failed one.
func dumpState(tree *znode.Tree) string {
	var b strings.Builder
	var walk func(string)
	walk = func(p string) {
		data, st, acl, _ := tree.GetData(p)
		info, _ := tree.Lookup(p)
		fmt.Fprintf(&b, "%s stored=%+v client=%+v data=%q acl=%v\n", p, info.Stat, st, data, acl)
		kids, _, _, _ := tree.Children(p)
		for _, k := range kids {
			walk(znode.Join(p, k))
		}
	}
	walk("/")
	sessions := tree.Sessions()
	for _, s := range slices.Sorted(maps.Keys(sessions)) {
		fmt.Fprintf(&b, "session %#x timeout %d ephemerals %q\n", s, sessions[s], tree.Ephemerals(s, ""))
	}
	fmt.Fprintf(&b, "nodes=%d bytes=%d ephemerals=%d watches=%d expired=%q\n",
		tree.NodeCount(), tree.ApproximateDataSize(), tree.EphemeralCount(),
		tree.Watches.Count(), tree.ExpiredSpecialNodes(math.MaxInt64/2))
	return b.String()
}
