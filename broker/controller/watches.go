package controller

import (
	"errors"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// ZooKeeper watches are one-shot and go-zookeeper cannot remove one, so the
// loop keeps a registry of the watches it has armed: a path is watched at
// most once per kind (another watch on it would deliver the same event
// twice), a read of an armed path does not watch again, and an event clears
// the entry so the handler's read re-arms it, as Kafka's handlers do. Each
// registration has a token; after a session is lost the registry is cleared
// and events of the old registrations are ignored.

type watchKind uint8

const (
	watchExists watchKind = iota
	watchChildren
	watchData
)

type watchKey struct {
	kind watchKind
	path string // logical path (below the chroot)
}

// track remembers a watch armed on key and forwards its one event to the
// loop.
func (c *Controller) track(key watchKey, ch <-chan zk.Event) {
	if ch == nil {
		return
	}
	c.token++
	tok := c.token
	c.watches[key] = tok
	go func() {
		ev, ok := <-ch
		if ok {
			c.queue.put(evWatch{key: key, token: tok, ev: ev})
		}
	}()
}

func (c *Controller) armed(key watchKey) bool {
	_, ok := c.watches[key]
	return ok
}

// children lists path's children, watching them.
func (c *Controller) children(path string) ([]string, error) {
	key := watchKey{watchChildren, path}
	if c.armed(key) {
		return c.meta.Children(path)
	}
	names, ch, err := c.meta.ChildrenW(path)
	if err != nil {
		return nil, err
	}
	c.track(key, ch)
	return names, nil
}

// exists reports whether path exists, watching it.
func (c *Controller) exists(path string) (bool, error) {
	key := watchKey{watchExists, path}
	if c.armed(key) {
		return c.meta.Exists(path)
	}
	ok, _, ch, err := c.meta.ExistsW(path)
	if err != nil {
		return false, err
	}
	c.track(key, ch)
	return ok, nil
}

// readBroker reads a registration, watching its data
// (BrokerModificationsHandler).
func (c *Controller) readBroker(id int32) (*zkmeta.BrokerRegistration, error) {
	key := watchKey{watchData, zkmeta.BrokerIDPath(id)}
	if c.armed(key) {
		return c.meta.GetBroker(id)
	}
	b, ch, err := c.meta.GetBrokerW(id)
	c.track(key, ch)
	return b, err
}

// readTopic reads a topic's assignment, watching its data
// (PartitionModificationsHandler).
func (c *Controller) readTopic(topic string) (*zkmeta.TopicAssignment, int32, error) {
	key := watchKey{watchData, zkmeta.TopicPath(topic)}
	if c.armed(key) {
		return c.meta.GetTopicAssignment(topic)
	}
	a, v, ch, err := c.meta.GetTopicAssignmentW(topic)
	c.track(key, ch)
	return a, v, err
}

// processWatch routes a fired watch to its handler (the ZNodeChangeHandler
// and ZNodeChildChangeHandler classes of KafkaController).
func (c *Controller) processWatch(e evWatch) error {
	if tok, ok := c.watches[e.key]; !ok || tok != e.token {
		return nil // a registration forgotten since (lost session)
	}
	delete(c.watches, e.key)
	if e.ev.Type == zk.EventNotWatching {
		c.sessionLost(e.ev.Err)
		return nil
	}
	err := c.dispatchWatch(e.key.path)
	if err != nil && e.key.path == zkmeta.ControllerPath && !isFenceError(err) {
		// The /controller watch was not re-armed: campaign again later,
		// which re-arms it.
		c.log.Warn().Err(err).Msg("cannot follow /controller; campaigning again later")
		c.scheduleReelect()
		return nil
	}
	return err
}

func (c *Controller) dispatchWatch(path string) error {
	switch {
	case path == zkmeta.ControllerPath:
		// Every /controller event re-checks the znode and campaigns if it
		// is gone. A creation or change event can be handled after the
		// znode was deleted again; that deletion fires no event of its own
		// (the one-shot watch was spent on the creation), so only
		// re-checking here keeps the cluster from staying without a
		// controller.
		return c.reelect()
	case path == zkmeta.BrokerIDsPath:
		return c.processBrokerChange()
	case strings.HasPrefix(path, zkmeta.BrokerIDsPath+"/"):
		id, err := strconv.ParseInt(path[len(zkmeta.BrokerIDsPath)+1:], 10, 32)
		if err != nil {
			return nil
		}
		return c.processBrokerModification(int32(id))
	case path == zkmeta.TopicsPath:
		return c.processTopicChange()
	case strings.HasPrefix(path, zkmeta.TopicsPath+"/"):
		return c.processPartitionModifications(path[len(zkmeta.TopicsPath)+1:])
	case path == zkmeta.DeleteTopicsPath:
		return c.processTopicDeletion()
	case path == zkmeta.IsrChangeNotificationPath:
		return c.processIsrChangeNotification()
	case path == zkmeta.LogDirEventNotificationPath:
		return c.processLogDirEventNotification()
	case path == zkmeta.PreferredReplicaElectionPath:
		return c.processZkPreferredElection()
	}
	return nil
}

// isNoNode reports a missing znode.
func isNoNode(err error) bool { return errors.Is(err, zk.ErrNoNode) }
