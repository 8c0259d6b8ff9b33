package controller

import (
	"errors"
	"strconv"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// The partition state machine (PartitionStateMachine.scala):
// NonExistentPartition -> NewPartition -> OnlinePartition <-> OfflinePartition
// -> NonExistentPartition. Only the moves to OnlinePartition write to
// ZooKeeper; the rest is bookkeeping.

// startPartitionStateMachine initialises every partition's state from its
// leadership info and brings New and Offline partitions online.
func (c *Controller) startPartitionStateMachine() error {
	cc := c.ctx
	for _, tp := range cc.allPartitions() {
		li, ok := cc.leadership[tp]
		switch {
		case !ok:
			cc.partitionStates[tp] = newPartition
		case cc.isReplicaOnline(li.Leader, tp, false):
			cc.partitionStates[tp] = onlinePartition
		default:
			cc.partitionStates[tp] = offlinePartition
		}
	}
	_, err := c.triggerOnlinePartitionStateChange("")
	return err
}

// triggerOnlinePartitionStateChange tries to bring every New or Offline
// partition (of topic, or of all topics for "") online with the
// OfflinePartition election, except topics queued for deletion.
func (c *Controller) triggerOnlinePartitionStateChange(topic string) (map[TopicPartition]outcome, error) {
	cc := c.ctx
	var tps []TopicPartition
	for _, tp := range cc.partitionsInStates(topic, offlinePartition, newPartition) {
		if !cc.isTopicQueuedUpForDeletion(tp.Topic) {
			tps = append(tps, tp)
		}
	}
	return c.partitionStateChanges(tps, onlinePartition, offlineElection)
}

// partitionStateChanges is handleStateChanges: one request batch for the
// whole change. Per-partition failures are in the result; the error is
// ErrControllerMoved only.
func (c *Controller) partitionStateChanges(tps []TopicPartition, target partitionState, strategy electionStrategy) (map[TopicPartition]outcome, error) {
	if len(tps) == 0 {
		return map[TopicPartition]outcome{}, nil
	}
	c.newBatch()
	res, err := c.doPartitionStateChanges(tps, target, strategy)
	if err != nil {
		c.batch.clear()
		return nil, err
	}
	c.sendBatch()
	return res, nil
}

func (c *Controller) doPartitionStateChanges(tps []TopicPartition, target partitionState, strategy electionStrategy) (map[TopicPartition]outcome, error) {
	cc := c.ctx
	var valid []TopicPartition
	for _, tp := range tps {
		if _, ok := cc.partitionStates[tp]; !ok {
			cc.partitionStates[tp] = nonExistentPartition
		}
		if cur := cc.partitionStates[tp]; target.validPrevious(cur) {
			valid = append(valid, tp)
		} else {
			c.log.Error().Str("partition", tp.String()).Stringer("from", cur).Stringer("to", target).
				Msg("invalid partition state transition")
		}
	}
	switch target {
	case onlinePartition:
		var uninitialized, toElect []TopicPartition
		for _, tp := range valid {
			if cc.partitionStates[tp] == newPartition {
				uninitialized = append(uninitialized, tp)
			} else {
				toElect = append(toElect, tp)
			}
		}
		if len(uninitialized) > 0 {
			done, err := c.initializeLeaderAndIsr(uninitialized)
			if err != nil {
				return nil, err
			}
			for _, tp := range done {
				cc.partitionStates[tp] = onlinePartition
			}
		}
		if len(toElect) == 0 {
			return map[TopicPartition]outcome{}, nil
		}
		results, err := c.electLeaders(toElect, strategy)
		if err != nil {
			return nil, err
		}
		for tp, r := range results {
			if r.err == nil {
				cc.partitionStates[tp] = onlinePartition
			}
		}
		return results, nil
	default: // NewPartition, OfflinePartition, NonExistentPartition
		for _, tp := range valid {
			cc.partitionStates[tp] = target
		}
		return map[TopicPartition]outcome{}, nil
	}
}

// initializeLeaderAndIsr is the New -> Online move: leader = first live
// replica in assignment order, ISR = the live replicas, leader epoch 0; the
// state znode is created inside the fence and LeaderAndIsr(isNew) goes to the
// ISR. A partition without a live replica stays New.
func (c *Controller) initializeLeaderAndIsr(tps []TopicPartition) ([]TopicPartition, error) {
	cc := c.ctx
	var todo []TopicPartition
	var lais []leaderAndIsr
	for _, tp := range tps {
		live := cc.liveReplicas(tp, false)
		if len(live) == 0 {
			c.log.Error().Str("partition", tp.String()).Ints32("replicas", cc.replicas(tp)).
				Ints32("live_brokers", cc.liveBrokerIDs()).
				Msg("cannot bring new partition online: no assigned replica is alive")
			continue
		}
		todo = append(todo, tp)
		lais = append(lais, leaderAndIsr{Leader: live[0], LeaderEpoch: zkmeta.InitialLeaderEpoch, Isr: live})
	}
	errs := make([]error, len(todo))
	versions := make([]int32, len(todo))
	parallel(len(todo), func(i int) {
		versions[i], errs[i] = c.meta.CreatePartitionState(cc.epoch, todo[i].Topic, todo[i].Partition, lais[i].toZk(cc.epoch.Epoch))
	})
	var done []TopicPartition
	for i, tp := range todo {
		if errors.Is(errs[i], zkmeta.ErrControllerMoved) {
			return nil, errs[i]
		}
		if errs[i] != nil {
			c.log.Error().Err(errs[i]).Str("partition", tp.String()).Msg("failed to create partition state")
			continue
		}
		lais[i].PartitionEpoch = versions[i]
		li := leadershipInfo{leaderAndIsr: lais[i], ControllerEpoch: cc.epoch.Epoch}
		cc.leadership[tp] = li
		c.addLeaderAndIsr(li.Isr, tp, li, cc.assignment(tp), true)
		done = append(done, tp)
	}
	return done, nil
}

// electLeaders runs the election strategy until no partition is left to
// retry after a concurrent state change (electLeaderForPartitions).
func (c *Controller) electLeaders(tps []TopicPartition, strategy electionStrategy) (map[TopicPartition]outcome, error) {
	results := map[TopicPartition]outcome{}
	remaining := tps
	for round := 0; len(remaining) > 0; round++ {
		if round == maxElectionRounds {
			for _, tp := range remaining {
				results[tp] = outcome{err: stateChangeFailed("partition state of %s kept changing during the election", tp)}
			}
			break
		}
		done, retry, err := c.doElectLeaders(remaining, strategy)
		if err != nil {
			return nil, err
		}
		for tp, r := range done {
			if r.err != nil {
				c.log.Error().Err(r.err).Str("partition", tp.String()).Stringer("strategy", strategy).
					Msg("leader election failed")
			}
			results[tp] = r
		}
		remaining = retry
	}
	return results, nil
}

func (c *Controller) doElectLeaders(tps []TopicPartition, strategy electionStrategy) (map[TopicPartition]outcome, []TopicPartition, error) {
	cc := c.ctx
	results := map[TopicPartition]outcome{}
	reads := c.readPartitionStates(tps)
	var valid []TopicPartition
	var current []leadershipInfo
	for i, tp := range tps {
		r := reads[i]
		switch {
		case r.err != nil:
			results[tp] = outcome{err: r.err}
		case !r.found:
			results[tp] = outcome{err: stateChangeFailed("leader and ISR of %s do not exist in %v state", tp, cc.partitionState(tp))}
		case r.li.ControllerEpoch > cc.epoch.Epoch:
			results[tp] = outcome{err: stateChangeFailed("aborted leader election for %s: its state was written by a newer controller (epoch %d > %d)",
				tp, r.li.ControllerEpoch, cc.epoch.Epoch)}
		default:
			valid = append(valid, tp)
			current = append(current, r.li)
		}
	}
	var toWrite []TopicPartition
	var lais []leaderAndIsr
	recipients := map[TopicPartition][]int32{}
	for i, tp := range valid {
		lai, to, ok := c.electOne(tp, current[i].leaderAndIsr, strategy)
		if !ok {
			results[tp] = outcome{err: stateChangeFailed("failed to elect leader for partition %s under strategy %s", tp, strategy)}
			continue
		}
		toWrite = append(toWrite, tp)
		lais = append(lais, lai)
		recipients[tp] = to
	}
	finished, retry, err := c.updateLeaderAndIsr(toWrite, lais)
	if err != nil {
		return nil, nil, err
	}
	for _, tp := range toWrite {
		r, ok := finished[tp]
		if !ok {
			continue
		}
		results[tp] = r
		if r.err != nil {
			continue
		}
		li := leadershipInfo{leaderAndIsr: r.lai, ControllerEpoch: cc.epoch.Epoch}
		cc.leadership[tp] = li
		c.addLeaderAndIsr(recipients[tp], tp, li, cc.assignment(tp), false)
	}
	return results, retry, nil
}

// electOne applies strategy to one partition (Election.scala); it returns the
// new leader and ISR and the brokers to send LeaderAndIsr to.
func (c *Controller) electOne(tp TopicPartition, cur leaderAndIsr, strategy electionStrategy) (leaderAndIsr, []int32, bool) {
	cc := c.ctx
	assignment := cc.replicas(tp)
	online := func(r int32) bool { return cc.isReplicaOnline(r, tp, false) }
	switch strategy {
	case preferredElection:
		lai, ok := electPreferred(cur, assignment, online)
		return lai, assignment, ok
	case controlledShutdownElection:
		liveOrShuttingDown := func(r int32) bool { return cc.isReplicaOnline(r, tp, true) }
		lai, ok := electControlledShutdown(cur, assignment, liveOrShuttingDown, func(r int32) bool { return cc.shuttingDown[r] })
		return lai, cc.liveReplicas(tp, true), ok
	default:
		unclean := false
		if !anyOnline(cur.Isr, online) {
			unclean = c.uncleanLeaderElectionEnabled(tp.Topic)
		}
		lai, ok := electOffline(cur, assignment, online, unclean)
		if ok && unclean && lai.LeaderRecoveryState == zkmeta.LeaderRecovering {
			c.log.Warn().Str("partition", tp.String()).Int32("leader", lai.Leader).Msg("unclean leader election")
		}
		return lai, cc.liveReplicas(tp, false), ok
	}
}

func anyOnline(l []int32, online func(int32) bool) bool {
	for _, r := range l {
		if online(r) {
			return true
		}
	}
	return false
}

// uncleanLeaderElectionEnabled is the topic's effective
// unclean.leader.election.enable: its /config/topics override, else the
// broker's setting.
func (c *Controller) uncleanLeaderElectionEnabled(topic string) bool {
	cfg, err := c.meta.GetEntityConfig(zkmeta.ConfigTypeTopic, topic)
	if err != nil {
		c.log.Warn().Err(err).Str("topic", topic).Msg("cannot read topic config; unclean leader election stays disabled")
		return false
	}
	if v, ok := cfg["unclean.leader.election.enable"]; ok {
		b, err := strconv.ParseBool(v)
		return err == nil && b
	}
	return c.cfg.UncleanLeaderElection
}
