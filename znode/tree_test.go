package znode_test

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// TestNewTree checks the tree a fresh server starts with (reference 1.7).
func TestNewTree(t *testing.T) {
	a := newApplier(t)
	tree := a.tree
	if got := a.children("/"); !slices.Equal(got, []string{"zookeeper"}) {
		t.Errorf("children of /: %q, want [zookeeper]", got)
	}
	if got := a.children(znode.ZookeeperPath); !slices.Equal(got, []string{"config", "quota"}) {
		t.Errorf("children of /zookeeper: %q, want [config quota]", got)
	}
	// Java stores the root under "" and "/", so a fresh tree counts 5.
	if got := tree.NodeCount(); got != 5 {
		t.Errorf("NodeCount = %d, want 5", got)
	}
	if tree.LastZxid() != 0 || tree.EphemeralCount() != 0 || len(tree.Sessions()) != 0 {
		t.Errorf("fresh tree: zxid %d, ephemerals %d, sessions %d", tree.LastZxid(), tree.EphemeralCount(), len(tree.Sessions()))
	}
	for _, tc := range []struct {
		path        string
		acl         []jute.ACL
		numChildren int32
		aversion    int32
	}{
		{"/", znode.OpenACLUnsafe, 1, 0},
		{znode.ZookeeperPath, znode.OpenACLUnsafe, 2, 0},
		{znode.QuotaPath, znode.OpenACLUnsafe, 0, 0},
		// addConfigNode sets the ACL with setACL(path, READ_ACL_UNSAFE, -1).
		{znode.ConfigPath, []jute.ACL{{Perms: jute.PermRead, ID: jute.ID{Scheme: "world", ID: "anyone"}}}, 0, -1},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if st := a.stored(tc.path); st != (jute.Stat{Aversion: tc.aversion}) {
				t.Errorf("stored stat %+v, want all zero but aversion %d", st, tc.aversion)
			}
			data, st, acl, _ := tree.GetData(tc.path)
			// The stored fields are zero; the client stat still derives
			// cversion as 0*2 - numChildren (DataNode.copyStat), so Java
			// shows "cversion = -1" for "/" on a fresh server.
			want := jute.Stat{NumChildren: tc.numChildren, Cversion: -tc.numChildren, Aversion: tc.aversion}
			if st != want {
				t.Errorf("client stat %+v, want %+v", st, want)
			}
			if len(data) != 0 {
				t.Errorf("data %q, want empty", data)
			}
			if !slices.Equal(acl, tc.acl) {
				t.Errorf("ACL %v, want %v", acl, tc.acl)
			}
		})
	}
	if n, _, _ := tree.AllChildrenNumber("/"); n != 3 {
		t.Errorf("AllChildrenNumber(/) = %d, want 3 (as Java's nodes.size()-2)", n)
	}
}

// TestApproximateDataSizeMatchesJava: DataTree's constructor sets
// nodeDataSize from approximateDataSize(), which sums path and data lengths
// over its node map, where the root sits under both "" and "/".
func TestApproximateDataSizeMatchesJava(t *testing.T) {
	a := newApplier(t)
	if got := a.tree.ApproximateDataSize(); got != 44 {
		t.Errorf("ApproximateDataSize = %d, want 44 (1 + 10 + 16 + 17)", got)
	}
}

// TestNullDataRoundTrips: a create or setData whose data buffer is null (-1)
// stores null in Java's DataNode, and getData returns null again (reference
// 1.7). jute keeps the distinction (Reader.Buffer gives nil for -1 and
// Writer.Buffer writes nil as -1), so only the tree can lose it.
func TestNullDataRoundTrips(t *testing.T) {
	a := newApplier(t)
	a.must(a.apply(0, jute.OpCreate, &jute.CreateTxn{Path: "/null", Data: nil, ACL: znode.OpenACLUnsafe, ParentCVersion: a.parentCV("/null")}))
	if data, st, _, _ := a.tree.GetData("/null"); data != nil || st.DataLength != 0 {
		t.Errorf("after create: data %#v dataLength %d, want nil 0", data, st.DataLength)
	}
	a.create("/empty", "")
	a.must(a.apply(0, jute.OpSetData, &jute.SetDataTxn{Path: "/empty", Data: nil, Version: 1}))
	if data, _, _, _ := a.tree.GetData("/empty"); data != nil {
		t.Errorf("after setData: data %#v, want nil", data)
	}
}

