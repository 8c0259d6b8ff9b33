package broker

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/broker/log"
)

// LoadConfig reads a server.properties file; see ParseConfig.
func LoadConfig(path string) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ParseConfig(f)
}

// ParseConfig reads Java properties with Kafka's broker keys. A bad value
// fails with the key's name. Keys Kafka knows but this brokerd does not use
// (thread counts, quotas, TLS, SASL, ...) and unknown keys come back as
// warnings, as Kafka logs "was supplied but isn't a known config".
func ParseConfig(r io.Reader) (*Config, []string, error) {
	props, err := ReadProperties(r)
	if err != nil {
		return nil, nil, err
	}
	return ConfigFromProperties(props)
}

// ConfigFromProperties builds a Config from parsed key/value pairs.
func ConfigFromProperties(props map[string]string) (*Config, []string, error) {
	c := DefaultConfig()
	var warnings []string
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// The protocol map is needed to parse listeners, whatever the key order.
	if v, ok := props["listener.security.protocol.map"]; ok {
		if err := setProtocolMap(c, v); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range keys {
		v := props[k]
		c.Raw[k] = v
		if set, ok := configKeys[k]; ok {
			if err := set(c, v); err != nil {
				return nil, nil, fmt.Errorf("%s=%s: %w", k, v, err)
			}
			continue
		}
		if ignoredKey(k) {
			warnings = append(warnings, fmt.Sprintf("%s is accepted but has no effect in this brokerd", k))
			continue
		}
		warnings = append(warnings, fmt.Sprintf("the configuration %s was supplied but isn't a known config", k))
	}
	// Precedence as in KafkaConfig: ms over minutes over hours.
	if err := applyTimeKeys(c, props); err != nil {
		return nil, nil, err
	}
	if v, ok := props["log.dirs"]; ok {
		c.LogDirs = splitList(v)
	} else if v, ok := props["log.dir"]; ok {
		c.LogDirs = splitList(v)
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return c, warnings, nil
}

// ReadProperties parses the java.util.Properties text format: comments
// starting with # or !, key and value separated by '=', ':' or whitespace,
// lines continued with a trailing backslash, and the usual escapes.
func ReadProperties(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var logical strings.Builder
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if logical.Len() == 0 && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if cont := trailingBackslashes(line)%2 == 1; cont {
			logical.WriteString(line[:len(line)-1])
			continue
		}
		logical.WriteString(line)
		k, v := splitProperty(logical.String())
		logical.Reset()
		if k == "" {
			return nil, fmt.Errorf("line %d: empty key", lineNo)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if logical.Len() > 0 {
		k, v := splitProperty(logical.String())
		out[k] = v
	}
	return out, nil
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

func splitProperty(line string) (string, string) {
	var key strings.Builder
	i := 0
	for ; i < len(line); i++ {
		ch := line[i]
		if ch == '\\' && i+1 < len(line) {
			i++
			key.WriteByte(unescape(line[i]))
			continue
		}
		if ch == '=' || ch == ':' || ch == ' ' || ch == '\t' || ch == '\f' {
			break
		}
		key.WriteByte(ch)
	}
	rest := strings.TrimLeft(line[i:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	var val strings.Builder
	for j := 0; j < len(rest); j++ {
		if rest[j] == '\\' && j+1 < len(rest) {
			j++
			val.WriteByte(unescape(rest[j]))
			continue
		}
		val.WriteByte(rest[j])
	}
	return key.String(), strings.TrimRight(val.String(), " \t")
}

func unescape(c byte) byte {
	switch c {
	case 't':
		return '\t'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 'f':
		return '\f'
	}
	return c
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type setter func(c *Config, v string) error

// configKeys are the keys this brokerd uses.
var configKeys = map[string]setter{
	"broker.id":                   int32Key(func(c *Config) *int32 { return &c.BrokerID }, -1, math.MaxInt32),
	"broker.id.generation.enable": boolKey(func(c *Config) *bool { return &c.BrokerIDGenerationEnable }),
	"reserved.broker.max.id":      int32Key(func(c *Config) *int32 { return &c.ReservedBrokerMaxID }, 0, math.MaxInt32),
	"broker.rack":                 func(c *Config, v string) error { c.Rack = v; return nil },
	"listeners": func(c *Config, v string) error {
		eps, err := parseListeners("listeners", v, c.ListenerSecurityProtocolMap)
		c.Listeners = eps
		return err
	},
	"advertised.listeners": func(c *Config, v string) error {
		eps, err := parseListeners("advertised.listeners", v, c.ListenerSecurityProtocolMap)
		c.AdvertisedListeners = eps
		return err
	},
	"listener.security.protocol.map": setProtocolMap,
	"inter.broker.listener.name":     func(c *Config, v string) error { c.InterBrokerListenerName = v; return nil },
	"security.inter.broker.protocol": func(c *Config, v string) error {
		if v != "PLAINTEXT" {
			return fmt.Errorf("only PLAINTEXT is supported")
		}
		return nil
	},
	"log.dirs":                                      func(*Config, string) error { return nil }, // applied after the loop
	"log.dir":                                       func(*Config, string) error { return nil },
	"zookeeper.connect":                             func(c *Config, v string) error { c.ZooKeeperConnect = strings.TrimSpace(v); return nil },
	"zookeeper.session.timeout.ms":                  durationMsKey(func(c *Config) *time.Duration { return &c.ZooKeeperSessionTimeout }, 1),
	"zookeeper.connection.timeout.ms":               durationMsKey(func(c *Config) *time.Duration { return &c.ZooKeeperConnectionTimeout }, 1),
	"zookeeper.max.in.flight.requests":              intKey(func(c *Config) *int { return &c.ZooKeeperMaxInFlightRequests }, 1),
	"num.partitions":                                int32Key(func(c *Config) *int32 { return &c.NumPartitions }, 1, math.MaxInt32),
	"default.replication.factor":                    int16Key(func(c *Config) *int16 { return &c.DefaultReplicationFactor }),
	"auto.create.topics.enable":                     boolKey(func(c *Config) *bool { return &c.AutoCreateTopicsEnable }),
	"delete.topic.enable":                           boolKey(func(c *Config) *bool { return &c.DeleteTopicEnable }),
	"min.insync.replicas":                           int32Key(func(c *Config) *int32 { return &c.MinInsyncReplicas }, 1, math.MaxInt32),
	"message.max.bytes":                             int32Key(func(c *Config) *int32 { return &c.MessageMaxBytes }, 0, math.MaxInt32),
	"compression.type":                              func(c *Config, v string) error { return setCompressionType(&c.CompressionType, v) },
	"log.segment.bytes":                             int64Key(func(c *Config) *int64 { return &c.Log.SegmentBytes }, minSegmentBytes, math.MaxInt32),
	"log.index.size.max.bytes":                      int64Key(func(c *Config) *int64 { return &c.Log.SegmentIndexBytes }, minSegmentIndexBytes, math.MaxInt32),
	"log.index.interval.bytes":                      int64Key(func(c *Config) *int64 { return &c.Log.IndexIntervalBytes }, 0, math.MaxInt32),
	"log.retention.bytes":                           int64Key(func(c *Config) *int64 { return &c.Log.RetentionBytes }, -1, math.MaxInt64),
	"log.cleanup.policy":                            func(c *Config, v string) error { return setCleanupPolicy(&c.Log.CleanupPolicy, v) },
	"log.cleaner.delete.retention.ms":               int64Key(func(c *Config) *int64 { return &c.Log.DeleteRetentionMs }, 0, math.MaxInt64),
	"log.segment.delete.delay.ms":                   int64Key(func(c *Config) *int64 { return &c.Log.FileDeleteDelayMs }, 0, math.MaxInt64),
	"log.message.timestamp.type":                    func(c *Config, v string) error { return setTimestampType(&c.Log.MessageTimestampType, v) },
	"log.retention.check.interval.ms":               durationMsKey(func(c *Config) *time.Duration { return &c.LogRetentionCheckInterval }, 1),
	"log.flush.offset.checkpoint.interval.ms":       durationMsKey(func(c *Config) *time.Duration { return &c.LogFlushOffsetCheckpointInterval }, 0),
	"log.flush.start.offset.checkpoint.interval.ms": durationMsKey(func(c *Config) *time.Duration { return &c.LogFlushStartOffsetCheckpointInterval }, 0),
	"replica.high.watermark.checkpoint.interval.ms": durationMsKey(func(c *Config) *time.Duration { return &c.ReplicaHighWatermarkCheckpointInterval }, 1),
	"log.cleaner.enable":                            boolKey(func(c *Config) *bool { return &c.LogCleanerEnable }),
	"log.cleaner.backoff.ms":                        durationMsKey(func(c *Config) *time.Duration { return &c.LogCleanerBackoff }, 0),
	"socket.request.max.bytes":                      int32Key(func(c *Config) *int32 { return &c.SocketRequestMaxBytes }, 1, math.MaxInt32),
	"connections.max.idle.ms":                       durationMsKey(func(c *Config) *time.Duration { return &c.ConnectionsMaxIdle }, 1),
	"auto.leader.rebalance.enable":                  boolKey(func(c *Config) *bool { return &c.AutoLeaderRebalanceEnable }),
	"leader.imbalance.per.broker.percentage":        intKey(func(c *Config) *int { return &c.LeaderImbalancePerBrokerPercentage }, 0),
	"leader.imbalance.check.interval.seconds": func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("want a number of seconds >= 1")
		}
		c.LeaderImbalanceCheckInterval = time.Duration(n) * time.Second
		return nil
	},
	"unclean.leader.election.enable":       boolKey(func(c *Config) *bool { return &c.UncleanLeaderElectionEnable }),
	"controlled.shutdown.enable":           boolKey(func(c *Config) *bool { return &c.ControlledShutdownEnable }),
	"controlled.shutdown.max.retries":      intKey(func(c *Config) *int { return &c.ControlledShutdownMaxRetries }, 0),
	"controlled.shutdown.retry.backoff.ms": durationMsKey(func(c *Config) *time.Duration { return &c.ControlledShutdownRetryBackoff }, 0),
	// Applied by applyTimeKeys in precedence order; checked there.
	"log.retention.ms": nopKey, "log.retention.minutes": nopKey, "log.retention.hours": nopKey,
	"log.roll.ms": nopKey, "log.roll.hours": nopKey,
}

func nopKey(*Config, string) error { return nil }

// ignoredPrefixes are keys Kafka knows whose features this brokerd does not
// have or does not need (threads, quotas, TLS, SASL, metrics, groups,
// transactions, replication tuning for the next issue).
var ignoredPrefixes = []string{
	"num.", "socket.", "queued.max", "ssl.", "sasl.", "security.", "metric", "kafka.metrics", "quota.",
	"offsets.", "transaction.", "group.", "replica.", "log.flush.", "log.cleaner.", "log.preallocate",
	"log.message.", "log.roll.jitter", "log.local.", "remote.", "inter.broker.protocol.version",
	"zookeeper.", "controller.", "request.timeout.ms", "max.connection", "max.incremental", "producer.",
	"password.", "principal.", "authorizer.", "background.threads", "fetch.", "connection.", "create.topic.policy",
	"alter.config.policy", "delegation.token", "client.quota", "alter.log.dirs", "leader.imbalance",
	"unclean.", "auto.", "broker.", "delete.", "compression.", "listener.name.", "max.", "message.",
}

func ignoredKey(k string) bool {
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func setProtocolMap(c *Config, v string) error {
	m := map[string]string{}
	for _, kv := range splitList(v) {
		name, proto, ok := strings.Cut(kv, ":")
		if !ok || name == "" || proto == "" {
			return fmt.Errorf("listener.security.protocol.map: %q is not NAME:PROTOCOL", kv)
		}
		switch proto {
		case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
		default:
			return fmt.Errorf("listener.security.protocol.map: unknown security protocol %q", proto)
		}
		m[strings.TrimSpace(name)] = strings.TrimSpace(proto)
	}
	c.ListenerSecurityProtocolMap = m
	return nil
}

// applyTimeKeys sets log.retention.* and log.roll.* in KafkaConfig's
// precedence: ms, then minutes, then hours.
func applyTimeKeys(c *Config, props map[string]string) error {
	type unit struct {
		key string
		ms  int64
	}
	pick := func(units []unit, min int64, dst *int64) error {
		for _, u := range units {
			v, ok := props[u.key]
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%s: not a number", u.key, v)
			}
			if n < min {
				return fmt.Errorf("%s=%s: must be >= %d", u.key, v, min)
			}
			if n < 0 {
				*dst = -1 // unlimited retention, in any unit
			} else {
				*dst = n * u.ms
			}
			return nil
		}
		return nil
	}
	if err := pick([]unit{{"log.retention.ms", 1}, {"log.retention.minutes", 60000}, {"log.retention.hours", 3600000}}, -1, &c.Log.RetentionMs); err != nil {
		return err
	}
	return pick([]unit{{"log.roll.ms", 1}, {"log.roll.hours", 3600000}}, 1, &c.Log.SegmentMs)
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}

func boolKey(f func(*Config) *bool) setter {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		*f(c) = b
		return err
	}
}

func parseInt(v string, bits int, min, max int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("not a %d-bit integer", bits)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("must be in [%d, %d]", min, max)
	}
	return n, nil
}

func int16Key(f func(*Config) *int16) setter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, 16, 1, math.MaxInt16)
		*f(c) = int16(n)
		return err
	}
}

