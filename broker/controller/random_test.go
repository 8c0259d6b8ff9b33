package controller

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// TestRandomBrokerChurn starts and stops brokers (the controller among
// them) in a random order, lets leaders re-admit live replicas with
// AlterPartition and moves leadership with controlled shutdowns, and after
// each step checks that the cluster settles:
//
//   - exactly one active controller, whose live brokers are the registered
//     ones;
//   - every partition with a live ISR member has a live leader from its
//     ISR; one without has leader -1 (unclean election is off);
//   - ISRs are never empty, stay within the assignment, contain the leader;
//   - leader epochs and partition epochs never go down;
//   - the controller's cache equals the state znodes.
//
// CONTROLLER_RANDOM_SEED replays a run; CONTROLLER_RANDOM_STEPS makes it
// longer.
func TestRandomBrokerChurn(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("CONTROLLER_RANDOM_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	steps := 30
	if testing.Short() {
		steps = 10
	}
	if s := os.Getenv("CONTROLLER_RANDOM_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d (rerun with CONTROLLER_RANDOM_SEED=%d)", seed, seed)

	const brokers = 5
	cl := newCluster(t)
	for id := int32(1); id <= brokers; id++ {
		cl.start(id)
	}
	ctrl := cl.waitActive(-1)
	cl.waitLive(ctrl, 1, 2, 3, 4, 5)
	assignments := map[TopicPartition][]int32{}
	for ti := 0; ti < 3; ti++ {
		topic := fmt.Sprintf("r%d", ti)
		a := map[int32][]int32{}
		for p := int32(0); p < 4; p++ {
			rf := 1 + rng.Intn(3)
			perm := rng.Perm(brokers)
			for _, b := range perm[:rf] {
				a[p] = append(a[p], int32(b)+1)
			}
			assignments[TopicPartition{Topic: topic, Partition: p}] = a[p]
		}
		cl.createTopic(topic, a)
	}
	check := newChurnChecker(t, cl, assignments)
	check.settle("topics created")

	for step := 0; step < steps; step++ {
		var live, dead []int32
		for id := int32(1); id <= brokers; id++ {
			if _, ok := cl.brokers[id]; ok {
				live = append(live, id)
			} else {
				dead = append(dead, id)
			}
		}
		var what string
		switch r := rng.Intn(10); {
		case r < 4 && len(live) > 1:
			id := live[rng.Intn(len(live))]
			what = fmt.Sprintf("kill %d", id)
			cl.kill(id)
		case r < 7 && len(dead) > 0:
			id := dead[rng.Intn(len(dead))]
			what = fmt.Sprintf("start %d", id)
			cl.start(id)
		case r < 8 && len(live) > 1:
			id := live[rng.Intn(len(live))]
			what = fmt.Sprintf("controlled shutdown of %d", id)
			a := check.active()
			resp := a.ctrl.HandleControlledShutdown(context.Background(), shutdownReq(id, cl.brokers[id].epoch))
			if resp.ErrorCode != errNone {
				t.Fatalf("step %d: %s: error %d", step, what, resp.ErrorCode)
			}
			cl.kill(id)
		default:
			what = "leaders re-admit live replicas"
			check.expandIsrs()
		}
		check.settle(fmt.Sprintf("step %d (%s)", step, what))
	}
}

type churnChecker struct {
	t           *testing.T
	cl          *cluster
	assignments map[TopicPartition][]int32
	epochs      map[TopicPartition][2]int32 // highest leader epoch and zkVersion seen
}

func newChurnChecker(t *testing.T, cl *cluster, a map[TopicPartition][]int32) *churnChecker {
	return &churnChecker{t: t, cl: cl, assignments: a, epochs: map[TopicPartition][2]int32{}}
}

func (c *churnChecker) active() *testBroker {
	var a *testBroker
	waitFor(c.t, "an active controller", func() bool {
		n := 0
		for _, b := range c.cl.brokers {
			if _, ok := b.ctrl.Active(); ok {
				a = b
				n++
			}
		}
		return n == 1
	})
	return a
}

// readStates reads every state znode and checks what must always hold.
func (c *churnChecker) readStates(when string) map[TopicPartition]leadershipInfo {
	out := map[TopicPartition]leadershipInfo{}
	for _, tp := range sortPartitions(mapsKeys(c.assignments)) {
		s, v, err := c.cl.admin.GetPartitionState(tp.Topic, tp.Partition)
		if isNoNode(err) {
			continue // never had a live replica
		}
		if err != nil {
			c.t.Fatalf("%s: %s: %v", when, tp, err)
		}
		a := c.assignments[tp]
		if len(s.Isr) == 0 || (s.Leader >= 0 && !slices.Contains(s.Isr, s.Leader)) {
			c.t.Fatalf("%s: %s: bad state %+v", when, tp, s)
		}
		for _, r := range s.Isr {
			if !slices.Contains(a, r) {
				c.t.Fatalf("%s: %s: ISR %v outside the assignment %v", when, tp, s.Isr, a)
			}
		}
		prev := c.epochs[tp]
		if s.LeaderEpoch < prev[0] || v < prev[1] {
			c.t.Fatalf("%s: %s: epochs went back: leader epoch %d zkVersion %d after %d %d", when, tp, s.LeaderEpoch, v, prev[0], prev[1])
		}
		c.epochs[tp] = [2]int32{s.LeaderEpoch, v}
		out[tp] = fromZk(s, v)
	}
	return out
}

// settle waits until the cluster reaches the settled invariants.
func (c *churnChecker) settle(when string) {
	c.t.Helper()
	var why string
	deadline := time.Now().Add(waitTimeout)
	for {
		why = c.settled(when)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: cluster did not settle: %s", when, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *churnChecker) settled(when string) string {
	var a *testBroker
	n := 0
	for _, b := range c.cl.brokers {
		if _, ok := b.ctrl.Active(); ok {
			a = b
			n++
		}
	}
	if n != 1 {
		return fmt.Sprintf("%d active controllers", n)
	}
	registered, err := c.cl.admin.GetBrokerIDs()
	if err != nil {
		return err.Error()
	}
	states := c.readStates(when)
	why := ""
	a.inspect(func(cc *controllerContext) {
		if cc == nil {
			why = "controller resigned"
			return
		}
		if got := cc.liveOrShuttingDownBrokerIDs(); !slices.Equal(got, registered) {
			why = fmt.Sprintf("controller sees brokers %v, registered %v", got, registered)
			return
		}
		for _, tp := range sortPartitions(mapsKeys(c.assignments)) {
			s, ok := states[tp]
			li, cached := cc.leadership[tp]
			if ok != cached {
				why = fmt.Sprintf("%s: state znode %v, cached %v", tp, ok, cached)
				return
			}
			if !ok {
				if slices.ContainsFunc(c.assignments[tp], func(r int32) bool { return cc.isLive(r) }) {
					why = fmt.Sprintf("%s has a live replica but no state", tp)
				}
				continue
			}
			if li.Leader != s.Leader || li.LeaderEpoch != s.LeaderEpoch || li.PartitionEpoch != s.PartitionEpoch || !slices.Equal(li.Isr, s.Isr) {
				why = fmt.Sprintf("%s: cache %+v, znode %+v", tp, li.leaderAndIsr, s.leaderAndIsr)
				return
			}
			liveInIsr := slices.ContainsFunc(s.Isr, func(r int32) bool { return cc.isLive(r) })
			switch {
			case liveInIsr && (s.Leader < 0 || !cc.isLiveOrShuttingDown(s.Leader)):
				why = fmt.Sprintf("%s: live ISR member but leader %d (isr %v)", tp, s.Leader, s.Isr)
				return
			case !liveInIsr && s.Leader >= 0 && !cc.isLiveOrShuttingDown(s.Leader):
				why = fmt.Sprintf("%s: dead leader %d", tp, s.Leader)
				return
			}
		}
	})
	return why
}

// expandIsrs plays the leaders: each live leader asks the controller to
// add its live replicas to the ISR, as a caught-up follower would be.
func (c *churnChecker) expandIsrs() {
	a := c.active()
	states := c.readStates("expand")
	for _, tp := range sortPartitions(mapsKeys(states)) {
		s := states[tp]
		lb, ok := c.cl.brokers[s.Leader]
		if s.Leader < 0 || !ok {
			continue
		}
		isr := slices.Clone(s.Isr)
		for _, r := range c.assignments[tp] {
			if _, live := c.cl.brokers[r]; live && !slices.Contains(isr, r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == len(s.Isr) {
			continue
		}
		req := alterReq(1, s.Leader, lb.epoch, tp.Topic, zkmeta.Uuid{}, tp.Partition, s.LeaderEpoch, s.PartitionEpoch, isr...)
		resp := a.ctrl.HandleAlterPartition(context.Background(), req)
		if resp.ErrorCode != errNone {
			c.t.Fatalf("AlterPartition for %s: top-level error %d", tp, resp.ErrorCode)
		}
		// Lost races and replicas that just went away are fine; the
		// invariants say whether the outcome is right.
	}
}
