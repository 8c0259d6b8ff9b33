package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// AlterPartition (KIP-497, reference/kafka.md 2.7): a partition leader
// proposes a new ISR. The controller checks it as
// KafkaController.tryProcessAlterPartition does, writes it with the same
// leader epoch (an ISR change made by the leader is not a new leadership),
// conditional on the partition epoch and inside the fence, answers with the
// new partition epoch, and sends UpdateMetadata for the partitions to
// everyone.
//
// Two deliberate differences from Kafka 3.4: a write rejected by the fence
// answers NOT_CONTROLLER (Kafka: UNKNOWN_SERVER_ERROR) and resigns at once;
// and a request from a broker that is not the partition's leader is refused
// with NOT_LEADER_OR_FOLLOWER (as KRaft does) instead of writing that broker
// as leader.

const errNotLeaderOrFollower int16 = 6

func alterPartitionError(req *kmsg.AlterPartitionRequest, code int16) *kmsg.AlterPartitionResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	resp.ErrorCode = code
	return resp
}

func (c *Controller) processAlterPartition(e evAlterPartition) {
	resp, err := c.tryAlterPartition(e.req)
	if err != nil {
		code := errUnknownServerError
		if isFenceError(err) {
			code = errNotController
		}
		resp = alterPartitionError(e.req, code)
		c.handleError(err)
	}
	e.reply <- resp
}

// alterResult is one partition's answer: an error code, or the state now in
// ZooKeeper.
type alterResult struct {
	code int16
	lai  leaderAndIsr
}

func (c *Controller) tryAlterPartition(req *kmsg.AlterPartitionRequest) (*kmsg.AlterPartitionResponse, error) {
	if !c.isActive() {
		return alterPartitionError(req, errNotController), nil
	}
	cc := c.ctx
	b, ok := cc.brokers[req.BrokerID]
	if !ok || b.epoch != req.BrokerEpoch {
		c.log.Info().Int32("broker_id", req.BrokerID).Int64("epoch", req.BrokerEpoch).
			Msg("ignoring AlterPartition from an unknown broker or a stale broker epoch")
		return alterPartitionError(req, errStaleBrokerEpoch), nil
	}
	useTopicIDs := req.Version > 1

	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	results := map[TopicPartition]alterResult{}
	var order []TopicPartition // request order, for the UpdateMetadata
	seen := map[TopicPartition]bool{}
	var toWrite []TopicPartition
	var lais []leaderAndIsr
	for _, t := range req.Topics {
		name := t.Topic
		if useTopicIDs {
			n, ok := cc.topicNames[zkmeta.Uuid(t.TopicID)]
			if !ok {
				rt := kmsg.NewAlterPartitionResponseTopic()
				rt.TopidID = t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewAlterPartitionResponseTopicPartition()
					rp.Partition = p.Partition
					rp.ErrorCode = errUnknownTopicID
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
				continue
			}
			name = n
		}
		for _, p := range t.Partitions {
			tp := TopicPartition{Topic: name, Partition: p.Partition}
			if seen[tp] {
				continue // a partition listed twice is decided once
			}
			seen[tp] = true
			order = append(order, tp)
			proposed := c.proposedLeaderAndIsr(req, p)
			code, write := c.checkAlterPartition(req, tp, p, proposed)
			if !write {
				results[tp] = code
				continue
			}
			toWrite = append(toWrite, tp)
			lais = append(lais, proposed)
		}
	}

	finished, conflicts, err := c.updateLeaderAndIsr(toWrite, lais)
	if err != nil {
		return nil, err
	}
	for tp, r := range finished {
		if r.err != nil {
			c.log.Error().Err(r.err).Str("partition", tp.String()).Msg("failed to update the ISR")
			results[tp] = alterResult{code: errUnknownServerError}
			continue
		}
		results[tp] = alterResult{lai: r.lai}
		cc.leadership[tp] = leadershipInfo{leaderAndIsr: r.lai, ControllerEpoch: cc.epoch.Epoch}
		c.log.Debug().Str("partition", tp.String()).Ints32("isr", r.lai.Isr).Int32("partition_epoch", r.lai.PartitionEpoch).
			Msg("ISR updated")
	}
	for _, tp := range conflicts {
		c.log.Info().Str("partition", tp.String()).Msg("AlterPartition lost a race with another state change (bad ZooKeeper version)")
		results[tp] = alterResult{code: errInvalidUpdateVersion}
	}
	c.sendUpdateMetadataRequest(cc.liveOrShuttingDownBrokerIDs(), order)

	c.fillAlterPartitionResponse(resp, results, useTopicIDs)
	return resp, nil
}

// fillAlterPartitionResponse adds one answer per partition, grouped by topic
// (by id from v2).
func (c *Controller) fillAlterPartitionResponse(resp *kmsg.AlterPartitionResponse, results map[TopicPartition]alterResult, useTopicIDs bool) {
	cc := c.ctx
	for _, tp := range sortPartitions(mapsKeys(results)) {
		n := len(resp.Topics)
		if n == 0 || !c.sameResponseTopic(resp.Topics[n-1], tp.Topic, useTopicIDs) {
			rt := kmsg.NewAlterPartitionResponseTopic()
			if useTopicIDs {
				rt.TopidID = cc.topicIDs[tp.Topic]
			} else {
				rt.Topic = tp.Topic
			}
			resp.Topics = append(resp.Topics, rt)
			n++
		}
		r := results[tp]
		rp := kmsg.NewAlterPartitionResponseTopicPartition()
		rp.Partition = tp.Partition
		rp.ErrorCode = r.code
		if r.code == errNone {
			rp.LeaderID = r.lai.Leader
			rp.LeaderEpoch = r.lai.LeaderEpoch
			rp.ISR = slices.Clone(r.lai.Isr)
			rp.LeaderRecoveryState = r.lai.LeaderRecoveryState
			rp.PartitionEpoch = r.lai.PartitionEpoch
		}
		resp.Topics[n-1].Partitions = append(resp.Topics[n-1].Partitions, rp)
	}
}

