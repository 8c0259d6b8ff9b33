package logmgr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/log"
)

// Config configures a Manager.
type Config struct {
	Dirs []string // log.dirs

	// LogConfig returns the log configuration of a topic (broker defaults
	// with the topic's overrides from /config/topics/<t>) for logs opened at
	// start. A nil function uses log.DefaultConfig.
	LogConfig func(topic string) (log.Config, error)

	CheckpointInterval time.Duration // replica.high.watermark.checkpoint.interval.ms (all three files)
	RetentionInterval  time.Duration // log.retention.check.interval.ms
	CleanerEnable      bool          // log.cleaner.enable
	CleanerBackoff     time.Duration // log.cleaner.backoff.ms

	Log zerolog.Logger
}

// Manager owns the partition logs of one broker.
type Manager struct {
	cfg Config
	log zerolog.Logger

	mu   sync.RWMutex
	logs map[log.TopicPartition]*managedLog

	// maintenance serialises compaction with config updates (see
	// log.Log.UpdateConfig) and with deletes.
	maintenance sync.Mutex

	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closed   bool
}

type managedLog struct {
	*log.Log
	dir string // the log directory (entry of log.dirs) holding it
}

// ReadMetaProperties reads meta.properties of every log directory and
// returns the broker id and cluster id they agree on (-1 and "" when no
// directory has the file yet). Directories that disagree are an error, as
// BrokerMetadataCheckpoint consistency checks are in Kafka.
func ReadMetaProperties(dirs []string) (brokerID int32, clusterID string, err error) {
	brokerID = -1
	for _, d := range dirs {
		m, err := log.ReadMetaProperties(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return -1, "", err
		}
		if brokerID != -1 && m.BrokerID != brokerID {
			return -1, "", fmt.Errorf("%w: %s has broker.id %d, another log dir has %d", log.ErrInconsistentBrokerID, d, m.BrokerID, brokerID)
		}
		if clusterID != "" && m.ClusterID != "" && m.ClusterID != clusterID {
			return -1, "", fmt.Errorf("%w: %s has cluster.id %s, another log dir has %s", log.ErrInconsistentClusterID, d, m.ClusterID, clusterID)
		}
		brokerID = m.BrokerID
		if m.ClusterID != "" {
			clusterID = m.ClusterID
		}
	}
	return brokerID, clusterID, nil
}

// WriteMetaProperties writes meta.properties into every log directory, after
// the broker registered (KafkaServer.startup's checkpointBrokerMetadata).
func WriteMetaProperties(dirs []string, brokerID int32, clusterID string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := log.WriteMetaProperties(d, log.MetaProperties{BrokerID: brokerID, ClusterID: clusterID}); err != nil {
			return fmt.Errorf("log dir %s: %w", d, err)
		}
	}
	return nil
}

