package znode

import (
	"sync"

	"github.com/zabkafka/zabkafka/jute"
)

// Watcher receives watch events. In the server it is a client connection:
// watches live on connections, not sessions, as in ZooKeeper.
type Watcher interface {
	// Notify queues an event. It is called with the tree locked and must not
	// block. zxid is the txn that fired it, or -1 for SetWatches catch-up.
	Notify(ev jute.WatcherEvent, zxid int64)
	// CanRead reports whether the watcher may read a node with this ACL;
	// events on nodes it may not read are dropped at delivery
	// (ZOOKEEPER-4799, the fix for CVE-2024-23944).
	CanRead(acl []jute.ACL) bool
}

// watchMode is a set: a watcher may hold a one-shot and a persistent watch on
// the same path at once (WatcherModeManager).
type watchMode uint8

const (
	modeStandard watchMode = 1 << iota
	modePersistent
	modeRecursive
)

type watchTable map[string]map[Watcher]watchMode

func (wt watchTable) add(p string, w Watcher, m watchMode) {
	set := wt[p]
	if set == nil {
		set = make(map[Watcher]watchMode)
		wt[p] = set
	}
	set[w] |= m
}

// remove clears mode bits and reports whether any were set.
func (wt watchTable) remove(p string, w Watcher, m watchMode) bool {
	set := wt[p]
	old, ok := set[w]
	if !ok || old&m == 0 {
		return false
	}
	if old &^= m; old == 0 {
		delete(set, w)
		if len(set) == 0 {
			delete(wt, p)
		}
	} else {
		set[w] = old
	}
	return true
}

// Watches holds the data and child watch tables of a tree (WatchManager).
// Data watches include exists watches; persistent watches sit in both tables;
// recursive watches sit only in the data table, because a recursive watch
// never receives NodeChildrenChanged.
type Watches struct {
	mu        sync.Mutex
	data      watchTable
	child     watchTable
	recursive int // recursive watches held; ancestors are walked only if > 0
}

// NewWatches returns empty watch tables.
func NewWatches() *Watches {
	return &Watches{data: make(watchTable), child: make(watchTable)}
}

// AddData registers a one-shot data (or exists) watch.
func (ws *Watches) AddData(p string, w Watcher) {
	ws.mu.Lock()
	ws.data.add(p, w, modeStandard)
	ws.mu.Unlock()
}

// AddChild registers a one-shot child watch.
func (ws *Watches) AddChild(p string, w Watcher) {
	ws.mu.Lock()
	ws.child.add(p, w, modeStandard)
	ws.mu.Unlock()
}

// AddPersistent registers a persistent watch (addWatch mode 0) or a
// persistent recursive one (mode 1).
func (ws *Watches) AddPersistent(p string, w Watcher, recursive bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if recursive {
		if ws.data[p][w]&modeRecursive == 0 {
			ws.recursive++
		}
		ws.data.add(p, w, modeRecursive)
		return
	}
	ws.data.add(p, w, modePersistent)
	ws.child.add(p, w, modePersistent)
}

// Remove removes (or, with check, only looks for) the watches of w on p of
// the given type, as removeWatches / checkWatches do. It reports whether any
// matched.
func (ws *Watches) Remove(p string, w Watcher, typ jute.WatcherType, check bool) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	type sel struct {
		t watchTable
		m watchMode
	}
	var sels []sel
	// As WatchManager does for types 1-3, a type selects a table and every
	// watch of the watcher in it, whatever its mode; types 4 and 5 (3.9)
	// select the persistent modes only.
	all := modeStandard | modePersistent | modeRecursive
	switch typ {
	case jute.WatcherChildren:
		sels = []sel{{ws.child, all}}
	case jute.WatcherData:
		sels = []sel{{ws.data, all}}
	case jute.WatcherAny:
		sels = []sel{{ws.child, all}, {ws.data, all}}
	case jute.WatcherPersistent:
		sels = []sel{{ws.child, modePersistent}, {ws.data, modePersistent}}
	case jute.WatcherPersistentRecursive:
		sels = []sel{{ws.data, modeRecursive}}
	default:
		return false
	}
	found := false
	for _, s := range sels {
		m := s.t[p][w] & s.m
		if m == 0 {
			continue
		}
		found = true
		if !check {
			if m&modeRecursive != 0 {
				ws.recursive--
			}
			s.t.remove(p, w, m)
		}
	}
	return found
}

