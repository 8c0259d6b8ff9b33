package log

// UpdateConfig applies changed topic configs to an open log, as
// LogManager.updateTopicConfig does when /config/topics/<t> changes: the
// size, time and retention settings take effect from the next append, roll,
// retention pass or compaction. Now, Codec and the checkpoint fields keep the
// values the log was opened with. An invalid config changes nothing.
//
// Clean reads the cleanup policy before it takes its lock, so the caller must
// not run UpdateConfig and Clean on the same log at the same time (the
// broker's log manager runs both from one maintenance lock).
func (l *Log) UpdateConfig(cfg Config) error {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	if err := l.lockWriter(); err != nil {
		return err
	}
	defer l.writeMu.Unlock()

	next := l.cfg
	next.SegmentBytes = cfg.SegmentBytes
	next.SegmentMs = cfg.SegmentMs
	next.SegmentIndexBytes = cfg.SegmentIndexBytes
	next.IndexIntervalBytes = cfg.IndexIntervalBytes
	next.MaxMessageBytes = cfg.MaxMessageBytes
	next.RetentionMs = cfg.RetentionMs
	next.RetentionBytes = cfg.RetentionBytes
	next.CleanupPolicy = cfg.CleanupPolicy
	next.DeleteRetentionMs = cfg.DeleteRetentionMs
	next.FileDeleteDelayMs = cfg.FileDeleteDelayMs
	next.MessageTimestampType = cfg.MessageTimestampType
	if err := next.validate(); err != nil {
		return err
	}
	del, compact, _ := parseCleanupPolicy(next.CleanupPolicy)

	// Field by field: Now and Codec are read without locks by timestamp
	// lookups and must not be written.
	l.mu.Lock()
	l.cfg.SegmentBytes = next.SegmentBytes
	l.cfg.SegmentMs = next.SegmentMs
	l.cfg.SegmentIndexBytes = next.SegmentIndexBytes
	l.cfg.IndexIntervalBytes = next.IndexIntervalBytes
	l.cfg.MaxMessageBytes = next.MaxMessageBytes
	l.cfg.RetentionMs = next.RetentionMs
	l.cfg.RetentionBytes = next.RetentionBytes
	l.cfg.CleanupPolicy = next.CleanupPolicy
	l.cfg.DeleteRetentionMs = next.DeleteRetentionMs
	l.cfg.FileDeleteDelayMs = next.FileDeleteDelayMs
	l.cfg.MessageTimestampType = next.MessageTimestampType
	l.deletePolicy, l.compacts = del, compact
	l.mu.Unlock()
	return nil
}

// Config returns the log's current topic configs (the checkpoint fields are
// those it was opened with).
func (l *Log) Config() Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}
