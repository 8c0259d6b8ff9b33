// Command zkcompare runs the same zkload workloads against Apache ZooKeeper and zkd on this
// machine, alternating between them, and prints a markdown table with throughput, latency
// percentiles and the zkd/Apache ratios.
//
//	go run ./bench/zkcompare -duration 10s -sessions 32
//	go run ./bench/zkcompare -apache-only -workloads read,write
//
// Both servers are standalone on loopback and share the machine with the load generator, so
// the absolute figures depend on the machine; the ratios are the result. Both run with
// forceSync=yes (ZooKeeper's default: a write is acknowledged once its txn is fsynced) unless
// -forcesync no, and without a per-IP connection limit, so -sessions may exceed 60.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/bench/zkload/load"
	"github.com/zabkafka/zabkafka/integration/harness"
)

type flags struct {
	workloads  string
	rounds     int
	forceSync  string
	zkdOnly    bool
	null       bool
	apacheOnly bool
	zkdBin     string
	keep       bool
	jitWarmup  time.Duration
	opts       load.Options
}

func main() {
	var f flags
	flag.StringVar(&f.workloads, "workloads", "read,write,mixed", "comma-separated zkload workloads (read, write, create, mixed)")
	flag.IntVar(&f.rounds, "rounds", 1, "times to run each workload on each server")
	flag.StringVar(&f.forceSync, "forcesync", "yes", "zoo.cfg forceSync for both servers (yes: fsync every txn log write)")
	flag.BoolVar(&f.zkdOnly, "zkd-only", false, "run zkd only")
	flag.BoolVar(&f.null, "null", false, "also run bench/zknull, a server that answers without doing anything: the ceiling for any server with this load generator on this machine")
	flag.BoolVar(&f.apacheOnly, "apache-only", false, "run Apache ZooKeeper only")
	flag.StringVar(&f.zkdBin, "zkd-bin", "", "prebuilt zkd binary (default: go build ./cmd/zkd)")
	flag.BoolVar(&f.keep, "keep", false, "keep the servers' directories (logs, data)")
	flag.DurationVar(&f.jitWarmup, "server-warmup", 5*time.Second, "unmeasured load of every op on each server before the first round (JIT, caches)")
	f.opts.RegisterFlags(flag.CommandLine)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("zkcompare: ")
	if f.zkdOnly && f.apacheOnly {
		log.Fatal("-zkd-only and -apache-only exclude each other")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, f flags) error {
	var mixes []load.Mix
	names := strings.Split(f.workloads, ",")
	for _, w := range names {
		m, err := load.ParseMix(w)
		if err != nil {
			return err
		}
		mixes = append(mixes, m)
	}
	work, err := os.MkdirTemp("", "zkcompare-*")
	if err != nil {
		return err
	}
	if f.keep {
		log.Printf("server directories under %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	targets, err := startTargets(ctx, f, work)
	defer servers.StopAll(targets)
	if err != nil {
		return err
	}

	if err := warmUp(ctx, f, targets); err != nil {
		return err
	}
	var results []runResult
	for round := range f.rounds {
		for wi, mix := range mixes {
			// Alternate which server goes first, so neither always runs on a machine the
			// other has just warmed up (page cache, CPU frequency) or tired out.
			order := targets
			if (round+wi)%2 == 1 {
				order = servers.Reversed(targets)
			}
			for _, t := range order {
				if ctx.Err() != nil {
					break
				}
				o := f.opts
				o.Servers = []string{t.Srv.Addr()}
				o.Mix = mix
				cpu := cpuSampler{pid: t.Srv.PID()}
				o.Window = cpu.sample
				res, err := load.Run(ctx, o)
				if err != nil {
					return fmt.Errorf("%s %s: %w\n--- last lines of %s ---\n%s", t.Name, names[wi], err, t.Srv.LogPath(), t.Srv.LogTail(20))
				}
				log.Printf("round %d %-6s %-6s %8.0f ops/s  p50 %.3f ms  p99 %.3f ms  errors %d",
					round+1, names[wi], t.Name, res.Total.OpsPerSec, res.Total.P50Ms, res.Total.P99Ms, res.Total.Errors)
				results = append(results, runResult{workload: names[wi], server: t.Name, round: round + 1, res: res,
					cpuPerOp: cpu.perOp(res.Total.Ops)})
			}
		}
	}
	fmt.Print(report(f, targets, results))
	return ctx.Err()
}

func startTargets(ctx context.Context, f flags, work string) ([]*servers.Target, error) {
	return servers.Start(ctx, servers.Options{
		Work:       work,
		ZkdOnly:    f.zkdOnly,
		Null:       f.null,
		ApacheOnly: f.apacheOnly,
		ZkdBin:     f.zkdBin,
		Config:     harness.Config{Extra: map[string]string{"forceSync": f.forceSync, "maxClientCnxns": "0"}},
	})
}

// warmUp runs every op on each server once before measuring: the first seconds of a JVM run
// at a fraction of its speed until the JIT has compiled the hot paths, which would penalise
// whichever workload happened to go first.
func warmUp(ctx context.Context, f flags, targets []*servers.Target) error {
	if f.jitWarmup <= 0 {
		return nil
	}
	for _, t := range targets {
		o := f.opts
		o.Servers = []string{t.Srv.Addr()}
		o.Mix = load.Mix{load.OpRead: 50, load.OpWrite: 40, load.OpCreate: 10}
		o.Warmup, o.Duration = 0, f.jitWarmup
		if _, err := load.Run(ctx, o); err != nil {
			return fmt.Errorf("warm up %s: %w", t.Name, err)
		}
	}
	return nil
}
