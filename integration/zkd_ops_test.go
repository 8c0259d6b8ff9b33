package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/jute"
)

func TestCRUDAndErrors(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())

	children, _, err := c.Children("/")
	must(t, err)
	if !slices.Equal(children, []string{"zookeeper"}) {
		t.Fatalf("fresh server children of /: %v", children)
	}

	p, err := c.Create("/app", []byte("v0"), 0, openACL)
	must(t, err)
	if p != "/app" {
		t.Fatalf("create returned %q", p)
	}
	_, err = c.Create("/app", nil, 0, openACL)
	wantErr(t, err, zk.ErrNodeExists)
	_, err = c.Create("/missing/child", nil, 0, openACL)
	wantErr(t, err, zk.ErrNoNode)
	// go-zookeeper checks flags itself, so the raw client sends a bad one.
	raw := rawConnect(t, srv.Addr())
	must2(t, raw.Call(jute.OpCreate, &jute.CreateRequest{Path: "/bad-flags", ACL: openRawACL(), Flags: 7}, nil), jute.ErrBadArguments)
	must2(t, raw.Call(jute.OpCreate, &jute.CreateRequest{Path: "relative", ACL: openRawACL()}, nil), jute.ErrBadArguments)
	// As in ZooKeeper, the parent is looked up before the full path rules
	// run: a bad path under a missing parent is NONODE, under an existing
	// one BADARGUMENTS.
	must2(t, raw.Call(jute.OpCreate, &jute.CreateRequest{Path: "/a/../b", ACL: openRawACL()}, nil), jute.ErrNoNode)
	must2(t, raw.Call(jute.OpCreate, &jute.CreateRequest{Path: "/zookeeper/", ACL: openRawACL()}, nil), jute.ErrBadArguments)
	must2(t, raw.Call(jute.OpCreate, &jute.CreateRequest{Path: "/zookeeper/./x", ACL: openRawACL()}, nil), jute.ErrNoNode)
	_, err = c.Create("/no-acl", nil, 0, nil)
	wantErr(t, err, zk.ErrInvalidACL)
	_, err = c.Create("/auth-acl", nil, 0, zk.AuthACL(zk.PermAll)) // no identity to expand "auth" to
	wantErr(t, err, zk.ErrInvalidACL)

	data, st, err := c.Get("/app")
	must(t, err)
	if string(data) != "v0" || st.Version != 0 || st.DataLength != 2 || st.Czxid != st.Mzxid || st.Czxid != st.Pzxid {
		t.Fatalf("get /app: %q %+v", data, st)
	}
	_, err = c.Set("/app", []byte("v1"), 5)
	wantErr(t, err, zk.ErrBadVersion)
	st2, err := c.Set("/app", []byte("v1"), 0)
	must(t, err)
	if st2.Version != 1 || st2.Mzxid <= st.Mzxid || st2.Czxid != st.Czxid {
		t.Fatalf("set stat %+v after %+v", st2, st)
	}
	st3, err := c.Set("/app", []byte("v2"), -1)
	must(t, err)
	if st3.Version != 2 {
		t.Fatalf("set with version -1: %+v", st3)
	}
	_, _, err = c.Get("/nope")
	wantErr(t, err, zk.ErrNoNode)
	_, err = c.Set("/nope", nil, -1)
	wantErr(t, err, zk.ErrNoNode)

	_, err = c.Create("/app/child", nil, 0, openACL)
	must(t, err)
	wantErr(t, c.Delete("/app", -1), zk.ErrNotEmpty)
	wantErr(t, c.Delete("/app/child", 3), zk.ErrBadVersion)
	must(t, c.Delete("/app/child", 0))
	wantErr(t, c.Delete("/app/child", -1), zk.ErrNoNode)
	_, st, err = c.Get("/app")
	must(t, err)
	// One create and one delete: the client-visible cversion counts both.
	if st.Cversion != 2 || st.NumChildren != 0 {
		t.Fatalf("cversion after create+delete: %+v", st)
	}
	must(t, c.Delete("/app", -1))
	ok, _, err := c.Exists("/app")
	must(t, err)
	if ok {
		t.Fatal("/app still exists")
	}
	wantErr(t, c.Delete("/zookeeper", -1), zk.ErrBadArguments)
}

