package zkserver

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
)

// startServer runs a server in this process on a free loopback port, so the
// race detector sees the pipeline, the connections and the tree together.
func startServer(t testing.TB) *Server {
	t.Helper()
	s := New(testConfig(), zerolog.New(io.Discard))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, s *Server) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect([]string{s.Addr().String()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for e := range ev {
		if e.State == zk.StateHasSession {
			return c
		}
	}
	t.Fatal("no session")
	return nil
}

// TestConcurrentClients hammers one server from many sessions at once:
// creates, sequential creates, setData with versions, reads and watches.
// Every client checks its own results; afterwards the tree must hold
// exactly what the clients acknowledged.
func TestConcurrentClients(t *testing.T) {
	s := startServer(t)
	admin := dial(t, s)
	if _, err := admin.Create("/c", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	const clients, ops = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := dial(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runClient(c, i, ops)
		}()
	}
	// A watcher that sees every change under /c while the load runs.
	w := dial(t, s)
	_, _, ch, err := w.ChildrenW("/c")
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeChildrenChanged {
			t.Fatalf("watch event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("child watch never fired")
	}
	kids, st, err := admin.Children("/c")
	if err != nil {
		t.Fatal(err)
	}
	// Each client leaves one counter node and ops/10 sequential nodes.
	if want := clients * (1 + ops/10); len(kids) != want || int(st.NumChildren) != want {
		t.Fatalf("children %d (stat %d), want %d", len(kids), st.NumChildren, want)
	}
	for i := range clients {
		data, st, err := admin.Get(fmt.Sprintf("/c/counter-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != fmt.Sprint(ops) || st.Version != ops {
			t.Fatalf("counter %d = %q version %d", i, data, st.Version)
		}
	}
	out := s.FourLetterWord("mntr")
	if !strings.Contains(out, "zk_znode_count\t") {
		t.Fatalf("mntr: %s", out)
	}
}

func runClient(c *zk.Conn, id, ops int) error {
	counter := fmt.Sprintf("/c/counter-%d", id)
	if _, err := c.Create(counter, []byte("0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		return err
	}
	for n := 1; n <= ops; n++ {
		data, st, err := c.Get(counter)
		if err != nil {
			return err
		}
		if string(data) != fmt.Sprint(n-1) {
			return fmt.Errorf("client %d read %q before write %d", id, data, n)
		}
		// A conditional write on the version just read: nobody else
		// writes this node, so it must succeed.
		if _, err := c.Set(counter, []byte(fmt.Sprint(n)), st.Version); err != nil {
			return fmt.Errorf("client %d set %d: %w", id, n, err)
		}
		if n%10 == 0 {
			if _, err := c.Create(fmt.Sprintf("/c/seq-%d-", id), nil, zk.FlagSequence, zk.WorldACL(zk.PermAll)); err != nil {
				return err
			}
		}
		if _, _, err := c.Exists("/c"); err != nil {
			return err
		}
	}
	return nil
}

// TestStopWithOpenSessions stops the server while clients are connected and
// in the middle of requests: Stop returns and the goroutines end.
func TestStopWithOpenSessions(t *testing.T) {
	s := startServer(t)
	for range 3 {
		c := dial(t, s)
		go func() {
			for {
				if _, _, err := c.Get("/"); err != nil {
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { s.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
}