func TestCreateStat(t *testing.T) {
	for _, tc := range []struct {
		name      string
		create    func(a *applier, p string) znode.Result
		owner     int64 // client-visible
		storedOwn int64
	}{
		{"persistent", func(a *applier, p string) znode.Result { return a.create(p, "hello") }, 0, 0},
		{"ephemeral", func(a *applier, p string) znode.Result { return a.createEphemeral(sessA, p) }, sessA, sessA},
		{"container", func(a *applier, p string) znode.Result { return a.createContainer(p) }, 0, znode.ContainerOwner},
		{"ttl", func(a *applier, p string) znode.Result { return a.createTTL(p, 5000) }, 0, znode.TTLOwner(5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApplier(t)
			a.create("/p", "")
			a.create("/p/sibling", "")
			parentBefore := a.stored("/p")
			res := tc.create(a, "/p/n")
			zxid, now := a.zxid, a.now
			st := a.stat("/p/n")
			data, _, _, _ := a.tree.GetData("/p/n")
			want := jute.Stat{
				Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: now, Mtime: now,
				EphemeralOwner: tc.owner, DataLength: int32(len(data)),
			}
			if st != want {
				t.Errorf("stat %+v\nwant %+v", st, want)
			}
			if res.Stat != st || res.Path != "/p/n" {
				t.Errorf("result %q %+v, want the node's stat", res.Path, res.Stat)
			}
			if got := a.stored("/p/n").EphemeralOwner; got != tc.storedOwn {
				t.Errorf("stored owner %#x, want %#x", got, tc.storedOwn)
			}
			parent := a.stored("/p")
			if parent.Cversion != parentBefore.Cversion+1 || parent.Pzxid != zxid {
				t.Errorf("parent stored cversion %d pzxid %#x, want %d %#x", parent.Cversion, parent.Pzxid, parentBefore.Cversion+1, zxid)
			}
			if parent.Mzxid != parentBefore.Mzxid || parent.Version != 0 {
				t.Errorf("parent mzxid/version changed by a child create")
			}
			if ps := a.stat("/p"); ps.Cversion != 2 || ps.NumChildren != 2 {
				t.Errorf("parent client cversion %d numChildren %d, want 2 2", ps.Cversion, ps.NumChildren)
			}
		})
	}
}

func TestOwnerMarkers(t *testing.T) {
	for _, tc := range []struct {
		owner   int64
		ttl     int64
		isTTL   bool
		comment string
	}{
		{0, 0, false, "persistent"},
		{sessA, 0, false, "session of server 1"},
		{-0x7fffffffffffff5f, 0, false, "session of server 128 (negative, not a marker)"},
		{znode.ContainerOwner, 0, false, "container"},
		{znode.TTLOwner(1), 1, true, "ttl 1"},
		{znode.TTLOwner(znode.MaxTTL), znode.MaxTTL, true, "max ttl"},
		{znode.TTLOwner(86_400_000), 86_400_000, true, "ttl 1 day"},
	} {
		ttl, ok := znode.IsTTLOwner(tc.owner)
		if ok != tc.isTTL || ttl != tc.ttl {
			t.Errorf("%s: IsTTLOwner(%#x) = %d, %v; want %d, %v", tc.comment, tc.owner, ttl, ok, tc.ttl, tc.isTTL)
		}
	}
	if uint64(znode.TTLOwner(5))>>56 != 0xff {
		t.Errorf("TTLOwner does not set the 0xFF top byte")
	}
}

// TestDerivedCversion: clients see creates + deletes, the tree stores creates
// only (DataNode.copyStat, reference 1.7 and 9.1).
func TestDerivedCversion(t *testing.T) {
	a := newApplier(t)
	a.create("/p", "")
	steps := []struct {
		do             func()
		stored, client int32
		numChildren    int32
	}{
		{func() { a.create("/p/a", "") }, 1, 1, 1},
		{func() { a.create("/p/b", "") }, 2, 2, 2},
		{func() { a.create("/p/c", "") }, 3, 3, 3},
		{func() { a.delete("/p/a") }, 3, 4, 2},
		{func() { a.delete("/p/b") }, 3, 5, 1},
		{func() { a.delete("/p/c") }, 3, 6, 0},
	}
	for i, s := range steps {
		s.do()
		st, stored := a.stat("/p"), a.stored("/p")
		if stored.Cversion != s.stored || st.Cversion != s.client || st.NumChildren != s.numChildren {
			t.Errorf("step %d: stored cversion %d, client cversion %d, numChildren %d; want %d %d %d",
				i, stored.Cversion, st.Cversion, st.NumChildren, s.stored, s.client, s.numChildren)
		}
		if st.Pzxid != a.zxid {
			t.Errorf("step %d: pzxid %#x, want %#x", i, st.Pzxid, a.zxid)
		}
	}
	if kids := a.children("/p"); len(kids) != 0 || kids == nil {
		t.Errorf("children %q, want empty non-nil", kids)
	}
}

