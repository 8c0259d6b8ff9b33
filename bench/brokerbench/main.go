// Command brokerbench measures brokerd's produce and consume throughput with
// the franz-go client, next to two references measured in the same run:
// appending the same bytes to a file on the same disk, and franz-go's kfake
// (an in-memory Kafka), plus the produce ceiling: a null broker that keeps
// nothing (nullbroker.go).
//
//	go run ./bench/brokerbench                      # 100-byte and 1 KiB records, one partition
//	go run ./bench/brokerbench -records 500000 -sizes 100
//
// brokerd runs as its own process in dev mode (embedded zkd), built from
// this working tree unless -brokerd-bin names one; its log directory and the
// raw-append file are both under -work. Everything shares this machine's
// cores with the client, so the absolute figures depend on the machine; the
// ratios are the result.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	sizes      []int
	records    int64 // for 100-byte records; larger records scale down to the same bytes
	rounds     int
	work       string
	keep       bool
	brokerdBin string
	skipKfake  bool
	skipNull   bool
	// kfakeInProcess runs kfake inside the benchmark process, as the
	// client's own goroutines; by default it runs in a child process, as
	// brokerd does.
	kfakeInProcess bool
	linger         time.Duration
	pprof          string
}

func main() {
	if maybeServeChild() {
		return
	}
	log.SetFlags(0)
	var o options
	sizes := flag.String("sizes", "100,1024", "record value sizes in bytes")
	flag.Int64Var(&o.records, "records", 2_000_000, "records per run for 100-byte values (others get the same number of bytes, at least 100,000 records)")
	flag.IntVar(&o.rounds, "rounds", 1, "runs per size and target")
	flag.StringVar(&o.work, "work", "", "work directory on the disk to measure (default: a new directory under ./data)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.brokerdBin, "brokerd-bin", "", "prebuilt brokerd (default: go build ./cmd/brokerd)")
	flag.BoolVar(&o.skipKfake, "skip-kfake", false, "do not run the kfake reference")
	flag.BoolVar(&o.skipNull, "skip-null", false, "do not run the null broker (a broker that keeps nothing: the produce ceiling with this client here)")
	flag.BoolVar(&o.kfakeInProcess, "kfake-in-process", false, "run kfake in the benchmark's own process (default: a child process, as brokerd runs)")
	flag.DurationVar(&o.linger, "linger", 5*time.Millisecond, "producer linger (kgo.ProducerLinger)")
	flag.StringVar(&o.pprof, "brokerd-pprof", "", "serve brokerd's net/http/pprof on this address, for profiling a run")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			log.Fatalf("-sizes: bad size %q", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	if o.work == "" {
		if err := os.MkdirAll("data", 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("data", "brokerbench-*")
		if err != nil {
			return err
		}
		o.work = dir
	}
	work, err := filepath.Abs(o.work)
	if err != nil {
		return err
	}
	o.work = work
	if !o.keep {
		defer os.RemoveAll(o.work)
	}
	ctx := context.Background()
	b, err := startBrokerd(ctx, o)
	if err != nil {
		return err
	}
	defer b.Stop()
	log.Printf("brokerd %s, work dir %s", b.Addr(), o.work)

	var rows []row
	for _, size := range o.sizes {
		n := recordsFor(o.records, size)
		for round := 1; round <= o.rounds; round++ {
			topic := fmt.Sprintf("bench-%d-%d", size, round)
			r := row{size: size, records: n}
			// Each write phase starts with no dirty pages, so neither pays
			// for the other's writeback.
			syscall.Sync()
			if r.brokerd, err = benchBrokerd(ctx, b, topic, size, n, o); err != nil {
				return fmt.Errorf("brokerd, %d-byte records: %w", size, err)
			}
			syscall.Sync()
			if r.raw, err = rawAppend(o.work, r.brokerd.logBytes, r.brokerd.avgBatch); err != nil {
				return fmt.Errorf("raw append: %w", err)
			}
			if !o.skipKfake {
				if r.kfake, err = benchKfake(ctx, topic, size, n, o); err != nil {
					return fmt.Errorf("kfake, %d-byte records: %w", size, err)
				}
			}
			if !o.skipNull {
				if r.null, err = benchNull(ctx, topic, size, n, o); err != nil {
					return fmt.Errorf("null broker, %d-byte records: %w", size, err)
				}
			}
			log.Printf("%d-byte records, round %d: brokerd produce %.0f rec/s, consume %.0f rec/s; kfake %.0f / %.0f", size, round,
				perSec(n, r.brokerd.produce), perSec(n, r.brokerd.consume), perSec(n, r.kfake.produce), perSec(n, r.kfake.consume))
			rows = append(rows, r)
		}
	}
	printReport(os.Stdout, rows, o)
	return nil
}

// recordsFor keeps the bytes per run constant across sizes.
func recordsFor(records100 int64, size int) int64 {
	n := records100 * 100 / int64(size)
	return max(n, 100_000)
}