func (c *Controller) sameResponseTopic(t kmsg.AlterPartitionResponseTopic, topic string, useTopicIDs bool) bool {
	if useTopicIDs {
		return t.TopidID == c.ctx.topicIDs[topic] && t.TopidID != [16]byte{}
	}
	return t.Topic == topic
}

// proposedLeaderAndIsr is the state the leader asks for. From v3
// (KIP-903) the ISR comes with broker epochs; the ids are the ISR.
func (c *Controller) proposedLeaderAndIsr(req *kmsg.AlterPartitionRequest, p kmsg.AlterPartitionRequestTopicPartition) leaderAndIsr {
	isr := slices.Clone(p.NewISR)
	if req.Version >= 3 {
		isr = isr[:0]
		for _, e := range p.NewEpochISR {
			isr = append(isr, e.BrokerID)
		}
	}
	if isr == nil {
		isr = []int32{}
	}
	recovery := p.LeaderRecoveryState
	if req.Version < 1 {
		recovery = zkmeta.LeaderRecovered
	}
	return leaderAndIsr{Leader: req.BrokerID, LeaderEpoch: p.LeaderEpoch, Isr: isr, LeaderRecoveryState: recovery,
		PartitionEpoch: p.PartitionEpoch}
}

// checkAlterPartition applies Kafka's checks in Kafka's order; write is true
// when the proposal should be written.
func (c *Controller) checkAlterPartition(req *kmsg.AlterPartitionRequest, tp TopicPartition, p kmsg.AlterPartitionRequestTopicPartition, proposed leaderAndIsr) (alterResult, bool) {
	cc := c.ctx
	li, ok := cc.leadership[tp]
	if !ok {
		return alterResult{code: errUnknownTopicOrPartition}, false
	}
	cur := li.leaderAndIsr
	switch {
	case proposed.PartitionEpoch > cur.PartitionEpoch || proposed.LeaderEpoch > cur.LeaderEpoch:
		// The leader knows a newer state than we do: we are likely no
		// longer the controller; let it find the new one.
		return alterResult{code: errNotController}, false
	case proposed.LeaderEpoch < cur.LeaderEpoch:
		return alterResult{code: errFencedLeaderEpoch}, false
	case proposed.Leader != cur.Leader:
		return alterResult{code: errNotLeaderOrFollower}, false
	case proposed.equalsAllowStalePartitionEpoch(cur):
		// Already in the desired state (a retry): answer the current one.
		// This comes before the partition epoch check, for idempotency.
		return alterResult{lai: cur}, false
	case proposed.PartitionEpoch < cur.PartitionEpoch:
		return alterResult{code: errInvalidUpdateVersion}, false
	case proposed.LeaderRecoveryState != zkmeta.LeaderRecovered && proposed.LeaderRecoveryState != zkmeta.LeaderRecovering:
		// LeaderRecoveryState.of rejects any other value.
		return alterResult{code: errInvalidRequest}, false
	case proposed.LeaderRecoveryState == zkmeta.LeaderRecovering && len(proposed.Isr) > 1:
		return alterResult{code: errInvalidRequest}, false
	case cur.LeaderRecoveryState == zkmeta.LeaderRecovered && proposed.LeaderRecoveryState == zkmeta.LeaderRecovering:
		return alterResult{code: errInvalidRequest}, false
	case !slices.Contains(proposed.Isr, proposed.Leader) || hasDuplicates(proposed.Isr):
		// An empty ISR, one without its leader or with a replica twice
		// is never written (the state znode would be invalid).
		return alterResult{code: errInvalidRequest}, false
	}
	// KIP-841: only live brokers that are not shutting down may be in the
	// ISR (KIP-903: with the epoch they are registered with).
	for _, r := range proposed.Isr {
		if !cc.isLive(r) || !c.eligibleEpoch(req, p, r) {
			c.log.Info().Str("partition", tp.String()).Int32("replica", r).Ints32("isr", proposed.Isr).
				Msg("rejecting AlterPartition with an ineligible replica in the ISR")
			if req.Version > 1 {
				return alterResult{code: errIneligibleReplica}, false
			}
			return alterResult{code: errOperationNotAttempted}, false
		}
	}
	return alterResult{}, true
}

// eligibleEpoch checks a v3+ ISR member's broker epoch (-1: unknown, not
// checked).
func (c *Controller) eligibleEpoch(req *kmsg.AlterPartitionRequest, p kmsg.AlterPartitionRequestTopicPartition, r int32) bool {
	if req.Version < 3 {
		return true
	}
	for _, e := range p.NewEpochISR {
		if e.BrokerID == r && e.BrokerEpoch != -1 && e.BrokerEpoch != c.ctx.brokers[r].epoch {
			return false
		}
	}
	return true
}

func hasDuplicates(l []int32) bool {
	seen := make(map[int32]bool, len(l))
	for _, r := range l {
		if seen[r] {
			return true
		}
		seen[r] = true
	}
	return false
}
