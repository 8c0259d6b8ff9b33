package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
)

func rawCreate(c *zkproto.Client, path string, flags int32) error {
	return c.Call(jute.OpCreate, &jute.CreateRequest{Path: path, Data: []byte("d"),
		ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}, Flags: jute.CreateMode(flags)}, nil)
}

func resumeRaw(addr string, c *zkproto.Client) (*zkproto.Client, error) {
	return zkproto.Resume(addr, time.Duration(c.TimeOut)*time.Millisecond, c.SessionID, c.Passwd, c.LastZxid)
}

func TestOneShotWatches(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())
	writer := connect(t, srv.Addr())

	// exists on a missing node leaves a watch that fires NodeCreated.
	ok, _, w, err := c.ExistsW("/w")
	must(t, err)
	if ok {
		t.Fatal("/w exists")
	}
	_, err = writer.Create("/w", nil, 0, openACL)
	must(t, err)
	if ev := waitEvent(t, w); ev.Type != zk.EventNodeCreated || ev.Path != "/w" {
		t.Fatalf("exists watch: %+v", ev)
	}

	// getData on a missing node leaves no watch.
	_, _, _, err = c.GetW("/none")
	wantErr(t, err, zk.ErrNoNode)

	// A data watch fires once (the raw sequence test shows the second change
	// is not reported).
	_, _, w, err = c.GetW("/w")
	must(t, err)
	_, err = writer.Set("/w", []byte("1"), -1)
	must(t, err)
	if ev := waitEvent(t, w); ev.Type != zk.EventNodeDataChanged || ev.Path != "/w" {
		t.Fatalf("data watch: %+v", ev)
	}

	// Child watches fire on a child's create and delete, not on data changes.
	_, _, cw, err := c.ChildrenW("/w")
	must(t, err)
	_, err = writer.Set("/w", []byte("3"), -1)
	must(t, err)
	_, err = writer.Create("/w/kid", nil, 0, openACL)
	must(t, err)
	if ev := waitEvent(t, cw); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/w" {
		t.Fatalf("child watch: %+v", ev)
	}
	_, _, cw, err = c.ChildrenW("/w")
	must(t, err)
	must(t, writer.Delete("/w/kid", -1))
	if ev := waitEvent(t, cw); ev.Type != zk.EventNodeChildrenChanged {
		t.Fatalf("child watch on delete: %+v", ev)
	}

	// Deleting a node fires its data and child watches with NodeDeleted.
	_, _, dw, err := c.GetW("/w")
	must(t, err)
	_, _, cw, err = c.ChildrenW("/w")
	must(t, err)
	must(t, writer.Delete("/w", -1))
	if ev := waitEvent(t, dw); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("data watch on delete: %+v", ev)
	}
	if ev := waitEvent(t, cw); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("child watch on delete: %+v", ev)
	}
}

