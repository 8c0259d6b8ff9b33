package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/bench/zkload/load"
)

type runResult struct {
	workload, server string
	round            int
	res              load.Result
	cpuPerOp         time.Duration // server CPU (user+system) per completed request
}

// report renders the markdown: settings, one row per run, then the zkd/Apache ratios per
// workload from the means over rounds.
func report(f flags, targets []*servers.Target, results []runResult) string {
	var b strings.Builder
	o := f.opts
	fmt.Fprintf(&b, "## zkd vs Apache ZooKeeper\n\n")
	rate := "as fast as the server answers"
	if o.Rate > 0 {
		rate = fmt.Sprintf("paced to %d ops/s in total", o.Rate)
	}
	fmt.Fprintf(&b, "%d sessions x %d outstanding (%s), %d-byte values, %d keys, %v measured after %v warm-up, forceSync=%s, %s.\n\n",
		o.Sessions, o.Pipeline, rate, o.Size, o.Nodes, o.Duration, o.Warmup, f.forceSync, servers.Machine())
	for _, t := range targets {
		fmt.Fprintf(&b, "- %s: %s\n", t.Name, t.Version)
	}
	b.WriteString("\n| workload | server | round | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU us/op |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		s := r.res.Total
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.3f | %.3f | %.3f | %.3f | %d | %.1f |\n",
			r.workload, r.server, r.round, s.OpsPerSec, s.P50Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.Errors,
			float64(r.cpuPerOp.Nanoseconds())/1000)
	}
	if len(targets) < 2 {
		return b.String()
	}
	null := false
	for _, t := range targets {
		null = null || t.Name == "null"
	}
	b.WriteString("\n| workload | zkd/Apache ops/s | zkd/Apache p99 | zkd/Apache server CPU per op |")
	if null {
		// zknull does nothing but answer: its ratio is the most any server could show here.
		b.WriteString(" null/Apache ops/s | zkd/null ops/s |")
	}
	b.WriteString("\n|---|---:|---:|---:|")
	if null {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for _, w := range workloadsInOrder(results) {
		zOps, zP99, zCPU := means(results, w, "zkd")
		aOps, aP99, aCPU := means(results, w, "apache")
		fmt.Fprintf(&b, "| %s | %s | %s | %s |", w, ratio(zOps, aOps), ratio(zP99, aP99), ratio(zCPU, aCPU))
		if null {
			nOps, _, _ := means(results, w, "null")
			fmt.Fprintf(&b, " %s | %s |", ratio(nOps, aOps), ratio(zOps, nOps))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func workloadsInOrder(results []runResult) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range results {
		if !seen[r.workload] {
			seen[r.workload] = true
			out = append(out, r.workload)
		}
	}
	return out
}

func means(results []runResult, workload, server string) (opsPerSec, p99, cpuPerOp float64) {
	n := 0
	for _, r := range results {
		if r.workload == workload && r.server == server {
			opsPerSec += r.res.Total.OpsPerSec
			p99 += r.res.Total.P99Ms
			cpuPerOp += float64(r.cpuPerOp)
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return opsPerSec / float64(n), p99 / float64(n), cpuPerOp / float64(n)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}