func TestEphemeralsAndSequentials(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())
	_, err := c.Create("/q", nil, 0, openACL)
	must(t, err)
	var names []string
	for i := range 3 {
		p, err := c.Create("/q/item-", []byte{byte(i)}, zk.FlagSequence, openACL)
		must(t, err)
		names = append(names, p)
	}
	want := []string{"/q/item-0000000000", "/q/item-0000000001", "/q/item-0000000002"}
	if !slices.Equal(names, want) {
		t.Fatalf("sequential names %v, want %v", names, want)
	}
	must(t, c.Delete(names[2], -1))
	// The counter is the parent's count of creations: never reused.
	p, err := c.Create("/q/item-", nil, zk.FlagSequence, openACL)
	must(t, err)
	if p != "/q/item-0000000003" {
		t.Fatalf("after a delete the next name is %s", p)
	}
	// A base ending in "/" names a node by its number only.
	p, err = c.Create("/q/", nil, zk.FlagSequence, openACL)
	if err != nil {
		// go-zookeeper validates a trailing "/" as allowed only with the
		// sequence flag; the server must accept it.
		t.Fatalf("create /q/ sequential: %v", err)
	}
	if p != "/q/0000000004" {
		t.Fatalf("sequential with trailing slash: %s", p)
	}

	owner := connect(t, srv.Addr())
	e, err := owner.Create("/q/eph", []byte("x"), zk.FlagEphemeral, openACL)
	must(t, err)
	es, err := owner.Create("/q/eseq-", nil, zk.FlagEphemeral|zk.FlagSequence, openACL)
	must(t, err)
	_, st, err := c.Get(e)
	must(t, err)
	if st.EphemeralOwner != owner.SessionID() {
		t.Fatalf("ephemeralOwner 0x%x, want session 0x%x", st.EphemeralOwner, owner.SessionID())
	}
	_, err = owner.Create(e+"/child", nil, 0, openACL)
	wantErr(t, err, zk.ErrNoChildrenForEphemerals)

	_, _, w, err := c.ExistsW(e)
	must(t, err)
	owner.Close()
	ev := waitEvent(t, w)
	if ev.Type != zk.EventNodeDeleted || ev.Path != e {
		t.Fatalf("event on owner close: %+v", ev)
	}
	for _, p := range []string{e, es} {
		ok, _, err := c.Exists(p)
		must(t, err)
		if ok {
			t.Fatalf("%s survived its session's close", p)
		}
	}
}

func TestEphemeralsVanishOnExpiry(t *testing.T) {
	srv := startZkd(t)
	watcher := connect(t, srv.Addr())
	// The raw client never pings: once its socket closes, nothing keeps the
	// session alive and the server must expire it.
	raw := rawConnect(t, srv.Addr())
	timeout := time.Duration(raw.TimeOut) * time.Millisecond
	if timeout != 4*time.Second {
		t.Fatalf("negotiated timeout %v, want the requested 4s (within 2..20 ticks)", timeout)
	}
	must(t, rawCreate(raw, "/expiring", zk.FlagEphemeral))
	_, _, w, err := watcher.GetW("/expiring")
	must(t, err)
	closedAt := time.Now()
	raw.Close()
	ev := waitEvent(t, w)
	if ev.Type != zk.EventNodeDeleted {
		t.Fatalf("event %+v", ev)
	}
	if gone := time.Since(closedAt); gone < timeout-time.Second {
		t.Fatalf("ephemeral deleted %v after the socket closed, before the %v session timeout", gone, timeout)
	}
	// Resuming the expired session is refused with timeOut 0.
	if _, err := resumeRaw(srv.Addr(), raw); err == nil {
		t.Fatal("resumed an expired session")
	}
}

