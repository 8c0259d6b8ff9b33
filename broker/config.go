package broker

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Config is a broker's server.properties, validated. Field names follow the
// Kafka keys (KafkaConfig); defaults are Kafka 3.4's.
type Config struct {
	BrokerID                 int32 // broker.id; -1 generates one (broker.id.generation.enable)
	BrokerIDGenerationEnable bool  // broker.id.generation.enable
	ReservedBrokerMaxID      int32 // reserved.broker.max.id
	Rack                     string

	Listeners                   []zkmeta.Endpoint // listeners
	AdvertisedListeners         []zkmeta.Endpoint // advertised.listeners (default: listeners)
	ListenerSecurityProtocolMap map[string]string // listener.security.protocol.map
	InterBrokerListenerName     string            // inter.broker.listener.name

	LogDirs []string // log.dirs, else log.dir

	ZooKeeperConnect             string        // zookeeper.connect, with an optional chroot; "" = dev mode
	ZooKeeperSessionTimeout      time.Duration // zookeeper.session.timeout.ms
	ZooKeeperConnectionTimeout   time.Duration // zookeeper.connection.timeout.ms
	ZooKeeperMaxInFlightRequests int           // zookeeper.max.in.flight.requests (accepted, unused)

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	AutoCreateTopicsEnable   bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable
	MinInsyncReplicas        int32 // min.insync.replicas
	MessageMaxBytes          int32 // message.max.bytes
	CompressionType          string

	// Log defaults every topic inherits (log.segment.bytes, log.roll.*,
	// log.retention.*, log.cleanup.policy, ...), as a log.Config.
	Log log.Config

	LogRetentionCheckInterval              time.Duration // log.retention.check.interval.ms
	LogFlushOffsetCheckpointInterval       time.Duration // log.flush.offset.checkpoint.interval.ms
	LogFlushStartOffsetCheckpointInterval  time.Duration // log.flush.start.offset.checkpoint.interval.ms
	ReplicaHighWatermarkCheckpointInterval time.Duration // replica.high.watermark.checkpoint.interval.ms
	LogCleanerEnable                       bool          // log.cleaner.enable
	LogCleanerBackoff                      time.Duration // log.cleaner.backoff.ms

	SocketRequestMaxBytes int32         // socket.request.max.bytes
	ConnectionsMaxIdle    time.Duration // connections.max.idle.ms

	AutoLeaderRebalanceEnable          bool          // auto.leader.rebalance.enable
	LeaderImbalancePerBrokerPercentage int           // leader.imbalance.per.broker.percentage
	LeaderImbalanceCheckInterval       time.Duration // leader.imbalance.check.interval.seconds
	UncleanLeaderElectionEnable        bool          // unclean.leader.election.enable

	ControlledShutdownEnable       bool          // controlled.shutdown.enable
	ControlledShutdownMaxRetries   int           // controlled.shutdown.max.retries
	ControlledShutdownRetryBackoff time.Duration // controlled.shutdown.retry.backoff.ms

	// Raw holds every key as read, for DescribeConfigs of the broker.
	Raw map[string]string
}

// DefaultConfig is Kafka's defaults, except that the listener is
// PLAINTEXT://:9092 as in Kafka's sample server.properties.
func DefaultConfig() *Config {
	lc := log.DefaultConfig()
	return &Config{
		BrokerID:                 -1,
		BrokerIDGenerationEnable: true,
		ReservedBrokerMaxID:      1000,
		Listeners:                []zkmeta.Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Port: 9092}},
		ListenerSecurityProtocolMap: map[string]string{
			"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL",
		},
		LogDirs:                                []string{"/tmp/kafka-logs"},
		ZooKeeperSessionTimeout:                18 * time.Second,
		ZooKeeperMaxInFlightRequests:           10,
		NumPartitions:                          1,
		DefaultReplicationFactor:               1,
		AutoCreateTopicsEnable:                 true,
		DeleteTopicEnable:                      true,
		MinInsyncReplicas:                      1,
		MessageMaxBytes:                        1048588,
		CompressionType:                        "producer",
		Log:                                    lc,
		LogRetentionCheckInterval:              300 * time.Second,
		LogFlushOffsetCheckpointInterval:       60 * time.Second,
		LogFlushStartOffsetCheckpointInterval:  60 * time.Second,
		ReplicaHighWatermarkCheckpointInterval: 5 * time.Second,
		LogCleanerEnable:                       true,
		LogCleanerBackoff:                      15 * time.Second,
		SocketRequestMaxBytes:                  100 << 20,
		ConnectionsMaxIdle:                     10 * time.Minute,
		AutoLeaderRebalanceEnable:              true,
		LeaderImbalancePerBrokerPercentage:     10,
		LeaderImbalanceCheckInterval:           300 * time.Second,
		ControlledShutdownEnable:               true,
		ControlledShutdownMaxRetries:           3,
		ControlledShutdownRetryBackoff:         5 * time.Second,
		Raw:                                    map[string]string{},
	}
}

