package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
)

type report struct {
	f       flags
	targets []*target
	runs    []runResult
}

// String renders the markdown: settings, one row per run, the failovers, then the
// zkd/Apache ratios.
func (r *report) String() string {
	var b strings.Builder
	f, o := r.f, r.f.opts
	fmt.Fprintf(&b, "## zkd vs Apache ZooKeeper, %d-member ensembles\n\n", f.members)
	fmt.Fprintf(&b, "tickTime=%d initLimit=%d syncLimit=%d forceSync=%s; %d sessions x %d outstanding spread over the members, %d-byte values, %d keys, %v measured after %v warm-up; %s.\n\n",
		f.tickMs, f.initLimit, f.syncLimit, f.forceSync, o.Sessions, o.Pipeline, o.Size, o.Nodes, o.Duration, o.Warmup, servers.Machine())
	for _, t := range r.targets {
		fmt.Fprintf(&b, "- %s: %s\n", t.name, t.version)
	}
	if len(r.runs) > 0 {
		b.WriteString("\n| workload | ensemble | round | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | members' CPU us/op | sessions per member |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, run := range r.runs {
			s := run.res.Total
			fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.3f | %.3f | %.3f | %.3f | %d | %.1f | %v |\n",
				run.workload, run.server, run.round, s.OpsPerSec, s.P50Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.Errors,
				float64(run.cpuPerOp.Nanoseconds())/1000, run.spread)
		}
	}
	if len(r.targets[0].failovers) > 0 {
		b.WriteString("\n| ensemble | failovers | new leader (median / max) | first write (median / min / max) |\n|---|---:|---|---|\n")
		for _, t := range r.targets {
			lead, write := failoverTimes(t)
			fmt.Fprintf(&b, "| %s | %d | %v / %v | %v / %v / %v |\n", t.name, len(t.failovers),
				ms(median(lead)), ms(slices.Max(lead)), ms(median(write)), ms(slices.Min(write)), ms(slices.Max(write)))
		}
	}
	if len(r.targets) < 2 {
		return b.String()
	}
	b.WriteString("\n| measure | zkd/Apache |\n|---|---:|\n")
	for _, w := range r.workloads() {
		zOps, zP99, zCPU := r.means(w, "zkd")
		aOps, aP99, aCPU := r.means(w, "apache")
		fmt.Fprintf(&b, "| %s ops/s | %s |\n| %s p99 | %s |\n| %s CPU per op | %s |\n", w, ratio(zOps, aOps), w, ratio(zP99, aP99), w, ratio(zCPU, aCPU))
	}
	if len(r.targets[0].failovers) > 0 {
		var z, a []time.Duration
		for _, t := range r.targets {
			_, write := failoverTimes(t)
			if t.name == "zkd" {
				z = write
			} else {
				a = write
			}
		}
		fmt.Fprintf(&b, "| failover, first write (median) | %s |\n", ratio(float64(median(z)), float64(median(a))))
	}
	return b.String()
}

func failoverTimes(t *target) (lead, write []time.Duration) {
	for _, fo := range t.failovers {
		lead = append(lead, fo.toLeader)
		write = append(write, fo.toWrite)
	}
	return lead, write
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func (r *report) workloads() []string {
	var out []string
	for _, run := range r.runs {
		if !slices.Contains(out, run.workload) {
			out = append(out, run.workload)
		}
	}
	return out
}

func (r *report) means(workload, server string) (opsPerSec, p99, cpuPerOp float64) {
	n := 0
	for _, run := range r.runs {
		if run.workload == workload && run.server == server {
			opsPerSec += run.res.Total.OpsPerSec
			p99 += run.res.Total.P99Ms
			cpuPerOp += float64(run.cpuPerOp)
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return opsPerSec / float64(n), p99 / float64(n), cpuPerOp / float64(n)
}

func ratio(a, b float64) string {
	if b == 0 || a == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}
