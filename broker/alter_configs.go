package broker

// AlterConfigs, key 33, versions 0-2: replaces a topic's whole override set
// (the request's configs become /config/topics/<t>), validated as
// LogConfig.validate does (INVALID_CONFIG with Kafka's message), then a
// config_change notification makes every broker apply it. An unknown topic
// is UNKNOWN_TOPIC_OR_PARTITION. Broker resources (dynamic broker configs)
// are not supported: INVALID_REQUEST.

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.AlterConfigs, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(b *Broker, _ *reqContext, req *kmsg.AlterConfigsRequest) reply {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		err := func() error {
			if err := b.checkAlterableTopic(r.ResourceType, r.ResourceName); err != nil {
				return err
			}
			configs := map[string]string{}
			for _, c := range r.Configs {
				if c.Value == nil {
					return kafkaError(kerr.InvalidRequest, "Null value not supported for : "+c.Name)
				}
				configs[c.Name] = *c.Value
			}
			return b.setTopicConfig(r.ResourceName, configs, req.ValidateOnly)
		}()
		rr.ErrorCode, rr.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(resp)
}

// checkAlterableTopic accepts topic resources naming an existing topic.
func (b *Broker) checkAlterableTopic(typ kmsg.ConfigResourceType, name string) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		return kafkaError(kerr.InvalidRequest, "dynamic broker configs are not supported by this brokerd; set them in server.properties")
	default:
		return kafkaError(kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type: %d", typ))
	}
	if err := zkmeta.ValidateTopicName(name); err != nil {
		return kafkaError(kerr.InvalidTopicException, err.Error())
	}
	if _, _, err := b.meta.GetTopicAssignment(name); errors.Is(err, zk.ErrNoNode) {
		return kafkaError(kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic %s does not exist", name))
	} else if err != nil {
		return err
	}
	return nil
}

// setTopicConfig validates and writes a topic's override set and notifies
// every broker (AdminZkClient.changeTopicConfig).
func (b *Broker) setTopicConfig(topic string, configs map[string]string, validateOnly bool) error {
	if err := validateTopicConfigs(configs); err != nil {
		return kafkaError(kerr.InvalidConfig, err.Error())
	}
	if validateOnly {
		return nil
	}
	if err := b.meta.ChangeTopicConfig(topic, configs); err != nil {
		return err
	}
	b.log.Info().Str("topic", topic).Interface("config", configs).Msg("altered topic config")
	return nil
}
