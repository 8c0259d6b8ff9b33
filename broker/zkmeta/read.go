package zkmeta

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"
)

// A missing znode is reported as an error wrapping zk.ErrNoNode.

// BrokerRegistration is a registered broker with its epoch (the czxid of its
// /brokers/ids/<id>).
type BrokerRegistration struct {
	*BrokerInfo
	Epoch int64
}

// GetBrokerIDs lists the registered broker ids, ascending
// (KafkaZkClient.getSortedBrokerList). Children that are not ids are skipped.
func (c *Client) GetBrokerIDs() ([]int32, error) {
	names, err := c.children(BrokerIDsPath)
	if err != nil {
		return nil, err
	}
	ids := make([]int32, 0, len(names))
	for _, n := range names {
		if id, err := strconv.ParseInt(n, 10, 32); err == nil && id >= 0 {
			ids = append(ids, int32(id))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// GetBroker reads one registration and its broker epoch.
func (c *Client) GetBroker(id int32) (*BrokerRegistration, error) {
	data, stat, err := c.get(BrokerIDPath(id))
	if err != nil {
		return nil, err
	}
	info, err := DecodeBrokerInfo(id, data)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: %s: %w", BrokerIDPath(id), err)
	}
	return &BrokerRegistration{BrokerInfo: info, Epoch: stat.Czxid}, nil
}

// GetAllBrokers reads every registration, by id
// (KafkaZkClient.getAllBrokerAndEpochsInCluster). A broker that deregisters
// between the listing and the read is left out.
func (c *Client) GetAllBrokers() ([]*BrokerRegistration, error) {
	ids, err := c.GetBrokerIDs()
	if err != nil {
		return nil, err
	}
	out := make([]*BrokerRegistration, 0, len(ids))
	for _, id := range ids {
		b, err := c.GetBroker(id)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// GetControllerID returns the broker named by /controller.
func (c *Client) GetControllerID() (int32, error) {
	info, err := c.GetController()
	if err != nil {
		return 0, err
	}
	return info.BrokerID, nil
}

// GetController reads /controller.
func (c *Client) GetController() (*ControllerInfo, error) {
	data, _, err := c.get(ControllerPath)
	if err != nil {
		return nil, err
	}
	info, err := DecodeControllerInfo(data)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: %s: %w", ControllerPath, err)
	}
	return info, nil
}

// GetControllerEpoch reads /controller_epoch: its value and zkVersion.
func (c *Client) GetControllerEpoch() (Epoch, error) {
	data, stat, err := c.get(ControllerEpochPath)
	if err != nil {
		return Epoch{}, err
	}
	e, err := DecodeControllerEpoch(data)
	if err != nil {
		return Epoch{}, fmt.Errorf("zkmeta: %s: %w", ControllerEpochPath, err)
	}
	return Epoch{Epoch: e, EpochZkVersion: stat.Version}, nil
}

// GetTopics lists /brokers/topics, sorted.
func (c *Client) GetTopics() ([]string, error) {
	names, err := c.children(TopicsPath)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// GetTopicAssignment reads /brokers/topics/<t> and its zkVersion.
func (c *Client) GetTopicAssignment(topic string) (*TopicAssignment, int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, 0, err
	}
	data, stat, err := c.get(TopicPath(topic))
	if err != nil {
		return nil, 0, err
	}
	a, err := DecodeTopicAssignment(data)
	if err != nil {
		return nil, 0, fmt.Errorf("zkmeta: %s: %w", TopicPath(topic), err)
	}
	return a, stat.Version, nil
}

// GetPartitionIDs lists /brokers/topics/<t>/partitions, ascending.
func (c *Client) GetPartitionIDs(topic string) ([]int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, err
	}
	names, err := c.children(TopicPartitionsPath(topic))
	if err != nil {
		return nil, err
	}
	ids := make([]int32, 0, len(names))
	for _, n := range names {
		if p, err := strconv.ParseInt(n, 10, 32); err == nil && p >= 0 {
			ids = append(ids, int32(p))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// GetPartitionState reads a partition's state and its zkVersion (the
// partition epoch that every later conditional write must name).
func (c *Client) GetPartitionState(topic string, partition int32) (*PartitionState, int32, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, 0, err
	}
	path := PartitionStatePath(topic, partition)
	data, stat, err := c.get(path)
	if err != nil {
		return nil, 0, err
	}
	s, err := DecodePartitionState(data)
	if err != nil {
		return nil, 0, fmt.Errorf("zkmeta: %s: %w", path, err)
	}
	return s, stat.Version, nil
}

// GetClusterID reads /cluster/id.
func (c *Client) GetClusterID() (string, error) {
	data, _, err := c.get(ClusterIDPath)
	if err != nil {
		return "", err
	}
	id, err := DecodeClusterID(data)
	if err != nil {
		return "", fmt.Errorf("zkmeta: %s: %w", ClusterIDPath, err)
	}
	return id, nil
}

// GetOrCreateClusterID returns the cluster id, creating /cluster/id with a
// fresh random Uuid if there is none; when two brokers race, the first
// create wins and both return its id (KafkaZkClient.getOrCreateClusterId).
func (c *Client) GetOrCreateClusterID() (string, error) {
	id, err := c.GetClusterID()
	if !errors.Is(err, zk.ErrNoNode) {
		return id, err
	}
	u, err := NewUuid(c.rand)
	if err != nil {
		return "", err
	}
	err = c.createRecursive(ClusterIDPath, EncodeClusterID(u.String()))
	if err != nil {
		return "", err
	}
	// createRecursive ignores NODEEXISTS: read back whichever id won.
	return c.GetClusterID()
}

// GetEntityConfig reads /config/<type>/<name>; a missing znode is an empty
// config, as KafkaZkClient.fetchEntityConfig returns.
func (c *Client) GetEntityConfig(entityType, name string) (map[string]string, error) {
	if err := validateNodeName("config entity", name); err != nil {
		return nil, err
	}
	path := ConfigEntityPath(entityType, name)
	data, _, err := c.get(path)
	if errors.Is(err, zk.ErrNoNode) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	cfg, err := DecodeEntityConfig(data)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: %s: %w", path, err)
	}
	return cfg, nil
}

// GetTopicsMarkedForDeletion lists /admin/delete_topics, sorted.
func (c *Client) GetTopicsMarkedForDeletion() ([]string, error) {
	names, err := c.children(DeleteTopicsPath)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// GetSequenceChildren lists the children of a notification parent that carry
// prefix, in sequence order (e.g. IsrChangeNotificationPath, IsrChangePrefix).
func (c *Client) GetSequenceChildren(parent, prefix string) ([]string, error) {
	names, err := c.children(parent)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if _, err := ParseSequenceNumber(n, prefix); err == nil {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := ParseSequenceNumber(a, prefix)
		y, _ := ParseSequenceNumber(b, prefix)
		return cmp.Compare(x, y)
	})
	return out, nil
}

// GetIsrChangeNotification reads one isr_change_<seq> (a bare name or a
// path). A notification deleted meanwhile wraps zk.ErrNoNode.
func (c *Client) GetIsrChangeNotification(name string) ([]TopicPartition, error) {
	seq, err := ParseSequenceNumber(name, IsrChangePrefix)
	if err != nil {
		return nil, err
	}
	path := IsrChangeSeqPath(FormatSequenceNumber(seq))
	data, _, err := c.get(path)
	if err != nil {
		return nil, err
	}
	tps, err := DecodeIsrChangeNotification(data)
	if err != nil {
		return nil, fmt.Errorf("zkmeta: %s: %w", path, err)
	}
	return tps, nil
}

// GetProducerIDBlock reads /latest_producer_id_block and its zkVersion; ok is
// false when the znode holds no block yet.
func (c *Client) GetProducerIDBlock() (b ProducerIDBlock, zkVersion int32, ok bool, err error) {
	data, stat, err := c.get(ProducerIDBlockPath)
	if err != nil {
		return b, 0, false, err
	}
	if len(data) == 0 {
		return b, stat.Version, false, nil
	}
	b, err = DecodeProducerIDBlock(data)
	if err != nil {
		return b, 0, false, fmt.Errorf("zkmeta: %s: %w", ProducerIDBlockPath, err)
	}
	return b, stat.Version, true, nil
}

// GetFeature reads /feature and its zkVersion.
func (c *Client) GetFeature() (*FeatureInfo, int32, error) {
	data, stat, err := c.get(FeaturePath)
	if err != nil {
		return nil, 0, err
	}
	f, err := DecodeFeatureInfo(data)
	if err != nil {
		return nil, 0, fmt.Errorf("zkmeta: %s: %w", FeaturePath, err)
	}
	return f, stat.Version, nil
}
