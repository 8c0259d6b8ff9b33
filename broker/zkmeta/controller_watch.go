package zkmeta

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// The controller drives itself from one-shot ZooKeeper watches, as Kafka's
// ZooKeeperClient does with its registered handlers: every read that should
// be watched sets the watch in the same request, so no change between the
// read and the watch can be missed. The helpers below apply the chroot and
// the lost-connection retry of the other reads; a request lost with the
// connection registered no watch (go-zookeeper adds the watcher only on a
// successful reply), so re-sending it is safe.

// Watcher is the part of *zk.Conn that sets watches. A Conn that does not
// implement it cannot drive a controller.
type Watcher interface {
	ChildrenW(path string) ([]string, *zk.Stat, <-chan zk.Event, error)
	GetW(path string) ([]byte, *zk.Stat, <-chan zk.Event, error)
	ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error)
}

var _ Watcher = (*zk.Conn)(nil)

// ErrNoWatches is returned by the watch helpers when the Client's Conn
// cannot set watches.
var ErrNoWatches = errors.New("zkmeta: the connection cannot set watches")

// CanWatch reports whether the Client's Conn can set watches.
func (c *Client) CanWatch() bool {
	_, ok := c.conn.(Watcher)
	return ok
}

func (c *Client) watcher() (Watcher, error) {
	w, ok := c.conn.(Watcher)
	if !ok {
		return nil, ErrNoWatches
	}
	return w, nil
}

// ChildrenW lists path's children and sets a child watch (it fires on a
// child created or deleted, and on path's deletion). The names are
// unsorted, as ZooKeeper returns them.
func (c *Client) ChildrenW(path string) ([]string, <-chan zk.Event, error) {
	w, err := c.watcher()
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var ch <-chan zk.Event
	err = c.retry(func() error {
		var err error
		names, _, ch, err = w.ChildrenW(c.Abs(path))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("zkmeta: children %s: %w", path, err)
	}
	return names, ch, nil
}

// ExistsW reports whether path exists and sets a watch that fires when it is
// created, changed or deleted (ZooKeeper's exists watch).
func (c *Client) ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error) {
	w, err := c.watcher()
	if err != nil {
		return false, nil, nil, err
	}
	var ok bool
	var stat *zk.Stat
	var ch <-chan zk.Event
	err = c.retry(func() error {
		var err error
		ok, stat, ch, err = w.ExistsW(c.Abs(path))
		return err
	})
	if err != nil {
		return false, nil, nil, fmt.Errorf("zkmeta: exists %s: %w", path, err)
	}
	return ok, stat, ch, nil
}

// GetW reads path and sets a data watch (it fires when the data changes or
// the znode is deleted). A missing znode wraps zk.ErrNoNode and sets no
// watch.
func (c *Client) GetW(path string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	w, err := c.watcher()
	if err != nil {
		return nil, nil, nil, err
	}
	var data []byte
	var stat *zk.Stat
	var ch <-chan zk.Event
	err = c.retry(func() error {
		var err error
		data, stat, ch, err = w.GetW(c.Abs(path))
		return err
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("zkmeta: get %s: %w", path, err)
	}
	return data, stat, ch, nil
}

// GetBrokerW reads one registration with its broker epoch and sets a data
// watch on it (Kafka's BrokerModificationsHandler). A deregistered broker
// wraps zk.ErrNoNode and sets no watch.
func (c *Client) GetBrokerW(id int32) (*BrokerRegistration, <-chan zk.Event, error) {
	data, stat, ch, err := c.GetW(BrokerIDPath(id))
	if err != nil {
		return nil, nil, err
	}
	info, err := DecodeBrokerInfo(id, data)
	if err != nil {
		// The watch is set; hand it back so the caller still hears of the
		// next change.
		return nil, ch, fmt.Errorf("zkmeta: %s: %w", BrokerIDPath(id), err)
	}
	return &BrokerRegistration{BrokerInfo: info, Epoch: stat.Czxid}, ch, nil
}

// GetTopicAssignmentW reads /brokers/topics/<t> with its zkVersion and sets a
// data watch on it (Kafka's PartitionModificationsHandler). A deleted topic
// wraps zk.ErrNoNode and sets no watch.
func (c *Client) GetTopicAssignmentW(topic string) (*TopicAssignment, int32, <-chan zk.Event, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, 0, nil, err
	}
	data, stat, ch, err := c.GetW(TopicPath(topic))
	if err != nil {
		return nil, 0, nil, err
	}
	a, err := DecodeTopicAssignment(data)
	if err != nil {
		return nil, 0, ch, fmt.Errorf("zkmeta: %s: %w", TopicPath(topic), err)
	}
	return a, stat.Version, ch, nil
}

// Children lists path's children without a watch (for a path whose watch
// is already armed).
func (c *Client) Children(path string) ([]string, error) { return c.children(path) }

// Exists reports whether path exists, without a watch.
func (c *Client) Exists(path string) (bool, error) {
	ok, _, err := c.exists(path)
	return ok, err
}
