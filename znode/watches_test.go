package znode_test

import (
	"slices"
	"testing"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

const (
	created  = jute.EventNodeCreated
	deleted  = jute.EventNodeDeleted
	changed  = jute.EventNodeDataChanged
	children = jute.EventNodeChildrenChanged
)

// expect checks the events a watcher got since the last check. Events of the
// txn just applied carry its zxid; catch-up events carry -1.
func expect(t *testing.T, w *recorder, what string, want ...event) {
	t.Helper()
	if got := w.take(); !sameEvents(got, want) {
		t.Errorf("%s: events %+v\nwant %+v", what, got, want)
	}
}

func TestOneShotDataWatch(t *testing.T) {
	a := newApplier(t)
	w := &recorder{}
	a.create("/n", "")
	a.tree.Watches.AddData("/n", w)
	a.tree.Watches.AddData("/n", w) // registering twice still gives one event
	a.setData("/n", "1")
	expect(t, w, "first setData", event{changed, "/n", a.zxid})
	a.setData("/n", "2")
	expect(t, w, "second setData")
	if n := a.tree.Watches.Count(); n != 0 {
		t.Errorf("Count = %d after the watch fired, want 0", n)
	}
	// A data watch is not a child watch.
	a.tree.Watches.AddData("/n", w)
	a.create("/n/kid", "")
	a.setACL("/n", znode.ReadACLUnsafe) // setACL fires nothing
	expect(t, w, "child create and setACL")
	a.delete("/n/kid")
	a.delete("/n")
	expect(t, w, "delete", event{deleted, "/n", a.zxid})
}

func TestExistsWatchOnMissingNode(t *testing.T) {
	a := newApplier(t)
	w := &recorder{}
	a.tree.Watches.AddData("/later", w)
	a.create("/other", "")
	expect(t, w, "unrelated create")
	a.create("/later", "")
	expect(t, w, "create", event{created, "/later", a.zxid})
	a.setData("/later", "x")
	expect(t, w, "after it fired")
}

func TestChildWatch(t *testing.T) {
	a := newApplier(t)
	w := &recorder{}
	a.create("/p", "")
	a.tree.Watches.AddChild("/p", w)
	a.setData("/p", "x")
	expect(t, w, "setData on the parent")
	a.create("/p/c", "")
	expect(t, w, "child create", event{children, "/p", a.zxid})
	a.create("/p/d", "")
	expect(t, w, "second create, watch used up")

	a.tree.Watches.AddChild("/p", w)
	a.setData("/p/c", "x")
	a.create("/p/c/grandchild", "")
	expect(t, w, "grandchild create and child setData")
	a.delete("/p/c/grandchild")
	a.delete("/p/c")
	expect(t, w, "child delete", event{children, "/p", a.zxid})
}

// TestDeleteWithDataAndChildWatch: DataTree.deleteNode tells a watcher once
// even when it holds both a data and a child watch on the node.
func TestDeleteWithDataAndChildWatch(t *testing.T) {
	a := newApplier(t)
	both, dataOnly, childOnly, parent := &recorder{}, &recorder{}, &recorder{}, &recorder{}
	a.create("/p", "")
	a.create("/p/n", "")
	ws := a.tree.Watches
	ws.AddData("/p/n", both)
	ws.AddChild("/p/n", both)
	ws.AddData("/p/n", dataOnly)
	ws.AddChild("/p/n", childOnly)
	ws.AddChild("/p", parent)
	a.delete("/p/n")
	for name, w := range map[string]*recorder{"both": both, "data": dataOnly, "child": childOnly} {
		expect(t, w, name, event{deleted, "/p/n", a.zxid})
	}
	expect(t, parent, "parent", event{children, "/p", a.zxid})
	if n := ws.Count(); n != 0 {
		t.Errorf("Count = %d, want 0: every one-shot watch fired", n)
	}
}

func TestPersistentWatch(t *testing.T) {
	a := newApplier(t)
	w := &recorder{}
	a.tree.Watches.AddPersistent("/p", w, false)
	steps := []struct {
		name string
		do   func()
		want []event // zxid filled in after the step
	}{
		{"create", func() { a.create("/p", "") }, []event{{Type: created, Path: "/p"}}},
		{"setData", func() { a.setData("/p", "1") }, []event{{Type: changed, Path: "/p"}}},
		{"setData again", func() { a.setData("/p", "2") }, []event{{Type: changed, Path: "/p"}}},
		{"child create", func() { a.create("/p/c", "") }, []event{{Type: children, Path: "/p"}}},
		{"child setData", func() { a.setData("/p/c", "x") }, nil},
		{"grandchild create", func() { a.create("/p/c/g", "") }, nil},
		{"grandchild delete", func() { a.delete("/p/c/g") }, nil},
		{"child delete", func() { a.delete("/p/c") }, []event{{Type: children, Path: "/p"}}},
		{"setACL", func() { a.setACL("/p", znode.OpenACLUnsafe) }, nil},
		{"delete", func() { a.delete("/p") }, []event{{Type: deleted, Path: "/p"}}},
		{"create after delete", func() { a.create("/p", "") }, []event{{Type: created, Path: "/p"}}},
	}
	for _, s := range steps {
		s.do()
		for i := range s.want {
			s.want[i].Zxid = a.zxid
		}
		expect(t, w, s.name, s.want...)
	}
	if n := a.tree.Watches.Count(); n != 2 {
		t.Errorf("Count = %d, want 2 (the data and child table entries)", n)
	}
}

func TestPersistentRecursiveWatch(t *testing.T) {
	a := newApplier(t)
	// by holds a persistent and a one-shot watch on /r: a recursive watch
	// held by others must not make them fire for descendants.
	w, root, by := &recorder{}, &recorder{}, &recorder{}
	a.tree.Watches.AddPersistent("/r", w, true)
	a.tree.Watches.AddPersistent("/", root, true)
	a.tree.Watches.AddPersistent("/r", by, false)
	a.tree.Watches.AddData("/r", by)
	steps := []struct {
		name string
		do   func()
		want []event // for w
		by   []event
	}{
		{"create watched path", func() { a.create("/r", "") }, []event{{Type: created, Path: "/r"}}, []event{{Type: created, Path: "/r"}}},
		{"create child", func() { a.create("/r/a", "") }, []event{{Type: created, Path: "/r/a"}}, []event{{Type: children, Path: "/r"}}},
		{"create grandchild", func() { a.create("/r/a/b", "") }, []event{{Type: created, Path: "/r/a/b"}}, nil},
		{"setData grandchild", func() { a.setData("/r/a/b", "x") }, []event{{Type: changed, Path: "/r/a/b"}}, nil},
		{"setData watched path", func() { a.setData("/r", "x") }, []event{{Type: changed, Path: "/r"}}, []event{{Type: changed, Path: "/r"}}},
		{"delete grandchild", func() { a.delete("/r/a/b") }, []event{{Type: deleted, Path: "/r/a/b"}}, nil},
		{"sibling prefix", func() { a.create("/rr", "") }, nil, nil},
		{"delete child", func() { a.delete("/r/a") }, []event{{Type: deleted, Path: "/r/a"}}, []event{{Type: children, Path: "/r"}}},
		{"delete watched path", func() { a.delete("/r") }, []event{{Type: deleted, Path: "/r"}}, []event{{Type: deleted, Path: "/r"}}},
		{"recreate", func() { a.create("/r", "") }, []event{{Type: created, Path: "/r"}}, []event{{Type: created, Path: "/r"}}},
	}
	var all []event
	for _, s := range steps {
		s.do()
		for _, evs := range [][]event{s.want, s.by} {
			for i := range evs {
				evs[i].Zxid = a.zxid
			}
		}
		expect(t, w, s.name, s.want...)
		expect(t, by, s.name+" (persistent on /r)", s.by...)
		if s.name == "sibling prefix" {
			all = append(all, event{created, "/rr", a.zxid})
		}
		all = append(all, s.want...)
	}
	// Never NodeChildrenChanged, though every step above changed children.
	expect(t, root, "recursive watch on /", all...)
	if n := a.tree.Watches.Count(); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
}

// TestOneShotAndPersistentTogether: WatcherModeManager lets a watcher hold a
// one-shot and a persistent watch on one path; a trigger tells it once and
// only the one-shot watch is used up.
func TestOneShotAndPersistentTogether(t *testing.T) {
	for _, recursive := range []bool{false, true} {
		name := map[bool]string{false: "persistent", true: "recursive"}[recursive]
		t.Run(name, func(t *testing.T) {
			a := newApplier(t)
			w := &recorder{}
			a.create("/p", "")
			ws := a.tree.Watches
			ws.AddPersistent("/p", w, recursive)
			ws.AddData("/p", w)
			a.setData("/p", "1")
			expect(t, w, "first setData", event{changed, "/p", a.zxid})
			a.setData("/p", "2")
			expect(t, w, "second setData", event{changed, "/p", a.zxid})
			// The one-shot is used up: without the persistent watch a
			// change is silent.
			typ := map[bool]jute.WatcherType{false: jute.WatcherPersistent, true: jute.WatcherPersistentRecursive}[recursive]
			if !ws.Remove("/p", w, typ, false) {
				t.Fatalf("persistent watch not found")
			}
			a.setData("/p", "3")
			expect(t, w, "after removing the persistent watch")
			ws.AddPersistent("/p", w, recursive)

			ws.AddData("/p/kid", w) // exists watch under a recursive one
			a.create("/p/kid", "")
			if recursive {
				expect(t, w, "create under recursive", event{created, "/p/kid", a.zxid})
			} else {
				expect(t, w, "create with persistent parent",
					event{created, "/p/kid", a.zxid}, event{children, "/p", a.zxid})
			}
		})
	}
}

// TestRemoveWatches: as WatchManager does, types 1-3 select a table (child,
// data, both) and every watch of the watcher in it whatever its mode; types 4
// and 5 select only the persistent or persistent recursive mode.
func TestRemoveWatches(t *testing.T) {
	type setup func(ws *znode.Watches, w znode.Watcher)
	data := func(ws *znode.Watches, w znode.Watcher) { ws.AddData("/p", w) }
	child := func(ws *znode.Watches, w znode.Watcher) { ws.AddChild("/p", w) }
	persistent := func(ws *znode.Watches, w znode.Watcher) { ws.AddPersistent("/p", w, false) }
	recursive := func(ws *znode.Watches, w znode.Watcher) { ws.AddPersistent("/p", w, true) }
	for _, tc := range []struct {
		name      string
		setup     []setup
		typ       jute.WatcherType
		path      string
		found     bool
		countLeft int
	}{
		{"data/Data", []setup{data}, jute.WatcherData, "/p", true, 0},
		{"data/Children", []setup{data}, jute.WatcherChildren, "/p", false, 1},
		{"data/Any", []setup{data}, jute.WatcherAny, "/p", true, 0},
		{"data/Persistent", []setup{data}, jute.WatcherPersistent, "/p", false, 1},
		{"data/other path", []setup{data}, jute.WatcherData, "/q", false, 1},
		{"child/Children", []setup{child}, jute.WatcherChildren, "/p", true, 0},
		{"child/Data", []setup{child}, jute.WatcherData, "/p", false, 1},
		{"child/Any", []setup{child}, jute.WatcherAny, "/p", true, 0},
		{"data+child/Data", []setup{data, child}, jute.WatcherData, "/p", true, 1},
		{"data+child/Any", []setup{data, child}, jute.WatcherAny, "/p", true, 0},
		{"persistent/Persistent", []setup{persistent}, jute.WatcherPersistent, "/p", true, 0},
		{"persistent/Data", []setup{persistent}, jute.WatcherData, "/p", true, 1},
		{"persistent/Children", []setup{persistent}, jute.WatcherChildren, "/p", true, 1},
		{"persistent/Recursive", []setup{persistent}, jute.WatcherPersistentRecursive, "/p", false, 2},
		{"persistent/Any", []setup{persistent}, jute.WatcherAny, "/p", true, 0},
		{"recursive/Recursive", []setup{recursive}, jute.WatcherPersistentRecursive, "/p", true, 0},
		{"recursive/Persistent", []setup{recursive}, jute.WatcherPersistent, "/p", false, 1},
		{"recursive/Data", []setup{recursive}, jute.WatcherData, "/p", true, 0},
		{"recursive/Children", []setup{recursive}, jute.WatcherChildren, "/p", false, 1},
		{"recursive/Any", []setup{recursive}, jute.WatcherAny, "/p", true, 0},
		{"data+persistent/Data", []setup{data, persistent}, jute.WatcherData, "/p", true, 1},
		{"data+persistent/Persistent", []setup{data, persistent}, jute.WatcherPersistent, "/p", true, 1},
		{"all/Any", []setup{data, child, persistent, recursive}, jute.WatcherAny, "/p", true, 0},
		{"unknown type", []setup{data, child}, jute.WatcherType(9), "/p", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := znode.NewWatches()
			w, other := &recorder{}, &recorder{}
			for _, s := range tc.setup {
				s(ws, w)
			}
			before := ws.Count()
			if got := ws.Remove(tc.path, other, tc.typ, false); got {
				t.Errorf("Remove for another watcher found a watch")
			}
			if got := ws.Remove(tc.path, w, tc.typ, true); got != tc.found || ws.Count() != before {
				t.Errorf("check: found %v (want %v), count %d -> %d (check must not remove)", got, tc.found, before, ws.Count())
			}
			if got := ws.Remove(tc.path, w, tc.typ, false); got != tc.found {
				t.Errorf("remove: found %v, want %v", got, tc.found)
			}
			if n := ws.Count(); n != tc.countLeft {
				t.Errorf("Count after remove = %d, want %d", n, tc.countLeft)
			}
			if tc.found && ws.Remove(tc.path, w, tc.typ, false) {
				t.Errorf("second remove found the watch again")
			}
		})
	}
}

