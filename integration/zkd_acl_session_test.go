package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
)

func TestACLEnforcement(t *testing.T) {
	srv := startZkd(t)
	alice := connect(t, srv.Addr())
	must(t, alice.AddAuth("digest", []byte("alice:secret")))
	bob := connect(t, srv.Addr())
	must(t, bob.AddAuth("digest", []byte("bob:pw")))
	anon := connect(t, srv.Addr())

	// "auth" expands to alice's digest identity.
	_, err := alice.Create("/private", []byte("p"), 0, zk.AuthACL(zk.PermAll))
	must(t, err)
	acl, _, err := alice.GetACL("/private")
	must(t, err)
	if len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != "alice:"+digestOf("alice:secret") {
		t.Fatalf("expanded ACL %+v", acl)
	}
	_, _, err = bob.Get("/private")
	wantErr(t, err, zk.ErrNoAuth)
	_, err = anon.Set("/private", nil, -1)
	wantErr(t, err, zk.ErrNoAuth)
	_, err = anon.Create("/private/x", nil, 0, openACL)
	wantErr(t, err, zk.ErrNoAuth)
	_, _, err = anon.GetACL("/private")
	wantErr(t, err, zk.ErrNoAuth)

	// Read-only for the world, full for alice.
	_, err = alice.Create("/shared", []byte("s"), 0, append(zk.WorldACL(zk.PermRead), zk.DigestACL(zk.PermAll, "alice", "secret")...))
	must(t, err)
	data, _, err := anon.Get("/shared")
	must(t, err)
	if string(data) != "s" {
		t.Fatal(string(data))
	}
	_, err = anon.Set("/shared", []byte("no"), -1)
	wantErr(t, err, zk.ErrNoAuth)
	// Without ADMIN, getACL masks digest hashes.
	acl, _, err = anon.GetACL("/shared")
	must(t, err)
	if acl[1].ID != "alice:x" {
		t.Fatalf("masked ACL %+v", acl)
	}
	// setACL needs ADMIN and checks aversion.
	_, err = anon.SetACL("/shared", openACL, -1)
	wantErr(t, err, zk.ErrNoAuth)
	_, err = alice.SetACL("/shared", openACL, 3)
	wantErr(t, err, zk.ErrBadVersion)
	st, err := alice.SetACL("/shared", openACL, 0)
	must(t, err)
	if st.Aversion != 1 || st.Version != 0 {
		t.Fatalf("setACL stat %+v", st)
	}
	_, err = anon.Set("/shared", []byte("yes"), -1)
	must(t, err)

	// An ip ACL for loopback admits every client here.
	_, err = anon.Create("/by-ip", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.0/8"}})
	must(t, err)
	_, _, err = bob.Get("/by-ip")
	must(t, err)
	_, err = anon.Create("/by-other-ip", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "10.1.2.3"}})
	must(t, err)
	_, _, err = anon.Get("/by-other-ip")
	wantErr(t, err, zk.ErrNoAuth)

	// The super digest bypasses every ACL.
	root := connect(t, srv.Addr())
	must(t, root.AddAuth("digest", []byte("super:test")))
	_, _, err = root.Get("/private")
	must(t, err)
	must(t, root.Delete("/by-other-ip", -1))

	// Watches only deliver events on nodes the watcher may read.
	raw := rawConnect(t, srv.Addr())
	must2(t, raw.Call(jute.OpExists, &jute.ExistsRequest{Path: "/private/secret-child", Watch: true}, &jute.ExistsResponse{}), jute.ErrNoNode)
	_, err = alice.Create("/private/secret-child", nil, 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	must(t, err)
	noRawEvent(t, raw)

	// Invalid ACL ids.
	_, err = anon.Create("/bad-acl", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "no-colon"}})
	wantErr(t, err, zk.ErrInvalidACL)
	_, err = anon.Create("/bad-acl", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "nosuch", ID: "x"}})
	wantErr(t, err, zk.ErrInvalidACL)
}

func digestOf(userPass string) string {
	acl := zk.DigestACL(zk.PermAll, userPass[:indexByte(userPass, ':')], userPass[indexByte(userPass, ':')+1:])
	id := acl[0].ID
	return id[indexByte(id, ':')+1:]
}

