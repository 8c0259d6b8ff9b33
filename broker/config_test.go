package broker

import (
	"strings"
	"testing"
	"time"
)

func TestParseServerProperties(t *testing.T) {
	props := `# Kafka's sample, trimmed
broker.id=3
listeners=PLAINTEXT://127.0.0.1:9093,INTERNAL://127.0.0.1:9094
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT
inter.broker.listener.name=INTERNAL
advertised.listeners = PLAINTEXT://kafka.example:9093
log.dirs=/var/a, /var/b
zookeeper.connect=zk1:2181,zk2:2181/kafka
num.partitions: 6
log.retention.hours=24
log.retention.minutes=30
log.segment.bytes=\
  1048576
message.max.bytes 2000000
auto.create.topics.enable=false
zookeeper.session.timeout.ms=6000
num.network.threads=3
some.unknown.key=1
`
	cfg, warnings, err := ParseConfig(strings.NewReader(props))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.BrokerID != 3, cfg.NumPartitions != 6, cfg.AutoCreateTopicsEnable, cfg.MessageMaxBytes != 2000000:
		t.Fatalf("parsed %+v", cfg)
	case cfg.Log.RetentionMs != 30*60000:
		t.Fatalf("log.retention.minutes must win over hours: %d", cfg.Log.RetentionMs)
	case cfg.Log.SegmentBytes != 1048576:
		t.Fatalf("continued line: segment bytes %d", cfg.Log.SegmentBytes)
	case cfg.Log.MaxMessageBytes != 2000000:
		t.Fatalf("max.message.bytes default %d", cfg.Log.MaxMessageBytes)
	case len(cfg.LogDirs) != 2 || cfg.LogDirs[1] != "/var/b":
		t.Fatalf("log.dirs %v", cfg.LogDirs)
	case cfg.ZooKeeperSessionTimeout != 6*time.Second:
		t.Fatalf("session timeout %v", cfg.ZooKeeperSessionTimeout)
	case cfg.InterBrokerListener() != "INTERNAL" || len(cfg.Listeners) != 2:
		t.Fatalf("listeners %+v", cfg.Listeners)
	case cfg.AdvertisedEndpoints()[0].Host != "kafka.example":
		t.Fatalf("advertised %+v", cfg.AdvertisedEndpoints())
	}
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, "some.unknown.key was supplied but isn't a known config") || !strings.Contains(joined, "num.network.threads") {
		t.Fatalf("warnings:\n%s", joined)
	}
}

func TestParseServerPropertiesErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ props, key string }{
		{"broker.id=abc", "broker.id"},
		{"num.partitions=0", "num.partitions"},
		{"log.cleanup.policy=shred", "log.cleanup.policy"},
		{"listeners=SSL://:9093", "listeners"},
		{"log.retention.ms=-7", "log.retention.ms"},
		{"auto.create.topics.enable=yes", "auto.create.topics.enable"},
		{"log.segment.bytes=10", "log.segment.bytes"},
		{"advertised.listeners=OTHER://h:1", "advertised.listeners"},
	} {
		_, _, err := ParseConfig(strings.NewReader(tc.props))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %v does not name %s", tc.props, err, tc.key)
		}
	}
}

func TestTopicConfigValidation(t *testing.T) {
	ok := map[string]string{"retention.ms": "-1", "cleanup.policy": "compact,delete", "min.insync.replicas": "2",
		"message.timestamp.type": "LogAppendTime", "min.cleanable.dirty.ratio": "0.1", "preallocate": "true"}
	if err := validateTopicConfigs(ok); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"retention.ms": "-2", "cleanup.policy": "", "segment.bytes": "10",
		"min.cleanable.dirty.ratio": "2", "compression.type": "brotli", "preallocate": "maybe", "unknown": "1"} {
		err := validateTopicConfigs(map[string]string{k: v})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	cfg := DefaultConfig()
	lc := cfg.logConfigFor(map[string]string{"retention.ms": "1000", "segment.bytes": "4096", "cleanup.policy": "compact"})
	if lc.RetentionMs != 1000 || lc.SegmentBytes != 4096 || lc.CleanupPolicy != "compact" {
		t.Fatalf("log config %+v", lc)
	}
}
