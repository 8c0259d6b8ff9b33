package controller

import (
	"maps"
	"slices"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Preferred leader election (reference/kafka.md 2.5): automatically, every
// leader.imbalance.check.interval, for brokers whose share of preferred
// partitions led by someone else is above leader.imbalance.per.broker.percentage;
// and on demand through /admin/preferred_replica_election.

// electionTrigger is ElectionTrigger.
type electionTrigger int8

const (
	autoTriggered electionTrigger = iota
	zkTriggered
)

func (c *Controller) processAutoRebalance(e evAutoRebalance) error {
	if !c.isActive() || e.term != c.term {
		return nil
	}
	defer c.scheduleRebalance(c.cfg.LeaderImbalanceCheckInterval)
	return c.checkAndTriggerAutoLeaderRebalance()
}

// checkAndTriggerAutoLeaderRebalance moves leadership back to each broker
// whose imbalance is above the threshold, for its partitions where it is
// live and in the ISR.
func (c *Controller) checkAndTriggerAutoLeaderRebalance() error {
	cc := c.ctx
	c.rebalanceRuns++
	var parts []partitionLeader
	for _, tp := range cc.allPartitions() {
		r := cc.replicas(tp)
		if cc.isTopicQueuedUpForDeletion(tp.Topic) || len(r) == 0 {
			continue
		}
		pl := partitionLeader{tp: tp, preferred: r[0], leader: -1}
		if li, ok := cc.leadership[tp]; ok {
			pl.leader, pl.hasLeader = li.Leader, true
		}
		parts = append(parts, pl)
	}
	for _, im := range leaderImbalance(parts, c.cfg.LeaderImbalancePerBrokerPct) {
		var candidates []TopicPartition
		for _, tp := range im.notPreferred {
			if cc.allTopics[tp.Topic] && c.canPreferredReplicaBeLeader(tp) {
				candidates = append(candidates, tp)
			}
		}
		c.log.Info().Int32("broker_id", im.broker).Float64("imbalance", im.ratio).Int("partitions", len(candidates)).
			Msg("leader imbalance above the threshold; preferred leader election")
		if _, err := c.onReplicaElection(candidates, autoTriggered); err != nil {
			return err
		}
	}
	return nil
}

// partitionLeader is what the imbalance check needs of a partition.
type partitionLeader struct {
	tp        TopicPartition
	preferred int32 // assignment[0]
	leader    int32
	hasLeader bool // leadership info exists
}

// brokerImbalance is a broker whose preferred partitions are too often led
// by someone else.
type brokerImbalance struct {
	broker       int32
	ratio        float64
	notPreferred []TopicPartition
}

// leaderImbalance is the check of checkAndTriggerAutoLeaderRebalance, pure:
// group partitions by preferred replica; a broker's imbalance is the share
// of its group with leadership info and another leader; brokers above
// pct percent are returned, ascending.
func leaderImbalance(parts []partitionLeader, pct int) []brokerImbalance {
	groups := map[int32][]partitionLeader{}
	for _, p := range parts {
		groups[p.preferred] = append(groups[p.preferred], p)
	}
	var out []brokerImbalance
	for _, b := range slices.Sorted(maps.Keys(groups)) {
		g := groups[b]
		var not []TopicPartition
		for _, p := range g {
			if p.hasLeader && p.leader != b {
				not = append(not, p.tp)
			}
		}
		ratio := float64(len(not)) / float64(len(g))
		if ratio > float64(pct)/100 {
			out = append(out, brokerImbalance{broker: b, ratio: ratio, notPreferred: sortPartitions(not)})
		}
	}
	return out
}

func (c *Controller) canPreferredReplicaBeLeader(tp TopicPartition) bool {
	cc := c.ctx
	li, ok := cc.leadership[tp]
	if !ok {
		return false
	}
	_, ok = preferredReplicaLeader(cc.replicas(tp), li.Isr, func(r int32) bool { return cc.isReplicaOnline(r, tp, false) })
	return ok
}

// onReplicaElection runs the PreferredReplica election for partitions. For a
// ZooKeeper-triggered election the request znode is deleted afterwards
// (even if the election failed), so the next request can be made.
func (c *Controller) onReplicaElection(tps []TopicPartition, trigger electionTrigger) (map[TopicPartition]outcome, error) {
	results, err := c.partitionStateChanges(sortPartitions(tps), onlinePartition, preferredElection)
	if err != nil {
		return nil, err
	}
	for _, tp := range tps {
		if r, ok := results[tp]; ok && r.err != nil {
			c.log.Error().Err(r.err).Str("partition", tp.String()).Msg("preferred leader election failed")
		} else if ok {
			c.log.Info().Str("partition", tp.String()).Int32("leader", r.lai.Leader).Msg("preferred leader elected")
		}
	}
	if trigger == zkTriggered {
		if err := c.meta.DeletePreferredReplicaElection(c.ctx.epoch); err != nil {
			return nil, err
		}
		// Watch for the next request.
		if _, err := c.exists(zkmeta.PreferredReplicaElectionPath); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// processZkPreferredElection handles /admin/preferred_replica_election
// (PreferredReplicaElectionHandler, and the pending request at failover):
// known partitions of topics not being deleted whose leader is not the
// preferred replica are elected.
func (c *Controller) processZkPreferredElection() error {
	if !c.isActive() {
		return nil
	}
	cc := c.ctx
	ok, err := c.exists(zkmeta.PreferredReplicaElectionPath)
	if err != nil || !ok {
		return err
	}
	requested, err := c.meta.GetPreferredReplicaElection()
	if err != nil {
		c.log.Error().Err(err).Msg("cannot read the preferred replica election request; deleting it")
		requested = nil
	}
	var electable []TopicPartition
	for _, tp := range requested {
		if !cc.hasPartition(tp) {
			c.log.Info().Str("partition", tp.String()).Msg("skipping preferred election of a partition that does not exist")
			continue
		}
		if cc.isTopicQueuedUpForDeletion(tp.Topic) {
			c.log.Warn().Str("partition", tp.String()).Msg("skipping preferred election of a partition being deleted")
			continue
		}
		li, ok := cc.leadership[tp]
		if ok && li.Leader == cc.replicas(tp)[0] {
			continue // already led by its preferred replica
		}
		if !slices.Contains(electable, tp) {
			electable = append(electable, tp)
		}
	}
	_, err = c.onReplicaElection(electable, zkTriggered)
	return err
}
