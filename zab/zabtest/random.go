package zabtest

import (
	"fmt"
	"math/rand"

	"github.com/zabkafka/zabkafka/zab"
)

// Result is the outcome of one randomized run.
type Result struct {
	Seed      int64
	Err       error
	TraceHash uint64
	Ticks     int64
	Events    int64
	Commits   int
	// Overlapped counts Readys a pipelining shell took while an earlier
	// one's fsync was under way.
	Overlapped int
	Trace      []string // with keepTrace
	Summary    string
}

// Bounds of a randomized run.
const (
	faultTicks    = 600
	livenessTicks = 400
)

// RunSeed runs one randomized scenario: a cluster of 3 or 5 voters and up
// to 2 observers under a random client load and random faults (crashes
// that lose unsynced writes, restarts, partitions, clogged links, lost
// messages, link resets, slow fsyncs) for faultTicks, then heals every
// fault and requires liveness: within livenessTicks a leader is
// established, a new txn commits and every server applies the whole
// history with the same digest. Invariants are checked after every event.
func RunSeed(seed int64, keepTrace bool) Result {
	o := DefaultOptions()
	o.Seed = seed
	o.KeepTrace = keepTrace
	r := rand.New(rand.NewSource(seed)) // every choice below follows from seed
	o.Voters = []int{3, 3, 5}[r.Intn(3)]
	o.Observers = r.Intn(3)
	o.MaxDelay = 1 + r.Intn(3)
	o.SnapEvery = []int{0, 4, 10}[r.Intn(3)]
	o.MaxDiffEntries = []int{3, 20, 1000}[r.Intn(3)]
	o.FinalizeWaitTicks = r.Intn(3)
	o.Pipeline = r.Intn(2) == 0
	o.Seed = r.Int63()
	c := NewCluster(o)
	r = c.Rand()
	c.LossRate = []float64{0, 0, 0.005, 0.02}[r.Intn(4)]
	c.SlowDiskRate = []float64{0, 0.1, 0.3}[r.Intn(3)]
	c.event("scenario voters=%d observers=%d delay=%d..%d snapEvery=%d maxDiff=%d finalize=%d loss=%v slowDisk=%v pipeline=%v",
		o.Voters, o.Observers, o.MinDelay, o.MaxDelay, o.SnapEvery, o.MaxDiffEntries, o.FinalizeWaitTicks, c.LossRate, c.SlowDiskRate, o.Pipeline)

	res := Result{Seed: seed}
	finish := func() Result {
		res.Err = c.Err()
		res.TraceHash = c.TraceHash()
		res.Ticks = c.Now
		res.Events = c.events
		res.Commits, _ = c.Committed()
		res.Overlapped = c.Overlapped
		res.Trace = c.Trace()
		return res
	}
	for _, i := range r.Perm(len(c.ids)) {
		_ = c.Start(c.ids[i])
		for range r.Intn(4) {
			c.Tick()
		}
	}

	key := 0
	for c.Now < faultTicks && c.Err() == nil {
		c.Tick()
		ids := c.ids
		pick := func() uint64 { return ids[r.Intn(len(ids))] }
		if r.Float64() < 0.4 {
			key++
			_ = c.Propose(pick(), fmt.Sprintf("k%d=v%d", r.Intn(8), key))
		}
		switch x := r.Float64(); {
		case x < 0.012:
			_ = c.Crash(pick())
		case x < 0.04:
			_ = c.Start(pick())
		case x < 0.048:
			perm := r.Perm(len(ids))
			cut := 1 + r.Intn(len(ids)-1)
			var a, b []uint64
			for j, p := range perm {
				if j < cut {
					a = append(a, ids[p])
				} else {
					b = append(b, ids[p])
				}
			}
			c.Partition(a, b)
		case x < 0.06:
			c.Heal()
		case x < 0.066:
			c.Clog(pick(), pick())
		case x < 0.072:
			c.ResetLink(pick(), pick())
		case x < 0.08:
			_ = c.Sync(pick(), uint64(key))
		}
	}
	if c.Err() != nil {
		return finish()
	}

	// Heal everything and require progress.
	c.event("healing all faults")
	c.Heal()
	c.LossRate = 0
	c.SlowDiskRate = 0
	// Half the runs keep a minority of voters crashed: the others must
	// make progress without them, as the survivors of a crashed leader
	// must elect among themselves.
	down := map[uint64]bool{}
	if r.Intn(2) == 0 {
		var voters []uint64
		for _, id := range c.ids {
			if !c.nodes[id].Observer {
				voters = append(voters, id)
			}
		}
		k := 1 + r.Intn((len(voters)-1)/2)
		for _, i := range r.Perm(len(voters))[:k] {
			down[voters[i]] = true
			if c.nodes[voters[i]].Running {
				_ = c.Crash(voters[i])
			}
		}
		c.event("keeping %d voters down", k)
	}
	for _, id := range c.ids {
		if !c.nodes[id].Running && !down[id] {
			_ = c.Start(id)
		}
	}
	healedAt := c.Now
	marker := fmt.Sprintf("final=%d", seed)
	proposedIn := map[uint32]bool{}
	for c.Err() == nil {
		if c.Now-healedAt > livenessTicks {
			st := ""
			for _, id := range c.ids {
				if !down[id] {
					st += "\n  " + c.nodes[id].Peer.Status().String()
				}
			}
			c.fail("liveness: no convergence within %d ticks of healing:%s", livenessTicks, st)
			break
		}
		c.Tick()
		if l, ok := c.Leader(); ok {
			st := c.nodes[l].Peer.Status()
			if !proposedIn[st.Epoch] && !c.nodes[l].busyNow() {
				if err := c.Propose(l, marker); err == nil {
					proposedIn[st.Epoch] = true
				}
			}
		}
		if c.converged(marker, down) {
			break
		}
	}
	if c.Err() == nil {
		c.checkReplicasEqual(down)
	}
	res.Summary = fmt.Sprintf("voters=%d observers=%d commits=%d healed-in=%d", o.Voters, o.Observers,
		len(c.chk.hist), c.Now-healedAt)
	return finish()
}

// converged: the marker is committed and every server not kept down
// applied the whole history, with nothing queued and no outstanding
// proposals.
func (c *Cluster) converged(marker string, down map[uint64]bool) bool {
	found := false
	for i := len(c.chk.hist) - 1; i >= 0 && !found; i-- {
		found = c.chk.hist[i].data == marker
	}
	if !found {
		return false
	}
	for _, id := range c.ids {
		n := c.nodes[id]
		if down[id] {
			continue
		}
		if !n.Running || n.applied != len(c.chk.hist) || !n.Peer.Status().Serving {
			return false
		}
		if st := n.Peer.Status(); st.LastZxid != st.CommitZxid {
			return false
		}
	}
	return true
}

func (c *Cluster) checkReplicasEqual(down map[uint64]bool) {
	var ref *Node
	for _, id := range c.ids {
		n := c.nodes[id]
		if down[id] {
			continue
		}
		if ref == nil {
			ref = n
			continue
		}
		if n.KV.Digest != ref.KV.Digest || n.KV.StateDigest() != ref.KV.StateDigest() {
			c.fail("servers %d and %d differ after convergence", ref.ID, n.ID)
		}
	}
	for _, id := range c.ids {
		if down[id] {
			continue
		}
		if st := c.nodes[id].Peer.Status(); st.State == zab.Looking {
			c.fail("server %d still LOOKING after convergence", id)
		}
	}
}
