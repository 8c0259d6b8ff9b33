package controller

import (
	"slices"
)

// The replica state machine (ReplicaStateMachine.scala). OnlineReplica sends
// LeaderAndIsr with the partition's current state; OfflineReplica sends
// StopReplica(delete=false) and takes the replica out of the ISR in
// ZooKeeper; ReplicaDeletionStarted sends StopReplica(delete=true).

// startReplicaStateMachine marks replicas on live brokers online (which
// sends them LeaderAndIsr) and the others offline.
func (c *Controller) startReplicaStateMachine() error {
	cc := c.ctx
	for _, tp := range cc.allPartitions() {
		for _, r := range cc.replicas(tp) {
			pr := partitionReplica{tp, r}
			if cc.isReplicaOnline(r, tp, false) {
				cc.replicaStates[pr] = onlineReplica
			} else {
				// A replica on a dead broker may belong to a topic being
				// deleted: it cannot be deleted now.
				cc.replicaStates[pr] = replicaDeletionIneligible
			}
		}
	}
	online, offline := cc.onlineAndOfflineReplicas()
	if err := c.replicaStateChanges(online, onlineReplica); err != nil {
		return err
	}
	return c.replicaStateChanges(offline, offlineReplica)
}

// replicaStateChanges is handleStateChanges: one request batch, replicas
// grouped by broker. The error is ErrControllerMoved only.
func (c *Controller) replicaStateChanges(replicas []partitionReplica, target replicaState) error {
	if len(replicas) == 0 {
		return nil
	}
	c.newBatch()
	byBroker := map[int32][]partitionReplica{}
	var ids []int32
	for _, r := range replicas {
		if _, ok := byBroker[r.Replica]; !ok {
			ids = append(ids, r.Replica)
		}
		byBroker[r.Replica] = append(byBroker[r.Replica], r)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := c.doReplicaStateChanges(id, byBroker[id], target); err != nil {
			c.batch.clear()
			return err
		}
	}
	c.sendBatch()
	return nil
}

func (c *Controller) doReplicaStateChanges(id int32, replicas []partitionReplica, target replicaState) error {
	cc := c.ctx
	var valid []partitionReplica
	for _, r := range replicas {
		cur := cc.replicaState(r)
		if target.validPrevious(cur) {
			valid = append(valid, r)
		} else {
			c.log.Error().Str("replica", r.String()).Stringer("from", cur).Stringer("to", target).
				Msg("invalid replica state transition")
		}
	}
	switch target {
	case newReplica:
		for _, r := range valid {
			li, ok := cc.leadership[r.TopicPartition]
			if ok && li.Leader == id {
				c.log.Error().Str("replica", r.String()).Msg("replica is the leader of its partition; it cannot become a NewReplica")
				continue
			}
			if ok {
				c.addLeaderAndIsr([]int32{id}, r.TopicPartition, li, cc.assignment(r.TopicPartition), true)
			}
			cc.replicaStates[r] = newReplica
		}
	case onlineReplica:
		for _, r := range valid {
			if cc.replicaState(r) == newReplica {
				a := cc.assignment(r.TopicPartition)
				if !slices.Contains(a.Replicas, id) {
					a.Replicas = append(slices.Clone(a.Replicas), id)
					cc.setAssignment(r.TopicPartition, a)
				}
			} else if li, ok := cc.leadership[r.TopicPartition]; ok {
				c.addLeaderAndIsr([]int32{id}, r.TopicPartition, li, cc.assignment(r.TopicPartition), false)
			}
			cc.replicaStates[r] = onlineReplica
		}
	case offlineReplica:
		return c.offlineReplicas(id, valid)
	case replicaDeletionStarted:
		for _, r := range valid {
			cc.replicaStates[r] = replicaDeletionStarted
			c.addStopReplica([]int32{id}, r.TopicPartition, true)
		}
	case replicaDeletionIneligible, replicaDeletionSuccessful:
		for _, r := range valid {
			cc.replicaStates[r] = target
		}
	case nonExistentReplica:
		for _, r := range valid {
			cc.setAssignment(r.TopicPartition, cc.assignment(r.TopicPartition).removeReplica(id))
			delete(cc.replicaStates, r)
		}
	}
	return nil
}

