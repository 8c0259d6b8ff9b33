package broker

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// topicConfigCache holds the topic overrides from /config/topics/<t> that
// the produce path and new logs need, read from ZooKeeper on first use and
// refreshed by config change notifications.
type topicConfigCache struct {
	b  *Broker
	mu sync.RWMutex
	m  map[string]map[string]string
}

func newTopicConfigCache(b *Broker) *topicConfigCache {
	return &topicConfigCache{b: b, m: map[string]map[string]string{}}
}

// overrides returns a topic's overrides (shared: do not modify).
func (c *topicConfigCache) overrides(topic string) (map[string]string, error) {
	c.mu.RLock()
	o, ok := c.m[topic]
	c.mu.RUnlock()
	if ok {
		return o, nil
	}
	return c.refresh(topic)
}

// refresh re-reads a topic's overrides from ZooKeeper.
func (c *topicConfigCache) refresh(topic string) (map[string]string, error) {
	o, err := c.b.meta.GetEntityConfig(zkmeta.ConfigTypeTopic, topic)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[topic] = o
	c.mu.Unlock()
	return o, nil
}

func (c *topicConfigCache) forget(topic string) {
	c.mu.Lock()
	delete(c.m, topic)
	c.mu.Unlock()
}

// logConfig is the log configuration of a topic: broker defaults with its
// overrides.
func (c *topicConfigCache) logConfig(topic string) (log.Config, error) {
	o, err := c.overrides(topic)
	if err != nil {
		return log.Config{}, err
	}
	return c.b.cfg.logConfigFor(o), nil
}

// configChangeExpiry is ZkNodeChangeNotificationListener's
// changeExpirationMs: notifications older than this are deleted.
const configChangeExpiry = 15 * time.Minute

// watchConfigChanges follows /config/changes as every Kafka broker does
// (ZkNodeChangeNotificationListener with the topic config handler): each new
// config_change_<seq> names an entity whose config is re-read; for topics
// the new config is applied to the open logs.
func (b *Broker) watchConfigChanges() {
	defer b.wg.Done()
	last := int64(-1)
	for b.ctx.Err() == nil {
		names, _, watch, err := b.zkConn.ChildrenW(b.meta.Abs(zkmeta.ConfigChangesPath))
		if err != nil {
			if errors.Is(err, zk.ErrClosing) || b.ctx.Err() != nil {
				return
			}
			b.log.Debug().Err(err).Msg("config change watch failed, retrying")
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		last = b.processConfigChanges(names, last)
		select {
		case <-b.ctx.Done():
			return
		case <-watch:
		}
	}
}

func (b *Broker) processConfigChanges(names []string, last int64) int64 {
	type change struct {
		seq  int64
		name string
	}
	var changes []change
	for _, n := range names {
		seq, err := zkmeta.ParseSequenceNumber(n, zkmeta.ConfigChangePrefix)
		if err == nil && seq > last {
			changes = append(changes, change{seq, n})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
	for _, ch := range changes {
		path := zkmeta.ConfigChangesPath + "/" + ch.name
		data, stat, err := b.zkConn.Get(b.meta.Abs(path))
		if err != nil {
			last = ch.seq
			continue
		}
		if entity, err := zkmeta.DecodeConfigChangeNotification(data); err == nil {
			b.applyConfigChange(entity)
		} else {
			b.log.Warn().Err(err).Str("path", path).Msg("bad config change notification")
		}
		if time.Since(time.UnixMilli(stat.Ctime)) > configChangeExpiry {
			_ = b.zkConn.Delete(b.meta.Abs(path), -1)
		}
		last = ch.seq
	}
	return last
}

// applyConfigChange handles one entity path ("topics/<t>").
func (b *Broker) applyConfigChange(entity string) {
	typ, name, ok := strings.Cut(entity, "/")
	if !ok || typ != zkmeta.ConfigTypeTopic {
		return // client, user, broker and ip quotas and dynamic broker configs are not used
	}
	o, err := b.topicCfg.refresh(name)
	if err != nil {
		b.log.Warn().Err(err).Str("topic", name).Msg("cannot read changed topic config")
		return
	}
	b.logs.UpdateTopicConfig(name, b.cfg.logConfigFor(o))
	b.log.Info().Str("topic", name).Interface("config", o).Msg("topic config changed")
}
