// Command zkensemble compares a zkd ensemble with an Apache ZooKeeper ensemble on this
// machine: throughput and latency of the same zkload workloads with the client sessions
// spread over the members, and leader failover time, from kill -9 of the leader until a write
// through a client on a surviving member succeeds. Both ensembles run in the same run with
// the same tickTime, initLimit and syncLimit, forceSync=yes, and the report gives the
// zkd/Apache ratios.
//
//	go run ./bench/zkensemble                                  # 3 members each, read/write/mixed, 5 failovers
//	go run ./bench/zkensemble -apache-only -failovers 10
//	go run ./bench/zkensemble -workloads write -sessions 64 -duration 10s -failovers 0
//
// Everything shares the machine's cores with the load generator, so absolute figures depend
// on the machine; compare the ratios.
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

	"github.com/zabkafka/zabkafka/bench/zkload/load"
	"github.com/zabkafka/zabkafka/integration/harness"
)

type flags struct {
	members    int
	workloads  string
	rounds     int
	failovers  int
	tickMs     int
	initLimit  int
	syncLimit  int
	forceSync  string
	zkdOnly    bool
	apacheOnly bool
	zkdBin     string
	keep       bool
	jitWarmup  time.Duration
	opts       load.Options
}

func main() {
	var f flags
	flag.IntVar(&f.members, "members", 3, "voters per ensemble")
	flag.StringVar(&f.workloads, "workloads", "read,write,mixed", "comma-separated zkload workloads (read, write, create, mixed or op=weight,...); empty for none")
	flag.IntVar(&f.rounds, "rounds", 1, "times to run each workload on each ensemble")
	flag.IntVar(&f.failovers, "failovers", 5, "leader kills per ensemble for the failover time")
	flag.IntVar(&f.tickMs, "tick", 2000, "zoo.cfg tickTime (ms), both ensembles")
	flag.IntVar(&f.initLimit, "init-limit", 10, "zoo.cfg initLimit (ticks), both ensembles")
	flag.IntVar(&f.syncLimit, "sync-limit", 5, "zoo.cfg syncLimit (ticks), both ensembles")
	flag.StringVar(&f.forceSync, "forcesync", "yes", "zoo.cfg forceSync for both ensembles")
	flag.BoolVar(&f.zkdOnly, "zkd-only", false, "run the zkd ensemble only")
	flag.BoolVar(&f.apacheOnly, "apache-only", false, "run the Apache ZooKeeper ensemble only")
	flag.StringVar(&f.zkdBin, "zkd-bin", "", "prebuilt zkd binary (default: go build ./cmd/zkd)")
	flag.BoolVar(&f.keep, "keep", false, "keep the members' directories (logs, data)")
	flag.DurationVar(&f.jitWarmup, "server-warmup", 5*time.Second, "unmeasured load of every op on each ensemble before the first round (JIT, caches)")
	f.opts.Duration = 8 * time.Second // every workload of both ensembles: keep the whole run short
	f.opts.RegisterFlags(flag.CommandLine)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("zkensemble: ")
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
	var names []string
	for _, w := range strings.Split(f.workloads, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		m, err := load.ParseMix(w)
		if err != nil {
			return err
		}
		mixes = append(mixes, m)
		names = append(names, w)
	}
	work, err := os.MkdirTemp("", "zkensemble-*")
	if err != nil {
		return err
	}
	if f.keep {
		log.Printf("member directories under %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	targets, err := startTargets(ctx, f, work)
	defer stopAll(targets)
	if err != nil {
		return err
	}
	if err := warmUp(ctx, f, targets); err != nil {
		return err
	}
	rep := &report{f: f, targets: targets}
	for round := range f.rounds {
		for wi, mix := range mixes {
			// Alternate which ensemble goes first, so neither always runs on a machine the other
			// has just warmed up or tired out.
			order := targets
			if (round+wi)%2 == 1 {
				order = reversed(targets)
			}
			for _, t := range order {
				r, err := measure(ctx, f, t, mix)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, names[wi], err)
				}
				r.workload, r.round = names[wi], round+1
				log.Printf("round %d %-6s %-6s %8.0f ops/s  p50 %.3f ms  p99 %.3f ms  errors %d  sessions per member %v",
					r.round, r.workload, t.name, r.res.Total.OpsPerSec, r.res.Total.P50Ms, r.res.Total.P99Ms, r.res.Total.Errors, r.spread)
				rep.runs = append(rep.runs, r)
			}
		}
	}
	for i := range f.failovers {
		order := targets
		if i%2 == 1 {
			order = reversed(targets)
		}
		for _, t := range order {
			fo, err := failover(ctx, t)
			if err != nil {
				return fmt.Errorf("%s failover %d: %w", t.name, i+1, err)
			}
			log.Printf("failover %d %-6s leader %d killed: new leader %d after %v, first write after %v",
				i+1, t.name, fo.killed, fo.newLeader, fo.toLeader.Round(time.Millisecond), fo.toWrite.Round(time.Millisecond))
			t.failovers = append(t.failovers, fo)
		}
	}
	fmt.Print(rep.String())
	return ctx.Err()
}