// TestWatchEventSequence checks the exact sequence of events a raw client
// sees, and that each event precedes the reply of the write that caused it.
func TestWatchEventSequence(t *testing.T) {
	srv := startZkd(t)
	c := rawConnect(t, srv.Addr())
	must(t, rawCreate(c, "/s", 0))
	var gd jute.GetDataResponse
	must(t, c.Call(jute.OpGetData, &jute.GetDataRequest{Path: "/s", Watch: true}, &gd))
	var gc jute.GetChildrenResponse
	must(t, c.Call(jute.OpGetChildren, &jute.GetChildrenRequest{Path: "/s", Watch: true}, &gc))
	must2(t, c.Call(jute.OpExists, &jute.ExistsRequest{Path: "/s/a", Watch: true}, &jute.ExistsResponse{}), jute.ErrNoNode)

	// Our own create fires the exists watch on /s/a and the child watch on
	// /s, both before the create's reply.
	must(t, rawCreate(c, "/s/a", 0))
	got := c.Events
	c.Events = nil
	want := []jute.WatcherEvent{
		{Type: jute.EventNodeCreated, State: jute.StateSyncConnected, Path: "/s/a"},
		{Type: jute.EventNodeChildrenChanged, State: jute.StateSyncConnected, Path: "/s"},
	}
	checkEvents(t, got, want)
	for _, ev := range got {
		if ev.Zxid != c.LastZxid {
			t.Fatalf("event zxid 0x%x, want the create's zxid 0x%x", ev.Zxid, c.LastZxid)
		}
	}
	c.Events = nil
	must(t, c.Call(jute.OpSetData, &jute.SetDataRequest{Path: "/s", Data: []byte("z"), Version: -1}, &jute.SetDataResponse{}))
	checkEvents(t, c.Events, []jute.WatcherEvent{{Type: jute.EventNodeDataChanged, State: jute.StateSyncConnected, Path: "/s"}})
	// One-shot: the watch is gone, so a second change reports nothing. Events
	// precede the reply of the write that caused them, so an empty queue
	// after the reply proves it.
	c.Events = nil
	must(t, c.Call(jute.OpSetData, &jute.SetDataRequest{Path: "/s", Data: []byte("zz"), Version: -1}, &jute.SetDataResponse{}))
	must(t, rawCreate(c, "/s/b", 0))
	checkEvents(t, c.Events, nil)
}

// noRawEvent proves a raw client has no pending event: a ping's reply comes
// after every event queued before it.
func noRawEvent(t *testing.T, c *zkproto.Client) {
	t.Helper()
	must(t, c.Call(jute.OpExists, &jute.ExistsRequest{Path: "/"}, &jute.ExistsResponse{}))
	if len(c.Events) != 0 {
		t.Fatalf("unexpected events %+v", c.Events)
	}
}

// ev is a server-sent notification as clients decode it.
func ev(typ jute.EventType, p string) jute.WatcherEvent {
	return jute.WatcherEvent{Type: typ, State: jute.StateSyncConnected, Path: p}
}

