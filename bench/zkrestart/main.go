// Command zkrestart measures how zkd and Apache ZooKeeper come back after a crash with a large
// data tree, in the same run. For each standalone server it creates -nodes znodes of -size bytes
// (pipelined creates over several sessions), kills the server with SIGKILL (-stop term: SIGTERM,
// a clean stop), starts it again on the same directory and times how long it takes until a
// client reads back the last znode created, with the right data. Then it checks the number of
// znodes and the data of a sample of them, and reports the size of the data directory on disk and
// the server's resident memory. -rounds repeats kill and restart on the same data.
//
//	go run ./bench/zkrestart                          # 1,000,000 znodes x 100 bytes, 3 rounds
//	go run ./bench/zkrestart -nodes 20000 -rounds 2
//	go run ./bench/zkrestart -apache-only -stop term
//
// Both servers run with forceSync=yes and the same snapCount. A server that comes back without
// its data is reported as DATA NOT RECOVERED and the command exits with status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/integration/harness"
)

type flags struct {
	nodes, size, parents int
	sessions, pipeline   int
	rounds, snapCount    int
	stop                 string
	zkdOnly, apacheOnly  bool
	zkdBin               string
	keep                 bool
	jvmFlags             string
	separateLog          bool
	sync                 bool
	verify               int
	poll, grace, settle  time.Duration
	restartTimeout       time.Duration
	populateTimeout      time.Duration
}

func main() {
	var f flags
	flag.IntVar(&f.nodes, "nodes", 1_000_000, "znodes to create (besides the parents)")
	flag.IntVar(&f.size, "size", 100, "bytes of data per znode")
	flag.IntVar(&f.parents, "parents", 100, "parent znodes the nodes are spread over (/restart/p00, ...)")
	flag.IntVar(&f.sessions, "sessions", 8, "client sessions creating the nodes")
	flag.IntVar(&f.pipeline, "pipeline", 64, "outstanding creates per session")
	flag.IntVar(&f.rounds, "rounds", 3, "stop + restart measurements per server, on the same data")
	flag.IntVar(&f.snapCount, "snapcount", 100000, "zoo.cfg snapCount for both servers")
	flag.StringVar(&f.stop, "stop", "kill", "how to stop the server before each restart: kill (SIGKILL, a crash) or term (SIGTERM)")
	flag.BoolVar(&f.zkdOnly, "zkd-only", false, "run zkd only")
	flag.BoolVar(&f.apacheOnly, "apache-only", false, "run Apache ZooKeeper only")
	flag.StringVar(&f.zkdBin, "zkd-bin", "", "prebuilt zkd binary (default: go build ./cmd/zkd)")
	flag.BoolVar(&f.keep, "keep", false, "keep the servers' directories (logs, data)")
	flag.StringVar(&f.jvmFlags, "jvm-flags", "-Xmx6g", "extra java flags for Apache ZooKeeper (space-separated, after the harness's -Xmx1000m)")
	flag.BoolVar(&f.separateLog, "separate-log", false, "give both servers a dataLogDir separate from dataDir")
	flag.BoolVar(&f.sync, "sync", true, "sync(2) before each stop, so a restart does not wait for writeback of earlier writes")
	flag.IntVar(&f.verify, "verify", 1000, "random znodes whose data is checked after each restart")
	flag.DurationVar(&f.poll, "poll", 10*time.Millisecond, "interval between read-back attempts during a restart")
	flag.DurationVar(&f.grace, "missing-grace", 5*time.Second, "how long a serving server may answer NONODE for the last znode before it counts as lost")
	flag.DurationVar(&f.settle, "settle", 5*time.Second, "wait after a restart (and after populating) before the second RSS sample and the disk size")
	flag.DurationVar(&f.restartTimeout, "restart-timeout", 10*time.Minute, "deadline for a restart to read back the last znode")
	flag.DurationVar(&f.populateTimeout, "populate-timeout", 30*time.Minute, "deadline for creating the znodes")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("zkrestart: ")
	if err := f.check(); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, f)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func (f flags) check() error {
	switch {
	case f.zkdOnly && f.apacheOnly:
		return errors.New("-zkd-only and -apache-only exclude each other")
	case f.nodes < 1:
		return errors.New("-nodes must be at least 1")
	case f.size < 0:
		return errors.New("-size must not be negative")
	case f.parents < 1:
		return errors.New("-parents must be at least 1")
	case f.sessions < 1 || f.pipeline < 1:
		return errors.New("-sessions and -pipeline must be at least 1")
	case f.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case f.snapCount < 2:
		return errors.New("-snapcount must be at least 2")
	case f.stop != "kill" && f.stop != "term":
		return fmt.Errorf("-stop %q: want kill or term", f.stop)
	case f.poll <= 0:
		return errors.New("-poll must be positive")
	}
	return nil
}