// TestRemovedWatchesStopFiring checks removal end to end: after
// removeWatches no event of the removed kind reaches the watcher.
func TestRemovedWatchesStopFiring(t *testing.T) {
	for _, typ := range []jute.WatcherType{jute.WatcherAny, jute.WatcherData, jute.WatcherPersistentRecursive} {
		a := newApplier(t)
		w := &recorder{}
		a.create("/p", "")
		a.tree.Watches.AddPersistent("/p", w, true)
		a.tree.Watches.Remove("/p", w, typ, false)
		a.create("/p/c", "")
		a.setData("/p", "x")
		expect(t, w, "after removing the recursive watch")
	}
	a := newApplier(t)
	w := &recorder{}
	a.create("/p", "")
	ws := a.tree.Watches
	ws.AddData("/p", w)
	ws.AddChild("/p", w)
	ws.AddPersistent("/p", w, false)
	ws.Remove("/p", w, jute.WatcherPersistent, false)
	a.create("/p/c", "")
	expect(t, w, "child watch left", event{children, "/p", a.zxid})
	a.setData("/p", "x")
	expect(t, w, "data watch left", event{changed, "/p", a.zxid})
	a.setData("/p", "y")
	expect(t, w, "nothing left")
}

func TestRemoveWatcher(t *testing.T) {
	a := newApplier(t)
	w1, w2 := &recorder{}, &recorder{}
	a.create("/a", "")
	ws := a.tree.Watches
	for _, w := range []*recorder{w1, w2} {
		ws.AddData("/a", w)
		ws.AddChild("/a", w)
		ws.AddData("/missing", w)
		ws.AddPersistent("/a", w, false)
		ws.AddPersistent("/", w, true)
	}
	ws.AddPersistent("/b", w1, false)
	// w1: data /a, child /a, data /missing, data /, data /b, child /b;
	// w2 the first four. The persistent watch on /a shares its entries.
	if n := ws.Count(); n != 10 {
		t.Fatalf("Count = %d, want 10", n)
	}
	ws.RemoveWatcher(w1)
	if n := ws.Count(); n != 4 {
		t.Errorf("Count after dropping w1 = %d, want 4 (w2's)", n)
	}
	ws.RemoveWatcher(w2)
	ws.RemoveWatcher(w2) // idempotent
	if n := ws.Count(); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
	if bp := ws.ByPath(); len(bp) != 0 {
		t.Errorf("ByPath = %v, want empty", bp)
	}
	a.create("/a/c", "")
	a.setData("/a", "x")
	a.create("/missing", "")
	a.create("/b", "")
	expect(t, w1, "w1")
	expect(t, w2, "w2")
}