func indexByte(s string, b byte) int {
	for i := range len(s) {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func TestAuthFailureClosesOnlyThatConnection(t *testing.T) {
	srv := startZkd(t)
	other := connect(t, srv.Addr())
	c := rawConnect(t, srv.Addr())
	err := c.Call(jute.OpAuth, &jute.AuthPacket{Scheme: "kerberos-or-something", Auth: []byte("x")}, nil)
	must2(t, err, jute.ErrAuthFailed)
	if !c.Closed(5 * time.Second) {
		t.Fatal("connection not closed after AUTHFAILED")
	}
	_, err = other.Create("/still-serving", nil, 0, openACL)
	must(t, err)
}

func TestSessionResumeOnAnotherConnection(t *testing.T) {
	srv := startZkd(t)
	observer := connect(t, srv.Addr())
	c := rawConnect(t, srv.Addr())
	must(t, rawCreate(c, "/mine", zk.FlagEphemeral))
	var dw jute.GetDataResponse
	must(t, c.Call(jute.OpGetData, &jute.GetDataRequest{Path: "/mine", Watch: true}, &dw))

	// A second connection takes the session over; the first is closed.
	c2, err := resumeRaw(srv.Addr(), c)
	must(t, err)
	defer c2.Close()
	if c2.SessionID != c.SessionID || !slices.Equal(c2.Passwd, c.Passwd) {
		t.Fatalf("resumed as 0x%x, want 0x%x", c2.SessionID, c.SessionID)
	}
	if !c.Closed(5 * time.Second) {
		t.Fatal("old connection still open after its session moved")
	}
	_, st, err := observer.Get("/mine")
	must(t, err)
	if st.EphemeralOwner != c.SessionID {
		t.Fatalf("ephemeral owner 0x%x after resume", st.EphemeralOwner)
	}
	var eph jute.GetEphemeralsResponse
	must(t, c2.Call(jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/"}, &eph))
	if !slices.Equal(eph.Ephemerals, []string{"/mine"}) {
		t.Fatalf("getEphemerals after resume: %v", eph.Ephemerals)
	}

	// A wrong password gets timeOut 0: the client treats it as expired.
	bad := slices.Clone(c.Passwd)
	bad[0] ^= 0xff
	if _, err := zkproto.Resume(srv.Addr(), 4*time.Second, c.SessionID, bad, 0); err == nil {
		t.Fatal("resumed with a wrong password")
	}
	// A client that has seen a newer zxid than the server is refused
	// without a response, so it tries another server.
	if _, err := zkproto.Resume(srv.Addr(), 4*time.Second, c.SessionID, c.Passwd, c2.LastZxid+1000); err == nil {
		t.Fatal("accepted a client whose zxid is ahead of the server")
	}

	// closeSession deletes the ephemerals at once.
	must(t, c2.Call(jute.OpCloseSession, nil, nil))
	ok, _, err := observer.Exists("/mine")
	must(t, err)
	if ok {
		t.Fatal("ephemeral survived closeSession")
	}
}

func TestRawOnlyOps(t *testing.T) {
	srv := startZkd(t)
	c := rawConnect(t, srv.Addr())
	for _, p := range []string{"/r", "/r/a", "/r/a/b", "/r/c"} {
		must(t, rawCreate(c, p, 0))
	}
	must(t, rawCreate(c, "/r/e1", int32(jute.ModeEphemeral)))
	must(t, rawCreate(c, "/other-eph", int32(jute.ModeEphemeral)))

	var n jute.GetAllChildrenNumberResponse
	must(t, c.Call(jute.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: "/r"}, &n))
	if n.TotalNumber != 4 {
		t.Fatalf("getAllChildrenNumber(/r) = %d, want 4", n.TotalNumber)
	}
	var eph jute.GetEphemeralsResponse
	must(t, c.Call(jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: "/r"}, &eph))
	if !slices.Equal(eph.Ephemerals, []string{"/r/e1"}) {
		t.Fatalf("getEphemerals(/r) = %v", eph.Ephemerals)
	}
	must(t, c.Call(jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: ""}, &eph))
	if len(eph.Ephemerals) != 2 {
		t.Fatalf("getEphemerals() = %v", eph.Ephemerals)
	}

	must(t, c.Call(jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("carol:pw")}, nil))
	var who jute.WhoAmIResponse
	must(t, c.Call(jute.OpWhoAmI, nil, &who))
	if !slices.Equal(who.ClientInfo, []jute.ClientInfo{{AuthScheme: "digest", User: "carol"}, {AuthScheme: "ip", User: "127.0.0.1"}}) {
		t.Fatalf("whoAmI = %+v", who.ClientInfo)
	}

	var mr jute.MultiResponse
	must(t, c.Call(jute.OpMultiRead, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpGetChildren, Req: &jute.GetChildrenRequest{Path: "/r"}},
		{Type: jute.OpGetData, Req: &jute.GetDataRequest{Path: "/r/a"}},
		{Type: jute.OpGetData, Req: &jute.GetDataRequest{Path: "/nope"}},
	}}, &mr))
	if len(mr.Results) != 3 || mr.Results[2].Type != jute.OpError || mr.Results[2].Err != jute.ErrNoNode {
		t.Fatalf("multiRead results %+v", mr.Results)
	}
	if ch := mr.Results[0].Resp.(*jute.GetChildrenResponse).Children; !slices.Equal(ch, []string{"a", "c", "e1"}) {
		t.Fatalf("multiRead children %v", ch)
	}
	if d := mr.Results[1].Resp.(*jute.GetDataResponse); string(d.Data) != "d" {
		t.Fatalf("multiRead data %+v", d)
	}

	// Create2 returns the stat; createTTL needs a TTL mode and a TTL in range.
	var c2 jute.Create2Response
	must(t, c.Call(jute.OpCreate2, &jute.CreateRequest{Path: "/r/two", ACL: openRawACL(), Flags: 0}, &c2))
	if c2.Path != "/r/two" || c2.Stat.Czxid == 0 || c2.Stat.Czxid != c.LastZxid {
		t.Fatalf("create2 %+v (last zxid 0x%x)", c2, c.LastZxid)
	}
	must2(t, c.Call(jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/r/ttl", ACL: openRawACL(), Flags: jute.ModePersistentWithTTL, TTL: 0}, &c2), jute.ErrBadArguments)
	must2(t, c.Call(jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/r/ttl", ACL: openRawACL(), Flags: jute.ModePersistent, TTL: 100}, &c2), jute.ErrBadArguments)
	must(t, c.Call(jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/r/ttl", ACL: openRawACL(), Flags: jute.ModePersistentWithTTL, TTL: 60000}, &c2))
	// reconfig is disabled, as in ZooKeeper by default.
	must2(t, c.Call(jute.OpReconfig, &jute.ReconfigRequest{CurConfigID: -1}, nil), jute.ErrReconfigDisabled)
}

func openRawACL() []jute.ACL {
	return []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}
}
