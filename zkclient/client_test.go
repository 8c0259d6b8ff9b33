package zkclient

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkserver"
	"github.com/zabkafka/zabkafka/zkserver/zkservertest"
)

// startServer runs an in-memory zkd with short ticks.
func startServer(t *testing.T) *zkserver.Server { return zkservertest.Start(t) }

// recorder collects a Conn's events for assertions.
type recorder struct {
	mu     sync.Mutex
	events []Event
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) add(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until an event equal to want has arrived after the first
// `from` events and returns the index after it.
func (r *recorder) waitFor(t *testing.T, from int, want Event) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if r.events[i] == want {
				r.mu.Unlock()
				return i + 1
			}
		}
		got := slices.Clone(r.events)
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("no event %v after #%d; events: %v", want, from, got)
		}
	}
}

func (r *recorder) countOf(want Event) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev == want {
			n++
		}
	}
	return n
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func connect(t *testing.T, addr string, rec *recorder) *Conn {
	t.Helper()
	c, err := Connect(Config{Servers: []string{addr}, SessionTimeout: 2 * time.Second, OnEvent: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	rec.waitFor(t, 0, connectedEvent)
	return c
}

var (
	connectedEvent    = Event{Type: jute.EventNone, State: jute.StateSyncConnected, Zxid: -1}
	disconnectedEvent = Event{Type: jute.EventNone, State: jute.StateDisconnected, Zxid: -1}
	expiredEvent      = Event{Type: jute.EventNone, State: jute.StateExpired, Zxid: -1}
)

func nodeEvent(t jute.EventType, path string) Event {
	return Event{Type: t, State: jute.StateSyncConnected, Path: path, Zxid: -1}
}

var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code jute.ErrCode) {
	t.Helper()
	if got := ErrorCode(err); got != code {
		t.Fatalf("error %v (code %v), want %v", err, got, code)
	}
}

func TestOperations(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String(), newRecorder())

	p, stat, err := c.Create("/a", []byte("hello"), openACL, jute.ModePersistent, 0)
	must(t, err)
	if p != "/a" || stat.Czxid == 0 || stat.DataLength != 5 {
		t.Fatalf("create: %q %+v", p, stat)
	}
	seq, _, err := c.Create("/a/s-", nil, openACL, jute.ModePersistentSequential, 0)
	must(t, err)
	if seq != "/a/s-0000000000" {
		t.Fatalf("sequential name %q", seq)
	}
	_, _, err = c.Create("/a/e", []byte("x"), openACL, jute.ModeEphemeral, 0)
	must(t, err)
	_, _, err = c.Create("/ttl", nil, openACL, jute.ModePersistentWithTTL, 60000)
	must(t, err)
	_, _, err = c.Create("/a", nil, openACL, jute.ModePersistent, 0)
	wantCode(t, err, jute.ErrNodeExists)
	if err.Error() != "KeeperErrorCode = NodeExists for /a" {
		t.Fatalf("error text %q", err)
	}

	data, stat, err := c.Get("/a", false)
	must(t, err)
	if string(data) != "hello" || stat.NumChildren != 2 {
		t.Fatalf("get: %q %+v", data, stat)
	}
	data, _, err = c.Get("/a/s-0000000000", false)
	must(t, err)
	if data != nil {
		t.Fatalf("null data read as %q", data)
	}
	stat, err = c.Set("/a", []byte("world"), 0)
	must(t, err)
	if stat.Version != 1 {
		t.Fatalf("set: version %d", stat.Version)
	}
	_, err = c.Set("/a", []byte("x"), 0)
	wantCode(t, err, jute.ErrBadVersion)

	kids, _, err := c.Children("/a", false)
	must(t, err)
	slices.Sort(kids)
	if !slices.Equal(kids, []string{"e", "s-0000000000"}) {
		t.Fatalf("children %v", kids)
	}
	if _, ok, err := c.Exists("/missing", false); ok || err != nil {
		t.Fatalf("exists missing: %v %v", ok, err)
	}
	eph, err := c.GetEphemerals("/")
	must(t, err)
	if !slices.Equal(eph, []string{"/a/e"}) {
		t.Fatalf("ephemerals %v", eph)
	}
	n, err := c.GetAllChildrenNumber("/a")
	must(t, err)
	if n != 2 {
		t.Fatalf("all children %d", n)
	}
	who, err := c.WhoAmI()
	must(t, err)
	if len(who) != 1 || who[0].AuthScheme != "ip" {
		t.Fatalf("whoami %v", who)
	}
	if _, err := c.Sync("/a"); err != nil {
		t.Fatal(err)
	}

	digestACL := []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "digest", ID: digestOf("u:p")}}}
	_, err = c.SetACL("/a", digestACL, -1)
	must(t, err)
	_, _, err = c.Get("/a", false)
	wantCode(t, err, jute.ErrNoAuth)
	must(t, c.AddAuth("digest", []byte("u:p")))
	acl, _, err := c.GetACL("/a")
	must(t, err)
	if len(acl) != 1 || acl[0].ID.Scheme != "digest" {
		t.Fatalf("acl %v", acl)
	}

	res, err := c.Multi([]jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m1", ACL: openACL}},
		{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: "/nope", Version: -1}},
	})
	wantCode(t, err, jute.ErrNoNode)
	if len(res) != 2 || res[1].Type != jute.OpError {
		t.Fatalf("multi results %+v", res)
	}
	if _, ok, _ := c.Exists("/m1", false); ok {
		t.Fatal("a failed multi created /m1")
	}
	must(t, c.Delete("/a/s-0000000000", -1))
	wantCode(t, c.Delete("/a", -1), jute.ErrNotEmpty)

	var pathErr *PathError
	if _, _, err := c.Get("a", false); !errors.As(err, &pathErr) || err.Error() != "Path must start with / character" {
		t.Fatalf("relative path: %v", err)
	}
}