// TestByPath: the wchp view lists each watched path with its watchers. A
// watcher with a data and a child watch on one path is listed under it from
// both tables (see the report: wchp then prints its session twice).
func TestByPath(t *testing.T) {
	ws := znode.NewWatches()
	w1, w2 := &recorder{}, &recorder{}
	ws.AddData("/a", w1)
	ws.AddChild("/a", w1)
	ws.AddChild("/b", w2)
	ws.AddPersistent("/", w2, true)
	got := ws.ByPath()
	want := map[string][]znode.Watcher{"/a": {w1}, "/b": {w2}, "/": {w2}}
	if len(got) != len(want) {
		t.Fatalf("ByPath paths %v, want %v", got, want)
	}
	for p, ws := range want {
		for _, w := range ws {
			if !slices.Contains(got[p], w) {
				t.Errorf("ByPath()[%s] = %v, missing %p", p, got[p], w)
			}
		}
		for _, w := range got[p] {
			if !slices.Contains(ws, w) {
				t.Errorf("ByPath()[%s] has stray watcher %p", p, w)
			}
		}
	}
}

// TestCanReadDrops: since ZOOKEEPER-4799 events on nodes the watcher may not
// read are dropped at delivery; a one-shot watch is used up all the same.
func TestCanReadDrops(t *testing.T) {
	a := newApplier(t)
	denied := &recorder{deny: true}
	a.create("/n", "")
	ws := a.tree.Watches
	ws.AddData("/n", denied)
	ws.AddChild("/n", denied)
	ws.AddPersistent("/", denied, true)
	a.setData("/n", "x")
	a.create("/n/c", "")
	a.delete("/n/c")
	expect(t, denied, "denied watcher")
	if n := ws.Count(); n != 1 {
		t.Errorf("Count = %d, want 1 (only the recursive watch)", n)
	}

	// The check uses the ACL of the changed node, for recursive watches too
	// (CVE-2024-23944: a recursive watch leaked the names of unreadable
	// children).
	alice, _ := znode.DigestID("alice:pw")
	secret := []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "digest", ID: alice}}}
	anon := &recorder{canRead: func(acl []jute.ACL) bool { return znode.CheckACL(acl, jute.PermRead, nil) }}
	ws.AddPersistent("/", anon, true)
	a.createACL("/secret", secret)
	a.create("/public", "")
	expect(t, anon, "anonymous recursive watcher", event{created, "/public", a.zxid})

	// A child watch on a readable parent still hears of the secret child:
	// the parent's ACL decides NodeChildrenChanged, as in Java.
	ws.AddChild("/", anon)
	a.createACL("/secret2", secret)
	expect(t, anon, "child watch on /", event{children, "/", a.zxid})
}

