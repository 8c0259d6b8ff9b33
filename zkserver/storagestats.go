package zkserver

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"time"
)

// writeStorageMntr adds the durability metrics to mntr: ZooKeeper's
// summaries (fsynctime, snapshottime, startup_snap_load_time, in ms, as
// avg/min/max/cnt/sum), snap_count and the sync batch size, then zkd's own:
// fsync p99, logical sizes of the log and snapshots, the newest snapshot.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeSummary prints a summary in milliseconds as ZooKeeper's mntr does:
// avg_, min_, max_, cnt_ and sum_ lines.
func writeSummary(kv func(string, any), name string, d durationSummary) {
	kv("avg_"+name, javaDouble(ms(d.avg)))
	kv("min_"+name, d.min.Milliseconds())
	kv("max_"+name, d.max.Milliseconds())
	kv("cnt_"+name, d.count)
	kv("sum_"+name, d.sum.Milliseconds())
}

func (s *Server) writeStorageMntr(kv func(string, any)) {
	if s.store == nil {
		return
	}
	cs := s.store.CommitStats()
	summary := func(name string, d durationSummary) { writeSummary(kv, name, d) }
	summary("fsynctime", durationSummary{count: cs.Syncs, sum: cs.SyncAvg * time.Duration(cs.Syncs),
		min: cs.SyncMin, avg: cs.SyncAvg, max: cs.SyncMax})
	kv("p99_fsynctime", javaDouble(ms(cs.SyncP99)))
	batchAvg := 0.0
	if cs.Syncs > 0 {
		batchAvg = float64(cs.SyncedEntries) / float64(cs.Syncs)
	}
	kv("avg_sync_processor_batch_size", javaDouble(batchAvg))
	kv("max_sync_processor_batch_size", cs.MaxEntries)
	kv("cnt_sync_processor_batch_size", cs.Syncs)
	kv("sum_sync_processor_batch_size", cs.SyncedEntries)
	summary("snapshottime", s.snaps.times.values())
	summary("startup_snap_load_time", s.snaps.startup.values())
	kv("snap_count", s.snaps.taken.Load())
	kv("snap_skipped", s.snaps.skipped.Load())
	kv("last_snapshot_zxid", hex(s.snaps.lastZxid.Load()))
	logBytes, snapBytes := s.store.Size()
	kv("txnlog_bytes", logBytes)
	kv("snapshot_bytes", snapBytes)
	kv("txnlog_first_zxid", hex(s.store.FirstZxid()))
	data, log := s.dirSizes()
	kv("datadir_size", data)
	kv("logdir_size", log)
}

// dirSizes is the disk usage of dataDir and dataLogDir (walked once when
// they are the same dir), for dirs, conf and mntr.
func (s *Server) dirSizes() (data, log int64) {
	data = diskUsage(s.cfg.DataDir)
	if s.cfg.LogDir() == s.cfg.DataDir {
		return data, data
	}
	return data, diskUsage(s.cfg.LogDir())
}

// diskUsage is what du reports for a directory: allocated blocks, not file
// lengths, because badger preallocates its WAL and value-log files sparsely.
// -1 when the directory cannot be read.
func diskUsage(dir string) int64 {
	if dir == "" {
		return 0
	}
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else if !d.IsDir() {
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return total
}
