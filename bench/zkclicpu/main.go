// Command zkclicpu measures what a one-shot `ls /` costs: the CPU time
// (user + system, from the kernel's accounting of the child process) and
// the wall time of `zkcli -server addr ls /`, start-up included, and the
// same for Debian's zkCli.sh as the reference, in the same run against the
// same zkd.
//
//	go run ./bench/zkclicpu              # 20 runs of zkcli, 5 of zkCli.sh
//	go run ./bench/zkclicpu -n 50 -java 0
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/integration/harness"
)

func main() {
	n := flag.Int("n", 20, "runs of zkcli")
	javaRuns := flag.Int("java", 5, "runs of zkCli.sh (0: skip the reference)")
	flag.Parse()
	work, err := os.MkdirTemp("", "zkclicpu-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	targets, err := servers.Start(context.Background(), servers.Options{Work: work, ZkdOnly: true})
	defer servers.StopAll(targets)
	if err != nil {
		log.Fatal(err)
	}
	addr := targets[0].Srv.Addr()
	zkcli, err := harness.BuildZkcli(filepath.Join(work, "bin"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("machine: %s\none-shot `ls /` against zkd at %s\n\n", servers.Machine(), addr)
	fmt.Printf("%-10s %5s %12s %12s %12s\n", "client", "runs", "cpu median", "cpu max", "wall median")
	ours := measure("zkcli", *n, zkcli, "-server", addr, "ls", "/")
	if *javaRuns > 0 {
		cli, err := harness.ZkCliPath()
		if err != nil {
			log.Printf("no zkCli.sh reference: %v", err)
			return
		}
		ref := measure("zkCli.sh", *javaRuns, cli, "-server", addr, "ls", "/")
		fmt.Printf("\nzkcli uses %.3fx the CPU of zkCli.sh and %.3fx its wall time\n",
			float64(ours.cpu)/float64(ref.cpu), float64(ours.wall)/float64(ref.wall))
	}
}

type result struct{ cpu, wall time.Duration }

// measure runs argv n times and prints the median and worst CPU time and
// the median wall time.
func measure(name string, n int, argv ...string) result {
	var cpus, walls []time.Duration
	for range n {
		cmd := exec.Command(argv[0], argv[1:]...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall := time.Since(start)
		if err != nil {
			log.Fatalf("%s: %v\n%s", name, err, out)
		}
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		walls = append(walls, wall)
	}
	slices.Sort(cpus)
	slices.Sort(walls)
	r := result{cpu: cpus[n/2], wall: walls[n/2]}
	fmt.Printf("%-10s %5d %12v %12v %12v\n", name, n, r.cpu.Round(time.Millisecond/10),
		cpus[n-1].Round(time.Millisecond/10), r.wall.Round(time.Millisecond/10))
	return r
}
