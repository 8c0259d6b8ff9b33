package main

import (
	"sync"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
)

// cpuSampler measures a server process's CPU time (user + system, from
// /proc/<pid>/stat) over the measured window of a run. CPU per request does
// not depend on how the machine's cores are shared with the load generator,
// so it compares the servers' efficiency more steadily than throughput.
type cpuSampler struct {
	pid        int
	mu         sync.Mutex
	start, end time.Duration
	ok         bool
}

func (c *cpuSampler) sample(open bool) {
	t, err := servers.ProcessCPU(c.pid)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.ok = false
		return
	}
	if open {
		c.start, c.ok = t, true
	} else {
		c.end = t
	}
}

// perOp is the CPU per completed request, or 0 when it could not be read.
func (c *cpuSampler) perOp(ops int64) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || ops == 0 || c.end < c.start {
		return 0
	}
	return (c.end - c.start) / time.Duration(ops)
}