func TestSetDataAndACL(t *testing.T) {
	a := newApplier(t)
	a.create("/n", "v0")
	created := a.stat("/n")

	res := a.setData("/n", "value-1")
	st := a.stat("/n")
	want := created
	want.Version, want.Mzxid, want.Mtime, want.DataLength = 1, a.zxid, a.now, 7
	if st != want || res.Stat != st {
		t.Errorf("after setData: %+v\nwant %+v (result %+v)", st, want, res.Stat)
	}
	if data, _, _, _ := a.tree.GetData("/n"); string(data) != "value-1" {
		t.Errorf("data %q", data)
	}
	a.setData("/n", "")
	if st := a.stat("/n"); st.Version != 2 || st.DataLength != 0 {
		t.Errorf("second setData: version %d dataLength %d", st.Version, st.DataLength)
	}

	before := a.stat("/n")
	acl := []jute.ACL{{Perms: jute.PermRead, ID: znode.AnyoneID}}
	res = a.setACL("/n", acl)
	st = a.stat("/n")
	want = before
	want.Aversion = 1
	if st != want || res.Stat != st {
		t.Errorf("after setACL: %+v\nwant %+v (only aversion moves)", st, want)
	}
	if _, _, got, _ := a.tree.GetData("/n"); !slices.Equal(got, acl) {
		t.Errorf("ACL %v, want %v", got, acl)
	}
}

func TestApplyConflicts(t *testing.T) {
	a := newApplier(t)
	a.create("/n", "")
	for _, tc := range []struct {
		name string
		typ  jute.OpCode
		rec  jute.Record
		want jute.ErrCode
	}{
		{"create exists", jute.OpCreate, &jute.CreateTxn{Path: "/n", ParentCVersion: 9}, jute.ErrNodeExists},
		{"create no parent", jute.OpCreate, &jute.CreateTxn{Path: "/x/y", ParentCVersion: 1}, jute.ErrNoNode},
		{"delete missing", jute.OpDelete, &jute.DeleteTxn{Path: "/x"}, jute.ErrNoNode},
		{"delete non-empty", jute.OpDelete, &jute.DeleteTxn{Path: "/zookeeper"}, jute.ErrNotEmpty},
		{"setData missing", jute.OpSetData, &jute.SetDataTxn{Path: "/x", Version: 1}, jute.ErrNoNode},
		{"setACL missing", jute.OpSetACL, &jute.SetACLTxn{Path: "/x", ACL: znode.OpenACLUnsafe, Version: 1}, jute.ErrNoNode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, n := a.stored("/"), a.stored("/n")
			size := a.tree.ApproximateDataSize()
			res := a.apply(0, tc.typ, tc.rec)
			if res.Err != tc.want {
				t.Errorf("err %s, want %s", res.Err, tc.want)
			}
			if a.stored("/") != root || a.stored("/n") != n || a.tree.ApproximateDataSize() != size {
				t.Errorf("a failed txn changed the tree")
			}
			if a.tree.LastZxid() != a.zxid {
				t.Errorf("LastZxid %#x, want %#x: a failed txn still moves it", a.tree.LastZxid(), a.zxid)
			}
		})
	}
}

