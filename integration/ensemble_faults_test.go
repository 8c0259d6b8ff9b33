package integration

// Real ensembles under faults, with go-zookeeper clients writing throughout (the workload in
// ensemble_workload_test.go): kill -9 of the leader, again and again; SIGSTOP of a follower;
// a rolling restart of every member; the leader cut off from the rest by a network
// partition. After each fault the ensemble must serve again and the live sessions'
// ephemerals must be there on the members; at the end every member must hold the same tree,
// every acknowledged write must be in it, and the register history must be linearizable.
//
// ZABKAFKA_SOAK=1 runs more rounds of every fault.

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

func TestEnsembleFaults(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind harness.ServerKind) {
		t.Run("voters=3", func(t *testing.T) {
			runFaultSchedule(t, kind, 3, 0, workloadSize{writers: 3, registers: 6, live: 3, keys: 4, think: 20 * time.Millisecond})
		})
		t.Run("voters=5+observer", func(t *testing.T) {
			if kind.Name == "apache" && !soak() {
				// Six JVMs through the schedule take a minute of CI; the 3-voter run already
				// checks the harness against the reference.
				t.Skip("Apache ZooKeeper's 5-voter run is in the soak only (ZABKAFKA_SOAK=1)")
			}
			runFaultSchedule(t, kind, 5, 1, workloadSize{writers: 3, registers: 6, live: 6, keys: 4, think: 20 * time.Millisecond})
		})
	})
}

// progressOps is how many client operations count as "the ensemble serves again", and
// progressWithin how long that may take after a fault is over.
const (
	progressOps    = 30
	progressWithin = 30 * time.Second
)

