package controller

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Request versions the controller sends (the contract with package broker
// fixes them: inter.broker.protocol.version 3.2/3.3).
const (
	leaderAndIsrVersion   int16 = 6
	updateMetadataVersion int16 = 7
	stopReplicaVersion    int16 = 3
)

// requestBatch is ControllerBrokerRequestBatch: the requests one event
// produces, sent together when the event's state change is done.
type requestBatch struct {
	leaderAndIsr map[int32]map[TopicPartition]kmsg.LeaderAndISRRequestTopicPartition
	stopReplica  map[int32]map[TopicPartition]kmsg.StopReplicaRequestTopicPartitionState
	umBrokers    map[int32]bool
	umPartitions map[TopicPartition]kmsg.UpdateMetadataRequestTopicPartition
}

func newRequestBatch() requestBatch {
	return requestBatch{
		leaderAndIsr: map[int32]map[TopicPartition]kmsg.LeaderAndISRRequestTopicPartition{},
		stopReplica:  map[int32]map[TopicPartition]kmsg.StopReplicaRequestTopicPartitionState{},
		umBrokers:    map[int32]bool{},
		umPartitions: map[TopicPartition]kmsg.UpdateMetadataRequestTopicPartition{},
	}
}

func (b *requestBatch) empty() bool {
	return len(b.leaderAndIsr) == 0 && len(b.stopReplica) == 0 && len(b.umBrokers) == 0 && len(b.umPartitions) == 0
}

func (b *requestBatch) clear() {
	clear(b.leaderAndIsr)
	clear(b.stopReplica)
	clear(b.umBrokers)
	clear(b.umPartitions)
}

// newBatch starts a batch. A batch left over means an earlier event lost its
// requests (Kafka raises IllegalStateException); it is logged and dropped.
func (c *Controller) newBatch() {
	if !c.batch.empty() {
		c.log.Error().Int("leader_and_isr_brokers", len(c.batch.leaderAndIsr)).Int("stop_replica_brokers", len(c.batch.stopReplica)).
			Int("update_metadata_brokers", len(c.batch.umBrokers)).Msg("a request batch was left unsent; dropping it")
		c.batch.clear()
	}
}

// addLeaderAndIsr is addLeaderAndIsrRequestForBrokers: the partition's state
// for each broker, plus the partition in the UpdateMetadata to everyone.
func (c *Controller) addLeaderAndIsr(brokers []int32, tp TopicPartition, li leadershipInfo, a replicaAssignment, isNew bool) {
	for _, id := range brokers {
		if id < 0 {
			continue
		}
		m := c.batch.leaderAndIsr[id]
		if m == nil {
			m = map[TopicPartition]kmsg.LeaderAndISRRequestTopicPartition{}
			c.batch.leaderAndIsr[id] = m
		}
		alreadyNew := m[tp].IsNew
		p := kmsg.NewLeaderAndISRRequestTopicPartition()
		p.Topic = tp.Topic
		p.Partition = tp.Partition
		p.ControllerEpoch = li.ControllerEpoch
		p.Leader = li.Leader
		p.LeaderEpoch = li.LeaderEpoch
		p.ISR = slices.Clone(li.Isr)
		p.ZKVersion = li.PartitionEpoch
		p.Replicas = orEmpty(a.Replicas)
		p.AddingReplicas = orEmpty(a.AddingReplicas)
		p.RemovingReplicas = orEmpty(a.RemovingReplicas)
		p.IsNew = isNew || alreadyNew
		p.LeaderRecoveryState = li.LeaderRecoveryState
		m[tp] = p
	}
	c.addUpdateMetadata(c.ctx.liveOrShuttingDownBrokerIDs(), []TopicPartition{tp})
}

// addStopReplica is addStopReplicaRequestForBrokers; the leader epoch is -2
// for a topic being deleted.
func (c *Controller) addStopReplica(brokers []int32, tp TopicPartition, deletePartition bool) {
	epoch := c.ctx.leaderEpochForStopReplica(tp)
	for _, id := range brokers {
		if id < 0 {
			continue
		}
		m := c.batch.stopReplica[id]
		if m == nil {
			m = map[TopicPartition]kmsg.StopReplicaRequestTopicPartitionState{}
			c.batch.stopReplica[id] = m
		}
		s := kmsg.NewStopReplicaRequestTopicPartitionState()
		s.Partition = tp.Partition
		s.LeaderEpoch = epoch
		s.Delete = m[tp].Delete || deletePartition
		m[tp] = s
	}
}

// addUpdateMetadata is addUpdateMetadataRequestForBrokers: brokers get the
// UpdateMetadata of this batch, which carries these partitions (those with
// leadership info; leader -2 for a topic being deleted).
func (c *Controller) addUpdateMetadata(brokers []int32, tps []TopicPartition) {
	cc := c.ctx
	for _, id := range brokers {
		if id >= 0 {
			c.batch.umBrokers[id] = true
		}
	}
	for _, tp := range tps {
		li, ok := cc.leadership[tp]
		if !ok {
			continue // leader not yet assigned
		}
		replicas := cc.replicas(tp)
		offline := []int32{}
		for _, r := range replicas {
			if !cc.isReplicaOnline(r, tp, false) {
				offline = append(offline, r)
			}
		}
		leader, leaderEpoch, partitionEpoch := li.Leader, li.LeaderEpoch, li.PartitionEpoch
		if cc.isTopicQueuedUpForDeletion(tp.Topic) {
			// LeaderAndIsr.duringDelete(isr): leader -2, epochs 0.
			leader, leaderEpoch, partitionEpoch = zkmeta.LeaderDuringDelete, 0, 0
		}
		p := kmsg.NewUpdateMetadataRequestTopicPartition()
		p.Topic = tp.Topic
		p.Partition = tp.Partition
		p.ControllerEpoch = li.ControllerEpoch
		p.Leader = leader
		p.LeaderEpoch = leaderEpoch
		p.ISR = slices.Clone(li.Isr)
		p.ZKVersion = partitionEpoch
		p.Replicas = orEmpty(replicas)
		p.OfflineReplicas = offline
		c.batch.umPartitions[tp] = p
	}
}

// sendUpdateMetadataRequest sends one UpdateMetadata with these partitions
// to these brokers, in a batch of its own.
func (c *Controller) sendUpdateMetadataRequest(brokers []int32, tps []TopicPartition) {
	c.newBatch()
	c.addUpdateMetadata(brokers, tps)
	c.sendBatch()
}

// sendBatch is sendRequestsToBrokers: LeaderAndIsr per broker, then
// UpdateMetadata to its brokers, then StopReplica per broker. Requests to a
// broker that is no longer live are dropped, as in Kafka.
func (c *Controller) sendBatch() {
	c.sendLeaderAndIsr()
	c.sendUpdateMetadata()
	c.sendStopReplica()
	c.batch.clear()
}

func (c *Controller) sendLeaderAndIsr() {
	cc := c.ctx
	term := c.term
	for _, id := range slices.Sorted(maps.Keys(c.batch.leaderAndIsr)) {
		target, ok := cc.target(id)
		if !ok {
			continue
		}
		states := c.batch.leaderAndIsr[id]
		req := kmsg.NewPtrLeaderAndISRRequest()
		req.Version = leaderAndIsrVersion
		req.ControllerID = c.cfg.BrokerID
		req.ControllerEpoch = cc.epoch.Epoch
		req.BrokerEpoch = target.Epoch
		req.Type = 0 // the ZooKeeper controller sends incremental requests
		leaders := map[int32]bool{}
		for _, tp := range sortPartitions(slices.Collect(maps.Keys(states))) {
			p := states[tp]
			leaders[p.Leader] = true
			n := len(req.TopicStates)
			if n == 0 || req.TopicStates[n-1].Topic != tp.Topic {
				ts := kmsg.NewLeaderAndISRRequestTopicState()
				ts.Topic = tp.Topic
				ts.TopicID = cc.topicIDs[tp.Topic]
				req.TopicStates = append(req.TopicStates, ts)
				n++
			}
			req.TopicStates[n-1].PartitionStates = append(req.TopicStates[n-1].PartitionStates, p)
		}
		for _, lid := range cc.liveOrShuttingDownBrokerIDs() {
			if !leaders[lid] {
				continue
			}
			ep := c.interBrokerEndpoint(cc.brokers[lid].info)
			l := kmsg.NewLeaderAndISRRequestLiveLeader()
			l.BrokerID = lid
			l.Host = ep.Host
			l.Port = ep.Port
			req.LiveLeaders = append(req.LiveLeaders, l)
		}
		c.channels.send(id, req, func(r kmsg.Response) {
			if resp, ok := r.(*kmsg.LeaderAndISRResponse); ok {
				c.queue.put(evLeaderAndIsrResponse{term: term, broker: id, resp: resp})
			}
		})
	}
}

func (c *Controller) sendUpdateMetadata() {
	cc := c.ctx
	term := c.term
	if len(c.batch.umBrokers) == 0 {
		return
	}
	var topicStates []kmsg.UpdateMetadataRequestTopicState
	for _, tp := range sortPartitions(slices.Collect(maps.Keys(c.batch.umPartitions))) {
		n := len(topicStates)
		if n == 0 || topicStates[n-1].Topic != tp.Topic {
			ts := kmsg.NewUpdateMetadataRequestTopicState()
			ts.Topic = tp.Topic
			ts.TopicID = cc.topicIDs[tp.Topic]
			topicStates = append(topicStates, ts)
			n++
		}
		topicStates[n-1].PartitionStates = append(topicStates[n-1].PartitionStates, c.batch.umPartitions[tp])
	}
	var liveBrokers []kmsg.UpdateMetadataRequestLiveBroker
	for _, id := range cc.liveOrShuttingDownBrokerIDs() {
		liveBrokers = append(liveBrokers, updateMetadataBroker(id, cc.brokers[id].info))
	}
	for _, id := range slices.Sorted(maps.Keys(c.batch.umBrokers)) {
		target, ok := cc.target(id)
		if !ok {
			continue
		}
		req := kmsg.NewPtrUpdateMetadataRequest()
		req.Version = updateMetadataVersion
		req.ControllerID = c.cfg.BrokerID
		req.ControllerEpoch = cc.epoch.Epoch
		req.BrokerEpoch = target.Epoch
		// The slices are shared by every target's request: Senders only
		// read them.
		req.TopicStates = topicStates
		req.LiveBrokers = liveBrokers
		c.channels.send(id, req, func(r kmsg.Response) {
			if resp, ok := r.(*kmsg.UpdateMetadataResponse); ok {
				c.queue.put(evUpdateMetadataResponse{term: term, broker: id, resp: resp})
			}
		})
	}
}

// updateMetadataBroker describes a live broker: every endpoint with its
// listener name and security protocol (listener_security_protocol_map), and
// its rack.
func updateMetadataBroker(id int32, info *zkmeta.BrokerInfo) kmsg.UpdateMetadataRequestLiveBroker {
	b := kmsg.NewUpdateMetadataRequestLiveBroker()
	b.ID = id
	for _, e := range info.Endpoints {
		ep := kmsg.NewUpdateMetadataRequestLiveBrokerEndpoint()
		ep.Host = e.Host
		ep.Port = e.Port
		ep.ListenerName = e.Listener
		ep.SecurityProtocol = securityProtocolID(e.SecurityProtocol)
		b.Endpoints = append(b.Endpoints, ep)
		if e.SecurityProtocol == "PLAINTEXT" && b.Host == "" {
			b.Host, b.Port = e.Host, e.Port // the v0 fields, for completeness
		}
	}
	if info.Rack != "" {
		rack := info.Rack
		b.Rack = &rack
	}
	return b
}

func (c *Controller) sendStopReplica() {
	cc := c.ctx
	term := c.term
	for _, id := range slices.Sorted(maps.Keys(c.batch.stopReplica)) {
		target, ok := cc.target(id)
		if !ok {
			continue
		}
		states := c.batch.stopReplica[id]
		req := kmsg.NewPtrStopReplicaRequest()
		req.Version = stopReplicaVersion
		req.ControllerID = c.cfg.BrokerID
		req.ControllerEpoch = cc.epoch.Epoch
		req.BrokerEpoch = target.Epoch
		deleting := map[TopicPartition]bool{}
		for _, tp := range sortPartitions(slices.Collect(maps.Keys(states))) {
			n := len(req.Topics)
			if n == 0 || req.Topics[n-1].Topic != tp.Topic {
				t := kmsg.NewStopReplicaRequestTopic()
				t.Topic = tp.Topic
				req.Topics = append(req.Topics, t)
				n++
			}
			req.Topics[n-1].PartitionStates = append(req.Topics[n-1].PartitionStates, states[tp])
			if states[tp].Delete {
				deleting[tp] = true
			}
		}
		c.channels.send(id, req, func(r kmsg.Response) {
			resp, ok := r.(*kmsg.StopReplicaResponse)
			if !ok || len(deleting) == 0 {
				return
			}
			errs := map[TopicPartition]int16{}
			for _, p := range resp.Partitions {
				tp := TopicPartition{Topic: p.Topic, Partition: p.Partition}
				if deleting[tp] {
					errs[tp] = p.ErrorCode
				}
			}
			if resp.ErrorCode != errNone {
				// A request-level error fails every partition it deleted,
				// listed in the response or not.
				for tp := range deleting {
					if _, ok := errs[tp]; !ok {
						errs[tp] = resp.ErrorCode
					}
				}
			}
			if len(errs) > 0 {
				c.queue.put(evStopReplicaResponse{term: term, broker: id, requestErr: resp.ErrorCode, partitionErrors: errs})
			}
		})
	}
}

// interBrokerEndpoint is Broker.node(interBrokerListenerName), with a
// fallback to the first PLAINTEXT endpoint and then the first endpoint.
func (c *Controller) interBrokerEndpoint(info *zkmeta.BrokerInfo) zkmeta.Endpoint {
	for _, e := range info.Endpoints {
		if e.Listener == c.cfg.InterBrokerListenerName {
			return e
		}
	}
	for _, e := range info.Endpoints {
		if e.SecurityProtocol == "PLAINTEXT" {
			return e
		}
	}
	if len(info.Endpoints) > 0 {
		return info.Endpoints[0]
	}
	return zkmeta.Endpoint{Port: -1}
}

func orEmpty(l []int32) []int32 {
	if l == nil {
		return []int32{}
	}
	return slices.Clone(l)
}
