package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files Kafka keeps in each log directory (LogManager).
const (
	RecoveryPointCheckpointFile  = "recovery-point-offset-checkpoint"
	LogStartOffsetCheckpointFile = "log-start-offset-checkpoint"
	ReplicationCheckpointFile    = "replication-offset-checkpoint"
	CleanShutdownFile            = ".kafka_cleanshutdown"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is the partition directory name, <topic>-<partition>.
func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// ParseTopicPartition parses a partition directory name. The topic may
// contain '-', so the partition is what follows the last one. Names of
// directories being deleted (<topic>-<partition>.<id>-delete) and future
// replicas (-future) are rejected, as LocalLog.parseTopicPartitionName does.
func ParseTopicPartition(name string) (TopicPartition, bool) {
	if strings.ContainsRune(name, '.') && (strings.HasSuffix(name, "-delete") || strings.HasSuffix(name, "-future")) {
		return TopicPartition{}, false
	}
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// Checkpoint is one partition's entry in the three offset checkpoint files.
type Checkpoint struct {
	RecoveryPoint  int64
	LogStartOffset int64
	HighWatermark  int64
}

// Apply copies the checkpointed state into a Config for Open.
func (c Checkpoint) Apply(cfg Config, cleanShutdown bool) Config {
	cfg.RecoveryPoint, cfg.LogStartOffset, cfg.HighWatermark = c.RecoveryPoint, c.LogStartOffset, c.HighWatermark
	cfg.CleanShutdown = cleanShutdown
	return cfg
}

// LoadCheckpoints reads the three checkpoint files of a log directory
// (missing files are empty) and whether the clean shutdown marker is there.
func LoadCheckpoints(logDir string) (map[TopicPartition]Checkpoint, bool, error) {
	out := map[TopicPartition]Checkpoint{}
	for _, f := range []struct {
		name string
		set  func(*Checkpoint, int64)
	}{
		{RecoveryPointCheckpointFile, func(c *Checkpoint, v int64) { c.RecoveryPoint = v }},
		{LogStartOffsetCheckpointFile, func(c *Checkpoint, v int64) { c.LogStartOffset = v }},
		{ReplicationCheckpointFile, func(c *Checkpoint, v int64) { c.HighWatermark = v }},
	} {
		m, err := ReadCheckpointFile(filepath.Join(logDir, f.name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, err
		}
		for tp, v := range m {
			c := out[tp]
			f.set(&c, v)
			out[tp] = c
		}
	}
	_, err := os.Stat(filepath.Join(logDir, CleanShutdownFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	return out, err == nil, nil
}

// WriteCheckpoints writes the three checkpoint files of a log directory for
// the given logs (LogManager.checkpointLogRecoveryOffsets and friends). As
// in Kafka, the log start offset file lists only logs whose start offset is
// above their first segment's base offset.
func WriteCheckpoints(logDir string, logs []*Log) error {
	rp := map[TopicPartition]int64{}
	lso := map[TopicPartition]int64{}
	hw := map[TopicPartition]int64{}
	for _, l := range logs {
		c := l.Checkpoint()
		rp[l.tp], hw[l.tp] = c.RecoveryPoint, c.HighWatermark
		if bases := l.SegmentBaseOffsets(); len(bases) > 0 && c.LogStartOffset > bases[0] {
			lso[l.tp] = c.LogStartOffset
		}
	}
	if err := WriteCheckpointFile(filepath.Join(logDir, RecoveryPointCheckpointFile), rp); err != nil {
		return err
	}
	if err := WriteCheckpointFile(filepath.Join(logDir, LogStartOffsetCheckpointFile), lso); err != nil {
		return err
	}
	return WriteCheckpointFile(filepath.Join(logDir, ReplicationCheckpointFile), hw)
}

// MarkCleanShutdown writes the clean shutdown marker after every log of the
// directory was closed and checkpointed.
func MarkCleanShutdown(logDir string) error {
	return writeFileAtomic(filepath.Join(logDir, CleanShutdownFile), nil)
}

// ClearCleanShutdown removes the marker once the logs are open, so that a
// crash from now on is recovered.
func ClearCleanShutdown(logDir string) error {
	err := os.Remove(filepath.Join(logDir, CleanShutdownFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(logDir)
}

// PartitionDirs lists the partition directories of a log directory.
func PartitionDirs(logDir string) ([]TopicPartition, error) {
	ents, err := os.ReadDir(logDir)
	if err != nil {
		return nil, err
	}
	var out []TopicPartition
	for _, e := range ents {
		if tp, ok := ParseTopicPartition(e.Name()); ok && e.IsDir() {
			out = append(out, tp)
		}
	}
	return out, nil
}

// PartitionDir is the directory of a partition inside a log directory.
func PartitionDir(logDir string, tp TopicPartition) string {
	return filepath.Join(logDir, tp.String())
}

func errCheckpoint(path string, line int, format string, args ...any) error {
	return fmt.Errorf("checkpoint %s line %d: %s", path, line, fmt.Sprintf(format, args...))
}