func TestMulti(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())
	_, err := c.Create("/m", []byte("0"), 0, openACL)
	must(t, err)

	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m/a", Data: []byte("a"), Acl: openACL},
		&zk.CreateRequest{Path: "/m/a/b", Acl: openACL},
		&zk.SetDataRequest{Path: "/m", Data: []byte("1"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
		&zk.DeleteRequest{Path: "/m/a/b", Version: 0},
	)
	must(t, err)
	if len(res) != 5 || res[0].String != "/m/a" || res[1].String != "/m/a/b" || res[2].Stat == nil || res[2].Stat.Version != 1 {
		t.Fatalf("multi results %+v", res)
	}
	_, stA, err := c.Get("/m/a")
	must(t, err)
	_, stM, err := c.Get("/m")
	must(t, err)
	if stA.Czxid != stM.Mzxid {
		t.Fatalf("ops of one multi got different zxids: czxid %x vs mzxid %x", stA.Czxid, stM.Mzxid)
	}

	// A failing op: nothing applies; ops before it report OK, the failing
	// one its code, the rest RUNTIMEINCONSISTENCY.
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m/new", Acl: openACL},
		&zk.SetDataRequest{Path: "/m", Data: []byte("x"), Version: 99},
		&zk.DeleteRequest{Path: "/m/a", Version: -1},
	)
	wantErr(t, err, zk.ErrBadVersion)
	if len(res) != 3 || res[0].Error != nil || !isErr(res[1].Error, zk.ErrBadVersion) || res[2].Error == nil {
		t.Fatalf("failed multi results %+v", res)
	}
	for _, p := range []string{"/m/new"} {
		if ok, _, _ := c.Exists(p); ok {
			t.Fatalf("%s exists after a failed multi", p)
		}
	}
	if ok, _, _ := c.Exists("/m/a"); !ok {
		t.Fatal("/m/a deleted by a failed multi")
	}
	res, err = c.Multi(&zk.CreateRequest{Path: "/m/a", Acl: openACL})
	wantErr(t, err, zk.ErrNodeExists)
	if len(res) != 1 {
		t.Fatalf("results %+v", res)
	}
}

func isErr(got, want error) bool { return got == want }

func TestContainerAndTTLNodes(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())
	p, err := c.CreateContainer("/box", nil, zk.FlagContainer, openACL)
	must(t, err)
	if p != "/box" {
		t.Fatal(p)
	}
	_, st, err := c.Get("/box")
	must(t, err)
	if st.EphemeralOwner != 0 {
		t.Fatalf("container shows ephemeralOwner 0x%x, want 0", st.EphemeralOwner)
	}
	_, err = c.Create("/box/item", nil, 0, openACL)
	must(t, err)
	_, _, w, err := c.ExistsW("/box")
	must(t, err)
	must(t, c.Delete("/box/item", -1))
	// The container manager (every 200 ms here) removes the emptied container.
	ev := waitEvent(t, w)
	if ev.Type != zk.EventNodeDeleted || ev.Path != "/box" {
		t.Fatalf("event %+v", ev)
	}

	_, err = c.CreateTTL("/ttl", []byte("t"), zk.FlagTTL, openACL, 300*time.Millisecond)
	must(t, err)
	_, st, err = c.Get("/ttl")
	must(t, err)
	if st.EphemeralOwner != 0 {
		t.Fatalf("TTL node shows ephemeralOwner 0x%x", st.EphemeralOwner)
	}
	eventually(t, "TTL node to expire", func() bool {
		ok, _, err := c.Exists("/ttl")
		return err == nil && !ok
	})
}

func TestSyncAndFourLetterWords(t *testing.T) {
	srv := startZkd(t)
	c := connect(t, srv.Addr())
	p, err := c.Sync("/")
	must(t, err)
	if p != "/" {
		t.Fatalf("sync echoed %q", p)
	}
	_, err = c.Create("/x", nil, 0, openACL)
	must(t, err)
	_, _, _, err = c.ExistsW("/x") // so the watch commands have something to list
	must(t, err)

	stats, ok := zk.FLWSrvr([]string{srv.Addr()}, 5*time.Second)
	if !ok || stats[0].Error != nil {
		t.Fatalf("FLWSrvr: %+v", stats[0])
	}
	if stats[0].Mode != zk.ModeStandalone || stats[0].NodeCount != 6 || stats[0].Connections < 1 {
		t.Fatalf("srvr stats %+v", stats[0])
	}
	if !zk.FLWRuok([]string{srv.Addr()}, 5*time.Second)[0] {
		t.Fatal("ruok not answered imok")
	}
	cons, ok := zk.FLWCons([]string{srv.Addr()}, 5*time.Second)
	if !ok || cons[0].Error != nil || len(cons[0].Clients) != 1 {
		t.Fatalf("FLWCons: %+v", cons[0])
	}
	if cons[0].Clients[0].SessionID != c.SessionID() {
		t.Fatalf("cons session 0x%x, want 0x%x", cons[0].Clients[0].SessionID, c.SessionID())
	}
	for _, cmd := range []string{"mntr", "conf", "envi", "dump", "wchs", "wchc", "wchp", "isro", "stat", "dirs"} {
		out, err := harness.FourLetter(srv.Addr(), cmd, 5*time.Second)
		if err != nil || len(out) == 0 {
			t.Fatalf("%s: %q %v", cmd, out, err)
		}
	}
}
