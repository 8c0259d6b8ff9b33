package main

import (
	"strings"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/bench/zkload/load"
)

// With several rounds the ratio table has a second column without round 1,
// computed from the later rounds only.
func TestReportRatiosWithoutFirstRound(t *testing.T) {
	run := func(server string, round int, ops float64) runResult {
		var res load.Result
		res.Total.OpsPerSec, res.Total.P99Ms = ops, 10
		return runResult{workload: "write", server: server, round: round, res: res, cpuPerOp: 100 * time.Microsecond}
	}
	r := &report{
		f:       flags{rounds: 2, members: 3},
		targets: []*target{{name: "zkd"}, {name: "apache"}},
		runs:    []runResult{run("zkd", 1, 800), run("apache", 1, 200), run("zkd", 2, 600), run("apache", 2, 600)},
	}
	out := r.String()
	// all rounds: 700/400 = 1.75; rounds 2 and later: 600/600 = 1.00
	if !strings.Contains(out, "| write ops/s | 1.75 | 1.00 |") {
		t.Fatalf("ratio rows wrong:\n%s", out)
	}
	r.f.rounds = 1
	r.runs = r.runs[:2]
	if out := r.String(); !strings.Contains(out, "| write ops/s | 4.00 |\n") || strings.Contains(out, "rounds 2 and later") {
		t.Fatalf("single-round report:\n%s", out)
	}
}