// offlineReplicas is the OfflineReplica move for broker id's replicas.
func (c *Controller) offlineReplicas(id int32, replicas []partitionReplica) error {
	cc := c.ctx
	var withLeadership []TopicPartition
	for _, r := range replicas {
		c.addStopReplica([]int32{id}, r.TopicPartition, false)
		if _, ok := cc.leadership[r.TopicPartition]; ok {
			withLeadership = append(withLeadership, r.TopicPartition)
		} else {
			c.addUpdateMetadata(cc.liveOrShuttingDownBrokerIDs(), []TopicPartition{r.TopicPartition})
			cc.replicaStates[r] = offlineReplica
		}
	}
	updated, err := c.removeReplicasFromIsr(id, withLeadership)
	if err != nil {
		return err
	}
	for _, tp := range sortPartitions(mapsKeys(updated)) {
		li := updated[tp]
		if !cc.isTopicQueuedUpForDeletion(tp.Topic) {
			recipients := slices.DeleteFunc(slices.Clone(cc.replicas(tp)), func(r int32) bool { return r == id })
			c.addLeaderAndIsr(recipients, tp, li, cc.assignment(tp), false)
		}
		cc.replicaStates[partitionReplica{tp, id}] = offlineReplica
	}
	return nil
}

// removeReplicasFromIsr shrinks the ISR of each partition that has replica id
// in it (rules.go removeFromIsr), retrying after concurrent changes. It
// returns the new leadership of every partition it could read, changed or
// not.
func (c *Controller) removeReplicasFromIsr(id int32, tps []TopicPartition) (map[TopicPartition]leadershipInfo, error) {
	results := map[TopicPartition]leadershipInfo{}
	remaining := tps
	for round := 0; len(remaining) > 0 && round < maxElectionRounds; round++ {
		done, retry, err := c.doRemoveReplicasFromIsr(id, remaining)
		if err != nil {
			return nil, err
		}
		for tp, li := range done {
			results[tp] = li
		}
		remaining = retry
	}
	for _, tp := range remaining {
		c.log.Error().Str("partition", tp.String()).Int32("replica", id).Msg("partition state kept changing; ISR shrink abandoned")
	}
	return results, nil
}

func (c *Controller) doRemoveReplicasFromIsr(id int32, tps []TopicPartition) (map[TopicPartition]leadershipInfo, []TopicPartition, error) {
	cc := c.ctx
	done := map[TopicPartition]leadershipInfo{}
	reads := c.readPartitionStates(tps)
	var toWrite []TopicPartition
	var lais []leaderAndIsr
	for i, tp := range tps {
		r := reads[i]
		switch {
		case r.err != nil:
			c.log.Error().Err(r.err).Str("partition", tp.String()).Msg("cannot read partition state to shrink the ISR")
		case !r.found:
			if !cc.isTopicQueuedUpForDeletion(tp.Topic) {
				c.log.Error().Str("partition", tp.String()).Msg("cannot shrink the ISR: the partition state znode is missing")
			}
		case r.li.ControllerEpoch > cc.epoch.Epoch:
			c.log.Error().Str("partition", tp.String()).Int32("written_by_epoch", r.li.ControllerEpoch).
				Msg("partition state written by a newer controller; aborting the ISR shrink")
		case !slices.Contains(r.li.Isr, id):
			li := leadershipInfo{leaderAndIsr: r.li.leaderAndIsr, ControllerEpoch: cc.epoch.Epoch}
			cc.leadership[tp] = li
			done[tp] = li
		default:
			toWrite = append(toWrite, tp)
			lais = append(lais, removeFromIsr(r.li.leaderAndIsr, id))
		}
	}
	finished, retry, err := c.updateLeaderAndIsr(toWrite, lais)
	if err != nil {
		return nil, nil, err
	}
	for tp, r := range finished {
		if r.err != nil {
			c.log.Error().Err(r.err).Str("partition", tp.String()).Int32("replica", id).Msg("ISR shrink failed")
			continue
		}
		li := leadershipInfo{leaderAndIsr: r.lai, ControllerEpoch: cc.epoch.Epoch}
		cc.leadership[tp] = li
		done[tp] = li
	}
	return done, retry, nil
}

func mapsKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