// must2 checks a raw call's outcome: nil for OK, else the ErrCode.
func must2(t *testing.T, err error, want jute.ErrCode) {
	t.Helper()
	if want == jute.ErrOK && err == nil {
		return
	}
	if err != want {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func checkEvents(t *testing.T, got []zkproto.Event, want []jute.WatcherEvent) {
	t.Helper()
	var evs []jute.WatcherEvent
	for _, e := range got {
		evs = append(evs, e.WatcherEvent)
	}
	if !slices.Equal(evs, want) {
		t.Fatalf("events\n got %+v\nwant %+v", evs, want)
	}
}

func TestPersistentWatches(t *testing.T) {
	srv := startZkd(t)
	w := rawConnect(t, srv.Addr())
	writer := connect(t, srv.Addr())
	_, err := writer.Create("/p", nil, 0, openACL)
	must(t, err)
	must(t, w.Call(jute.OpAddWatch, &jute.AddWatchRequest{Path: "/p", Mode: jute.AddWatchPersistent}, &jute.ErrorResponse{}))

	rw := rawConnect(t, srv.Addr())
	must(t, rw.Call(jute.OpAddWatch, &jute.AddWatchRequest{Path: "/p", Mode: jute.AddWatchPersistentRecursive}, &jute.ErrorResponse{}))

	_, err = writer.Create("/p/a", nil, 0, openACL)
	must(t, err)
	_, err = writer.Set("/p/a", []byte("1"), -1)
	must(t, err)
	_, err = writer.Create("/p/a/b", nil, 0, openACL)
	must(t, err)
	must(t, writer.Delete("/p/a/b", -1))
	must(t, writer.Delete("/p/a", -1))
	_, err = writer.Set("/p", []byte("x"), -1)
	must(t, err)
	must(t, writer.Delete("/p", -1))
	_, err = writer.Create("/p", nil, 0, openACL)
	must(t, err)

	// Persistent: the path's own data events and its child events; it
	// survives NodeDeleted.
	got, err := w.WaitEvents(5, 10*time.Second)
	must(t, err)
	checkEvents(t, got, []jute.WatcherEvent{
		ev(jute.EventNodeChildrenChanged, "/p"),
		ev(jute.EventNodeChildrenChanged, "/p"),
		ev(jute.EventNodeDataChanged, "/p"),
		ev(jute.EventNodeDeleted, "/p"),
		ev(jute.EventNodeCreated, "/p"),
	})
	// Recursive: every node below, never NodeChildrenChanged.
	got, err = rw.WaitEvents(8, 10*time.Second)
	must(t, err)
	checkEvents(t, got, []jute.WatcherEvent{
		ev(jute.EventNodeCreated, "/p/a"),
		ev(jute.EventNodeDataChanged, "/p/a"),
		ev(jute.EventNodeCreated, "/p/a/b"),
		ev(jute.EventNodeDeleted, "/p/a/b"),
		ev(jute.EventNodeDeleted, "/p/a"),
		ev(jute.EventNodeDataChanged, "/p"),
		ev(jute.EventNodeDeleted, "/p"),
		ev(jute.EventNodeCreated, "/p"),
	})

	// removeWatches / checkWatches.
	must2(t, w.Call(jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/p", Type: jute.WatcherPersistent}, nil), jute.ErrOK)
	must2(t, w.Call(jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/p", Type: jute.WatcherPersistent}, nil), jute.ErrOK)
	must2(t, w.Call(jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: "/p", Type: jute.WatcherPersistent}, nil), jute.ErrNoWatcher)
	must2(t, w.Call(jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: "/p", Type: jute.WatcherAny}, nil), jute.ErrNoWatcher)
}

func TestSetWatchesCatchUp(t *testing.T) {
	srv := startZkd(t)
	writer := connect(t, srv.Addr())
	for _, p := range []string{"/cu", "/cu/data", "/cu/gone", "/cu/kids", "/cu/same"} {
		_, err := writer.Create(p, nil, 0, openACL)
		must(t, err)
	}
	c := rawConnect(t, srv.Addr())
	var st jute.ExistsResponse
	must(t, c.Call(jute.OpExists, &jute.ExistsRequest{Path: "/cu"}, &st))
	rel := c.LastZxid
	// Changes the client misses while "disconnected".
	_, err := writer.Set("/cu/data", []byte("new"), -1)
	must(t, err)
	must(t, writer.Delete("/cu/gone", -1))
	_, err = writer.Create("/cu/kids/k", nil, 0, openACL)
	must(t, err)
	_, err = writer.Create("/cu/born", nil, 0, openACL)
	must(t, err)

	must(t, c.Call(jute.OpSetWatches2, &jute.SetWatches2{
		RelativeZxid: rel,
		DataWatches:  []string{"/cu/data", "/cu/gone", "/cu/same"},
		ExistWatches: []string{"/cu/born", "/cu/unborn"},
		ChildWatches: []string{"/cu/kids"},
	}, nil))
	checkEvents(t, c.Events, []jute.WatcherEvent{
		ev(jute.EventNodeDataChanged, "/cu/data"),
		ev(jute.EventNodeDeleted, "/cu/gone"),
		ev(jute.EventNodeCreated, "/cu/born"),
		ev(jute.EventNodeChildrenChanged, "/cu/kids"),
	})
	for _, e := range c.Events {
		if e.Zxid != -1 {
			t.Fatalf("catch-up event with zxid 0x%x, want -1", e.Zxid)
		}
	}
	c.Events = nil
	// The watches that had nothing to report are registered.
	_, err = writer.Set("/cu/same", []byte("1"), -1)
	must(t, err)
	_, err = writer.Create("/cu/unborn", nil, 0, openACL)
	must(t, err)
	got, err := c.WaitEvents(2, 10*time.Second)
	must(t, err)
	checkEvents(t, got, []jute.WatcherEvent{ev(jute.EventNodeDataChanged, "/cu/same"), ev(jute.EventNodeCreated, "/cu/unborn")})
}
