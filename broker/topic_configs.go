package broker

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/zabkafka/zabkafka/broker/log"
)

// Limits below Kafka's: a segment must hold at least one RecordBatch v2
// header (61 bytes) plus its 12-byte log overhead, and an index two entries.
const (
	minSegmentBytes      = 73
	minSegmentIndexBytes = 24
)

// configType is DescribeConfigs' config_type (ConfigDef.Type order).
type configType int8

const (
	typeBoolean configType = 1
	typeString  configType = 2
	typeInt     configType = 3
	typeLong    configType = 5
	typeDouble  configType = 6
	typeList    configType = 7
)

// topicConfigDef is one topic-level config of Kafka 3.4's LogConfig: its
// type, the broker key that supplies its default (the synonym
// DescribeConfigs reports), the validation Kafka applies and how it reaches
// the partition log.
type topicConfigDef struct {
	name      string
	typ       configType
	brokerKey string
	def       func(c *Config) string
	check     func(v string) error
	apply     func(lc *log.Config, v string) // nil: stored and described, not used by the log
	doc       string
}

var topicConfigDefs = []topicConfigDef{
	{"cleanup.policy", typeList, "log.cleanup.policy", func(c *Config) string { return c.Log.CleanupPolicy },
		func(v string) error { var s string; return setCleanupPolicy(&s, v) },
		func(lc *log.Config, v string) { _ = setCleanupPolicy(&lc.CleanupPolicy, v) },
		"delete and/or compact"},
	{"compression.type", typeString, "compression.type", func(c *Config) string { return c.CompressionType },
		func(v string) error { var s string; return setCompressionType(&s, v) }, nil,
		"final compression of the topic's data; producer keeps what the producer sent"},
	{"delete.retention.ms", typeLong, "log.cleaner.delete.retention.ms", int64Default(func(c *Config) int64 { return c.Log.DeleteRetentionMs }),
		rangeCheck(0, math.MaxInt64), func(lc *log.Config, v string) { lc.DeleteRetentionMs = mustInt(v) }, "how long compaction keeps tombstones"},
	{"file.delete.delay.ms", typeLong, "log.segment.delete.delay.ms", int64Default(func(c *Config) int64 { return c.Log.FileDeleteDelayMs }),
		rangeCheck(0, math.MaxInt64), func(lc *log.Config, v string) { lc.FileDeleteDelayMs = mustInt(v) }, "delay before a removed segment's files are deleted"},
	{"flush.messages", typeLong, "log.flush.interval.messages", constDefault(strconv.FormatInt(math.MaxInt64, 10)),
		rangeCheck(1, math.MaxInt64), nil, "messages between forced fsyncs (Kafka relies on replication instead)"},
	{"flush.ms", typeLong, "log.flush.interval.ms", constDefault(strconv.FormatInt(math.MaxInt64, 10)),
		rangeCheck(0, math.MaxInt64), nil, "time between forced fsyncs"},
	{"follower.replication.throttled.replicas", typeList, "", constDefault(""), anyValue, nil, "throttled follower replicas"},
	{"index.interval.bytes", typeInt, "log.index.interval.bytes", int64Default(func(c *Config) int64 { return c.Log.IndexIntervalBytes }),
		rangeCheck(0, math.MaxInt32), func(lc *log.Config, v string) { lc.IndexIntervalBytes = mustInt(v) }, "bytes between offset index entries"},
	{"leader.replication.throttled.replicas", typeList, "", constDefault(""), anyValue, nil, "throttled leader replicas"},
	{"max.compaction.lag.ms", typeLong, "log.cleaner.max.compaction.lag.ms", constDefault(strconv.FormatInt(math.MaxInt64, 10)),
		rangeCheck(1, math.MaxInt64), nil, "longest time a message stays ineligible for compaction"},
	{"max.message.bytes", typeInt, "message.max.bytes", func(c *Config) string { return strconv.Itoa(int(c.MessageMaxBytes)) },
		rangeCheck(0, math.MaxInt32), func(lc *log.Config, v string) { lc.MaxMessageBytes = mustInt(v) }, "largest record batch size allowed"},
	{"message.downconversion.enable", typeBoolean, "log.message.downconversion.enable", constDefault("true"), boolCheck, nil,
		"down-conversion for old fetchers (never needed: Fetch starts at v4)"},
	{"message.format.version", typeString, "log.message.format.version", constDefault("3.0-IV1"), anyValue, nil,
		"deprecated; every batch is stored as RecordBatch v2"},
	{"message.timestamp.difference.max.ms", typeLong, "log.message.timestamp.difference.max.ms", constDefault(strconv.FormatInt(math.MaxInt64, 10)),
		rangeCheck(0, math.MaxInt64), nil, "largest allowed difference between a record's timestamp and the broker's clock"},
	{"message.timestamp.type", typeString, "log.message.timestamp.type", func(c *Config) string { return c.Log.MessageTimestampType },
		func(v string) error { var s string; return setTimestampType(&s, v) },
		func(lc *log.Config, v string) { lc.MessageTimestampType = v }, "CreateTime or LogAppendTime"},
	{"min.cleanable.dirty.ratio", typeDouble, "log.cleaner.min.cleanable.ratio", constDefault("0.5"), ratioCheck, nil,
		"dirty share of the log that triggers compaction"},
	{"min.compaction.lag.ms", typeLong, "log.cleaner.min.compaction.lag.ms", constDefault("0"), rangeCheck(0, math.MaxInt64), nil,
		"shortest time a message stays uncompacted"},
	{"min.insync.replicas", typeInt, "min.insync.replicas", func(c *Config) string { return strconv.Itoa(int(c.MinInsyncReplicas)) },
		rangeCheck(1, math.MaxInt32), nil, "smallest ISR an acks=all produce accepts"},
	{"preallocate", typeBoolean, "log.preallocate", constDefault("false"), boolCheck, nil, "preallocate segment files"},
	{"retention.bytes", typeLong, "log.retention.bytes", int64Default(func(c *Config) int64 { return c.Log.RetentionBytes }),
		rangeCheck(-1, math.MaxInt64), func(lc *log.Config, v string) { lc.RetentionBytes = mustInt(v) }, "largest partition size before old segments go; -1 unlimited"},
	{"retention.ms", typeLong, "log.retention.ms", int64Default(func(c *Config) int64 { return c.Log.RetentionMs }),
		rangeCheck(-1, math.MaxInt64), func(lc *log.Config, v string) { lc.RetentionMs = mustInt(v) }, "how long segments are kept; -1 forever"},
	{"segment.bytes", typeInt, "log.segment.bytes", int64Default(func(c *Config) int64 { return c.Log.SegmentBytes }),
		rangeCheck(minSegmentBytes, math.MaxInt32), func(lc *log.Config, v string) { lc.SegmentBytes = mustInt(v) }, "segment file size"},
	{"segment.index.bytes", typeInt, "log.index.size.max.bytes", int64Default(func(c *Config) int64 { return c.Log.SegmentIndexBytes }),
		rangeCheck(minSegmentIndexBytes, math.MaxInt32), func(lc *log.Config, v string) { lc.SegmentIndexBytes = mustInt(v) }, "offset index size"},
	{"segment.jitter.ms", typeLong, "log.roll.jitter.ms", constDefault("0"), rangeCheck(0, math.MaxInt64), nil, "random jitter subtracted from segment.ms"},
	{"segment.ms", typeLong, "log.roll.ms", int64Default(func(c *Config) int64 { return c.Log.SegmentMs }),
		rangeCheck(1, math.MaxInt64), func(lc *log.Config, v string) { lc.SegmentMs = mustInt(v) }, "roll a segment after this long"},
	{"unclean.leader.election.enable", typeBoolean, "unclean.leader.election.enable",
		func(c *Config) string { return strconv.FormatBool(c.UncleanLeaderElectionEnable) }, boolCheck, nil,
		"elect an out-of-sync replica when no ISR member is alive"},
}

