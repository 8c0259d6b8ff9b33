package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/bench/zkload/load"
)

// runResult is one workload run against one ensemble.
type runResult struct {
	workload, server string
	round            int
	res              load.Result
	// cpuPerOp is the members' CPU (user+system, all of them together) per completed
	// request over the measured window.
	cpuPerOp time.Duration
	// spread is the number of client connections on each member (mntr
	// zk_num_alive_connections) as the window opened, in member order.
	spread []int
}

// measure runs one workload with the sessions spread over the ensemble's members (each
// go-zookeeper session picks a member at random).
func measure(ctx context.Context, f flags, t *target, mix load.Mix) (runResult, error) {
	o := f.opts
	o.Servers = t.e.Addrs()
	o.Mix = mix
	var (
		mu         sync.Mutex
		start, end time.Duration
		spread     []int
		cpuOK      = true
	)
	cpu := func() time.Duration {
		var sum time.Duration
		for _, m := range t.e.Members() {
			s := t.e.Process(m.ID)
			if s == nil {
				continue
			}
			c, err := servers.ProcessCPU(s.PID())
			if err != nil {
				cpuOK = false
			}
			sum += c
		}
		return sum
	}
	o.Window = func(open bool) {
		mu.Lock()
		defer mu.Unlock()
		if !open {
			end = cpu()
			return
		}
		start = cpu()
		spread = nil
		for _, m := range t.e.Members() {
			n := -1
			if mn, err := t.e.Mntr(m.ID); err == nil {
				n, _ = strconv.Atoi(mn["zk_num_alive_connections"])
			}
			spread = append(spread, n)
		}
	}
	res, err := load.Run(ctx, o)
	r := runResult{server: t.name, res: res, spread: spread}
	if cpuOK && res.Total.Ops > 0 && end > start {
		r.cpuPerOp = (end - start) / time.Duration(res.Total.Ops)
	}
	return r, err
}
