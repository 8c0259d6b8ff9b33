package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// failoverResult is one kill -9 of a leader.
type failoverResult struct {
	killed, newLeader int
	// toLeader is the time from the kill until a surviving member answers srvr with Mode:
	// leader and the others follow it (polled every 50 ms).
	toLeader time.Duration
	// toWrite is the time from the kill until a setData through a session on a surviving
	// follower succeeds.
	toWrite time.Duration
}

// failover kills the ensemble's leader while a session on a follower writes, measures how
// long writes stop, then restarts the killed member and waits until it is back.
func failover(ctx context.Context, t *target) (failoverResult, error) {
	e := t.e
	leader, err := e.WaitReady(ctx)
	if err != nil {
		return failoverResult{}, err
	}
	follower := e.Followers(leader.ID)[0]
	c, err := connect(e.Member(follower).Addr())
	if err != nil {
		return failoverResult{}, err
	}
	defer c.close()
	if _, err := c.Create("/failover", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return failoverResult{}, err
	}

	var toWrite atomic.Int64
	var writeErr error
	done := make(chan struct{})
	killed := make(chan time.Time, 1)
	go func() {
		defer close(done)
		at := <-killed
		for time.Since(at) < 2*time.Minute {
			_, err := c.Set("/failover", []byte("x"), -1)
			if err == nil {
				toWrite.Store(int64(time.Since(at)))
				return
			}
			if !lost(err) {
				writeErr = err
				return
			}
			time.Sleep(time.Millisecond)
		}
		writeErr = errors.New("no write succeeded within 2 minutes")
	}()
	// A write before the kill: the session is up and the follower serves.
	if _, err := c.Set("/failover", []byte("x"), -1); err != nil {
		return failoverResult{}, fmt.Errorf("write before the kill: %w", err)
	}
	at := time.Now()
	e.Kill(leader.ID)
	killed <- at
	var survivors []int
	for _, m := range e.Members() {
		if m.ID != leader.ID {
			survivors = append(survivors, m.ID)
		}
	}
	nl, err := e.WaitReady(ctx, survivors...)
	toLeader := time.Since(at)
	if err != nil {
		return failoverResult{}, err
	}
	<-done
	if writeErr != nil {
		return failoverResult{}, writeErr
	}
	res := failoverResult{killed: leader.ID, newLeader: nl.ID, toLeader: toLeader, toWrite: time.Duration(toWrite.Load())}
	if err := e.Start(leader.ID); err != nil {
		return res, err
	}
	_, err = e.WaitReady(ctx)
	return res, err
}

// lost reports an error after which the write may be retried: the connection went away.
func lost(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionMoved) || errors.Is(err, zk.ErrClosing)
}

// quickHost is a go-zookeeper HostProvider for one server that retries every 5 ms: the
// default one waits a second after each failed round, which would be measured as failover.
type quickHost struct {
	server string
	closed atomic.Bool
}

func (h *quickHost) Init(servers []string) error {
	if len(servers) != 1 {
		return fmt.Errorf("quickHost: want one server, got %v", servers)
	}
	h.server = servers[0]
	return nil
}
func (h *quickHost) Len() int { return 1 }
func (h *quickHost) Next() (string, bool) {
	if h.closed.Load() {
		return h.server, true
	}
	time.Sleep(5 * time.Millisecond)
	return h.server, false
}
func (h *quickHost) Connected() {}

type client struct {
	*zk.Conn
	h *quickHost
}

func (c *client) close() {
	c.h.closed.Store(true)
	c.Conn.Close()
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// connect opens a session with addr alone and waits for it.
func connect(addr string) (*client, error) {
	h := &quickHost{}
	var has atomic.Bool
	conn, _, err := zk.Connect([]string{addr}, 20*time.Second, zk.WithHostProvider(h), zk.WithLogger(quiet{}),
		zk.WithLogInfo(false), zk.WithEventCallback(func(ev zk.Event) {
			if ev.State == zk.StateHasSession {
				has.Store(true)
			}
		}))
	if err != nil {
		return nil, err
	}
	c := &client{Conn: conn, h: h}
	for deadline := time.Now().Add(30 * time.Second); !has.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.close()
			return nil, fmt.Errorf("no session with %s", addr)
		}
	}
	return c, nil
}