var topicConfigIndex = func() map[string]*topicConfigDef {
	m := make(map[string]*topicConfigDef, len(topicConfigDefs))
	for i := range topicConfigDefs {
		m[topicConfigDefs[i].name] = &topicConfigDefs[i]
	}
	return m
}()

func constDefault(v string) func(*Config) string { return func(*Config) string { return v } }

func int64Default(f func(*Config) int64) func(*Config) string {
	return func(c *Config) string { return strconv.FormatInt(f(c), 10) }
}

func mustInt(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

func anyValue(string) error { return nil }

func boolCheck(v string) error {
	_, err := parseBool(v)
	return err
}

func rangeCheck(min, max int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		if n < min || n > max {
			if max == math.MaxInt64 || max == math.MaxInt32 {
				return fmt.Errorf("value must be at least %d", min)
			}
			return fmt.Errorf("value must be in [%d, %d]", min, max)
		}
		return nil
	}
}

func ratioCheck(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("value must be a number in [0, 1]")
	}
	return nil
}

// validateTopicConfigs checks topic configs as LogConfig.validate does: an
// unknown name or a bad value is INVALID_CONFIG with Kafka's wording.
func validateTopicConfigs(configs map[string]string) error {
	names := make([]string, 0, len(configs))
	for k := range configs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d, ok := topicConfigIndex[k]
		if !ok {
			return fmt.Errorf("Unknown topic config name: %s", k)
		}
		if err := d.check(configs[k]); err != nil {
			return fmt.Errorf("Invalid value %s for configuration %s: %v", configs[k], k, err)
		}
	}
	return nil
}

// logConfigFor is the broker's log defaults with a topic's overrides applied.
func (c *Config) logConfigFor(overrides map[string]string) log.Config {
	lc := c.Log
	for k, v := range overrides {
		if d, ok := topicConfigIndex[k]; ok && d.apply != nil && d.check(v) == nil {
			d.apply(&lc, v)
		}
	}
	return lc
}

// minInsyncReplicasFor is min.insync.replicas for a topic.
func (c *Config) minInsyncReplicasFor(overrides map[string]string) int32 {
	if v, ok := overrides["min.insync.replicas"]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 1 {
			return int32(n)
		}
	}
	return c.MinInsyncReplicas
}

// topicDefault is the value a topic without an override gets, and whether it
// comes from server.properties (STATIC_BROKER_CONFIG) rather than Kafka's
// built-in default.
func (c *Config) topicDefault(d *topicConfigDef) (value string, static bool) {
	keys := []string{d.brokerKey}
	switch d.brokerKey {
	case "log.retention.ms":
		keys = append(keys, "log.retention.minutes", "log.retention.hours")
	case "log.roll.ms":
		keys = append(keys, "log.roll.hours")
	}
	for _, k := range keys {
		if _, ok := c.Raw[k]; ok && k != "" {
			return d.def(c), true
		}
	}
	return d.def(c), false
}
