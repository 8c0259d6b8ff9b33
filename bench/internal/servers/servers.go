// Package servers starts the servers the bench tools compare, Apache ZooKeeper from Debian and
// zkd built from this module, each standalone on loopback in its own directory (through
// integration/harness), and reads what the tools measure about a server process from /proc.
package servers

import (
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// Options choose the servers and how they run.
type Options struct {
	// Work is the parent directory: each server runs in Work/<name>, a built zkd goes to
	// Work/bin.
	Work       string
	ZkdOnly    bool
	ApacheOnly bool
	// ZkdBin is a prebuilt zkd; empty means go build ./cmd/zkd (the working tree).
	ZkdBin string
	// Null adds bench/zknull, a server that answers without doing anything, as a third
	// target named "null": the ceiling any server reaches with this load generator here.
	Null bool
	// Config is the template for both servers (zoo.cfg Extra keys, JVMFlags, timeouts); Dir is
	// set per server.
	Config harness.Config
	// Configure, when set, adjusts each server's copy of Config (Dir is already set, Extra
	// is its own map) before the server starts.
	Configure func(name string, c *harness.Config) error
}

// Target is one server under test.
type Target struct {
	Name    string // "apache", "zkd" or "null"
	Srv     *harness.Server
	Version string // first line of srvr
}

// Start starts Apache ZooKeeper and then zkd (unless excluded), each once it serves. On error
// it returns the targets started so far, which the caller stops.
func Start(ctx context.Context, o Options) ([]*Target, error) {
	if o.ZkdOnly && o.ApacheOnly {
		return nil, fmt.Errorf("-zkd-only and -apache-only exclude each other")
	}
	cfg := func(name string) (harness.Config, error) {
		c := o.Config
		c.Dir = filepath.Join(o.Work, name)
		c.Extra = maps.Clone(o.Config.Extra)
		if c.Extra == nil {
			c.Extra = map[string]string{}
		}
		c.JVMFlags = append([]string(nil), o.Config.JVMFlags...)
		if o.Configure != nil {
			if err := os.MkdirAll(c.Dir, 0o755); err != nil {
				return c, err
			}
			if err := o.Configure(name, &c); err != nil {
				return c, fmt.Errorf("configure %s: %w", name, err)
			}
		}
		return c, nil
	}
	var targets []*Target
	// startZkdLike starts bin with zkd's command line (zknull takes it too).
	startZkdLike := func(name, bin string) error {
		c, err := cfg(name)
		if err != nil {
			return err
		}
		s, err := harness.StartZkd(ctx, bin, c)
		if err != nil {
			return err
		}
		targets = append(targets, &Target{Name: name, Srv: s})
		return nil
	}
	if !o.ZkdOnly {
		c, err := cfg("apache")
		if err != nil {
			return targets, err
		}
		s, err := harness.StartApacheZK(ctx, c)
		if err != nil {
			return targets, err
		}
		targets = append(targets, &Target{Name: "apache", Srv: s})
	}
	if !o.ApacheOnly {
		bin := o.ZkdBin
		if bin == "" {
			var err error
			if bin, err = harness.BuildZkd(filepath.Join(o.Work, "bin")); err != nil {
				return targets, err
			}
		}
		if err := startZkdLike("zkd", bin); err != nil {
			return targets, err
		}
	}
	if o.Null {
		bin, err := harness.BuildZknull(filepath.Join(o.Work, "bin"))
		if err != nil {
			return targets, err
		}
		if err := startZkdLike("null", bin); err != nil {
			return targets, err
		}
	}
	for _, t := range targets {
		reply, _ := harness.FourLetter(t.Srv.Addr(), "srvr", 5*time.Second)
		t.Version, _, _ = strings.Cut(reply, "\n")
	}
	return targets, nil
}

// StopAll stops every target's current process (SIGTERM, then SIGKILL after the configured
// stop timeout) and logs what did not stop cleanly.
func StopAll(targets []*Target) {
	for _, t := range targets {
		if t == nil || t.Srv == nil {
			continue
		}
		if err := t.Srv.Stop(); err != nil {
			log.Printf("stop %s: %v", t.Name, err)
		}
	}
}

// Reversed returns the targets in the opposite order.
func Reversed(ts []*Target) []*Target {
	out := make([]*Target, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}

// Machine describes this machine for a report.
func Machine() string {
	return fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s/%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
}