// errDataLost is returned after the report when a restart did not bring the data back.
var errDataLost = errors.New("data not recovered after restart (see the report)")

func run(ctx context.Context, f flags) error {
	work, err := os.MkdirTemp("", "zkrestart-*")
	if err != nil {
		return err
	}
	if f.keep {
		log.Printf("server directories under %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	lay := newLayout(f)

	cfg := harness.Config{
		Extra: map[string]string{
			"forceSync": "yes",
			"snapCount": strconv.Itoa(f.snapCount),
		},
		JVMFlags: strings.Fields(f.jvmFlags),
		// A restart with a big tree takes long; the harness's default is 20s.
		StartTimeout: f.restartTimeout,
		StopTimeout:  2 * time.Minute,
	}
	// Both read snapCount from zoo.cfg (Apache turns unknown keys into zookeeper.* system
	// properties); the property is passed too so it holds whatever the parser does.
	cfg.JVMFlags = append([]string{"-Dzookeeper.snapCount=" + strconv.Itoa(f.snapCount)}, cfg.JVMFlags...)
	targets, err := servers.Start(ctx, servers.Options{
		Work: work, ZkdOnly: f.zkdOnly, ApacheOnly: f.apacheOnly, ZkdBin: f.zkdBin, Config: cfg,
		Configure: func(name string, c *harness.Config) error {
			if !f.separateLog {
				return nil
			}
			dir := filepath.Join(c.Dir, "datalog")
			c.Extra["dataLogDir"] = dir
			return os.MkdirAll(dir, 0o755)
		},
	})
	defer servers.StopAll(targets)
	if err != nil {
		return err
	}
	for _, t := range targets {
		log.Printf("%s: %s, pid %d, %s", t.Name, t.Version, t.Srv.PID(), t.Srv.Addr())
	}

	results := make([]*serverResult, len(targets))
	for i, t := range targets {
		r := &serverResult{target: t, command: serverCommand(t.Srv.LogPath())}
		results[i] = r
		if r.pop, err = populateAndMeasure(ctx, f, lay, t); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %w\n--- last lines of %s ---\n%s", t.Name, err, t.Srv.LogPath(), t.Srv.LogTail(20))
		}
	}
	byName := map[*servers.Target]*serverResult{}
	for _, r := range results {
		byName[r.target] = r
	}
	for round := 1; round <= f.rounds && ctx.Err() == nil; round++ {
		// Alternate which server restarts first, so neither always follows the other's
		// restart (page cache, CPU frequency).
		order := targets
		if round%2 == 0 {
			order = servers.Reversed(targets)
		}
		for _, t := range order {
			r := byName[t]
			rr, err := restartOnce(ctx, f, lay, t, r.pop)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%s round %d: %w\n--- last lines of %s ---\n%s", t.Name, round, err, t.Srv.LogPath(), t.Srv.LogTail(20))
			}
			rr.round = round
			r.rounds = append(r.rounds, rr)
			log.Print(rr.logLine(t.Name))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Print(report(f, lay, results))
	for _, r := range results {
		if r.lost() {
			return errDataLost
		}
	}
	return nil
}

// serverResult is everything measured on one server.
type serverResult struct {
	target  *servers.Target
	command string // the server's command line, from the harness's header in its log
	pop     populateResult
	rounds  []roundResult
}

func (r *serverResult) lost() bool {
	for _, rr := range r.rounds {
		if !rr.recovered() {
			return true
		}
	}
	return false
}
