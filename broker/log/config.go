package log

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Kafka's topic config defaults (LogConfig / ServerLogConfigs).
const (
	DefaultSegmentBytes       = 1 << 30          // segment.bytes
	DefaultSegmentMs          = 7 * 24 * 3600000 // segment.ms
	DefaultSegmentIndexBytes  = 10 << 20         // segment.index.bytes
	DefaultIndexIntervalBytes = 4096             // index.interval.bytes
	DefaultMaxMessageBytes    = 1048588          // max.message.bytes (1 MiB + 12)
	DefaultRetentionMs        = 7 * 24 * 3600000 // retention.ms
	DefaultRetentionBytes     = -1               // retention.bytes
	DefaultDeleteRetentionMs  = 24 * 3600000     // delete.retention.ms
	DefaultFileDeleteDelayMs  = 60000            // file.delete.delay.ms
)

// Values of cleanup.policy and message.timestamp.type.
const (
	CleanupDelete        = "delete"
	CleanupCompact       = "compact"
	CleanupCompactDelete = "compact,delete"

	CreateTime    = "CreateTime"
	LogAppendTime = "LogAppendTime"
)

// Config is one partition's log configuration: the topic configs that
// concern the log, the clock, and the state read from the log directory's
// checkpoint files. Start from DefaultConfig; Open rejects invalid values.
type Config struct {
	SegmentBytes         int64  // segment.bytes: roll when the next batch would pass it
	SegmentMs            int64  // segment.ms: roll when the segment's first batch is this old
	SegmentIndexBytes    int64  // segment.index.bytes: roll when an index reaches it
	IndexIntervalBytes   int64  // index.interval.bytes: bytes between offset index entries
	MaxMessageBytes      int64  // max.message.bytes: largest batch accepted
	RetentionMs          int64  // retention.ms; -1 keeps segments forever
	RetentionBytes       int64  // retention.bytes; -1 means unlimited
	CleanupPolicy        string // cleanup.policy: "delete", "compact" or "compact,delete"
	DeleteRetentionMs    int64  // delete.retention.ms: how long compaction keeps tombstones
	FileDeleteDelayMs    int64  // file.delete.delay.ms: how long removed files stay readable
	MessageTimestampType string // message.timestamp.type: "CreateTime" or "LogAppendTime"

	// Now is the clock (segment.ms without timestamps, LogAppendTime,
	// retention, compaction, delayed deletes). Nil means time.Now.
	Now func() time.Time

	// Codec decompresses and compresses batch bodies for compaction and
	// timestamp lookups. Nil handles uncompressed and gzip batches; batches
	// in other codecs are then kept whole by compaction and answered at
	// batch granularity by OffsetForTimestamp.
	Codec Codec

	// State from the log directory's checkpoint files (see LoadCheckpoints).
	// Zero values are safe: every segment is recovered, the log start offset
	// is the first segment's base offset and the high watermark starts at 0.
	RecoveryPoint  int64 // recovery-point-offset-checkpoint
	LogStartOffset int64 // log-start-offset-checkpoint
	HighWatermark  int64 // replication-offset-checkpoint
	CleanShutdown  bool  // .kafka_cleanshutdown was present: skip batch validation
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:         DefaultSegmentBytes,
		SegmentMs:            DefaultSegmentMs,
		SegmentIndexBytes:    DefaultSegmentIndexBytes,
		IndexIntervalBytes:   DefaultIndexIntervalBytes,
		MaxMessageBytes:      DefaultMaxMessageBytes,
		RetentionMs:          DefaultRetentionMs,
		RetentionBytes:       DefaultRetentionBytes,
		CleanupPolicy:        CleanupDelete,
		DeleteRetentionMs:    DefaultDeleteRetentionMs,
		FileDeleteDelayMs:    DefaultFileDeleteDelayMs,
		MessageTimestampType: CreateTime,
	}
}

// validate checks the values once; errors name the Kafka config key.
func (c *Config) validate() error {
	switch {
	case c.SegmentBytes < logOverhead+batchHeaderSize || c.SegmentBytes > math.MaxInt32:
		// Positions in the offset index are int32, so segments cannot be larger.
		return fmt.Errorf("segment.bytes %d: must be in [%d, %d]", c.SegmentBytes, logOverhead+batchHeaderSize, math.MaxInt32)
	case c.SegmentMs < 1:
		return fmt.Errorf("segment.ms %d: must be >= 1", c.SegmentMs)
	case c.SegmentIndexBytes < timeIndexEntrySize*2 || c.SegmentIndexBytes > math.MaxInt32:
		return fmt.Errorf("segment.index.bytes %d: must be in [%d, %d]", c.SegmentIndexBytes, timeIndexEntrySize*2, math.MaxInt32)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("index.interval.bytes %d: must be >= 0", c.IndexIntervalBytes)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("max.message.bytes %d: must be >= 0", c.MaxMessageBytes)
	case c.RetentionMs < -1:
		return fmt.Errorf("retention.ms %d: must be >= -1", c.RetentionMs)
	case c.RetentionBytes < -1:
		return fmt.Errorf("retention.bytes %d: must be >= -1", c.RetentionBytes)
	case c.DeleteRetentionMs < 0:
		return fmt.Errorf("delete.retention.ms %d: must be >= 0", c.DeleteRetentionMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("file.delete.delay.ms %d: must be >= 0", c.FileDeleteDelayMs)
	case c.MessageTimestampType != CreateTime && c.MessageTimestampType != LogAppendTime:
		return fmt.Errorf("message.timestamp.type %q: must be %s or %s", c.MessageTimestampType, CreateTime, LogAppendTime)
	case c.RecoveryPoint < 0 || c.LogStartOffset < 0 || c.HighWatermark < 0:
		return fmt.Errorf("checkpointed offsets must be >= 0 (recovery point %d, log start %d, high watermark %d)",
			c.RecoveryPoint, c.LogStartOffset, c.HighWatermark)
	}
	if _, _, err := parseCleanupPolicy(c.CleanupPolicy); err != nil {
		return err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Codec == nil {
		c.Codec = stdCodec{}
	}
	return nil
}

// parseCleanupPolicy accepts Kafka's list syntax in either order.
func parseCleanupPolicy(s string) (del, compact bool, err error) {
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case CleanupDelete:
			del = true
		case CleanupCompact:
			compact = true
		default:
			return false, false, fmt.Errorf("cleanup.policy %q: must be a list of %s and %s", s, CleanupDelete, CleanupCompact)
		}
	}
	return del, compact, nil
}

func (c *Config) nowMs() int64 { return c.Now().UnixMilli() }