// Open creates the log directories if needed and opens every partition log
// in them (LogManager.loadLogs). Logs of a directory whose last shutdown was
// not clean are recovered batch by batch from their recovery points; the
// reports are logged. Leftover <topic>-<partition>.<id>-delete directories
// are removed.
func Open(cfg Config) (*Manager, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("logmgr: no log directory")
	}
	if cfg.LogConfig == nil {
		cfg.LogConfig = func(string) (log.Config, error) { return log.DefaultConfig(), nil }
	}
	m := &Manager{cfg: cfg, log: cfg.Log, logs: map[log.TopicPartition]*managedLog{}}
	for _, d := range cfg.Dirs {
		if err := m.loadDir(d); err != nil {
			m.closeLogs()
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) loadDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("log dir %s: %w", dir, err)
	}
	removeDeletedDirs(dir, m.log)
	checkpoints, clean, err := log.LoadCheckpoints(dir)
	if err != nil {
		return fmt.Errorf("log dir %s: %w", dir, err)
	}
	tps, err := log.PartitionDirs(dir)
	if err != nil {
		return fmt.Errorf("log dir %s: %w", dir, err)
	}
	start := time.Now()
	for _, tp := range tps {
		if other, ok := m.logs[tp]; ok {
			return fmt.Errorf("partition %s is in two log dirs: %s and %s", tp, other.dir, dir)
		}
		lc, err := m.cfg.LogConfig(tp.Topic)
		if err != nil {
			return fmt.Errorf("config of %s: %w", tp, err)
		}
		lc = checkpoints[tp].Apply(lc, clean)
		l, rep, err := log.Open(log.PartitionDir(dir, tp), lc)
		if err != nil {
			return err
		}
		ev := m.log.Debug()
		if rep.Changed() {
			ev = m.log.Warn()
		}
		ev.Str("partition", tp.String()).Str("report", rep.String()).Int64("logEndOffset", l.LogEndOffset()).Msg("log loaded")
		m.logs[tp] = &managedLog{Log: l, dir: dir}
	}
	if err := log.ClearCleanShutdown(dir); err != nil {
		return fmt.Errorf("log dir %s: %w", dir, err)
	}
	m.log.Info().Str("dir", dir).Int("logs", len(tps)).Bool("cleanShutdown", clean).
		Dur("took", time.Since(start)).Msg("log dir loaded")
	return nil
}

// removeDeletedDirs finishes deletions a crash interrupted.
func removeDeletedDirs(dir string, lg zerolog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasSuffix(e.Name(), "-delete") {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				lg.Warn().Err(err).Str("dir", e.Name()).Msg("cannot remove deleted partition dir")
			}
		}
	}
}

// Start runs the checkpoint, retention and cleaner loops until Close.
func (m *Manager) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.every(ctx, m.cfg.CheckpointInterval, func() { m.Checkpoint() })
	m.every(ctx, m.cfg.RetentionInterval, m.applyRetention)
	if m.cfg.CleanerEnable {
		m.every(ctx, m.cfg.CleanerBackoff, m.compact)
	}
}

func (m *Manager) every(ctx context.Context, d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// Get returns a partition's log, or nil.
func (m *Manager) Get(tp log.TopicPartition) *log.Log {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if ml, ok := m.logs[tp]; ok {
		return ml.Log
	}
	return nil
}

// Partitions lists the partitions with a log here, sorted.
func (m *Manager) Partitions() []log.TopicPartition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]log.TopicPartition, 0, len(m.logs))
	for tp := range m.logs {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// GetOrCreate returns a partition's log, creating it with lc in the log
// directory that holds the fewest partitions (LogManager.nextLogDirs) when
// it does not exist. created says which.
func (m *Manager) GetOrCreate(tp log.TopicPartition, lc log.Config) (l *log.Log, created bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, log.ErrClosed
	}
	if ml, ok := m.logs[tp]; ok {
		return ml.Log, false, nil
	}
	dir := m.nextLogDir()
	l, _, err = log.Open(log.PartitionDir(dir, tp), lc)
	if err != nil {
		return nil, false, err
	}
	m.logs[tp] = &managedLog{Log: l, dir: dir}
	m.log.Info().Str("partition", tp.String()).Str("dir", dir).Msg("created log")
	return l, true, nil
}

func (m *Manager) nextLogDir() string {
	counts := map[string]int{}
	for _, ml := range m.logs {
		counts[ml.dir]++
	}
	best := m.cfg.Dirs[0]
	for _, d := range m.cfg.Dirs[1:] {
		if counts[d] < counts[best] {
			best = d
		}
	}
	return best
}

// Delete removes a partition's log and its directory (StopReplica with
// delete, or a topic deletion). A missing log is not an error.
func (m *Manager) Delete(tp log.TopicPartition) error {
	m.maintenance.Lock()
	defer m.maintenance.Unlock()
	m.mu.Lock()
	ml, ok := m.logs[tp]
	delete(m.logs, tp)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if err := ml.Delete(); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	m.log.Info().Str("partition", tp.String()).Msg("deleted log")
	return nil
}

