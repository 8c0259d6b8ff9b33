package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/controller"
	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

var _ controller.Sender = (*Sender)(nil)

// Send implements controller.Sender: the request goes to the target's
// endpoint on the inter-broker listener, as read from its registration.
func (s *Sender) Send(ctx context.Context, to controller.Target, req kmsg.Request) (kmsg.Response, error) {
	return s.SendTo(ctx, to.ID, to.Info, req)
}

// KafkaController is the ControllerFactory brokerd runs with:
// broker/controller configured from server.properties.
func KafkaController(cfg *Config) ControllerFactory {
	return func(brokerID int32, meta *zkmeta.Client, sender *Sender) (Controller, error) {
		c, err := controller.New(controller.Config{
			BrokerID:                     brokerID,
			Meta:                         meta,
			Sender:                       sender,
			Log:                          sender.log.With().Str("component", "controller").Logger(),
			AutoLeaderRebalance:          cfg.AutoLeaderRebalanceEnable,
			LeaderImbalancePerBrokerPct:  cfg.LeaderImbalancePerBrokerPercentage,
			LeaderImbalanceCheckInterval: cfg.LeaderImbalanceCheckInterval,
			UncleanLeaderElection:        cfg.UncleanLeaderElectionEnable,
			DeleteTopicEnable:            cfg.DeleteTopicEnable,
			InterBrokerListenerName:      cfg.InterBrokerListener(),
		})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