// target is one ensemble under test.
type target struct {
	name      string
	e         *harness.Ensemble
	version   string
	failovers []failoverResult
}

func reversed(ts []*target) []*target {
	out := make([]*target, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}

func stopAll(ts []*target) {
	for _, t := range ts {
		if err := t.e.Close(); err != nil {
			log.Printf("stop %s: %v", t.name, err)
		}
	}
}

// startTargets starts the Apache ensemble, then the zkd one (unless excluded), each ready.
func startTargets(ctx context.Context, f flags, work string) ([]*target, error) {
	cfg := harness.EnsembleConfig{
		Voters:       f.members,
		TickTimeMs:   f.tickMs,
		InitLimit:    f.initLimit,
		SyncLimit:    f.syncLimit,
		ReadyTimeout: 2 * time.Minute,
		Member:       harness.Config{Extra: map[string]string{"forceSync": f.forceSync, "maxClientCnxns": "0"}},
	}
	var kinds []harness.ServerKind
	if !f.zkdOnly {
		k, err := harness.ApacheKind()
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, k)
	}
	if !f.apacheOnly {
		bin := f.zkdBin
		if bin == "" {
			var err error
			if bin, err = harness.BuildZkd(work + "/bin"); err != nil {
				return nil, err
			}
		}
		k, err := harness.ZkdKind(bin)
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, k)
	}
	var targets []*target
	for _, k := range kinds {
		c := cfg
		c.Dir = work + "/" + k.Name
		if err := os.MkdirAll(c.Dir, 0o755); err != nil {
			return targets, err
		}
		start := time.Now()
		e, err := harness.StartEnsemble(ctx, k, c)
		if err != nil {
			return targets, fmt.Errorf("start the %s ensemble: %w", k.Name, err)
		}
		t := &target{name: k.Name, e: e}
		reply, _ := harness.FourLetter(e.Members()[0].Addr(), "srvr", 5*time.Second)
		t.version, _, _ = strings.Cut(reply, "\n")
		log.Printf("%s ensemble of %d ready in %v", k.Name, f.members, time.Since(start).Round(time.Millisecond))
		targets = append(targets, t)
	}
	return targets, nil
}

// warmUp runs every op on each ensemble before measuring, so the JIT has compiled the hot
// paths before the first measured workload.
func warmUp(ctx context.Context, f flags, targets []*target) error {
	if f.jitWarmup <= 0 {
		return nil
	}
	for _, t := range targets {
		o := f.opts
		o.Servers = t.e.Addrs()
		o.Mix = load.Mix{load.OpRead: 50, load.OpWrite: 40, load.OpCreate: 10}
		o.Warmup, o.Duration = 0, f.jitWarmup
		if _, err := load.Run(ctx, o); err != nil {
			return fmt.Errorf("warm up %s: %w", t.name, err)
		}
	}
	return nil
}
