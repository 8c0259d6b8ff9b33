package zabtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/zabkafka/zabkafka/zab"
)

// TestScripts runs testdata/*.txt. Commands:
//
//	cluster voters=N [observers=N] [snap-every=N] [max-diff=N] [seed=N]
//	start ID...            start or restart servers from their disks
//	crash ID...            stop servers; unsynced writes are lost
//	tick [N] [msgs]        advance N ticks (default 1); msgs also prints deliveries (not pings)
//	stabilize [max=N] [msgs]  tick until every running server is serving and caught up
//	propose ID DATA...     write through server ID (leader proposes, learner forwards)
//	partition A B | C D    cut links between the groups (unlisted servers are isolated)
//	heal                   remove partitions
//	status                 one line per server
//	log ID                 the server's disk: hard state, snapshot, entries
//	kv                     each server's applied state
//
// Output is the trace the command produced: the peers' own log lines,
// state changes and applies. Rewrite with -rewrite.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var c *Cluster
		var out strings.Builder
		showMsgs := false
		logf := func(line string) {
			if strings.Contains(line, " deliver ") && (!showMsgs || strings.Contains(line, "PING")) {
				return
			}
			out.WriteString(line)
			out.WriteByte('\n')
		}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			out.Reset()
			showMsgs = td.HasArg("msgs")
			if td.Cmd != "cluster" && c == nil {
				t.Fatalf("%s: no cluster yet", td.Pos)
			}
			ids := func() []uint64 {
				var ids []uint64
				for _, a := range td.CmdArgs {
					if v, err := strconv.ParseUint(a.Key, 10, 64); err == nil {
						ids = append(ids, v)
					}
				}
				return ids
			}
			intArg := func(key string, def int) int {
				if td.HasArg(key) {
					var v int
					td.ScanArgs(t, key, &v)
					return v
				}
				return def
			}
			switch td.Cmd {
			case "cluster":
				o := DefaultOptions()
				o.Voters = intArg("voters", 3)
				o.Observers = intArg("observers", 0)
				o.SnapEvery = intArg("snap-every", 0)
				o.MaxDiffEntries = intArg("max-diff", o.MaxDiffEntries)
				o.Seed = int64(intArg("seed", 1))
				o.Logf = logf
				c = NewCluster(o)
				return fmt.Sprintf("voters %v observers %d\n", c.ids[:o.Voters], o.Observers)
			case "start", "restart":
				for _, id := range ids() {
					if err := c.Start(id); err != nil {
						fmt.Fprintf(&out, "error: %v\n", err)
					}
				}
			case "crash":
				for _, id := range ids() {
					if err := c.Crash(id); err != nil {
						fmt.Fprintf(&out, "error: %v\n", err)
					}
				}
			case "tick":
				n := 1
				if len(td.CmdArgs) > 0 {
					if v, err := strconv.Atoi(td.CmdArgs[0].Key); err == nil {
						n = v
					}
				}
				for range n {
					c.Tick()
				}
			case "stabilize":
				max := intArg("max", 300)
				for i := 0; i < max && !c.stable(); i++ {
					c.Tick()
				}
				if !c.stable() {
					fmt.Fprintf(&out, "not stable after %d ticks\n", max)
				}
			case "propose":
				id, err := strconv.ParseUint(td.CmdArgs[0].Key, 10, 64)
				if err != nil {
					t.Fatalf("%s: propose ID DATA...", td.Pos)
				}
				for _, a := range td.CmdArgs[1:] {
					data := a.Key
					if len(a.Vals) > 0 {
						data += "=" + a.Vals[0]
					}
					if err := c.Propose(id, data); err != nil {
						fmt.Fprintf(&out, "propose %s at %d: %v\n", data, id, err)
					}
				}
			case "partition":
				var groups [][]uint64
				var cur []uint64
				for _, a := range td.CmdArgs {
					if a.Key == "|" {
						groups = append(groups, cur)
						cur = nil
						continue
					}
					v, err := strconv.ParseUint(a.Key, 10, 64)
					if err != nil {
						t.Fatalf("%s: partition takes ids and |", td.Pos)
					}
					cur = append(cur, v)
				}
				c.Partition(append(groups, cur)...)
			case "heal":
				c.Heal()
			case "status":
				for _, id := range c.ids {
					out.WriteString(c.statusLine(id) + "\n")
				}
			case "log":
				for _, id := range ids() {
					d := c.nodes[id].Disk
					fmt.Fprintf(&out, "%d: accepted=%d current=%d snapshot=%s entries=[", id, d.HS.AcceptedEpoch,
						d.HS.CurrentEpoch, zab.FormatZxid(d.SnapshotZxid()))
					for i, e := range d.Ents {
						if i > 0 {
							out.WriteByte(' ')
						}
						fmt.Fprintf(&out, "%s:%s", zab.FormatZxid(e.Zxid), e.Data)
					}
					out.WriteString("]\n")
				}
			case "kv":
				for _, id := range c.ids {
					n := c.nodes[id]
					if !n.Running {
						fmt.Fprintf(&out, "%d: down\n", id)
						continue
					}
					fmt.Fprintf(&out, "%d: applied=%s txns=%d digest=%016x %s\n", id, zab.FormatZxid(n.KV.Applied),
						n.KV.Count, n.KV.Digest, kvString(n.KV))
				}
			default:
				t.Fatalf("%s: unknown command %q", td.Pos, td.Cmd)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("%s: invariant violated: %v", td.Pos, err)
			}
			return out.String()
		})
	})
}

func kvString(kv *KV) string {
	b := kv.Snapshot()[24:]
	return "{" + strings.TrimSuffix(strings.ReplaceAll(string(b), "\x00", " "), " ") + "}"
}

func (c *Cluster) statusLine(id uint64) string {
	n := c.nodes[id]
	if !n.Running {
		return fmt.Sprintf("%d down", id)
	}
	st := n.Peer.Status()
	s := st.String()
	if st.State == zab.Looking {
		s += fmt.Sprintf(" vote=%d round=%d", st.Vote.Leader, st.Round)
	}
	if st.State == zab.Leading {
		var ls []string
		for _, l := range st.Learners {
			kind := "F"
			if l.Observer {
				kind = "O"
			}
			ls = append(ls, fmt.Sprintf("%d%s:%s", l.ID, kind, l.Stage))
		}
		s += " learners=[" + strings.Join(ls, " ") + "]"
	}
	return s
}

// stable: every running server is serving, nothing is uncommitted, and
// only pings are in flight.
func (c *Cluster) stable() bool {
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.Running {
			continue
		}
		st := n.Peer.Status()
		if !st.Serving || st.LastZxid != st.CommitZxid || n.busyNow() || len(n.pipe) > 0 || n.applied != len(c.chk.hist) {
			return false
		}
	}
	for _, q := range c.links {
		for _, f := range q {
			if f.m.Type != zab.Ping {
				return false
			}
		}
	}
	return true
}
