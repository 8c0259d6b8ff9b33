package controller

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Target is a live broker the controller talks to, read from its
// /brokers/ids/<id> registration.
type Target struct {
	ID    int32
	Epoch int64 // broker epoch = czxid of /brokers/ids/<id>
	Info  *zkmeta.BrokerInfo
}

// Sender delivers controller requests over the Kafka protocol. The broker
// package implements it (a TCP connection per target broker, to the endpoint
// in the registration that matches inter.broker.listener.name). Send must be
// safe for concurrent use; it returns an error if the broker is unreachable.
// The controller logs the error and sends the same request again after a
// pause, as Kafka's ControllerChannelManager does, until the broker is
// removed: then ctx is cancelled.
type Sender interface {
	Send(ctx context.Context, to Target, req kmsg.Request) (kmsg.Response, error)
}

// Config configures a Controller. Zero-valued tunables get Kafka's defaults
// in New.
type Config struct {
	BrokerID int32
	Meta     *zkmeta.Client // shared ZooKeeper client of this broker (already connected)
	Sender   Sender
	Log      zerolog.Logger

	// Kafka config keys. The caller sets the booleans (their Kafka
	// defaults are true, true and false).
	AutoLeaderRebalance          bool          // auto.leader.rebalance.enable
	LeaderImbalancePerBrokerPct  int           // leader.imbalance.per.broker.percentage, default 10
	LeaderImbalanceCheckInterval time.Duration // leader.imbalance.check.interval.seconds, default 300s
	UncleanLeaderElection        bool          // unclean.leader.election.enable (topic configs override it)
	DeleteTopicEnable            bool          // delete.topic.enable

	// InterBrokerListenerName is inter.broker.listener.name: the listener
	// whose endpoint goes into LeaderAndIsr's LiveLeaders. Default
	// "PLAINTEXT"; a broker without that listener is represented by its
	// first PLAINTEXT endpoint, else its first endpoint.
	InterBrokerListenerName string
	// FirstRebalanceDelay is the wait before the first automatic rebalance
	// check after an election (Kafka: 5 s). Default 5s.
	FirstRebalanceDelay time.Duration
	// RetryBackoff is the pause between sends of a request to a broker that
	// did not answer, and between election attempts that failed on
	// ZooKeeper errors (Kafka: 100 ms). Default 100ms.
	RetryBackoff time.Duration
}

// Kafka's defaults (KafkaConfig.Defaults).
const (
	DefaultLeaderImbalancePerBrokerPct  = 10
	DefaultLeaderImbalanceCheckInterval = 300 * time.Second
	DefaultFirstRebalanceDelay          = 5 * time.Second
	DefaultRetryBackoff                 = 100 * time.Millisecond
	DefaultInterBrokerListenerName      = "PLAINTEXT"
)

func (c *Config) fill() error {
	if c.Meta == nil {
		return errors.New("controller: Config.Meta is nil")
	}
	if !c.Meta.CanWatch() {
		return errors.New("controller: Config.Meta's connection cannot set watches")
	}
	if c.Sender == nil {
		return errors.New("controller: Config.Sender is nil")
	}
	if c.BrokerID < 0 {
		return errors.New("controller: Config.BrokerID is negative")
	}
	if c.LeaderImbalancePerBrokerPct <= 0 {
		c.LeaderImbalancePerBrokerPct = DefaultLeaderImbalancePerBrokerPct
	}
	if c.LeaderImbalanceCheckInterval <= 0 {
		c.LeaderImbalanceCheckInterval = DefaultLeaderImbalanceCheckInterval
	}
	if c.FirstRebalanceDelay <= 0 {
		c.FirstRebalanceDelay = DefaultFirstRebalanceDelay
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.InterBrokerListenerName == "" {
		c.InterBrokerListenerName = DefaultInterBrokerListenerName
	}
	return nil
}