func TestWatches(t *testing.T) {
	s := startServer(t)
	rec := newRecorder()
	c := connect(t, s.Addr().String(), rec)
	other := connect(t, s.Addr().String(), newRecorder())

	_, _, err := c.Create("/w", nil, openACL, jute.ModePersistent, 0)
	must(t, err)
	_, _, err = c.Get("/w", true)
	must(t, err)
	_, err = other.Set("/w", []byte("1"), -1)
	must(t, err)
	at := rec.waitFor(t, 0, nodeEvent(jute.EventNodeDataChanged, "/w"))
	// One-shot: a second change does not fire again; the sync makes sure a
	// notification would have arrived before the check.
	_, err = other.Set("/w", []byte("2"), -1)
	must(t, err)
	_, err = c.Sync("/w")
	must(t, err)
	if n := rec.count(); n != at {
		t.Fatalf("one-shot watch fired again: %v", rec.events[at:])
	}
	wantCode(t, c.RemoveWatches("/w", jute.WatcherData, false), jute.ErrNoWatcher)

	must(t, c.AddWatch("/w", jute.AddWatchPersistentRecursive))
	_, _, err = other.Create("/w/x", nil, openACL, jute.ModePersistent, 0)
	must(t, err)
	at = rec.waitFor(t, at, nodeEvent(jute.EventNodeCreated, "/w/x"))
	_, err = other.Set("/w/x", []byte("1"), -1)
	must(t, err)
	at = rec.waitFor(t, at, nodeEvent(jute.EventNodeDataChanged, "/w/x"))
	must(t, c.RemoveWatches("/w", jute.WatcherAny, false))
	at = rec.waitFor(t, at, nodeEvent(jute.EventPersistentWatchRemoved, "/w"))

	_, _, err = c.Children("/w", true)
	must(t, err)
	must(t, c.RemoveWatches("/w", jute.WatcherChildren, false))
	rec.waitFor(t, at, nodeEvent(jute.EventChildWatchRemoved, "/w"))
}

// proxy forwards one listener to a server and can cut every connection
// and refuse new ones, to make the client lose the server.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	go p.accept()
	return p
}

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut closes every forwarded connection; down refuses new ones until up.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func TestReconnectResumesSessionAndWatches(t *testing.T) {
	s := startServer(t)
	p := startProxy(t, s.Addr().String())
	rec := newRecorder()
	c := connect(t, p.ln.Addr().String(), rec)
	other := connect(t, s.Addr().String(), newRecorder())
	id := c.SessionID()

	_, _, err := c.Create("/e", nil, openACL, jute.ModeEphemeral, 0)
	must(t, err)
	_, _, err = c.Get("/e", true)
	must(t, err)
	must(t, c.AddWatch("/tree", jute.AddWatchPersistentRecursive))

	p.cut(false)
	at := rec.waitFor(t, 0, disconnectedEvent)
	at = rec.waitFor(t, at, connectedEvent)
	if c.SessionID() != id {
		t.Fatalf("session %#x after reconnect, want %#x", c.SessionID(), id)
	}
	// The watches were re-armed by setWatches2.
	_, err = other.Set("/e", []byte("x"), -1)
	must(t, err)
	at = rec.waitFor(t, at, nodeEvent(jute.EventNodeDataChanged, "/e"))
	_, _, err = other.Create("/tree", nil, openACL, jute.ModePersistent, 0)
	must(t, err)
	rec.waitFor(t, at, nodeEvent(jute.EventNodeCreated, "/tree"))
	if _, ok, err := other.Exists("/e", false); !ok || err != nil {
		t.Fatalf("ephemeral lost over a reconnect: %v %v", ok, err)
	}
}