func TestEphemeralsAndSessions(t *testing.T) {
	a := newApplier(t)
	a.createSession(sessA, 30000)
	a.createSession(sessB, 10000)
	if to, ok := a.tree.HasSession(sessA); !ok || to != 30000 {
		t.Fatalf("HasSession(A) = %d, %v", to, ok)
	}
	a.create("/app", "")
	a.create("/app/locks", "")
	a.create("/other", "")
	a.createEphemeral(sessA, "/app/a1")
	a.createEphemeral(sessA, "/app/locks/a2")
	a.createEphemeral(sessA, "/other/a3")
	a.createEphemeral(sessB, "/app/b1")
	a.createContainer("/app/c")
	a.createTTL("/app/t", 1000)
	if got := a.tree.EphemeralCount(); got != 4 {
		t.Errorf("EphemeralCount = %d, want 4 (containers and TTL nodes are not ephemeral)", got)
	}
	for _, tc := range []struct {
		session int64
		prefix  string
		want    []string
	}{
		{sessA, "", []string{"/app/a1", "/app/locks/a2", "/other/a3"}},
		{sessA, "/", []string{"/app/a1", "/app/locks/a2", "/other/a3"}},
		{sessA, "/app", []string{"/app/a1", "/app/locks/a2"}},
		{sessA, "/app/locks", []string{"/app/locks/a2"}},
		{sessA, "/oth", []string{"/other/a3"}}, // a string prefix, as getEphemerals
		{sessA, "/nope", []string{}},
		{sessB, "", []string{"/app/b1"}},
		{0x77, "", []string{}},
	} {
		got := a.tree.Ephemerals(tc.session, tc.prefix)
		if !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("Ephemerals(%#x, %q) = %q, want %q", tc.session, tc.prefix, got, tc.want)
		}
	}

	// The txn lists one of A's ephemerals only: the tree deletes the rest too.
	a.closeSession(sessA, []string{"/app/a1"})
	closeZxid := a.zxid
	for _, p := range []string{"/app/a1", "/app/locks/a2", "/other/a3"} {
		if a.exists(p) {
			t.Errorf("%s survived its session", p)
		}
	}
	for _, p := range []string{"/app/b1", "/app/c", "/app/t", "/app/locks", "/other"} {
		if !a.exists(p) {
			t.Errorf("%s deleted by another session's close", p)
		}
	}
	if st := a.stat("/other"); st.Pzxid != closeZxid || st.Cversion != 2 {
		t.Errorf("/other pzxid %#x cversion %d, want %#x 2", st.Pzxid, st.Cversion, closeZxid)
	}
	if _, ok := a.tree.HasSession(sessA); ok {
		t.Errorf("session A still live after closeSession")
	}
	if _, ok := a.tree.HasSession(sessB); !ok {
		t.Errorf("session B lost")
	}
	if got := a.tree.Ephemerals(sessA, ""); len(got) != 0 || a.tree.EphemeralCount() != 1 {
		t.Errorf("after close: A's ephemerals %q, count %d", got, a.tree.EphemeralCount())
	}
	sessions := a.tree.Sessions()
	sessions[0x99] = 1 // a copy: must not leak into the tree
	if _, ok := a.tree.HasSession(0x99); ok || len(a.tree.Sessions()) != 1 {
		t.Errorf("Sessions() is not a copy")
	}
}

func TestMulti(t *testing.T) {
	a := newApplier(t)
	a.create("/m", "")
	a.create("/y", "old")
	w := &recorder{}
	a.tree.Watches.AddPersistent("/", w, true)

	// A multi of real ops: every op applies, all with the multi's zxid.
	ok := &jute.MultiTxn{Txns: []jute.Txn{
		subTxn(jute.OpCreate, &jute.CreateTxn{Path: "/m/a", Data: []byte("a"), ACL: znode.OpenACLUnsafe, ParentCVersion: 1}),
		subTxn(jute.OpCreate2, &jute.CreateTxn{Path: "/m/b", ACL: znode.OpenACLUnsafe, ParentCVersion: 2}),
		subTxn(jute.OpSetData, &jute.SetDataTxn{Path: "/y", Data: []byte("new"), Version: 1}),
		subTxn(jute.OpCheck, &jute.CheckVersionTxn{Path: "/y", Version: 2}),
		subTxn(jute.OpDelete, &jute.DeleteTxn{Path: "/m/b"}),
		subTxn(jute.OpCreateContainer, &jute.CreateContainerTxn{Path: "/m/c", ACL: znode.OpenACLUnsafe, ParentCVersion: 3}),
	}}
	res := a.apply(sessA, jute.OpMulti, ok)
	zxid := a.zxid
	if len(res.Multi) != len(ok.Txns) {
		t.Fatalf("%d results for %d ops", len(res.Multi), len(ok.Txns))
	}
	for i, r := range res.Multi {
		if r.Err != jute.ErrOK || r.Type != ok.Txns[i].Type {
			t.Errorf("op %d: %s %s, want %s OK", i, r.Type, r.Err, ok.Txns[i].Type)
		}
	}
	if st := a.stat("/m/a"); st.Czxid != zxid || st.Mzxid != zxid {
		t.Errorf("/m/a czxid %#x, want the multi's zxid %#x", st.Czxid, zxid)
	}
	if st := a.stat("/y"); st.Mzxid != zxid || st.Version != 1 {
		t.Errorf("/y mzxid %#x version %d", st.Mzxid, st.Version)
	}
	if st := a.stat("/m"); st.Pzxid != zxid || st.Cversion != 4 || st.NumChildren != 2 {
		t.Errorf("/m pzxid %#x cversion %d numChildren %d, want %#x 4 2", st.Pzxid, st.Cversion, st.NumChildren, zxid)
	}
	if a.exists("/m/b") || a.tree.LastZxid() != zxid {
		t.Errorf("/m/b exists %v, LastZxid %#x", a.exists("/m/b"), a.tree.LastZxid())
	}
	for _, ev := range w.take() {
		if ev.Zxid != zxid {
			t.Errorf("event %+v: zxid, want %#x", ev, zxid)
		}
	}

	// Failed multis apply nothing; results are OK up to the failure, then
	// its code, then RUNTIMEINCONSISTENCY (DataTree.processTxn).
	for _, tc := range []struct {
		name string
		txns []jute.Txn
		want []jute.ErrCode
	}{
		{"as prep builds it", []jute.Txn{
			subTxn(jute.OpCreate, &jute.CreateTxn{Path: "/x", ACL: znode.OpenACLUnsafe, ParentCVersion: 3}),
			subTxn(jute.OpSetData, &jute.SetDataTxn{Path: "/y", Data: []byte("lost"), Version: 2}),
			errTxn(jute.ErrNoNode),
			errTxn(jute.ErrRuntimeInconsistency),
		}, []jute.ErrCode{jute.ErrOK, jute.ErrOK, jute.ErrNoNode, jute.ErrRuntimeInconsistency}},
		{"real ops after the error", []jute.Txn{
			subTxn(jute.OpDelete, &jute.DeleteTxn{Path: "/m/a"}),
			errTxn(jute.ErrBadVersion),
			subTxn(jute.OpCreate, &jute.CreateTxn{Path: "/z", ACL: znode.OpenACLUnsafe, ParentCVersion: 3}),
			subTxn(jute.OpDelete, &jute.DeleteTxn{Path: "/y"}),
		}, []jute.ErrCode{jute.ErrOK, jute.ErrBadVersion, jute.ErrRuntimeInconsistency, jute.ErrRuntimeInconsistency}},
		{"error first", []jute.Txn{
			errTxn(jute.ErrNodeExists),
			subTxn(jute.OpCreate, &jute.CreateTxn{Path: "/x", ACL: znode.OpenACLUnsafe, ParentCVersion: 3}),
		}, []jute.ErrCode{jute.ErrNodeExists, jute.ErrRuntimeInconsistency}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dumpState(a.tree)
			res := a.apply(sessA, jute.OpMulti, &jute.MultiTxn{Txns: tc.txns})
			var got []jute.ErrCode
			for _, r := range res.Multi {
				got = append(got, r.Err)
				if r.Type != jute.OpError {
					t.Errorf("result type %s, want error", r.Type)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("results %v, want %v", got, tc.want)
			}
			if after := dumpState(a.tree); after != before {
				t.Errorf("a failed multi changed the tree:\n%s\nwant\n%s", after, before)
			}
			if ev := w.take(); len(ev) != 0 {
				t.Errorf("a failed multi fired %v", ev)
			}
			if a.tree.LastZxid() != a.zxid {
				t.Errorf("LastZxid %#x, want %#x", a.tree.LastZxid(), a.zxid)
			}
		})
	}
}