func runFaultSchedule(t *testing.T, kind harness.ServerKind, voters, observers int, size workloadSize) {
	harness.RequirePartitions(t)
	seed := testSeed(t)
	rng := newRand(seed, 0)
	kills, pauses, partitions := 3, 1, 1
	if soak() {
		kills, pauses, partitions = 20, 5, 5
	}
	start := time.Now()
	cfg := ensembleConfig(voters, observers)
	cfg.Partitions = true
	e := harness.StartTestEnsemble(t, kind, cfg)
	t.Logf("%d voters and %d observers ready in %v", voters, observers, time.Since(start).Round(time.Millisecond))
	all := memberIDs(e)

	w := startWorkload(t, e, size, seed)
	// rejoin runs a step in which a member comes back (restart, SIGCONT, heal) and syncs with
	// the leader. Against Apache ZooKeeper the clients pause meanwhile (quietRejoin).
	rejoin := func(f func()) { f() }
	if quietRejoin(kind) {
		rejoin = w.quietly
		t.Logf("%s: clients pause while a member rejoins (see quietRejoin)", kind.Name)
	}
	w.progress("at start", progressOps, progressWithin)

	// kill -9 of the leader, then a restart of the killed member.
	var failovers []time.Duration
	for k := 1; k <= kills; k++ {
		leader := mustLeader(t, e)
		survivors := others(all, leader.ID)
		prober := ensembleClient(t, e, e.Followers(leader.ID)[0], ensembleSessionTimeout)
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond) // the kill moment, not a synchronisation
		w.event("kill %d: SIGKILL to leader %d", k, leader.ID)
		e.Kill(leader.ID)
		failovers = append(failovers, timeToWrite(t, prober, time.Now()))
		prober.Close()
		newLeader, err := e.WaitReady(t.Context(), survivors...)
		must(t, err)
		w.event("kill %d: member %d leads, first write after %v", k, newLeader.ID,
			failovers[len(failovers)-1].Round(time.Millisecond))
		w.progress(fmt.Sprintf("after kill %d", k), progressOps, progressWithin)
		w.checkLive(fmt.Sprintf("after kill %d", k), survivors...)
		w.event("kill %d: restart member %d", k, leader.ID)
		rejoin(func() {
			must(t, e.Start(leader.ID))
			_, err = e.WaitReady(t.Context())
			must(t, err)
		})
		w.event("kill %d: member %d is back", k, leader.ID)
	}

	// SIGSTOP of a follower until the leader has dropped it; the rest keep serving.
	for p := 1; p <= pauses; p++ {
		leader := mustLeader(t, e)
		followers := e.Followers(leader.ID)
		frozen := followers[rng.IntN(len(followers))]
		within(t, 30*time.Second, fmt.Sprintf("leader %d to count its %d followers synced", leader.ID, len(followers)), func() bool {
			return syncedFollowers(t, e, leader.ID) == len(followers)
		})
		w.event("pause %d: SIGSTOP to follower %d", p, frozen)
		must(t, e.Pause(frozen))
		pausedAt := time.Now()
		w.progress(fmt.Sprintf("while follower %d is frozen", frozen), progressOps, progressWithin)
		within(t, 30*time.Second, fmt.Sprintf("leader %d to drop frozen follower %d", leader.ID, frozen), func() bool {
			return syncedFollowers(t, e, leader.ID) == len(followers)-1
		})
		t.Logf("pause %d: leader %d dropped frozen follower %d after %v", p, leader.ID, frozen, time.Since(pausedAt).Round(time.Millisecond))
		w.event("pause %d: SIGCONT to follower %d", p, frozen)
		rejoin(func() {
			must(t, e.Resume(frozen))
			_, err := e.WaitReady(t.Context())
			must(t, err)
		})
		w.progress(fmt.Sprintf("after follower %d thawed", frozen), progressOps, progressWithin)
	}

	// A rolling restart: SIGTERM and start again, one member at a time. In a large ensemble
	// outside soaks: the leader, a follower and the observers, which covers every role.
	restart := all
	if len(all) > 3 && !soak() {
		leader := mustLeader(t, e)
		restart = append([]int{leader.ID, e.Followers(leader.ID)[0]}, others(all, e.Voters()...)...)
	}
	for _, id := range restart {
		w.event("rolling restart: SIGTERM to member %d", id)
		must(t, e.Stop(id))
		w.event("rolling restart: start member %d", id)
		rejoin(func() {
			must(t, e.Start(id))
			_, err := e.WaitReady(t.Context())
			must(t, err)
		})
	}
	w.progress("after a rolling restart", progressOps, progressWithin)
	w.checkLive("after a rolling restart", all...)

	// The leader (with a follower, in a 5-voter ensemble) cut off from the rest.
	for p := 1; p <= partitions; p++ {
		leader := mustLeader(t, e)
		cut := []int{leader.ID}
		if voters >= 5 {
			cut = append(cut, e.Followers(leader.ID)[rng.IntN(voters-1)])
		}
		majority := others(all, cut...)
		w.event("partition %d: members %v cut off", p, cut)
		must(t, e.Isolate(cut...))
		cutAt := time.Now()
		newLeader, err := e.WaitReady(t.Context(), majority...)
		must(t, err)
		t.Logf("partition %d: members %v cut off, member %d leads the rest after %v", p, cut, newLeader.ID, time.Since(cutAt).Round(time.Millisecond))
		w.progress(fmt.Sprintf("with members %v cut off", cut), progressOps, progressWithin)
		within(t, 30*time.Second, fmt.Sprintf("members %v to stop serving without a quorum", cut), func() bool {
			for _, id := range cut {
				if st := e.Status(id); st.Mode != "" {
					return false
				}
			}
			return true
		})
		w.checkLive(fmt.Sprintf("with members %v cut off", cut), majority...)
		w.event("partition %d: heal", p)
		healedAt := time.Now()
		rejoin(func() {
			must(t, e.Heal())
			_, err = e.WaitReady(t.Context())
			must(t, err)
		})
		t.Logf("partition %d healed; all members serve after %v", p, time.Since(healedAt).Round(time.Millisecond))
	}
	w.progress("at the end", progressOps, progressWithin)

	w.stopClients()
	_, err := e.WaitReady(t.Context())
	must(t, err)
	if quietRejoin(kind) {
		apacheTreesAgreeOrSkip(t, e)
	}
	d := sameTreeOnEveryMember(t, e)
	w.checkAcknowledged(d)
	w.checkLive("at the end", all...)
	w.checkLinearizable(!staleLeaderSync(kind))
	slices.Sort(failovers)
	t.Logf("%d kills of the leader: first write through a surviving member after %v (median), %v (max); %d operations, %d lost replies; %v in all",
		kills, failovers[len(failovers)/2].Round(time.Millisecond), failovers[len(failovers)-1].Round(time.Millisecond),
		w.done.Load(), w.unknown.Load(), time.Since(start).Round(time.Millisecond))
}

