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
	// Apache's JVM keeps getting faster after the unmeasured warm-up, so
	// with several rounds the ratios are also given without round 1.
	warm := r.f.rounds > 1
	if warm {
		b.WriteString("\n| measure | zkd/Apache, all rounds | zkd/Apache, rounds 2 and later |\n|---|---:|---:|\n")
	} else {
		b.WriteString("\n| measure | zkd/Apache |\n|---|---:|\n")
	}
	for _, w := range r.workloads() {
		zOps, zP99, zCPU := r.means(w, "zkd", 1)
		aOps, aP99, aCPU := r.means(w, "apache", 1)
		rows := [][2]string{{w + " ops/s", ratio(zOps, aOps)}, {w + " p99", ratio(zP99, aP99)}, {w + " CPU per op", ratio(zCPU, aCPU)}}
		if warm {
			zOps, zP99, zCPU = r.means(w, "zkd", 2)
			aOps, aP99, aCPU = r.means(w, "apache", 2)
			rows[0][1] += " | " + ratio(zOps, aOps)
			rows[1][1] += " | " + ratio(zP99, aP99)
			rows[2][1] += " | " + ratio(zCPU, aCPU)
		}
		for _, row := range rows {
			fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
		}
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
		row := "| failover, first write (median) | " + ratio(float64(median(z)), float64(median(a))) + " |"
		if warm {
			row += " |" // failovers are not in rounds
		}
		b.WriteString(row + "\n")
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

// means averages the runs of workload on server from round fromRound on.
func (r *report) means(workload, server string, fromRound int) (opsPerSec, p99, cpuPerOp float64) {
	n := 0
	for _, run := range r.runs {
		if run.workload == workload && run.server == server && run.round >= fromRound {
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