func TestAllChildrenNumber(t *testing.T) {
	a := newApplier(t)
	for _, p := range []string{"/a", "/a/b", "/a/b/c", "/a/d", "/e"} {
		a.create(p, "")
	}
	for _, tc := range []struct {
		path string
		want int32
		ok   bool
	}{
		{"/", 8, true}, // 5 + /zookeeper, quota, config
		{"/a", 3, true},
		{"/a/b", 1, true},
		{"/a/b/c", 0, true},
		{"/e", 0, true},
		{"/zookeeper", 2, true},
		{"/missing", 0, false},
	} {
		n, _, ok := a.tree.AllChildrenNumber(tc.path)
		if n != tc.want || ok != tc.ok {
			t.Errorf("AllChildrenNumber(%s) = %d, %v; want %d, %v", tc.path, n, ok, tc.want, tc.ok)
		}
	}
}

// TestExpiredSpecialNodes follows ContainerManager.getCandidates.
func TestExpiredSpecialNodes(t *testing.T) {
	a := newApplier(t)
	a.createContainer("/never-used")
	a.createContainer("/used")
	a.create("/used/kid", "")
	a.createContainer("/busy")
	a.create("/busy/kid", "")
	a.createTTL("/ttl", 5000)
	ttlCreated := a.now
	a.createTTL("/ttl-parent", 1)
	a.create("/ttl-parent/kid", "")
	a.create("/plain", "")
	a.createTTL("/ttl-touched", 5000)

	if got := a.tree.ExpiredSpecialNodes(a.now); len(got) != 0 {
		t.Errorf("before any expiry: %q", got)
	}
	a.delete("/used/kid")
	a.setData("/ttl-touched", "x") // moves mtime, so the TTL restarts
	touched := a.now

	for _, tc := range []struct {
		now  int64
		want []string
	}{
		{ttlCreated + 5000, []string{"/used"}},         // exactly the TTL: not yet
		{ttlCreated + 5001, []string{"/ttl", "/used"}}, // past it
		{touched + 5000, []string{"/ttl", "/used"}},    // touched one: not yet
		{touched + 5001, []string{"/ttl", "/ttl-touched", "/used"}},
	} {
		got := a.tree.ExpiredSpecialNodes(tc.now)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ExpiredSpecialNodes(created%+d) = %q, want %q", tc.now-ttlCreated, got, tc.want)
		}
	}
	a.delete("/used")
	if got := a.tree.ExpiredSpecialNodes(touched + 5001); !slices.Equal(got, []string{"/ttl", "/ttl-touched"}) {
		t.Errorf("after deleting /used: %q", got)
	}
}