func TestSessionExpiresWhileAway(t *testing.T) {
	s := startServer(t)
	p := startProxy(t, s.Addr().String())
	rec := newRecorder()
	c, err := Connect(Config{Servers: []string{p.ln.Addr().String()}, SessionTimeout: 300 * time.Millisecond, OnEvent: rec.add})
	must(t, err)
	t.Cleanup(c.Close)
	rec.waitFor(t, 0, connectedEvent)
	_, _, err = c.Create("/e", nil, openACL, jute.ModeEphemeral, 0)
	must(t, err)

	p.cut(true)
	at := rec.waitFor(t, 0, disconnectedEvent)
	// Wait, from another session, until the server has expired ours.
	other := connect(t, s.Addr().String(), newRecorder())
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := other.Exists("/e", false)
		must(t, err)
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.up()
	rec.waitFor(t, at, expiredEvent)
	_, _, err = c.Get("/", false)
	wantCode(t, err, jute.ErrSessionExpired)
	if c.State().Alive() {
		t.Fatalf("state %v after expiry", c.State())
	}
}

func TestServerDownFailsRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	c, err := Connect(Config{Servers: []string{addr}, SessionTimeout: time.Second})
	must(t, err)
	defer c.Close()
	_, _, err = c.Get("/", false)
	wantCode(t, err, jute.ErrConnectionLoss)
	if err.Error() != "KeeperErrorCode = ConnectionLoss for /" {
		t.Fatalf("error text %q", err)
	}
}

func TestCloseEndsSession(t *testing.T) {
	s := startServer(t)
	rec := newRecorder()
	c := connect(t, s.Addr().String(), rec)
	_, _, err := c.Create("/e", nil, openACL, jute.ModeEphemeral, 0)
	must(t, err)
	c.Close()
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
	rec.waitFor(t, 0, Event{Type: jute.EventNone, State: jute.StateClosed, Zxid: -1})
	other := connect(t, s.Addr().String(), newRecorder())
	if _, ok, _ := other.Exists("/e", false); ok {
		t.Fatal("ephemeral survived closeSession")
	}
	_, _, err = c.Get("/", false)
	wantCode(t, err, jute.ErrConnectionLoss)
}

// digestOf is the digest scheme's id for "user:password".
func digestOf(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// TestEventsBeforeData checks the ordering ZooKeeper promises: a client
// sees the watch event for a change before it sees the changed data, even
// with a slow watcher.
func TestEventsBeforeData(t *testing.T) {
	s := startServer(t)
	rec := newRecorder()
	slow := func(ev Event) {
		if ev.Type != jute.EventNone {
			time.Sleep(50 * time.Millisecond) // a watcher that takes its time
		}
		rec.add(ev)
	}
	c, err := Connect(Config{Servers: []string{s.Addr().String()}, SessionTimeout: 2 * time.Second, OnEvent: slow})
	must(t, err)
	t.Cleanup(c.Close)
	rec.waitFor(t, 0, connectedEvent)
	other := connect(t, s.Addr().String(), newRecorder())
	_, _, err = c.Create("/o", []byte("0"), openACL, jute.ModePersistent, 0)
	must(t, err)
	for i := range 5 {
		_, _, err = c.Get("/o", true)
		must(t, err)
		_, err = other.Set("/o", []byte(fmt.Sprint(i+1)), -1)
		must(t, err)
		data, _, err := c.Get("/o", false)
		must(t, err)
		if string(data) != fmt.Sprint(i+1) {
			t.Fatalf("read %q after set %d", data, i+1)
		}
		if n := rec.countOf(nodeEvent(jute.EventNodeDataChanged, "/o")); n != i+1 {
			t.Fatalf("read change %d with %d NodeDataChanged events delivered: data before its event", i+1, n)
		}
	}
}

// TestConnectStringSkipsDeadServers: with one dead and one live server in
// the list, the session is established on the live one whichever is tried
// first.
func TestConnectStringSkipsDeadServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	dead := ln.Addr().String()
	ln.Close()
	a := startServer(t)
	for range 4 { // the list is shuffled: try both orders
		rec := newRecorder()
		c, err := Connect(Config{Servers: []string{dead, a.Addr().String()}, SessionTimeout: 2 * time.Second, OnEvent: rec.add})
		must(t, err)
		rec.waitFor(t, 0, connectedEvent)
		if c.Server() != a.Addr().String() {
			t.Fatalf("connected to %s, want %s", c.Server(), a.Addr())
		}
		_, _, err = c.Get("/", false)
		must(t, err)
		c.Close()
	}
}