// RemoveWatcher drops every watch of w (its connection closed).
func (ws *Watches) RemoveWatcher(w Watcher) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for p, set := range ws.data {
		if m, ok := set[w]; ok {
			if m&modeRecursive != 0 {
				ws.recursive--
			}
			ws.data.remove(p, w, m)
		}
	}
	for p, set := range ws.child {
		if m, ok := set[w]; ok {
			ws.child.remove(p, w, m)
		}
	}
}

// Count returns the number of (watcher, path) watches in both tables.
func (ws *Watches) Count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	n := 0
	for _, set := range ws.data {
		n += len(set)
	}
	for _, set := range ws.child {
		n += len(set)
	}
	return n
}

// ByPath returns, for wchp, each watched path and its watchers.
func (ws *Watches) ByPath() map[string][]Watcher {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	seen := make(map[string]map[Watcher]bool)
	out := make(map[string][]Watcher)
	for _, t := range []watchTable{ws.data, ws.child} {
		for p, set := range t {
			if seen[p] == nil {
				seen[p] = make(map[Watcher]bool)
			}
			for w := range set {
				if !seen[p][w] { // a data and a child watch: one entry
					seen[p][w] = true
					out[p] = append(out[p], w)
				}
			}
		}
	}
	return out
}

// trigger fires the data table for an event on p: one-shot and persistent
// watches on p itself, recursive watches on p and its ancestors. A
// NodeChildrenChanged event fires the child table of p instead. Watchers in
// skip are not told again; the watchers told are returned.
func (ws *Watches) trigger(p string, typ jute.EventType, zxid int64, acl []jute.ACL, skip map[Watcher]struct{}) map[Watcher]struct{} {
	if typ == jute.EventNodeChildrenChanged {
		return ws.triggerChild(p, typ, zxid, acl, skip)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var told map[Watcher]struct{}
	ev := jute.WatcherEvent{Type: typ, State: jute.StateSyncConnected, Path: p}
	fire := func(w Watcher) {
		if _, dup := skip[w]; dup {
			return
		}
		if _, dup := told[w]; dup {
			return
		}
		if told == nil {
			told = make(map[Watcher]struct{})
		}
		told[w] = struct{}{}
		if w.CanRead(acl) {
			w.Notify(ev, zxid)
		}
	}
	for w, m := range ws.data[p] {
		if m&(modeStandard|modePersistent) == 0 {
			continue
		}
		if m&modeStandard != 0 {
			ws.data.remove(p, w, modeStandard)
		}
		fire(w)
	}
	if ws.recursive > 0 {
		ancestors(p, func(a string) {
			for w, m := range ws.data[a] {
				if m&modeRecursive != 0 {
					fire(w)
				}
			}
		})
	}
	return told
}

// triggerChild fires the child table of p: one-shot child watches (removed)
// and persistent ones.
func (ws *Watches) triggerChild(p string, typ jute.EventType, zxid int64, acl []jute.ACL, skip map[Watcher]struct{}) map[Watcher]struct{} {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var told map[Watcher]struct{}
	ev := jute.WatcherEvent{Type: typ, State: jute.StateSyncConnected, Path: p}
	for w, m := range ws.child[p] {
		if m&modeStandard != 0 {
			ws.child.remove(p, w, modeStandard)
		}
		if _, dup := skip[w]; dup {
			continue
		}
		if told == nil {
			told = make(map[Watcher]struct{})
		}
		told[w] = struct{}{}
		if w.CanRead(acl) {
			w.Notify(ev, zxid)
		}
	}
	return told
}