// DevMode reports a config without zookeeper.connect: the broker runs with an
// embedded single-node zkd (cmd/brokerd starts it).
func (c *Config) DevMode() bool { return c.ZooKeeperConnect == "" }

// AdvertisedEndpoints are the endpoints registered in /brokers/ids/<id>:
// advertised.listeners, else listeners, with an empty host replaced by the
// machine's host name as Kafka does.
func (c *Config) AdvertisedEndpoints() []zkmeta.Endpoint {
	eps := c.AdvertisedListeners
	if len(eps) == 0 {
		eps = c.Listeners
	}
	out := make([]zkmeta.Endpoint, len(eps))
	copy(out, eps)
	for i := range out {
		if out[i].Host == "" || out[i].Host == "0.0.0.0" {
			if h, err := os.Hostname(); err == nil {
				out[i].Host = h
			}
		}
	}
	return out
}

// InterBrokerListener is inter.broker.listener.name, defaulting to the first
// PLAINTEXT listener (security.inter.broker.protocol=PLAINTEXT).
func (c *Config) InterBrokerListener() string {
	if c.InterBrokerListenerName != "" {
		return c.InterBrokerListenerName
	}
	for _, l := range c.Listeners {
		if l.SecurityProtocol == "PLAINTEXT" {
			return l.Listener
		}
	}
	if len(c.Listeners) > 0 {
		return c.Listeners[0].Listener
	}
	return "PLAINTEXT"
}

// Validate checks the relations between keys; single values were checked by
// the parser. Errors name the key.
func (c *Config) Validate() error {
	if c.BrokerID < -1 {
		return fmt.Errorf("broker.id %d: must be >= 0, or -1 to generate one", c.BrokerID)
	}
	if c.BrokerID == -1 && !c.BrokerIDGenerationEnable {
		return fmt.Errorf("broker.id: required when broker.id.generation.enable is false")
	}
	if c.BrokerID > c.ReservedBrokerMaxID && c.BrokerIDGenerationEnable {
		return fmt.Errorf("broker.id %d: must not exceed reserved.broker.max.id %d", c.BrokerID, c.ReservedBrokerMaxID)
	}
	if len(c.Listeners) == 0 {
		return fmt.Errorf("listeners: at least one listener is required")
	}
	seen := map[string]bool{}
	for _, l := range c.Listeners {
		if seen[l.Listener] {
			return fmt.Errorf("listeners: listener name %s appears twice", l.Listener)
		}
		seen[l.Listener] = true
		if l.SecurityProtocol != "PLAINTEXT" {
			return fmt.Errorf("listeners: %s uses %s; this brokerd serves PLAINTEXT listeners only", l.Listener, l.SecurityProtocol)
		}
	}
	for _, l := range c.AdvertisedListeners {
		if !seen[l.Listener] {
			return fmt.Errorf("advertised.listeners: %s is not in listeners", l.Listener)
		}
		if l.Port <= 0 {
			return fmt.Errorf("advertised.listeners: %s needs a port", l.Listener)
		}
	}
	if c.InterBrokerListenerName != "" && !seen[c.InterBrokerListenerName] {
		return fmt.Errorf("inter.broker.listener.name %s: not in listeners", c.InterBrokerListenerName)
	}
	if len(c.LogDirs) == 0 {
		return fmt.Errorf("log.dirs: at least one directory is required")
	}
	if c.ZooKeeperConnect != "" {
		if _, _, err := zkmeta.ParseConnect(c.ZooKeeperConnect); err != nil {
			return fmt.Errorf("zookeeper.connect %q: %w", c.ZooKeeperConnect, err)
		}
	}
	if c.NumPartitions < 1 {
		return fmt.Errorf("num.partitions %d: must be >= 1", c.NumPartitions)
	}
	if c.DefaultReplicationFactor < 1 {
		return fmt.Errorf("default.replication.factor %d: must be >= 1", c.DefaultReplicationFactor)
	}
	if c.MinInsyncReplicas < 1 {
		return fmt.Errorf("min.insync.replicas %d: must be >= 1", c.MinInsyncReplicas)
	}
	if c.SocketRequestMaxBytes < 1 {
		return fmt.Errorf("socket.request.max.bytes %d: must be >= 1", c.SocketRequestMaxBytes)
	}
	c.Log.MaxMessageBytes = int64(c.MessageMaxBytes)
	return nil
}

// parseListeners parses "NAME://host:port,..." with the protocol map.
func parseListeners(key, v string, protocols map[string]string) ([]zkmeta.Endpoint, error) {
	var out []zkmeta.Endpoint
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ep, err := zkmeta.ParseEndpoint(s, protocols)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", key, v, err)
		}
		if ep.Port < 0 || ep.Port > 65535 {
			return nil, fmt.Errorf("%s %q: port %d out of range", key, v, ep.Port)
		}
		out = append(out, ep)
	}
	return out, nil
}

// ListenAddr is the address a listener binds.
func listenAddr(ep zkmeta.Endpoint) string {
	return net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
}
