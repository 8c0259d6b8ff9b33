package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Controlled shutdown (reference/kafka.md 2.6, doControlledShutdown): a
// broker about to stop asks the controller to move its leaderships away
// first. Partitions of more than one replica it leads get a new leader by
// the ControlledShutdown rule; those it follows get StopReplica and lose it
// from their ISR. The answer lists the partitions it still leads; the broker
// retries until the list is empty (or gives up).

func controlledShutdownError(req *kmsg.ControlledShutdownRequest, code int16) *kmsg.ControlledShutdownResponse {
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	resp.ErrorCode = code
	return resp
}

func (c *Controller) processControlledShutdown(e evControlledShutdown) {
	resp := controlledShutdownError(e.req, errNone)
	remaining, code, err := c.doControlledShutdown(e.req)
	if err != nil {
		// A fenced write: another broker is the controller now (Kafka's
		// ControllerMovedException maps to NOT_CONTROLLER).
		code = errUnknownServerError
		if isFenceError(err) {
			code = errNotController
		}
		c.handleError(err)
	}
	resp.ErrorCode = code
	if code == errNone {
		for _, tp := range remaining {
			p := kmsg.NewControlledShutdownResponsePartitionsRemaining()
			p.Topic = tp.Topic
			p.Partition = tp.Partition
			resp.PartitionsRemaining = append(resp.PartitionsRemaining, p)
		}
	}
	e.reply <- resp
}

// doControlledShutdown returns the partitions still led, or an error code.
func (c *Controller) doControlledShutdown(req *kmsg.ControlledShutdownRequest) ([]TopicPartition, int16, error) {
	if !c.isActive() {
		return nil, errNotController, nil
	}
	cc := c.ctx
	id := req.BrokerID
	b, live := cc.brokers[id]
	// Before v2 the request has no broker epoch (UNKNOWN_BROKER_EPOCH): no
	// check, as in Kafka.
	if req.Version >= 2 && req.BrokerEpoch != -1 && live && req.BrokerEpoch < b.epoch {
		c.log.Info().Int32("broker_id", id).Int64("epoch", req.BrokerEpoch).Int64("current_epoch", b.epoch).
			Msg("controlled shutdown from an old broker epoch")
		return nil, errStaleBrokerEpoch, nil
	}
	if !live {
		return nil, errBrokerNotAvailable, nil
	}
	c.log.Info().Int32("broker_id", id).Msg("controlled shutdown")
	cc.shuttingDown[id] = true

	var led, followed []TopicPartition
	for _, tp := range cc.partitionsOnBroker(id) {
		li, ok := cc.leadership[tp]
		if len(cc.replicas(tp)) <= 1 || !ok || cc.isTopicQueuedUpForDeletion(tp.Topic) {
			continue
		}
		if li.Leader == id {
			led = append(led, tp)
		} else {
			followed = append(followed, tp)
		}
	}
	if _, err := c.partitionStateChanges(led, onlinePartition, controlledShutdownElection); err != nil {
		return nil, errNone, err
	}
	if len(followed) > 0 {
		c.newBatch()
		for _, tp := range followed {
			c.addStopReplica([]int32{id}, tp, false)
		}
		c.sendBatch()
	}
	var replicas []partitionReplica
	for _, tp := range followed {
		replicas = append(replicas, partitionReplica{tp, id})
	}
	if err := c.replicaStateChanges(replicas, offlineReplica); err != nil {
		return nil, errNone, err
	}
	return slices.Clip(cc.partitionLeadersOnBroker(id)), errNone, nil
}
