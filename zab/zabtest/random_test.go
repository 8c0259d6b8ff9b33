package zabtest

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	flagSeed  = flag.Int64("seed", 1, "first seed of TestRandomSeeds")
	flagSeeds = flag.Int("seeds", 2000, "number of seeds TestRandomSeeds runs (env ZAB_SEEDS overrides)")
)

func seedCount() int {
	if v := os.Getenv("ZAB_SEEDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return *flagSeeds
}

// TestRandomSeeds runs many randomized scenarios. A failure prints the
// command that replays the seed and the end of its trace.
func TestRandomSeeds(t *testing.T) {
	first, n := *flagSeed, seedCount()
	if testing.Short() && n > 200 {
		n = 200
	}
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	var (
		mu      sync.Mutex
		failed  []Result
		commits int
		overlap int
		ticks   int64
		events  int64
		wg      sync.WaitGroup
	)
	next := make(chan int64)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range next {
				r := RunSeed(seed, false)
				mu.Lock()
				commits += r.Commits
				overlap += r.Overlapped
				ticks += r.Ticks
				events += r.Events
				if r.Err != nil {
					failed = append(failed, r)
				}
				mu.Unlock()
			}
		}()
	}
	for s := first; s < first+int64(n); s++ {
		mu.Lock()
		stop := len(failed) >= 3
		mu.Unlock()
		if stop {
			break
		}
		next <- s
	}
	close(next)
	wg.Wait()
	t.Logf("%d seeds from %d in %v: %d ticks, %d deliveries, %d commits, %d Readys taken during another's fsync", n, first,
		time.Since(start).Round(time.Millisecond), ticks, events, commits, overlap)
	if n >= 100 && overlap == 0 {
		t.Errorf("no seed pipelined a Ready behind another's fsync: the pipelined shell went untested")
	}
	for _, f := range failed {
		r := RunSeed(f.Seed, true)
		tail := r.Trace
		if !testing.Verbose() && len(tail) > 150 {
			tail = tail[len(tail)-150:]
		}
		t.Errorf("seed %d: %v\nreplay: go test ./zab/zabtest -run TestRandomSeeds -seed %d -seeds 1 -v\ntrace:\n%s",
			f.Seed, f.Err, f.Seed, strings.Join(tail, "\n"))
	}
}

// TestSameSeedSameTrace: a seed replays exactly.
func TestSameSeedSameTrace(t *testing.T) {
	for _, seed := range []int64{3, 42, 1234} {
		a, b := RunSeed(seed, false), RunSeed(seed, false)
		if a.TraceHash != b.TraceHash || a.Ticks != b.Ticks || a.Commits != b.Commits {
			t.Fatalf("seed %d: runs differ: %x/%d/%d vs %x/%d/%d", seed, a.TraceHash, a.Ticks, a.Commits, b.TraceHash, b.Ticks, b.Commits)
		}
		if c := RunSeed(seed+1, false); c.TraceHash == a.TraceHash {
			t.Fatalf("seeds %d and %d give the same trace", seed, seed+1)
		}
	}
}

func ExampleRunSeed() {
	r := RunSeed(7, false)
	fmt.Println(r.Err)
	// Output: <nil>
}
