package load

import (
	"flag"
	"time"
)

// RegisterFlags registers on fs the flags that shape the load, shared by the
// command-line tools (zkload, zkcompare, zkensemble) so they read alike:
// -sessions, -pipeline, -rate, -duration, -warmup, -size and -nodes. A field
// already set in o is that flag's default; a zero one takes the package
// default.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	orInt := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	orDur := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	fs.IntVar(&o.Sessions, "sessions", orInt(o.Sessions, DefaultSessions), "client sessions, each its own connection")
	fs.IntVar(&o.Pipeline, "pipeline", orInt(o.Pipeline, 1), "outstanding requests per session")
	fs.IntVar(&o.Rate, "rate", o.Rate, "total ops/s across sessions (0: unlimited); compare latency at equal load")
	fs.DurationVar(&o.Duration, "duration", orDur(o.Duration, DefaultDuration), "measured time per run")
	fs.DurationVar(&o.Warmup, "warmup", orDur(o.Warmup, DefaultWarmup), "unmeasured load before the measured time")
	fs.IntVar(&o.Size, "size", orInt(o.Size, 100), "bytes of data per written or created node")
	fs.IntVar(&o.Nodes, "nodes", orInt(o.Nodes, 1000), "keys created before the run for reads and writes")
}
