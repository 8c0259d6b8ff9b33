package znode_test

import (
	"slices"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// Session ids as a server with myid 1 hands them out (the server id sits in
// the top byte, section 2 of the reference).
const (
	sessA int64 = 0x0100000000000a01
	sessB int64 = 0x0100000000000b02
)

// applier feeds a Tree the txns the prepare stage would build: the parent's
// new stored cversion in creates, the incremented version in setData and
// setACL. Each txn takes the next zxid and moves the leader clock 1000 ms.
type applier struct {
	tb   testing.TB
	tree *znode.Tree
	zxid int64
	now  int64
}

func newApplier(tb testing.TB) *applier {
	return &applier{tb: tb, tree: znode.New(), zxid: 1 << 32, now: 1_700_000_000_000}
}

// next returns the header of the next txn.
func (a *applier) next(session int64, typ jute.OpCode) jute.TxnHeader {
	a.zxid++
	a.now += 1000
	return jute.TxnHeader{ClientID: session, Cxid: int32(a.zxid), Zxid: a.zxid, Time: a.now, Type: typ}
}

func (a *applier) apply(session int64, typ jute.OpCode, rec jute.Record) znode.Result {
	return a.tree.Apply(&znode.Txn{Header: a.next(session, typ), Record: rec})
}

func (a *applier) must(res znode.Result) znode.Result {
	a.tb.Helper()
	if res.Err != jute.ErrOK {
		a.tb.Fatalf("apply %s %q: %s", res.Type, res.Path, res.Err)
	}
	return res
}

// parentCV is the ParentCVersion a create of p carries: the parent's stored
// count of child creations plus one.
func (a *applier) parentCV(p string) int32 {
	info, ok := a.tree.Lookup(znode.Parent(p))
	if !ok {
		return 0
	}
	return info.Stat.Cversion + 1
}

func (a *applier) createTxn(p, data string, ephemeral bool) *jute.CreateTxn {
	return &jute.CreateTxn{Path: p, Data: []byte(data), ACL: znode.OpenACLUnsafe, Ephemeral: ephemeral, ParentCVersion: a.parentCV(p)}
}

func (a *applier) create(p, data string) znode.Result {
	a.tb.Helper()
	return a.must(a.apply(0, jute.OpCreate, a.createTxn(p, data, false)))
}

func (a *applier) createACL(p string, acl []jute.ACL) znode.Result {
	a.tb.Helper()
	txn := a.createTxn(p, "", false)
	txn.ACL = acl
	return a.must(a.apply(0, jute.OpCreate, txn))
}

func (a *applier) createEphemeral(session int64, p string) znode.Result {
	a.tb.Helper()
	return a.must(a.apply(session, jute.OpCreate, a.createTxn(p, "", true)))
}

func (a *applier) createContainer(p string) znode.Result {
	a.tb.Helper()
	return a.must(a.apply(sessA, jute.OpCreateContainer, &jute.CreateContainerTxn{Path: p, ACL: znode.OpenACLUnsafe, ParentCVersion: a.parentCV(p)}))
}

func (a *applier) createTTL(p string, ttl int64) znode.Result {
	a.tb.Helper()
	return a.must(a.apply(sessA, jute.OpCreateTTL, &jute.CreateTTLTxn{Path: p, ACL: znode.OpenACLUnsafe, ParentCVersion: a.parentCV(p), TTL: ttl}))
}

func (a *applier) delete(p string) znode.Result {
	a.tb.Helper()
	return a.must(a.apply(0, jute.OpDelete, &jute.DeleteTxn{Path: p}))
}

func (a *applier) setData(p, data string) znode.Result {
	a.tb.Helper()
	info, _ := a.tree.Lookup(p)
	return a.must(a.apply(0, jute.OpSetData, &jute.SetDataTxn{Path: p, Data: []byte(data), Version: info.Stat.Version + 1}))
}

func (a *applier) setACL(p string, acl []jute.ACL) znode.Result {
	a.tb.Helper()
	info, _ := a.tree.Lookup(p)
	return a.must(a.apply(0, jute.OpSetACL, &jute.SetACLTxn{Path: p, ACL: acl, Version: info.Stat.Aversion + 1}))
}

func (a *applier) createSession(session int64, timeoutMs int32) {
	a.tb.Helper()
	a.must(a.apply(session, jute.OpCreateSession, &jute.CreateSessionTxn{TimeOut: timeoutMs}))
}

func (a *applier) closeSession(session int64, paths []string) {
	a.tb.Helper()
	a.must(a.apply(session, jute.OpCloseSession, &jute.CloseSessionTxn{Paths2Delete: paths}))
}

// stat returns the client-visible stat of a node that must exist.
func (a *applier) stat(p string) jute.Stat {
	a.tb.Helper()
	st, _, ok := a.tree.Exists(p)
	if !ok {
		a.tb.Fatalf("%s: no node", p)
	}
	return st
}

// stored returns the stored stat (Cversion is the count of child creations).
func (a *applier) stored(p string) jute.Stat {
	a.tb.Helper()
	info, ok := a.tree.Lookup(p)
	if !ok {
		a.tb.Fatalf("%s: no node", p)
	}
	return info.Stat
}

func (a *applier) children(p string) []string {
	a.tb.Helper()
	kids, _, _, ok := a.tree.Children(p)
	if !ok {
		a.tb.Fatalf("%s: no node", p)
	}
	return kids
}

func (a *applier) exists(p string) bool {
	_, _, ok := a.tree.Exists(p)
	return ok
}

// subTxn encodes one op of a MultiTxn.
func subTxn(typ jute.OpCode, rec jute.Record) jute.Txn {
	return jute.Txn{Type: typ, Data: jute.Encode(nil, rec)}
}

func errTxn(code jute.ErrCode) jute.Txn {
	return subTxn(jute.OpError, &jute.ErrorTxn{Err: code})
}

// event is one notification as a Watcher saw it.
type event struct {
	Type jute.EventType
	Path string
	Zxid int64
}

// recorder is a Watcher that records what it is told. deny makes CanRead
// refuse every node; canRead, when set, decides per ACL instead.
type recorder struct {
	events  []event
	deny    bool
	canRead func([]jute.ACL) bool
}

func (r *recorder) Notify(ev jute.WatcherEvent, zxid int64) {
	if ev.State != jute.StateSyncConnected {
		panic("notification with a state other than SyncConnected")
	}
	r.events = append(r.events, event{ev.Type, ev.Path, zxid})
}

func (r *recorder) CanRead(acl []jute.ACL) bool {
	if r.canRead != nil {
		return r.canRead(acl)
	}
	return !r.deny
}

// take returns the events recorded so far and forgets them.
func (r *recorder) take() []event {
	ev := r.events
	r.events = nil
	return ev
}

func sameEvents(got, want []event) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return slices.Equal(got, want)
}
