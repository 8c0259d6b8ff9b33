package zkmeta

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// SetConsumerOffset stores an old-consumer (OffsetCommit v0) offset at
// /consumers/<group>/offsets/<t>/<p>, creating the path if needed
// (KafkaZkClient.setOrCreateConsumerOffset).
func (c *Client) SetConsumerOffset(group, topic string, partition int32, offset int64) error {
	path, err := consumerOffsetPath(group, topic, partition)
	if err != nil {
		return err
	}
	data := EncodeConsumerOffset(offset)
	_, err = c.set(path, data, MatchAnyVersion)
	if errors.Is(err, zk.ErrNoNode) {
		if err = c.createRecursive(path, data); err == nil {
			_, err = c.set(path, data, MatchAnyVersion)
		}
	}
	return err
}

// GetConsumerOffset reads an old-consumer offset; ok is false when none was
// committed (KafkaZkClient.getConsumerOffset).
func (c *Client) GetConsumerOffset(group, topic string, partition int32) (offset int64, ok bool, err error) {
	path, err := consumerOffsetPath(group, topic, partition)
	if err != nil {
		return 0, false, err
	}
	data, _, err := c.get(path)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	offset, err = DecodeConsumerOffset(data)
	if err != nil {
		return 0, false, fmt.Errorf("zkmeta: %s: %w", path, err)
	}
	return offset, true, nil
}

func consumerOffsetPath(group, topic string, partition int32) (string, error) {
	if err := validateNodeName("consumer group", group); err != nil {
		return "", err
	}
	if err := ValidateTopicName(topic); err != nil {
		return "", err
	}
	if partition < 0 {
		return "", invalid("partition %d is negative", partition)
	}
	return ConsumerOffsetPath(group, topic, partition), nil
}