func int32Key(f func(*Config) *int32, min, max int64) setter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, 32, min, max)
		*f(c) = int32(n)
		return err
	}
}

func intKey(f func(*Config) *int, min int64) setter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, 32, min, math.MaxInt32)
		*f(c) = int(n)
		return err
	}
}

func int64Key(f func(*Config) *int64, min, max int64) setter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, 64, min, max)
		*f(c) = n
		return err
	}
}

func durationMsKey(f func(*Config) *time.Duration, min int64) setter {
	return func(c *Config, v string) error {
		n, err := parseInt(v, 64, min, math.MaxInt64/int64(time.Millisecond))
		*f(c) = time.Duration(n) * time.Millisecond
		return err
	}
}

func setCleanupPolicy(dst *string, v string) error {
	parts := splitList(v)
	if len(parts) == 0 {
		return fmt.Errorf("want delete, compact or both")
	}
	for _, p := range parts {
		if p != log.CleanupDelete && p != log.CleanupCompact {
			return fmt.Errorf("%q is not delete or compact", p)
		}
	}
	*dst = strings.Join(parts, ",")
	return nil
}

func setTimestampType(dst *string, v string) error {
	if v != log.CreateTime && v != log.LogAppendTime {
		return fmt.Errorf("want %s or %s", log.CreateTime, log.LogAppendTime)
	}
	*dst = v
	return nil
}

func setCompressionType(dst *string, v string) error {
	switch v {
	case "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer":
		*dst = v
		return nil
	}
	return fmt.Errorf("want one of uncompressed, zstd, lz4, snappy, gzip, producer")
}
