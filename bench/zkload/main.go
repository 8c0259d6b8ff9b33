// Command zkload drives a ZooKeeper-compatible server with go-zookeeper clients and reports
// throughput and latency percentiles.
//
//	zkload -servers 127.0.0.1:2181 -workload mixed -sessions 32 -duration 10s
//	zkload -mix read=70,write=20,create=10 -pipeline 16 -json
//
// Each session is its own connection and keeps -pipeline requests outstanding (1: it waits
// for every reply, as the ZooKeeper paper's latency clients do). Everything lives under a fresh
// -root, deleted at the end; Ctrl-C ends the run early and still cleans up.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zabkafka/zabkafka/bench/zkload/load"
)

func main() {
	var (
		o        load.Options
		servers  = flag.String("servers", "127.0.0.1:2181", "comma-separated host:port list")
		workload = flag.String("workload", "mixed", "read | write | create | mixed (read=90,write=10)")
		mix      = flag.String("mix", "", "op weights instead of -workload, e.g. read=90,write=10 (ops: read, write, create)")
		asJSON   = flag.Bool("json", false, "print one JSON line instead of the text report")
		verbose  = flag.Bool("v", false, "log go-zookeeper client messages to stderr")
	)
	o.RegisterFlags(flag.CommandLine)
	flag.StringVar(&o.Root, "root", "", "znode to work under; must not exist (default /zkload-<random>)")
	flag.Uint64Var(&o.Seed, "seed", 0, "seed for op and key choice (default random)")
	flag.DurationVar(&o.SessionTimeout, "session-timeout", load.DefaultSessionTimeout, "session timeout asked of the server")
	flag.Parse()
	log.SetFlags(0) // load.Run's errors start with "zkload:"

	spec := *workload
	if *mix != "" {
		spec = *mix
	}
	var err error
	if o.Mix, err = load.ParseMix(spec); err != nil {
		log.Fatal("zkload: ", err)
	}
	o.Servers = strings.Split(*servers, ",")
	if *verbose {
		o.Logger = log.New(os.Stderr, "zk: ", log.LstdFlags)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, o)
	if res.Servers != nil {
		if *asJSON {
			line, _ := json.Marshal(res)
			fmt.Println(string(line))
		} else {
			fmt.Print(res.Text())
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}
