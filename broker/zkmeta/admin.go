package zkmeta

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// The writes below are made by brokers and admin request handlers, not by the
// controller, so Kafka does not fence them (AdminZkClient, the broker's ISR
// and producer-id paths).

// CreateTopic creates a topic as AdminZkClient.createTopicWithAssignment
// does: after validateTopicCreate's checks (name, not existing, not marked
// for deletion, no collision with a topic whose name differs only in '.'
// versus '_'), it writes /config/topics/<t> first and then creates
// /brokers/topics/<t>; the controller's watch on /brokers/topics does the
// rest. A zero a.TopicID is replaced with a fresh random id; the id written
// is returned. An existing topic wraps ErrTopicExists.
func (c *Client) CreateTopic(topic string, a *TopicAssignment, config map[string]string) (Uuid, error) {
	if err := ValidateTopicName(topic); err != nil {
		return ZeroUuid, err
	}
	assign := *a
	if assign.TopicID.IsZero() {
		id, err := NewUuid(c.rand)
		if err != nil {
			return ZeroUuid, err
		}
		assign.TopicID = id
	}
	data, err := EncodeTopicAssignment(&assign)
	if err != nil {
		return ZeroUuid, err
	}
	if err := c.validateTopicCreate(topic); err != nil {
		return ZeroUuid, err
	}
	if err := c.SetEntityConfig(ConfigTypeTopic, topic, config); err != nil {
		return ZeroUuid, err
	}
	if _, err := c.create(TopicPath(topic), data, zk.FlagPersistent); err != nil {
		if errors.Is(err, zk.ErrNodeExists) {
			return ZeroUuid, fmt.Errorf("%w: %s", ErrTopicExists, topic)
		}
		if errors.Is(err, zk.ErrNoNode) { // /brokers/topics missing
			if err := c.createRecursive(TopicsPath, nil); err != nil {
				return ZeroUuid, err
			}
			return c.CreateTopic(topic, &assign, config)
		}
		return ZeroUuid, err
	}
	return assign.TopicID, nil
}

func (c *Client) validateTopicCreate(topic string) error {
	if ok, _, err := c.exists(TopicPath(topic)); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, topic)
	}
	if ok, _, err := c.exists(DeleteTopicPath(topic)); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s is marked for deletion", ErrTopicExists, topic)
	}
	if strings.ContainsAny(topic, "._") {
		topics, err := c.GetTopics()
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		norm := strings.ReplaceAll(topic, ".", "_")
		for _, t := range topics {
			if strings.ReplaceAll(t, ".", "_") == norm {
				return fmt.Errorf("%w: topic %q collides with existing topic %q", ErrInvalid, topic, t)
			}
		}
	}
	return nil
}

// MarkTopicForDeletion creates /admin/delete_topics/<t> with null data, as
// AdminZkClient.deleteTopic does; the controller does the deletion. A topic
// that does not exist wraps zk.ErrNoNode; one already marked wraps
// ErrTopicMarkedForDeletion.
func (c *Client) MarkTopicForDeletion(topic string) error {
	if err := ValidateTopicName(topic); err != nil {
		return err
	}
	if ok, _, err := c.exists(TopicPath(topic)); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("zkmeta: topic %s: %w", topic, zk.ErrNoNode)
	}
	_, err := c.create(DeleteTopicPath(topic), nil, zk.FlagPersistent)
	if errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("%w: %s", ErrTopicMarkedForDeletion, topic)
	}
	if errors.Is(err, zk.ErrNoNode) {
		if err := c.createRecursive(DeleteTopicsPath, nil); err != nil {
			return err
		}
		return c.MarkTopicForDeletion(topic)
	}
	return err
}

// SetEntityConfig writes /config/<type>/<name> unconditionally, creating it
// if missing (KafkaZkClient.setOrCreateEntityConfigs). It does not notify:
// see ChangeEntityConfig.
func (c *Client) SetEntityConfig(entityType, name string, config map[string]string) error {
	if err := validateNodeName("config entity type", entityType); err != nil {
		return err
	}
	if err := validateNodeName("config entity", name); err != nil {
		return err
	}
	path := ConfigEntityPath(entityType, name)
	data := EncodeEntityConfig(config)
	_, err := c.set(path, data, MatchAnyVersion)
	if errors.Is(err, zk.ErrNoNode) {
		err = c.createRecursive(path, data)
		if err == nil {
			// createRecursive ignores NODEEXISTS: a racing creator may
			// have won, so write ours over it as Kafka's set-then-create
			// loop does.
			_, err = c.set(path, data, MatchAnyVersion)
		}
	}
	return err
}

// ChangeEntityConfig updates an entity's config and then announces it with a
// config_change_<seq> notification (AdminZkClient.changeEntityConfig), so
// every broker's ZkNodeChangeNotificationListener re-reads it.
func (c *Client) ChangeEntityConfig(entityType, name string, config map[string]string) error {
	if err := c.SetEntityConfig(entityType, name, config); err != nil {
		return err
	}
	_, err := c.CreateConfigChangeNotification(entityType + "/" + name)
	return err
}

