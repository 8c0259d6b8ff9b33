package zkserver

import (
	"encoding/binary"
	"slices"
)

// expiryQueue is ZooKeeper's ExpiryQueue: sessions sit in buckets of one
// tick, keyed by the tick at which they expire, so an expiry check looks at
// one bucket instead of every session. It is a pure data structure: times
// are milliseconds handed in by the caller.
type expiryQueue struct {
	interval int64                        // bucket width, ms (tickTime)
	expiry   map[int64]int64              // session -> bucket time
	buckets  map[int64]map[int64]struct{} // bucket time -> sessions
	next     int64                        // earliest bucket not yet checked
}

func newExpiryQueue(intervalMs, nowMs int64) *expiryQueue {
	q := &expiryQueue{
		interval: intervalMs,
		expiry:   make(map[int64]int64),
		buckets:  make(map[int64]map[int64]struct{}),
	}
	q.next = q.roundUp(nowMs)
	return q
}

func (q *expiryQueue) roundUp(t int64) int64 { return (t/q.interval + 1) * q.interval }

// touch (re)arms a session to expire timeout ms after now, rounded up to the
// next tick, as SessionTrackerImpl.touchSession does.
func (q *expiryQueue) touch(id, nowMs, timeoutMs int64) {
	at := q.roundUp(nowMs + timeoutMs)
	old, ok := q.expiry[id]
	if ok && old == at {
		return
	}
	if ok {
		q.removeFromBucket(id, old)
	}
	b := q.buckets[at]
	if b == nil {
		b = make(map[int64]struct{})
		q.buckets[at] = b
	}
	b[id] = struct{}{}
	q.expiry[id] = at
}

func (q *expiryQueue) removeFromBucket(id, at int64) {
	if b := q.buckets[at]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(q.buckets, at)
		}
	}
}

// remove forgets a session.
func (q *expiryQueue) remove(id int64) {
	if at, ok := q.expiry[id]; ok {
		q.removeFromBucket(id, at)
		delete(q.expiry, id)
	}
}

// expired removes and returns, sorted, the sessions whose bucket time has
// passed.
func (q *expiryQueue) expired(nowMs int64) []int64 {
	var out []int64
	for ; q.next <= nowMs; q.next += q.interval {
		for id := range q.buckets[q.next] {
			out = append(out, id)
			delete(q.expiry, id)
		}
		delete(q.buckets, q.next)
	}
	slices.Sort(out)
	return out
}

// initialSessionID is SessionTrackerImpl.initializeNextSessionId: the low 40
// bits of the clock in ms at bit 16, and the server id in the top byte, so
// ids of different servers never collide.
func initialSessionID(serverID, nowMs int64) int64 {
	id := int64(uint64(nowMs<<24) >> 8)
	id |= serverID << 56
	if id == -1<<63 {
		id++ // Long.MIN_VALUE is the container marker
	}
	return id
}

// sessionPassword is ZooKeeper's deterministic session password:
// java.util.Random(sessionId ^ 0xB3415C00).nextBytes(16). Any server of the
// ensemble can check it without storing it, and Java servers produce the
// same bytes.
func sessionPassword(id int64) []byte {
	const (
		mult = 0x5DEECE66D
		mask = 1<<48 - 1
	)
	seed := (uint64(id^0xB3415C00) ^ mult) & mask
	out := make([]byte, 16)
	for i := 0; i < 16; i += 4 {
		seed = (seed*mult + 0xB) & mask
		binary.LittleEndian.PutUint32(out[i:], uint32(seed>>16))
	}
	return out
}