// quietRejoin says whether clients must pause while a member rejoins the ensemble. Debian's
// Apache ZooKeeper 3.8.0 has bugs in the learner's DIFF sync that this schedule hits when
// clients keep writing while a member syncs: ZOOKEEPER-4394 (Learner.syncWithLeader throws
// "NullPointerException: Cannot read field "hdr" because "pif" is null" when a COMMIT comes
// before UPTODATE; the follower then logs "Current zxid ... is <= ..." as it writes txns out
// of order, and its SyncThread dies with "Severe unrecoverable error") and ZOOKEEPER-4785
// (txns lost in the same race; fixed in 3.8.4). With clients writing throughout, about one
// run in three ended with members holding different trees, stale reads after sync, or
// sessions expiring on a follower that no longer forwarded anything. zkd gets the full
// schedule, and so does Apache with ZABKAFKA_APACHE_FULL_FAULTS=1.
func quietRejoin(kind harness.ServerKind) bool {
	return kind.Name == "apache" && os.Getenv("ZABKAFKA_APACHE_FULL_FAULTS") != "1"
}

// staleLeaderSync says whether a read after sync may miss a committed write when the client
// is connected to the leader. Apache ZooKeeper's leader builds its CommitProcessor with
// matchSyncs=false (LeaderZooKeeperServer), so a sync there does not wait for txns the
// quorum has committed but the leader has not applied yet: a follower can apply a CAS and
// answer its client, and a sync + getData on the leader a moment later still returns the old
// value. The checker found this in about one run in ten of the full schedule (a read on the
// leader 0.6 ms after another client's CAS returned through a follower). zkd's sync must be a
// barrier on every member, the leader included, so its histories are held to zero
// violations.
func staleLeaderSync(kind harness.ServerKind) bool { return kind.Name == "apache" }

func memberIDs(e *harness.Ensemble) []int {
	var ids []int
	for _, m := range e.Members() {
		ids = append(ids, m.ID)
	}
	return ids
}

func mustLeader(t *testing.T, e *harness.Ensemble) *harness.Member {
	t.Helper()
	l, err := e.Leader()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// syncedFollowers is the leader's mntr zk_synced_followers, or -1 when the leader does not
// answer mntr.
func syncedFollowers(t *testing.T, e *harness.Ensemble, leader int) int {
	t.Helper()
	m, err := e.Mntr(leader)
	if err != nil {
		return -1
	}
	n, ok := m["zk_synced_followers"]
	if !ok {
		t.Fatalf("leader %d's mntr has no zk_synced_followers", leader)
	}
	var v int
	fmt.Sscan(n, &v)
	return v
}

// timeToWrite writes through c until a write succeeds and returns the time since from.
func timeToWrite(t *testing.T, c *eclient, from time.Time) time.Duration {
	t.Helper()
	deadline := from.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.Set(ensRoot, []byte("probe"), -1)
		if err == nil {
			return time.Since(from)
		}
		if !unknownOutcome(err) {
			t.Fatalf("probe write: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no write succeeded within 60s of the fault")
	return 0
}

// apacheTreesAgreeOrSkip skips the rest of an Apache run whose members ended with different
// trees: even with clients paused while members rejoin (quietRejoin), Debian's 3.8.0 lost
// txns on a member once in CI (ZOOKEEPER-4785, fixed in 3.8.4). That is the reference's bug,
// not the harness's; zkd's runs are held to the full check.
func apacheTreesAgreeOrSkip(t *testing.T, e *harness.Ensemble) {
	t.Helper()
	var first string
	for _, m := range e.Members() {
		c := pinnedClient(t, e, m.ID)
		d := ensembleDigest(t, c.Conn)
		c.Close()
		if first == "" {
			first = d.Sum
		} else if d.Sum != first {
			t.Skipf("Apache ZooKeeper's members hold different trees (member %d differs from member %d): "+
				"its known txn loss in sync (ZOOKEEPER-4785), not checked further", m.ID, e.Members()[0].ID)
		}
	}
}
