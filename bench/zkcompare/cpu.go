package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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
	t, err := processCPU(c.pid)
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

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100

func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields are counted after its ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