func TestSetWatchesCatchUp(t *testing.T) {
	a := newApplier(t)
	for _, p := range []string{"/changed", "/same", "/exists", "/kids", "/nokids", "/gone", "/gonekids"} {
		a.create(p, "")
	}
	a.create("/nokids/old", "")
	rel := a.zxid // the client's last zxid
	a.setData("/changed", "new")
	a.create("/kids/new", "")
	a.delete("/gone")
	a.delete("/gonekids")
	a.setACL("/same", znode.OpenACLUnsafe) // aversion is not a data change

	w := &recorder{}
	a.tree.SetWatches(rel, &jute.SetWatches2{
		RelativeZxid:               rel,
		DataWatches:                []string{"/gone", "/changed", "/same"},
		ExistWatches:               []string{"/exists", "/notyet"},
		ChildWatches:               []string{"/gonekids", "/kids", "/nokids"},
		PersistentWatches:          []string{"/pers"},
		PersistentRecursiveWatches: []string{"/rec"},
	}, w)
	expect(t, w, "catch-up",
		event{deleted, "/gone", -1},
		event{changed, "/changed", -1},
		event{created, "/exists", -1},
		event{deleted, "/gonekids", -1},
		event{children, "/kids", -1},
	)

	// The rest were registered and fire with real zxids.
	steps := []struct {
		name string
		do   func()
		want []event
	}{
		{"data watch /same", func() { a.setData("/same", "x") }, []event{{Type: changed, Path: "/same"}}},
		{"exist watch /notyet", func() { a.create("/notyet", "") }, []event{{Type: created, Path: "/notyet"}}},
		{"child watch /nokids", func() { a.create("/nokids/new", "") }, []event{{Type: children, Path: "/nokids"}}},
		{"persistent /pers", func() { a.create("/pers", "") }, []event{{Type: created, Path: "/pers"}}},
		{"persistent again", func() { a.setData("/pers", "x") }, []event{{Type: changed, Path: "/pers"}}},
		{"recursive /rec", func() { a.create("/rec", "") }, []event{{Type: created, Path: "/rec"}}},
		{"recursive child", func() { a.create("/rec/c", "") }, []event{{Type: created, Path: "/rec/c"}}},
		{"caught-up watches are not registered", func() { a.setData("/changed", "again"); a.create("/exists/c", "") }, nil},
	}
	for _, s := range steps {
		s.do()
		for i := range s.want {
			s.want[i].Zxid = a.zxid
		}
		expect(t, w, s.name, s.want...)
	}
}

func TestSetWatchesBoundaryAndACL(t *testing.T) {
	a := newApplier(t)
	a.create("/n", "")
	a.create("/p", "")
	a.create("/p/c", "")
	rel := a.zxid
	// mzxid == relativeZxid is not a change: the watch is registered.
	w := &recorder{}
	a.tree.SetWatches(rel, &jute.SetWatches2{DataWatches: []string{"/p/c"}, ChildWatches: []string{"/p"}}, w)
	expect(t, w, "mzxid and pzxid equal to relativeZxid")
	a.delete("/p/c")
	expect(t, w, "delete", event{deleted, "/p/c", a.zxid}, event{children, "/p", a.zxid})

	// Catch-up events on nodes the watcher may not read are dropped; a
	// NodeDeleted has no ACL left to check and is always sent.
	denied := &recorder{deny: true}
	a.tree.SetWatches(0, &jute.SetWatches2{DataWatches: []string{"/n", "/p/c"}, ExistWatches: []string{"/p"}}, denied)
	expect(t, denied, "denied catch-up", event{deleted, "/p/c", -1})
}
