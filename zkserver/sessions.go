package zkserver

import (
	"maps"
	"sync"
)

// sessionTracker is SessionTrackerImpl: live sessions, their timeouts, their
// expiry buckets, the connection that owns each, and sessions being closed.
type sessionTracker struct {
	mu       sync.Mutex
	q        *expiryQueue
	timeouts map[int64]int64 // ms
	closing  map[int64]bool
	owners   map[int64]*conn
	next     int64
}

func newSessionTracker(serverID, tickMs, nowMs int64) *sessionTracker {
	return &sessionTracker{
		q:        newExpiryQueue(tickMs, nowMs),
		timeouts: make(map[int64]int64),
		closing:  make(map[int64]bool),
		owners:   make(map[int64]*conn),
		next:     initialSessionID(serverID, nowMs),
	}
}

// create allocates a session id and arms its expiry.
func (t *sessionTracker) create(timeoutMs, nowMs int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.next
	t.next++
	t.timeouts[id] = timeoutMs
	t.q.touch(id, nowMs, timeoutMs)
	return id
}

// restore re-creates a session found in the restored state, armed to expire
// one timeout from now.
func (t *sessionTracker) restore(id, timeoutMs, nowMs int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timeouts[id] = timeoutMs
	t.q.touch(id, nowMs, timeoutMs)
}

// ensure tracks a session an ensemble member learns of from a txn, unless
// it already does.
func (t *sessionTracker) ensure(id, timeoutMs, nowMs int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.timeouts[id]; ok {
		return
	}
	t.timeouts[id] = timeoutMs
	t.q.touch(id, nowMs, timeoutMs)
}

// rearmAll gives every session a full timeout from now and forgets which
// were closing: a new leader's view (their close requests, if any, were
// lost with the old leadership and will be sent again).
func (t *sessionTracker) rearmAll(nowMs int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.closing)
	for id, to := range t.timeouts {
		t.q.touch(id, nowMs, to)
	}
}

// replaceAll makes the tracked sessions those of a restored snapshot.
func (t *sessionTracker) replaceAll(sessions map[int64]int32, nowMs int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.timeouts {
		t.q.remove(id)
	}
	clear(t.timeouts)
	clear(t.closing)
	for id, to := range sessions {
		t.timeouts[id] = int64(to)
		t.q.touch(id, nowMs, int64(to))
	}
}

// touch re-arms a live session; false if it is gone or closing.
func (t *sessionTracker) touch(id, nowMs int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	to, ok := t.timeouts[id]
	if !ok || t.closing[id] {
		return false
	}
	t.q.touch(id, nowMs, to)
	return true
}

// revalidate resumes a session on a new connection with a newly negotiated
// timeout (ZooKeeperServer.revalidateSession).
func (t *sessionTracker) revalidate(id, timeoutMs, nowMs int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.timeouts[id]; !ok || t.closing[id] {
		return false
	}
	t.timeouts[id] = timeoutMs
	t.q.touch(id, nowMs, timeoutMs)
	return true
}

func (t *sessionTracker) valid(id int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.timeouts[id]
	return ok && !t.closing[id]
}

// setClosing marks a session as closing: its requests fail from now on.
func (t *sessionTracker) setClosing(id int64) {
	t.mu.Lock()
	if _, ok := t.timeouts[id]; ok {
		t.closing[id] = true
	}
	t.mu.Unlock()
}

func (t *sessionTracker) remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.timeouts, id)
	delete(t.closing, id)
	delete(t.owners, id)
	t.q.remove(id)
}

// expire returns the sessions whose time is up and marks them closing.
func (t *sessionTracker) expire(nowMs int64) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := t.q.expired(nowMs)
	for _, id := range ids {
		t.closing[id] = true
	}
	return ids
}

// setOwner binds a session to a connection and returns the previous owner.
func (t *sessionTracker) setOwner(id int64, c *conn) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.owners[id]
	t.owners[id] = c
	return old
}

func (t *sessionTracker) owner(id int64) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owners[id]
}

// release unbinds c if it still owns the session.
func (t *sessionTracker) release(id int64, c *conn) {
	t.mu.Lock()
	if t.owners[id] == c {
		delete(t.owners, id)
	}
	t.mu.Unlock()
}

// count returns the number of live sessions.
func (t *sessionTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.timeouts)
}

// snapshot returns session ids with timeouts (for dump).
func (t *sessionTracker) snapshot() map[int64]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.timeouts)
}
