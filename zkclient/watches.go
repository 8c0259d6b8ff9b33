package zkclient

import (
	"slices"

	"github.com/zabkafka/zabkafka/jute"
)

// watchKind is one of the Java ZKWatchManager's five maps.
type watchKind int

const (
	watchData watchKind = iota
	watchExist
	watchChild
	watchPersistent
	watchPersistentRecursive
	numWatchKinds
)

// watchBook records which watches the server holds for this session, by
// path. With a single (default) watcher a set of paths per kind is the
// whole of ZKWatchManager's state. Callers hold Conn.mu.
type watchBook [numWatchKinds]map[string]struct{}

func (b *watchBook) add(k watchKind, path string) {
	if b[k] == nil {
		b[k] = map[string]struct{}{}
	}
	b[k][path] = struct{}{}
}

func (b *watchBook) has(k watchKind, path string) bool {
	_, ok := b[k][path]
	return ok
}

// remove deletes path from kind k and reports whether it was there.
func (b *watchBook) remove(k watchKind, path string) bool {
	if _, ok := b[k][path]; !ok {
		return false
	}
	delete(b[k], path)
	return true
}

// trigger removes the one-shot watches a server notification fires, as
// ZKWatchManager.materialize does; persistent watches stay.
func (b *watchBook) trigger(ev jute.EventType, path string) {
	switch ev {
	case jute.EventNodeDataChanged, jute.EventNodeCreated:
		b.remove(watchData, path)
		b.remove(watchExist, path)
	case jute.EventNodeChildrenChanged:
		b.remove(watchChild, path)
	case jute.EventNodeDeleted:
		b.remove(watchData, path)
		b.remove(watchExist, path)
		b.remove(watchChild, path)
	}
}

// empty reports whether no watch is recorded.
func (b *watchBook) empty() bool {
	for _, m := range b {
		if len(m) > 0 {
			return false
		}
	}
	return true
}

// paths returns kind k's paths, sorted so the setWatches2 frame is
// deterministic.
func (b *watchBook) paths(k watchKind) []string {
	out := make([]string, 0, len(b[k]))
	for p := range b[k] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// setWatches is the re-registration sent after a reconnect: every watch,
// relative to the last zxid this client saw, so the server fires at once
// those whose node changed while the client was away (ClientCnxn
// primeConnection).
func (b *watchBook) setWatches(lastZxid int64) *jute.SetWatches2 {
	return &jute.SetWatches2{
		RelativeZxid:               lastZxid,
		DataWatches:                b.paths(watchData),
		ExistWatches:               b.paths(watchExist),
		ChildWatches:               b.paths(watchChild),
		PersistentWatches:          b.paths(watchPersistent),
		PersistentRecursiveWatches: b.paths(watchPersistentRecursive),
	}
}

// containsFor is ZKWatchManager.containsWatcher: whether removeWatches of
// type t on path has anything to remove. Persistent watches count for every
// type, as they do in Java.
func (b *watchBook) containsFor(t jute.WatcherType, path string) bool {
	persistent := b.has(watchPersistent, path) || b.has(watchPersistentRecursive, path)
	switch t {
	case jute.WatcherChildren:
		return b.has(watchChild, path) || persistent
	case jute.WatcherData:
		return b.has(watchData, path) || b.has(watchExist, path) || persistent
	default:
		return b.has(watchChild, path) || b.has(watchData, path) || b.has(watchExist, path) || persistent
	}
}

// removeFor is ZKWatchManager.removeWatcher after the server agreed (or
// locally): it drops the watches of type t on path and returns the
// "watch removed" events the watcher is told about, in Java's order (child,
// data, persistent). ok is false when nothing was removed.
func (b *watchBook) removeFor(t jute.WatcherType, path string) (events []jute.EventType, ok bool) {
	var child, data, persistent bool
	switch t {
	case jute.WatcherChildren:
		child = b.remove(watchChild, path)
	case jute.WatcherData:
		data = b.remove(watchData, path)
		data = b.remove(watchExist, path) || data
	default:
		child = b.remove(watchChild, path)
		data = b.remove(watchData, path)
		data = b.remove(watchExist, path) || data
		persistent = b.remove(watchPersistent, path)
		persistent = b.remove(watchPersistentRecursive, path) || persistent
	}
	if child {
		events = append(events, jute.EventChildWatchRemoved)
	}
	if data {
		events = append(events, jute.EventDataWatchRemoved)
	}
	if persistent {
		events = append(events, jute.EventPersistentWatchRemoved)
	}
	return events, child || data || persistent
}
