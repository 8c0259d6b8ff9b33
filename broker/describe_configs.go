package broker

// DescribeConfigs, key 32, versions 0-4. Topics: every topic config of Kafka
// 3.4's LogConfig with its value, source (an override is
// DYNAMIC_TOPIC_CONFIG, a server.properties value STATIC_BROKER_CONFIG,
// else DEFAULT_CONFIG), synonyms (v1+ when asked), type and documentation
// (v3+). Brokers: this broker's keys (another broker id is INVALID_REQUEST,
// as ConfigHelper says). An unknown topic is UNKNOWN_TOPIC_OR_PARTITION.

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs) }

// describedConfig is one config as DescribeConfigs and CreateTopics v5+ show it.
type describedConfig struct {
	name     string
	value    string
	source   kmsg.ConfigSource
	typ      configType
	doc      string
	synonyms []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
}

// describeTopicConfigs lists a topic's configs with their sources.
func (b *Broker) describeTopicConfigs(overrides map[string]string) []describedConfig {
	out := make([]describedConfig, 0, len(topicConfigDefs))
	for i := range topicConfigDefs {
		d := &topicConfigDefs[i]
		def, static := b.cfg.topicDefault(d)
		dc := describedConfig{name: d.name, value: def, source: kmsg.ConfigSourceDefaultConfig, typ: d.typ, doc: d.doc}
		if static {
			dc.source = kmsg.ConfigSourceStaticBrokerConfig
		}
		if v, ok := overrides[d.name]; ok {
			dc.value, dc.source = v, kmsg.ConfigSourceDynamicTopicConfig
			dc.synonyms = append(dc.synonyms, synonym(d.name, v, kmsg.ConfigSourceDynamicTopicConfig))
		}
		if static {
			dc.synonyms = append(dc.synonyms, synonym(d.brokerKey, def, kmsg.ConfigSourceStaticBrokerConfig))
		} else if d.brokerKey != "" {
			dc.synonyms = append(dc.synonyms, synonym(d.brokerKey, def, kmsg.ConfigSourceDefaultConfig))
		}
		out = append(out, dc)
	}
	return out
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, kmsg.StringPtr(value), src
	return s
}

// brokerConfigDefaults are the values DescribeConfigs shows for broker keys
// not set in server.properties.
var brokerConfigDefaults = map[string]string{
	"auto.create.topics.enable": "true", "auto.leader.rebalance.enable": "true", "broker.id.generation.enable": "true",
	"compression.type": "producer", "connections.max.idle.ms": "600000", "controlled.shutdown.enable": "true",
	"controlled.shutdown.max.retries": "3", "controlled.shutdown.retry.backoff.ms": "5000",
	"default.replication.factor": "1", "delete.topic.enable": "true", "leader.imbalance.check.interval.seconds": "300",
	"leader.imbalance.per.broker.percentage": "10", "log.cleaner.backoff.ms": "15000",
	"log.cleaner.delete.retention.ms": "86400000", "log.cleaner.enable": "true", "log.cleanup.policy": "delete",
	"log.dirs": "/tmp/kafka-logs", "log.index.interval.bytes": "4096", "log.index.size.max.bytes": "10485760",
	"log.message.timestamp.type": "CreateTime", "log.retention.bytes": "-1", "log.retention.check.interval.ms": "300000",
	"log.retention.hours": "168", "log.roll.hours": "168", "log.segment.bytes": "1073741824",
	"log.segment.delete.delay.ms": "60000", "message.max.bytes": "1048588", "min.insync.replicas": "1",
	"num.partitions": "1", "reserved.broker.max.id": "1000", "socket.request.max.bytes": "104857600",
	"unclean.leader.election.enable": "false", "zookeeper.session.timeout.ms": "18000",
	"replica.high.watermark.checkpoint.interval.ms": "5000",
}

func (b *Broker) describeBrokerConfigs() []describedConfig {
	names := make([]string, 0, len(brokerConfigDefaults)+len(b.cfg.Raw))
	for k := range brokerConfigDefaults {
		names = append(names, k)
	}
	for k := range b.cfg.Raw {
		if _, ok := brokerConfigDefaults[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := make([]describedConfig, 0, len(names))
	for _, k := range names {
		dc := describedConfig{name: k, value: brokerConfigDefaults[k], source: kmsg.ConfigSourceDefaultConfig, typ: typeString}
		if v, ok := b.cfg.Raw[k]; ok {
			dc.value, dc.source = v, kmsg.ConfigSourceStaticBrokerConfig
			dc.synonyms = append(dc.synonyms, synonym(k, v, kmsg.ConfigSourceStaticBrokerConfig))
		}
		if k == "broker.id" {
			dc.value = strconv.Itoa(int(b.brokerID))
		}
		out = append(out, dc)
	}
	return out
}

func handleDescribeConfigs(b *Broker, _ *reqContext, req *kmsg.DescribeConfigsRequest) reply {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		configs, err := b.describeResource(r)
		if err != nil {
			rr.ErrorCode, rr.ErrorMessage = errorCode(err), errorMessage(err)
		}
		for _, dc := range configs {
			if r.ConfigNames != nil && !slices.Contains(r.ConfigNames, dc.name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.Source = dc.name, kmsg.StringPtr(dc.value), dc.source
			c.IsDefault = dc.source == kmsg.ConfigSourceDefaultConfig
			c.ReadOnly = r.ResourceType == kmsg.ConfigResourceTypeBroker
			if req.IncludeSynonyms {
				c.ConfigSynonyms = dc.synonyms
			}
			c.ConfigType = kmsg.ConfigType(dc.typ)
			if req.IncludeDocumentation && dc.doc != "" {
				c.Documentation = kmsg.StringPtr(dc.doc)
			}
			rr.Configs = append(rr.Configs, c)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(resp)
}

func (b *Broker) describeResource(r kmsg.DescribeConfigsRequestResource) ([]describedConfig, error) {
	switch r.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if err := zkmeta.ValidateTopicName(r.ResourceName); err != nil {
			return nil, kafkaError(kerr.InvalidTopicException, err.Error())
		}
		if _, ok := b.cache.load().topics[r.ResourceName]; !ok {
			return nil, kafkaError(kerr.UnknownTopicOrPartition, fmt.Sprintf("The topic '%s' does not exist.", r.ResourceName))
		}
		overrides, err := b.meta.GetEntityConfig(zkmeta.ConfigTypeTopic, r.ResourceName)
		if err != nil {
			return nil, err
		}
		return b.describeTopicConfigs(overrides), nil
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		if r.ResourceName != "" && r.ResourceName != strconv.Itoa(int(b.brokerID)) {
			return nil, kafkaError(kerr.InvalidRequest, fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %s", b.brokerID, r.ResourceName))
		}
		if r.ResourceType == kmsg.ConfigResourceTypeBrokerLogger {
			return nil, nil
		}
		return b.describeBrokerConfigs(), nil
	}
	return nil, kafkaError(kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type: %d", r.ResourceType))
}
