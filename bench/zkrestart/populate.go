package main

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/bench/zkload/load"
)

const (
	root           = "/restart"
	sessionTimeout = 30 * time.Second
	progressEvery  = 15 * time.Second
)

var openACL = zk.WorldACL(zk.PermAll)

// layout names the znodes: node i lives under parent i % parents, so no parent has more than
// nodes/parents children, and its data is derived from i, so any node can be checked alone.
type layout struct {
	nodes, size, parents int
	pWidth, nWidth       int
}

func newLayout(f flags) layout {
	return layout{nodes: f.nodes, size: f.size, parents: f.parents,
		pWidth: max(2, len(strconv.Itoa(f.parents-1))), nWidth: max(7, len(strconv.Itoa(f.nodes-1)))}
}

func (l layout) parent(p int) string { return fmt.Sprintf("%s/p%0*d", root, l.pWidth, p) }

func (l layout) node(i int) string {
	return fmt.Sprintf("%s/p%0*d/n%0*d", root, l.pWidth, i%l.parents, l.nWidth, i)
}

// data returns node i's data in buf (grown to size): its index, '|', then letters that shift
// with the index.
func (l layout) data(buf []byte, i int) []byte {
	b := strconv.AppendInt(buf[:0], int64(i), 10)
	b = append(b, '|')
	for j := 0; len(b) < l.size; j++ {
		b = append(b, byte('a'+(i+j)%26))
	}
	return b[:l.size]
}

// last is the node created last, alone, after every other create was acknowledged: reading
// it back after a restart shows the whole txn log was recovered.
func (l layout) last() int { return l.nodes - 1 }

// total is the number of znodes under root: parents and nodes.
func (l layout) total() int { return l.parents + l.nodes }

// populateResult is what was created on a server and how it looked before the first stop.
type populateResult struct {
	elapsed  time.Duration // creating the nodes (not the parents)
	rate     float64       // creates/s
	znodes   int64         // mntr zk_znode_count before the first stop (-1: unknown)
	zxid     string        // srvr Zxid before the first stop
	disk     diskUsage     // data directories, -settle after populating
	mem      servers.Memory
	cpu      time.Duration // server CPU spent populating
	diskErr  error
	statsErr error
}

// populateAndMeasure creates the tree on t and records the server's state afterwards.
func populateAndMeasure(ctx context.Context, f flags, lay layout, t *servers.Target) (populateResult, error) {
	var pr populateResult
	cpu0, _ := servers.ProcessCPU(t.Srv.PID())
	log.Printf("%s: creating %d znodes of %d bytes under %d parents (%d sessions x %d outstanding)",
		t.Name, lay.nodes, lay.size, lay.parents, f.sessions, f.pipeline)
	elapsed, err := populate(ctx, f, lay, t.Srv.Addr(), t.Name)
	if err != nil {
		return pr, fmt.Errorf("populate: %w", err)
	}
	pr.elapsed = elapsed
	pr.rate = float64(lay.nodes) / elapsed.Seconds()
	if cpu1, err := servers.ProcessCPU(t.Srv.PID()); err == nil {
		pr.cpu = cpu1 - cpu0
	}
	log.Printf("%s: created %d znodes in %.1fs (%.0f creates/s)", t.Name, lay.nodes, elapsed.Seconds(), pr.rate)
	pr.znodes, pr.zxid, pr.statsErr = serverStats(t.Srv.Addr())
	if err := sleep(ctx, f.settle); err != nil {
		return pr, err
	}
	pr.mem, _ = servers.ReadMemory(t.Srv.PID())
	pr.disk, pr.diskErr = dataUsage(t.Srv)
	return pr, nil
}

// populate creates root, the parents and then the nodes, all but the last through
// f.sessions x f.pipeline concurrent synchronous creates (go-zookeeper pipelines the
// requests of one connection), then the last one alone.
func populate(ctx context.Context, f flags, lay layout, addr, name string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.populateTimeout)
	defer cancel()
	conns, err := load.Connect(load.Options{Servers: []string{addr}, Sessions: f.sessions, SessionTimeout: sessionTimeout})
	if err != nil {
		return 0, err
	}
	var closeOnce sync.Once
	closeConns := func() { closeOnce.Do(func() { load.CloseAll(conns) }) }
	defer closeConns()
	// A cancelled run (Ctrl-C, -populate-timeout) closes the sessions, which fails every
	// pending create.
	stopWatch := context.AfterFunc(ctx, closeConns)
	defer stopWatch()

	c0 := conns[0]
	if _, err := c0.Create(root, nil, 0, openACL); err != nil {
		return 0, fmt.Errorf("create %s: %w", root, err)
	}
	for p := range lay.parents {
		if _, err := c0.Create(lay.parent(p), nil, 0, openACL); err != nil {
			return 0, fmt.Errorf("create %s: %w", lay.parent(p), err)
		}
	}

	start := time.Now()
	var (
		next, done atomic.Int64
		errOnce    sync.Once
		firstErr   error
		wg         sync.WaitGroup
	)
	bulk := int64(lay.last())
	for _, c := range conns {
		for range f.pipeline {
			wg.Go(func() {
				buf := make([]byte, 0, lay.size+24)
				for {
					i := next.Add(1) - 1
					if i >= bulk {
						return
					}
					path := lay.node(int(i))
					if _, err := c.Create(path, lay.data(buf, int(i)), 0, openACL); err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("create %s: %w", path, err) })
						next.Store(bulk) // stop handing out work
						return
					}
					done.Add(1)
				}
			})
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-tick.C:
			n := done.Load()
			log.Printf("%s: %d of %d created (%.0f/s)", name, n, lay.nodes, float64(n)/time.Since(start).Seconds())
		}
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if firstErr != nil {
		return 0, firstErr
	}
	i := lay.last()
	if _, err := c0.Create(lay.node(i), lay.data(nil, i), 0, openACL); err != nil {
		return 0, fmt.Errorf("create %s: %w", lay.node(i), err)
	}
	return time.Since(start), nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
