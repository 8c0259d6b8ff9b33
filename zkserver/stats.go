package zkserver

import (
	"sync/atomic"

	"github.com/zabkafka/zabkafka/jute"
)

// latencyStats keeps min/avg/max latency in ms without a lock: replies on
// every connection record here.
type latencyStats struct {
	count, sum, min, max atomic.Int64
}

func (l *latencyStats) reset() {
	l.count.Store(0)
	l.sum.Store(0)
	l.min.Store(1<<63 - 1)
	l.max.Store(0)
}

func (l *latencyStats) record(ms int64) {
	l.count.Add(1)
	l.sum.Add(ms)
	for cur := l.min.Load(); ms < cur && !l.min.CompareAndSwap(cur, ms); cur = l.min.Load() {
	}
	for cur := l.max.Load(); ms > cur && !l.max.CompareAndSwap(cur, ms); cur = l.max.Load() {
	}
}

// values returns min, avg, max as ZooKeeper prints them (0 when empty).
func (l *latencyStats) values() (int64, float64, int64) {
	n := l.count.Load()
	if n == 0 {
		return 0, 0, 0
	}
	return l.min.Load(), float64(l.sum.Load()) / float64(n), l.max.Load()
}

type serverStats struct {
	received, sent  atomic.Int64
	latency         latencyStats
	expiredSessions atomic.Int64
	rejected        atomic.Int64
	badInput        atomic.Int64
	authFailed      atomic.Int64
}

func (s *serverStats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.latency.reset()
}

type connStats struct {
	received, sent atomic.Int64
	latency        latencyStats
	lastCxid       atomic.Int64
	lastZxid       atomic.Int64
	lastResponse   atomic.Int64
	lastLatency    atomic.Int64
	lastOp         atomic.Int32 // op code; opAbbrev names it for cons
}

func (s *connStats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.latency.reset()
	s.lastCxid.Store(-1)
	s.lastZxid.Store(-1)
	s.lastOp.Store(int32(jute.OpNotification)) // "NA" until the first reply
}

// opAbbrev is the lastOp name the Java server shows in cons.
func opAbbrev(op jute.OpCode) string {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return "CREA"
	case jute.OpDelete, jute.OpDeleteContainer:
		return "DELE"
	case jute.OpSetData:
		return "SETD"
	case jute.OpSetACL:
		return "SETA"
	case jute.OpGetACL:
		return "GETA"
	case jute.OpGetChildren, jute.OpGetChildren2:
		return "GETC"
	case jute.OpGetData:
		return "GETD"
	case jute.OpExists:
		return "EXIS"
	case jute.OpSync:
		return "SYNC"
	case jute.OpMulti:
		return "MULT"
	case jute.OpMultiRead:
		return "MLTR"
	case jute.OpCheckWatches:
		return "CHKW"
	case jute.OpRemoveWatches:
		return "REMW"
	case jute.OpAddWatch:
		return "ADDW"
	case jute.OpSetWatches, jute.OpSetWatches2:
		return "SETW"
	case jute.OpGetEphemerals:
		return "GETE"
	case jute.OpGetAllChildrenNumber:
		return "GETACN"
	case jute.OpWhoAmI:
		return "HOMI"
	case jute.OpCloseSession:
		return "CLOSE"
	case jute.OpAuth:
		return "AUTH"
	case jute.OpReconfig:
		return "RECO"
	}
	return "NA"
}
