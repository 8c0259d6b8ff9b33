// Package load is the core of the zkload generator: sessions of go-zookeeper clients sending
// reads, writes and creates against a ZooKeeper-compatible server, with latency histograms.
// bench/zkload is its command line; bench/zkcompare calls Run in-process.
package load

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Defaults for the zero Options fields; the zkload flags use them too.
const (
	DefaultSessions       = 32
	DefaultDuration       = 10 * time.Second
	DefaultSessionTimeout = 10 * time.Second
	// DefaultWarmup is what the command-line tools use; a zero Options.Warmup means none.
	DefaultWarmup = 2 * time.Second
)

// Options describe one run. Zero fields take the defaults noted.
type Options struct {
	// Servers are host:port addresses; each session picks one at random (go-zookeeper shuffles).
	Servers []string
	// Sessions is the number of client sessions, each its own zk.Conn and TCP connection (32).
	Sessions int
	// Pipeline is the number of requests each session keeps outstanding (1). With 1 a session
	// waits for each reply before the next request, like the clients in the ZooKeeper paper's
	// latency runs; more drives a server towards saturation.
	Pipeline int
	// Rate caps the total request rate in ops/s across all sessions (0: as fast as the
	// server answers). Each worker paces itself to Rate/(Sessions*Pipeline); comparing two
	// servers at the same rate compares their latency at equal load, which a saturating run
	// on a machine shared with the load generator cannot.
	Rate int
	// Warmup runs the load without measuring it first, so the JVM's JIT and the server's caches
	// settle (0: none).
	Warmup time.Duration
	// Duration is the measured time (10s).
	Duration time.Duration
	// Mix weighs reads, writes and creates (read=90,write=10).
	Mix Mix
	// Size is the data length of written and created nodes, in bytes (100).
	Size int
	// Nodes is the number of keys created before the run for reads and writes (1000).
	Nodes int
	// Root is the znode everything lives under (/zkload-<random>). It must not exist; it is
	// deleted with everything below it at the end.
	Root string
	// SessionTimeout is asked of the server at connect (10s).
	SessionTimeout time.Duration
	// Seed makes the op and key choices repeatable (0: random).
	Seed uint64
	// Window, when set, is called as the measured window opens (true) and closes (false),
	// so a caller can sample the server's resource use over exactly that window.
	Window func(open bool)
	// Logger receives go-zookeeper's messages (nil: dropped).
	Logger zk.Logger
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Servers) == 0 {
		return o, errors.New("no servers")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Sessions, DefaultSessions)
	def(&o.Pipeline, 1)
	def(&o.Size, 100)
	def(&o.Nodes, 1000)
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	if o.Mix.total() == 0 {
		o.Mix = workloads["mixed"]
	}
	if o.Root == "" {
		o.Root = "/zkload-" + randomHex(4)
	}
	if o.Seed == 0 {
		o.Seed = randomUint64()
	}
	if o.Logger == nil {
		o.Logger = discard{}
	}
	switch {
	case o.Sessions < 0 || o.Pipeline < 0 || o.Size < 0 || o.Nodes < 0:
		return o, fmt.Errorf("negative sessions, pipeline, size or nodes")
	case o.Duration < 0 || o.Warmup < 0:
		return o, fmt.Errorf("negative duration or warm-up")
	case !strings.HasPrefix(o.Root, "/") || strings.HasSuffix(o.Root, "/") || o.Root == "/zookeeper":
		return o, fmt.Errorf("root %q: want an absolute path below /", o.Root)
	case (o.Mix[OpRead] > 0 || o.Mix[OpWrite] > 0) && o.Nodes == 0:
		return o, fmt.Errorf("reads and writes need nodes > 0")
	}
	return o, nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUint64() uint64 {
	b := make([]byte, 8)
	rand.Read(b)
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v | 1
}
