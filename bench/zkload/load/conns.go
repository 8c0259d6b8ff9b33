package load

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// connectTimeout bounds the wait for a session; the servers are on loopback.
const connectTimeout = 15 * time.Second

// Connect opens o.Sessions sessions to o.Servers in parallel (o.SessionTimeout, o.Logger) and
// waits until every one is established, so measured time does not include handshakes. Other
// benchmarks use it to open their sessions the same way.
func Connect(o Options) ([]*zk.Conn, error) {
	if o.Logger == nil {
		o.Logger = discard{}
	}
	conns := make([]*zk.Conn, o.Sessions)
	errs := make([]error, o.Sessions)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { conns[i], errs[i] = connectOne(o) })
	}
	wg.Wait()
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			first = err
		}
	}
	if failed > 0 {
		CloseAll(conns)
		return nil, fmt.Errorf("%d of %d sessions failed: %w", failed, len(conns), first)
	}
	return conns, nil
}

func connectOne(o Options) (*zk.Conn, error) {
	c, events, err := zk.Connect(o.Servers, o.SessionTimeout, zk.WithLogInfo(false), zk.WithLogger(o.Logger))
	if err != nil {
		return nil, err
	}
	timeout := time.NewTimer(connectTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c, nil
			}
		case <-timeout.C:
			c.Close()
			return nil, fmt.Errorf("no session with %v within %v", o.Servers, connectTimeout)
		}
	}
}

// CloseAll closes the sessions in parallel: each Close waits up to a second for the server to
// confirm closeSession.
func CloseAll(conns []*zk.Conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(c.Close)
		}
	}
	wg.Wait()
}

// runJobs runs jobs over the sessions, one goroutine per session taking the next job, and
// returns the first error; the others still finish their current job. If the jobs are not
// done within timeout (a hung server: go-zookeeper queues requests until it reconnects), it
// closes the sessions, which fails every pending request.
func runJobs(conns []*zk.Conn, timeout time.Duration, jobs []func(*zk.Conn) error) error {
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for _, c := range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				if err := jobs[i](c); err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(len(jobs))) // stop handing out work
					return
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return firstErr
	case <-time.After(timeout):
		CloseAll(conns)
		<-finished
		return fmt.Errorf("not done within %v; sessions closed", timeout)
	}
}
