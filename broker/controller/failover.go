package controller

import (
	"crypto/rand"
	"errors"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// initializeControllerContext reads the cluster from ZooKeeper, watching
// what the controller reacts to: live brokers and their epochs, topics,
// assignments and topic ids, and every partition's leader and ISR.
func (c *Controller) initializeControllerContext() error {
	cc := c.ctx
	brokers, err := c.readLiveBrokers()
	if err != nil {
		return err
	}
	for _, b := range brokers {
		cc.brokers[b.ID] = liveBroker{info: b.BrokerInfo, epoch: b.Epoch}
	}
	topics, err := c.children(zkmeta.TopicsPath)
	if err != nil {
		return err
	}
	for _, t := range topics {
		cc.allTopics[t] = true
	}
	reads, err := c.readTopics(topics)
	if err != nil {
		return err
	}
	if err := c.processTopicIDs(reads); err != nil {
		return err
	}
	for _, r := range reads {
		for p, a := range r.assignment.Partitions {
			cc.setAssignment(TopicPartition{Topic: r.topic, Partition: p}, fromZkAssignment(a))
		}
	}
	clear(cc.shuttingDown)
	all := cc.allPartitions()
	states := c.readPartitionStates(all)
	for i, tp := range all {
		if states[i].err != nil {
			return states[i].err
		}
		if states[i].found {
			cc.leadership[tp] = states[i].li
		}
	}
	for _, id := range cc.liveOrShuttingDownBrokerIDs() {
		t, _ := cc.target(id)
		c.channels.addBroker(t)
	}
	return nil
}

// readLiveBrokers lists /brokers/ids (watching it) and reads each
// registration (watching it), ascending by id. A broker that deregistered
// meanwhile is left out; one with an unreadable registration is logged and
// left out.
func (c *Controller) readLiveBrokers() ([]*zkmeta.BrokerRegistration, error) {
	names, err := c.children(zkmeta.BrokerIDsPath)
	if err != nil {
		return nil, err
	}
	var ids []int32
	for _, n := range names {
		if id, err := strconv.ParseInt(n, 10, 32); err == nil && id >= 0 {
			ids = append(ids, int32(id))
		}
	}
	slices.Sort(ids)
	var out []*zkmeta.BrokerRegistration
	for _, id := range ids {
		b, err := c.readBroker(id)
		switch {
		case isNoNode(err):
		case errors.Is(err, zkmeta.ErrBadData):
			c.log.Error().Err(err).Int32("broker_id", id).Msg("ignoring a broker with an unreadable registration")
		case err != nil:
			return nil, err
		default:
			out = append(out, b)
		}
	}
	return out, nil
}

// topicRead is one topic's assignment as read from ZooKeeper.
type topicRead struct {
	topic      string
	assignment *zkmeta.TopicAssignment
	version    int32
}

// readTopics reads the assignments of topics (watching each), in parallel.
// Topics deleted meanwhile or with malformed assignments are left out (the
// latter logged; its watch still reports the repair).
func (c *Controller) readTopics(topics []string) ([]topicRead, error) {
	topics = slices.Sorted(slices.Values(topics))
	type result struct {
		a   *zkmeta.TopicAssignment
		v   int32
		ch  <-chan zk.Event
		err error
	}
	res := make([]result, len(topics))
	armed := make([]bool, len(topics))
	for i, t := range topics {
		armed[i] = c.armed(watchKey{watchData, zkmeta.TopicPath(t)})
	}
	parallel(len(topics), func(i int) {
		r := &res[i]
		if armed[i] {
			r.a, r.v, r.err = c.meta.GetTopicAssignment(topics[i])
		} else {
			r.a, r.v, r.ch, r.err = c.meta.GetTopicAssignmentW(topics[i])
		}
	})
	var out []topicRead
	for i, t := range topics {
		r := res[i]
		c.track(watchKey{watchData, zkmeta.TopicPath(t)}, r.ch)
		switch {
		case r.err == nil:
			out = append(out, topicRead{topic: t, assignment: r.a, version: r.v})
		case isNoNode(r.err):
		case errors.Is(r.err, zkmeta.ErrBadData) || errors.Is(r.err, zkmeta.ErrInvalid):
			c.log.Error().Err(r.err).Str("topic", t).Msg("ignoring a topic with an unreadable assignment")
		default:
			return nil, r.err
		}
	}
	return out, nil
}

// processTopicIDs gives every topic without a topic id a fresh one, written
// back to its assignment inside the fence (KafkaController.processTopicIds
// with IBP >= 2.8), and records the ids.
func (c *Controller) processTopicIDs(reads []topicRead) error {
	cc := c.ctx
	for i := range reads {
		r := &reads[i]
		if r.assignment.TopicID.IsZero() {
			if err := c.assignTopicID(r); err != nil {
				if errors.Is(err, zkmeta.ErrControllerMoved) {
					return err
				}
				c.log.Error().Err(err).Str("topic", r.topic).Msg("cannot write a topic id")
			}
		}
		cc.addTopicID(r.topic, r.assignment.TopicID)
	}
	return nil
}

func (c *Controller) assignTopicID(r *topicRead) error {
	for attempt := 0; attempt < 3; attempt++ {
		id, err := zkmeta.NewUuid(rand.Reader)
		if err != nil {
			return err
		}
		a := *r.assignment
		a.TopicID = id
		v, err := c.meta.SetTopicAssignment(c.ctx.epoch, r.topic, &a, r.version)
		if err == nil {
			r.assignment, r.version = &a, v
			c.log.Info().Str("topic", r.topic).Str("topic_id", id.String()).Msg("assigned a topic id")
			return nil
		}
		if !errors.Is(err, zkmeta.ErrVersionConflict) || errors.Is(err, zkmeta.ErrControllerMoved) {
			return err
		}
		// Changed meanwhile (partitions added, or another id written):
		// read again.
		fresh, v2, err := c.meta.GetTopicAssignment(r.topic)
		if err != nil {
			return err
		}
		r.assignment, r.version = fresh, v2
		if !fresh.TopicID.IsZero() {
			return nil
		}
	}
	return errors.New("controller: topic assignment kept changing while writing its topic id")
}
