package zkserver

import (
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/znode"
)

// snapshotter takes a snapshot of the tree every snapCount txns or so and,
// with autopurge, deletes snapshots and txns beyond snapRetainCount.
//
// A snapshot costs the finish stage only the copy of the tree's metadata
// (znode.Tree.Capture, under the tree lock it already holds); encoding and
// writing happen on another goroutine while the server goes on. Unlike
// ZooKeeper's fuzzy snapshots, the result is exact at its zxid, so start-up
// replays only the txns after it.
type snapshotter struct {
	st        storage.Storage
	log       zerolog.Logger
	snapCount int

	// Owned by the finish goroutine.
	since     int // txns applied since the last snapshot
	threshold int

	busy    atomic.Bool
	stop    chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup

	taken    atomic.Int64 // snapshots triggered by snapCount (zk_snap_count)
	skipped  atomic.Int64 // triggers dropped because one was still being written
	lastZxid atomic.Int64
	times    durationStats // snapshottime
	startup  durationStats // startup_snap_load_time
}

func newSnapshotter(st storage.Storage, log zerolog.Logger, snapCount int, since int64) *snapshotter {
	sn := &snapshotter{st: st, log: log, snapCount: max(snapCount, 2), since: int(since), stop: make(chan struct{})}
	sn.threshold = sn.nextThreshold()
	return sn
}

// nextThreshold is SyncRequestProcessor's randRoll: between snapCount/2 and
// snapCount, so that the members of an ensemble snapshot at different times.
func (sn *snapshotter) nextThreshold() int {
	half := sn.snapCount / 2
	return half + rand.IntN(sn.snapCount-half) + 1
}

// due counts applied txns and reports whether it is time for a snapshot.
// Called by the finish goroutine only.
func (sn *snapshotter) due(n int) bool {
	sn.since += n
	if sn.since < sn.threshold {
		return false
	}
	sn.since, sn.threshold = 0, sn.nextThreshold()
	return true
}

// take starts a snapshot of t unless one is still being written (then it
// skips, as ZooKeeper does). The caller holds the tree lock (a read lock
// suffices) and is the finish goroutine.
func (sn *snapshotter) take(t *znode.Tree) {
	if !sn.busy.CompareAndSwap(false, true) {
		sn.skipped.Add(1)
		sn.log.Warn().Msg("too busy to snapshot: the previous one is still being written; skipping")
		return
	}
	sn.taken.Add(1)
	sn.start(t.Capture())
}

// start writes v in the background; busy must be held.
func (sn *snapshotter) start(v *znode.View) {
	sn.wg.Add(1)
	go func() {
		defer sn.wg.Done()
		defer sn.busy.Store(false)
		sn.write(v)
	}()
}

func (sn *snapshotter) write(v *znode.View) {
	start := time.Now()
	pr, pw := io.Pipe()
	go func() {
		_, err := v.WriteTo(&stoppableWriter{w: pw, stop: &sn.stopped})
		pw.CloseWithError(err)
	}()
	meta, err := sn.st.SaveSnapshot(v.Zxid, pr)
	pr.CloseWithError(err) // unblocks the encoder if the save failed
	took := time.Since(start)
	switch {
	case errors.Is(err, errStopping):
		sn.log.Info().Str("zxid", hex(v.Zxid)).Msg("snapshot abandoned: shutting down")
	case err != nil:
		// The log still holds every txn, so nothing is lost; start-up
		// just replays more.
		sn.log.Error().Err(err).Str("zxid", hex(v.Zxid)).Msg("snapshot failed")
	default:
		sn.lastZxid.Store(v.Zxid)
		sn.times.record(took)
		sn.log.Info().Str("zxid", hex(v.Zxid)).Int("nodes", v.NodeCount()).Int64("bytes", meta.Size).
			Dur("took", took).Msg("snapshot saved")
	}
}

var errStopping = errors.New("server stopping")

// stoppableWriter fails writes once the server stops, so a long snapshot
// does not hold up shutdown.
type stoppableWriter struct {
	w    io.Writer
	stop *atomic.Bool
}

func (s *stoppableWriter) Write(p []byte) (int, error) {
	if s.stop.Load() {
		return 0, errStopping
	}
	return s.w.Write(p)
}

// purgeLoop is DatadirCleanupManager: every interval, keep the newest
// retain snapshots and the txns after the oldest of them, delete the rest.
func (sn *snapshotter) purgeLoop(interval time.Duration, retain int) {
	defer sn.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := sn.purge(retain); err != nil {
				sn.log.Error().Err(err).Msg("purge failed")
			}
		case <-sn.stop:
			return
		}
	}
}

// purge keeps the newest retain snapshots and every txn after the oldest of
// them, so start-up can fall back to any retained snapshot.
func (sn *snapshotter) purge(retain int) error {
	snaps, err := sn.st.Snapshots()
	if err != nil || len(snaps) < retain {
		return err
	}
	for _, m := range snaps[retain:] {
		if err := sn.st.DeleteSnapshot(m.Zxid); err != nil {
			return err
		}
	}
	oldest := snaps[retain-1].Zxid
	before := sn.st.FirstZxid()
	if err := sn.st.PurgeBefore(oldest + 1); err != nil {
		return err
	}
	sn.log.Info().Int("deletedSnapshots", len(snaps)-retain).Str("firstTxnBefore", hex(before)).
		Str("firstTxn", hex(sn.st.FirstZxid())).Str("oldestSnapshot", hex(oldest)).Msg("purged")
	return nil
}

// close stops the purge loop and abandons a snapshot being written.
func (sn *snapshotter) close() {
	sn.stopped.Store(true)
	close(sn.stop)
	sn.wg.Wait()
}

// durationStats is a min/avg/max/count/sum summary in milliseconds, printed
// in mntr as ZooKeeper prints its summaries.
type durationStats struct {
	mu                   sync.Mutex
	count                int64
	sum, minimum, maxDur time.Duration
}

func (d *durationStats) record(v time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.count == 0 || v < d.minimum {
		d.minimum = v
	}
	d.maxDur = max(d.maxDur, v)
	d.count++
	d.sum += v
}

type durationSummary struct {
	count              int64
	sum, min, avg, max time.Duration
}

func (d *durationStats) values() durationSummary {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.count == 0 {
		return durationSummary{}
	}
	return durationSummary{count: d.count, sum: d.sum, min: d.minimum, avg: d.sum / time.Duration(d.count), max: d.maxDur}
}
