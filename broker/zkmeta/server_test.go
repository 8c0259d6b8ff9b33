package zkmeta

import (
	"math/rand"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/zkserver"
	"github.com/zabkafka/zabkafka/zkserver/zkservertest"
)

// startServer runs an in-memory zkd with short ticks.
func startServer(t *testing.T) *zkserver.Server { return zkservertest.Start(t) }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// connect opens a go-zookeeper session and waits until it has a session id.
func connect(t *testing.T, s *zkserver.Server) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{s.Addr().String()}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() { // keep draining so the client never blocks
					for range events {
					}
				}()
				return conn
			}
		case <-deadline:
			t.Fatal("no session")
		}
	}
}

// newClient connects a Client with a deterministic clock and randomness.
func newClient(t *testing.T, s *zkserver.Server, chroot string) (*Client, *zk.Conn) {
	t.Helper()
	conn := connect(t, s)
	c, err := New(conn, Config{
		Chroot: chroot,
		Now:    func() time.Time { return time.UnixMilli(1700000000000) },
		Rand:   rand.New(rand.NewSource(1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePersistentPaths(); err != nil {
		t.Fatal(err)
	}
	return c, conn
}

// waitGone waits until path no longer exists (ephemeral cleanup after a
// session ends).
func waitGone(t *testing.T, conn *zk.Conn, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ok, _, err := conn.Exists(path)
		if err == nil && !ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s still exists", path)
}

// snapshot returns every znode path and its data below root, to prove a
// failed write changed nothing.
func snapshot(t *testing.T, conn *zk.Conn, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		data, stat, err := conn.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		out[p] = string(data) + "|v" + itoa(stat.Version)
		kids, _, err := conn.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		for _, k := range kids {
			if p == "/" {
				if k == "zookeeper" {
					continue
				}
				walk("/" + k)
			} else {
				walk(p + "/" + k)
			}
		}
	}
	walk(root)
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
