package zkserver

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
)

// StoreOptions are the badgerstore options c asks for: forceSync,
// zkd.txnValueLog, and fsync.warningthresholdms, above which a sync of the
// txn log is logged as ZooKeeper's SyncRequestProcessor logs it: every
// write waiting for that sync waited as long, so an operator sees a slow
// disk in the log, not only in mntr's fsynctime.
func (c *Config) StoreOptions(log zerolog.Logger) badgerstore.Options {
	threshold := c.FsyncWarningThreshold
	return badgerstore.Options{
		NoSync:         !c.ForceSync,
		TxnsInValueLog: c.TxnValueLog,
		Logger:         log,
		Engine: storage.Options{
			SlowSync: threshold,
			OnSlowSync: func(took time.Duration, entries int) {
				log.Warn().Int64("tookMs", took.Milliseconds()).Int("txns", entries).
					Int64("fsync.warningthresholdms", threshold.Milliseconds()).
					Msg("fsync-ing the txn log took longer than fsync.warningthresholdms, which adversely affects write latency")
			},
		},
	}
}