// TestValidatePath: PathUtils.validatePath rules (reference 1.10).
func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b/c", true},
		{"/zookeeper/quota", true},
		{"/a.b", true},
		{"/.a", true},
		{"/a.", true},
		{"/..a", true},
		{"/a..", true},
		{"/...", true},
		{"/a b", true},
		{"/~!@#$%^&*()", true},
		{"/caf\u00e9", true},
		{"/\u00a0", true},       // just past the C1 range
		{"/\ud7ff", true},       // just below the surrogates
		{"/\uf900", true},       // just past private use
		{"/\uffef", true},       // just below U+FFF0
		{"/\u4e2d\u6587", true}, // CJK

		{"", false},
		{"a", false},
		{"a/b", false},
		{"/a/", false},
		{"//", false},
		{"/a//b", false},
		{"//a", false},
		{"/.", false},
		{"/..", false},
		{"/a/.", false},
		{"/a/..", false},
		{"/a/./b", false},
		{"/a/../b", false},
		{"/./a", false},
		{"/a\x00b", false},
		{"/\x01", false},
		{"/a\tb", false},
		{"/a\x1f", false},
		{"/a\x7f", false},
		{"/a\u0080", false},
		{"/a\u009f", false},
		{"/\ue000", false}, // private use
		{"/\uf8ff", false},
		{"/\ufff0", false},
		{"/\ufffd", false},
		{"/\uffff", false},
		{"/a\xffb", false}, // not UTF-8 (Java would decode it to U+FFFD)
		{"/\xed\xa0\x80", false},
	} {
		if got := znode.ValidatePath(tc.path); got != tc.ok {
			t.Errorf("ValidatePath(%q) = %v, want %v", tc.path, got, tc.ok)
		}
	}
}

// TestValidatePathSupplementary: Java checks UTF-16 chars, and a character
// outside the BMP is a surrogate pair (U+D800-U+DFFF), which validatePath
// rejects. go-zookeeper does not check this, so its users can send such paths.
func TestValidatePathSupplementary(t *testing.T) {
	for _, p := range []string{"/\U0001F600", "/a/\U00010000", "/\U0010FFFF"} {
		if znode.ValidatePath(p) {
			t.Errorf("ValidatePath(%q) = true, want false as in Java", p)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	for _, tc := range []struct{ path, parent, base string }{
		{"/a", "/", "a"},
		{"/a/b", "/a", "b"},
		{"/a/b/c", "/a/b", "c"},
	} {
		if p, b := znode.Parent(tc.path), znode.Base(tc.path); p != tc.parent || b != tc.base {
			t.Errorf("Parent/Base(%q) = %q %q, want %q %q", tc.path, p, b, tc.parent, tc.base)
		}
		if j := znode.Join(tc.parent, tc.base); j != tc.path {
			t.Errorf("Join(%q, %q) = %q", tc.parent, tc.base, j)
		}
	}
}

func TestDigestID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"super:test", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=", true},
		{"alice:secret", "alice:" + sha1Base64("alice:secret"), true},
		{"empty:", "empty:" + sha1Base64("empty:"), true},
		{":nouser", ":" + sha1Base64(":nouser"), true},
	} {
		got, ok := znode.DigestID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("DigestID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	// Only the first colon splits user from password; the hash covers all.
	a, _ := znode.DigestID("u:p:q")
	b, _ := znode.DigestID("u:p")
	if a[:2] != "u:" || a == b {
		t.Errorf("DigestID(u:p:q) = %q", a)
	}
}

// TestDigestIDWithoutColon: generateDigest splits on the first ':' only to
// find the user name; credentials without one still authenticate, as
// "nocolon:" + base64(sha1("nocolon")).
func TestDigestIDWithoutColon(t *testing.T) {
	got, ok := znode.DigestID("nocolon")
	if want := "nocolon:" + sha1Base64("nocolon"); got != want || !ok {
		t.Errorf("DigestID(nocolon) = %q, %v; want %q, true", got, ok, want)
	}
}

func sha1Base64(s string) string {
	sum := sha1.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestACLCacheReleasesLists: ReferenceCountedACLCache counts the nodes using
// each ACL list and drops a list when none does. Without that, a client that
// keeps setting fresh ACL lists (an ip id per address, say) grows the server's
// heap for good, even after the nodes are gone.
func TestACLCacheReleasesLists(t *testing.T) {
	a := newApplier(t)
	a.create("/n", "")
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	for i := range 50_000 {
		id := fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
		a.setACL("/n", []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "ip", ID: id}}})
	}
	a.delete("/n")
	if grown := heap() - before; grown > 1<<20 {
		t.Errorf("heap grew by %d bytes after the node and its ACLs were gone", grown)
	}
	runtime.KeepAlive(a.tree)
}