// ChangeTopicConfig is ChangeEntityConfig for a topic.
func (c *Client) ChangeTopicConfig(topic string, config map[string]string) error {
	if err := ValidateTopicName(topic); err != nil {
		return err
	}
	return c.ChangeEntityConfig(ConfigTypeTopic, topic, config)
}

// CreateConfigChangeNotification creates a persistent-sequential
// /config/changes/config_change_<seq> holding {"version":2,"entity_path":...}
// (KafkaZkClient.createConfigChangeNotification, which first makes sure
// /config/changes exists). It returns the created logical path.
func (c *Client) CreateConfigChangeNotification(entityPath string) (string, error) {
	return c.createSequential(ConfigChangesPath, ConfigChangeSeqPath(""), EncodeConfigChangeNotification(entityPath))
}

// CreateIsrChangeNotification announces leader-side ISR changes with a
// persistent-sequential isr_change_<seq> (KafkaZkClient.propagateIsrChanges).
func (c *Client) CreateIsrChangeNotification(partitions []TopicPartition) (string, error) {
	if len(partitions) == 0 {
		return "", invalid("an ISR change notification needs at least one partition")
	}
	return c.createSequential(IsrChangeNotificationPath, IsrChangeSeqPath(""), EncodeIsrChangeNotification(partitions))
}

// CreateLogDirEventNotification announces a failed log dir on brokerID
// (KafkaZkClient.propagateLogDirEvent).
func (c *Client) CreateLogDirEventNotification(brokerID int32) (string, error) {
	return c.createSequential(LogDirEventNotificationPath, LogDirEventSeqPath(""), EncodeLogDirEventNotification(brokerID))
}

func (c *Client) createSequential(parent, prefix string, data []byte) (string, error) {
	created, err := c.create(prefix, data, zk.FlagSequence)
	if errors.Is(err, zk.ErrNoNode) {
		if err := c.createRecursive(parent, nil); err != nil {
			return "", err
		}
		created, err = c.create(prefix, data, zk.FlagSequence)
	}
	return created, err
}

// AllocateProducerIDBlock claims the next block of ProducerIDBlockSize
// producer ids for brokerID, as ZkProducerIdManager.getNewProducerIdBlock
// does: read the last block and its zkVersion, write the following block
// (or 0..999 when there is none) conditionally on that version, and go
// round again on BADVERSION unless the znode holds exactly our block (a lost
// reply). Ids beyond int64's range are refused.
func (c *Client) AllocateProducerIDBlock(brokerID int32) (ProducerIDBlock, error) {
	for attempt := 0; attempt < 100; attempt++ {
		last, version, ok, err := c.GetProducerIDBlock()
		if errors.Is(err, zk.ErrNoNode) {
			if err := c.createRecursive(ProducerIDBlockPath, nil); err != nil {
				return ProducerIDBlock{}, err
			}
			continue
		}
		if err != nil {
			return ProducerIDBlock{}, err
		}
		next := ProducerIDBlock{BrokerID: brokerID, BlockStart: 0, BlockEnd: ProducerIDBlockSize - 1}
		if ok {
			if last.BlockEnd > (1<<63-1)-ProducerIDBlockSize {
				return ProducerIDBlock{}, fmt.Errorf("zkmeta: producer ids exhausted (last block ends at %d)", last.BlockEnd)
			}
			next.BlockStart = last.BlockEnd + 1
			next.BlockEnd = last.BlockEnd + ProducerIDBlockSize
		}
		data := EncodeProducerIDBlock(next)
		_, err = c.set(ProducerIDBlockPath, data, version)
		if errors.Is(err, zk.ErrBadVersion) {
			// Either another broker took a block meanwhile, or our write
			// landed and its reply was lost (checkProducerIdBlockZkData).
			if cur, stat, gerr := c.get(ProducerIDBlockPath); gerr == nil && stat.Version == version+1 && bytes.Equal(cur, data) {
				return next, nil
			}
			continue
		}
		if err != nil {
			return ProducerIDBlock{}, err
		}
		return next, nil
	}
	return ProducerIDBlock{}, fmt.Errorf("%w: %s keeps changing", ErrVersionConflict, ProducerIDBlockPath)
}

// SetFeature writes /feature, creating it if missing, conditionally on
// expectedVersion (MatchAnyVersion for none); the controller does this on
// failover (KafkaController.enableFeatureVersioning via
// KafkaZkClient.createFeatureZNode / updateFeatureZNode).
func (c *Client) SetFeature(f *FeatureInfo, expectedVersion int32) (int32, error) {
	data, err := EncodeFeatureInfo(f)
	if err != nil {
		return 0, err
	}
	stat, err := c.set(FeaturePath, data, expectedVersion)
	if errors.Is(err, zk.ErrNoNode) {
		if _, err := c.create(FeaturePath, data, zk.FlagPersistent); err != nil {
			return 0, err
		}
		return 0, nil
	}
	if errors.Is(err, zk.ErrBadVersion) {
		return 0, fmt.Errorf("%w: %w", ErrVersionConflict, err)
	}
	if err != nil {
		return 0, err
	}
	return stat.Version, nil
}