// UpdateTopicConfig applies a topic's changed configuration to its open
// logs.
func (m *Manager) UpdateTopicConfig(topic string, lc log.Config) {
	m.maintenance.Lock()
	defer m.maintenance.Unlock()
	for _, ml := range m.snapshot() {
		if ml.TopicPartition().Topic != topic {
			continue
		}
		if err := ml.UpdateConfig(lc); err != nil {
			m.log.Warn().Err(err).Str("partition", ml.TopicPartition().String()).Msg("cannot apply topic config")
		}
	}
}

func (m *Manager) snapshot() []*managedLog {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*managedLog, 0, len(m.logs))
	for _, ml := range m.logs {
		out = append(out, ml)
	}
	return out
}

// Checkpoint writes the recovery point, log start offset and high watermark
// checkpoint files of every log directory.
func (m *Manager) Checkpoint() error {
	byDir := map[string][]*log.Log{}
	for _, d := range m.cfg.Dirs {
		byDir[d] = nil
	}
	for _, ml := range m.snapshot() {
		byDir[ml.dir] = append(byDir[ml.dir], ml.Log)
	}
	var first error
	for d, logs := range byDir {
		if err := log.WriteCheckpoints(d, logs); err != nil {
			m.log.Error().Err(err).Str("dir", d).Msg("cannot write checkpoints")
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func (m *Manager) applyRetention() {
	for _, ml := range m.snapshot() {
		res, err := ml.DeleteOldSegments()
		switch {
		case errors.Is(err, log.ErrClosed):
		case err != nil:
			m.log.Error().Err(err).Str("partition", ml.TopicPartition().String()).Msg("retention failed")
		case len(res.DeletedSegments) > 0:
			m.log.Info().Str("partition", ml.TopicPartition().String()).Int("segments", len(res.DeletedSegments)).
				Int64("bytes", res.DeletedBytes).Int64("logStartOffset", res.LogStartOffset).Msg("deleted old segments")
		}
	}
}

// ApplyRetention runs one retention pass now (tests, and DeleteRecords
// callers that want the space back at once).
func (m *Manager) ApplyRetention() { m.applyRetention() }

func (m *Manager) compact() {
	m.maintenance.Lock()
	defer m.maintenance.Unlock()
	for _, ml := range m.snapshot() {
		res, err := ml.Clean()
		switch {
		case errors.Is(err, log.ErrClosed):
		case err != nil:
			m.log.Error().Err(err).Str("partition", ml.TopicPartition().String()).Msg("compaction failed")
		case res.SegmentsCleaned > 0:
			m.log.Info().Str("partition", ml.TopicPartition().String()).Int("segments", res.SegmentsCleaned).
				Int64("removed", res.RecordsRemoved).Int64("bytesBefore", res.BytesBefore).Int64("bytesAfter", res.BytesAfter).
				Msg("compacted")
		}
	}
}

// Close stops the background work, closes every log (fsyncing it), writes
// the checkpoints and marks each directory cleanly shut down
// (LogManager.shutdown).
func (m *Manager) Close() error {
	var err error
	m.stopOnce.Do(func() {
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		m.maintenance.Lock()
		defer m.maintenance.Unlock()
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		byDir := map[string][]*log.Log{}
		for _, ml := range m.snapshot() {
			if cerr := ml.Close(); cerr != nil && err == nil {
				err = cerr
			}
			byDir[ml.dir] = append(byDir[ml.dir], ml.Log)
		}
		for _, d := range m.cfg.Dirs {
			if cerr := log.WriteCheckpoints(d, byDir[d]); cerr != nil && err == nil {
				err = cerr
			}
			if err == nil {
				if cerr := log.MarkCleanShutdown(d); cerr != nil {
					err = cerr
				}
			}
		}
	})
	return err
}

func (m *Manager) closeLogs() {
	for _, ml := range m.logs {
		ml.Close()
	}
}