func TestCheckACL(t *testing.T) {
	digest, _ := znode.DigestID("alice:secret")
	aclOf := func(perms int32, scheme, id string) []jute.ACL {
		return []jute.ACL{{Perms: perms, ID: jute.ID{Scheme: scheme, ID: id}}}
	}
	ip := func(a string) jute.ID { return jute.ID{Scheme: "ip", ID: a} }
	alice := jute.ID{Scheme: "digest", ID: digest}
	super := jute.ID{Scheme: "super", ID: ""}
	R, W, C, D, A := jute.PermRead, jute.PermWrite, jute.PermCreate, jute.PermDelete, jute.PermAdmin
	for _, tc := range []struct {
		name string
		acl  []jute.ACL
		perm int32
		ids  []jute.ID
		ok   bool
	}{
		{"empty list allows all", nil, A, nil, true},
		{"world read", znode.ReadACLUnsafe, R, nil, true},
		{"world read, write", znode.ReadACLUnsafe, W, nil, false},
		{"open all", znode.OpenACLUnsafe, D, nil, true},
		{"world other id", aclOf(jute.PermAll, "world", "someone"), R, nil, false},
		{"super", aclOf(0, "digest", "x:y"), A, []jute.ID{ip("1.2.3.4"), super}, true},
		{"super on read-only", znode.ReadACLUnsafe, W, []jute.ID{super}, true},
		{"digest match", aclOf(R|W, "digest", digest), W, []jute.ID{ip("1.2.3.4"), alice}, true},
		{"digest perm missing", aclOf(R|W, "digest", digest), D, []jute.ID{alice}, false},
		{"digest other user", aclOf(jute.PermAll, "digest", digest), R, []jute.ID{{Scheme: "digest", ID: "bob:x"}}, false},
		{"digest no ids", aclOf(jute.PermAll, "digest", digest), R, nil, false},
		{"scheme must match", aclOf(jute.PermAll, "digest", "1.2.3.4"), R, []jute.ID{ip("1.2.3.4")}, false},
		{"ip exact", aclOf(R, "ip", "10.1.2.3"), R, []jute.ID{ip("10.1.2.3")}, true},
		{"ip exact other", aclOf(R, "ip", "10.1.2.3"), R, []jute.ID{ip("10.1.2.4")}, false},
		{"ip cidr in", aclOf(R, "ip", "10.0.0.0/8"), R, []jute.ID{ip("10.200.3.4")}, true},
		{"ip cidr out", aclOf(R, "ip", "10.0.0.0/8"), R, []jute.ID{ip("11.0.0.1")}, false},
		{"ip cidr host bits set", aclOf(R, "ip", "192.168.1.77/24"), R, []jute.ID{ip("192.168.1.5")}, true},
		{"ip /32", aclOf(R, "ip", "192.168.1.5/32"), R, []jute.ID{ip("192.168.1.5")}, true},
		{"ip /0", aclOf(R, "ip", "0.0.0.0/0"), R, []jute.ID{ip("8.8.8.8")}, true},
		{"ipv6 cidr", aclOf(R, "ip", "2001:db8::/32"), R, []jute.ID{ip("2001:db8::1")}, true},
		{"ipv6 out", aclOf(R, "ip", "2001:db8::/32"), R, []jute.ID{ip("2001:db9::1")}, false},
		{"ip garbage id", aclOf(R, "ip", "10.0.0.0/8"), R, []jute.ID{ip("not-an-ip")}, false},
		{"intersecting bits", aclOf(R, "world", "anyone"), R | A, nil, true},
		{"no intersecting bits", aclOf(W|C, "world", "anyone"), R | A, nil, false},
		{"second entry grants", []jute.ACL{
			{Perms: R, ID: jute.ID{Scheme: "digest", ID: digest}},
			{Perms: jute.PermAll, ID: jute.ID{Scheme: "ip", ID: "127.0.0.1"}},
		}, W, []jute.ID{alice, ip("127.0.0.1")}, true},
	} {
		if got := znode.CheckACL(tc.acl, tc.perm, tc.ids); got != tc.ok {
			t.Errorf("%s: CheckACL = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestFixupACL(t *testing.T) {
	digest, _ := znode.DigestID("alice:secret")
	alice := jute.ID{Scheme: "digest", ID: digest}
	ipID := jute.ID{Scheme: "ip", ID: "127.0.0.1"}
	super := jute.ID{Scheme: "super", ID: ""}
	sasl := jute.ID{Scheme: "sasl", ID: "bob@EXAMPLE.COM"}
	auth := jute.ACL{Perms: jute.PermAll, ID: jute.ID{Scheme: "auth", ID: ""}}
	entry := func(perms int32, scheme, id string) jute.ACL {
		return jute.ACL{Perms: perms, ID: jute.ID{Scheme: scheme, ID: id}}
	}
	for _, tc := range []struct {
		name string
		acl  []jute.ACL
		ids  []jute.ID
		want []jute.ACL // nil: invalid
	}{
		{"empty", nil, []jute.ID{alice}, nil},
		{"open", znode.OpenACLUnsafe, nil, znode.OpenACLUnsafe},
		{"auth expands", []jute.ACL{auth}, []jute.ID{ipID, alice, super, sasl},
			[]jute.ACL{{Perms: jute.PermAll, ID: alice}, {Perms: jute.PermAll, ID: sasl}}},
		{"auth keeps perms", []jute.ACL{{Perms: jute.PermRead, ID: jute.ID{Scheme: "auth", ID: "ignored"}}}, []jute.ID{alice},
			[]jute.ACL{{Perms: jute.PermRead, ID: alice}}},
		{"auth without ids", []jute.ACL{auth}, nil, nil},
		{"auth with only ip", []jute.ACL{auth}, []jute.ID{ipID}, nil},
		{"auth with only super", []jute.ACL{auth}, []jute.ID{ipID, super}, nil},
		{"world other id", []jute.ACL{entry(1, "world", "someone")}, nil, nil},
		{"digest without colon", []jute.ACL{entry(1, "digest", "alice")}, nil, nil},
		{"digest two colons", []jute.ACL{entry(1, "digest", "a:b:c")}, nil, nil},
		{"digest", []jute.ACL{entry(1, "digest", digest)}, nil, []jute.ACL{entry(1, "digest", digest)}},
		{"ip", []jute.ACL{entry(1, "ip", "10.0.0.1")}, nil, []jute.ACL{entry(1, "ip", "10.0.0.1")}},
		{"ip cidr", []jute.ACL{entry(1, "ip", "10.0.0.0/8")}, nil, []jute.ACL{entry(1, "ip", "10.0.0.0/8")}},
		{"ipv6 cidr", []jute.ACL{entry(1, "ip", "fe80::/10")}, nil, []jute.ACL{entry(1, "ip", "fe80::/10")}},
		{"ip bad", []jute.ACL{entry(1, "ip", "300.1.1.1")}, nil, nil},
		{"ip bad bits", []jute.ACL{entry(1, "ip", "10.0.0.0/33")}, nil, nil},
		{"ip hostname", []jute.ACL{entry(1, "ip", "localhost")}, nil, nil},
		{"unknown scheme", []jute.ACL{entry(1, "kerberos", "x")}, nil, nil},
		{"one bad entry spoils all", []jute.ACL{entry(31, "world", "anyone"), entry(1, "digest", "x")}, nil, nil},
		{"dedup", []jute.ACL{entry(31, "world", "anyone"), entry(31, "world", "anyone")}, nil,
			[]jute.ACL{entry(31, "world", "anyone")}},
		{"dedup after expansion", []jute.ACL{auth, {Perms: jute.PermAll, ID: alice}}, []jute.ID{alice},
			[]jute.ACL{{Perms: jute.PermAll, ID: alice}}},
		{"different perms kept", []jute.ACL{entry(1, "world", "anyone"), entry(2, "world", "anyone")}, nil,
			[]jute.ACL{entry(1, "world", "anyone"), entry(2, "world", "anyone")}},
	} {
		in := slices.Clone(tc.acl)
		got, ok := znode.FixupACL(tc.acl, tc.ids)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: FixupACL = %v, %v; want %v", tc.name, got, ok, tc.want)
		}
		if !slices.Equal(in, tc.acl) {
			t.Errorf("%s: FixupACL modified its input", tc.name)
		}
	}
}

func TestMaskACL(t *testing.T) {
	digest, _ := znode.DigestID("alice:secret")
	in := []jute.ACL{{Perms: 31, ID: jute.ID{Scheme: "digest", ID: digest}}, {Perms: 1, ID: znode.AnyoneID}}
	got := znode.MaskACL(in)
	want := []jute.ACL{{Perms: 31, ID: jute.ID{Scheme: "digest", ID: "alice:x"}}, {Perms: 1, ID: znode.AnyoneID}}
	if !slices.Equal(got, want) {
		t.Errorf("MaskACL = %v, want %v", got, want)
	}
	if in[0].ID.ID != digest {
		t.Errorf("MaskACL modified its input")
	}
}
