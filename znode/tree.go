// Package znode is ZooKeeper's data tree as a deterministic state machine:
// the same txns applied in the same order give the same tree, stats, session
// table and watch events on every server. Nothing here reads a clock, a
// random source or the network; time arrives in each TxnHeader.
//
// A Tree is not safe for concurrent use: the server serialises Apply against
// reads with its own lock. Watches has its own lock so reads can register
// watches while holding only a read lock on the tree.
package znode

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/zabkafka/zabkafka/jute"
)

// Ephemeral owner markers (EphemeralType): containers store Long.MIN_VALUE,
// TTL nodes store 0xFF in the top byte and the TTL in the low 40 bits.
const (
	ContainerOwner int64 = -1 << 63
	ttlMarker      int64 = -1 << 56 // 0xFF00_0000_0000_0000
	MaxTTL         int64 = 1<<40 - 1
)

// System node paths every tree starts with.
const (
	ZookeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)

// TTLOwner encodes a TTL as the stored ephemeral owner of a TTL node.
func TTLOwner(ttl int64) int64 { return ttlMarker | ttl }

// IsTTLOwner reports whether a stored owner marks a TTL node, and its TTL.
func IsTTLOwner(owner int64) (int64, bool) {
	if owner != ContainerOwner && owner>>56 == -1 {
		return owner & MaxTTL, true
	}
	return 0, false
}

type node struct {
	data     []byte // never modified in place: setData replaces the slice
	acl      []jute.ACL
	stat     jute.Stat // Cversion is the stored count of child creations
	children map[string]struct{}
	// sorted caches the sorted child names for getChildren. Readers fill
	// it under the tree's read lock (hence atomic); a child create or
	// delete clears it. The slice is never modified once stored.
	sorted atomic.Pointer[[]string]
}

// clientStat is DataNode.copyStat: the derived cversion (creates + deletes),
// data length, child count, and a zero owner for containers and TTL nodes.
func (n *node) clientStat() jute.Stat {
	s := n.stat
	s.NumChildren = int32(len(n.children))
	s.DataLength = int32(len(n.data))
	s.Cversion = n.stat.Cversion*2 - s.NumChildren
	if s.EphemeralOwner == ContainerOwner {
		s.EphemeralOwner = 0
	} else if _, ok := IsTTLOwner(s.EphemeralOwner); ok {
		s.EphemeralOwner = 0
	}
	return s
}

// Tree is the replicated data tree.
type Tree struct {
	nodes      map[string]*node
	ephemerals map[int64]map[string]struct{} // session -> ephemeral paths
	special    map[string]struct{}           // container and TTL nodes
	quotas     map[string]bool               // paths with a quota (PathTrie)
	sessions   map[int64]int32               // session -> timeout (ms)
	acls       aclCache
	lastZxid   int64
	dataBytes  int64 // sum of path and data lengths, as approximateDataSize
	Watches    *Watches
}

// New returns a tree holding the root and the system nodes.
func New() *Tree {
	t := &Tree{
		nodes:      make(map[string]*node),
		ephemerals: make(map[int64]map[string]struct{}),
		special:    make(map[string]struct{}),
		quotas:     make(map[string]bool),
		sessions:   make(map[int64]int32),
		Watches:    NewWatches(),
	}
	open := t.acls.intern(OpenACLUnsafe)
	t.nodes["/"] = &node{acl: open, data: []byte{}}
	t.dataBytes = 1 // Java also counts the root under the key "/"
	t.addSystemNode(ZookeeperPath, OpenACLUnsafe)
	t.addSystemNode(QuotaPath, OpenACLUnsafe)
	t.addSystemNode(ConfigPath, ReadACLUnsafe)
	// DataTree sets the config node's ACL with setACL(..., -1), which
	// leaves its aversion at -1; clients see that value.
	t.nodes[ConfigPath].stat.Aversion = -1
	return t
}

// addSystemNode adds a node with all-zero stats, as DataTree's constructor
// does (the parent's cversion is not touched).
func (t *Tree) addSystemNode(p string, acl []jute.ACL) {
	t.nodes[p] = &node{acl: t.acls.intern(acl), data: []byte{}}
	t.childSet(t.nodes[Parent(p)])[Base(p)] = struct{}{}
	t.dataBytes += int64(len(p))
}

func (t *Tree) childSet(n *node) map[string]struct{} {
	if n.children == nil {
		n.children = make(map[string]struct{})
	}
	return n.children
}

// LastZxid is the zxid of the last applied txn.
func (t *Tree) LastZxid() int64 { return t.lastZxid }

// NodeCount is the number of znodes as ZooKeeper reports it (srvr "Node
// count", mntr zk_znode_count). Java stores the root under both "" and "/",
// so its count is one more than the number of nodes; we report the same
// figure so monitoring compares like with like.
func (t *Tree) NodeCount() int { return len(t.nodes) + 1 }

// ApproximateDataSize is the sum of path and data lengths.
func (t *Tree) ApproximateDataSize() int64 { return t.dataBytes }

// EphemeralCount is the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// NodeInfo is what the prepare stage needs to validate a request.
type NodeInfo struct {
	Stat        jute.Stat // stored stat: Cversion is the count of child creations
	ACL         []jute.ACL
	NumChildren int32
}

// Lookup returns the stored bookkeeping of a node.
func (t *Tree) Lookup(p string) (NodeInfo, bool) {
	n, ok := t.nodes[p]
	if !ok {
		return NodeInfo{}, false
	}
	return NodeInfo{Stat: n.stat, ACL: n.acl, NumChildren: int32(len(n.children))}, true
}

// Exists returns the client-visible stat of a node.
func (t *Tree) Exists(p string) (jute.Stat, []jute.ACL, bool) {
	n, ok := t.nodes[p]
	if !ok {
		return jute.Stat{}, nil, false
	}
	return n.clientStat(), n.acl, true
}

// GetData returns a node's data (shared, never modified), stat and ACL.
func (t *Tree) GetData(p string) ([]byte, jute.Stat, []jute.ACL, bool) {
	n, ok := t.nodes[p]
	if !ok {
		return nil, jute.Stat{}, nil, false
	}
	return n.data, n.clientStat(), n.acl, true
}

// Children returns the sorted child names of a node, its stat and ACL.
// ZooKeeper returns hash order and clients sort; sorting here costs little
// and makes every reply deterministic.
func (t *Tree) Children(p string) ([]string, jute.Stat, []jute.ACL, bool) {
	n, ok := t.nodes[p]
	if !ok {
		return nil, jute.Stat{}, nil, false
	}
	if cached := n.sorted.Load(); cached != nil {
		return *cached, n.clientStat(), n.acl, true
	}
	names := slices.Sorted(maps.Keys(n.children))
	if names == nil {
		names = []string{}
	}
	n.sorted.Store(&names)
	return names, n.clientStat(), n.acl, true
}

// AllChildrenNumber counts every descendant of p (not p itself).
func (t *Tree) AllChildrenNumber(p string) (int32, []jute.ACL, bool) {
	n, ok := t.nodes[p]
	if !ok {
		return 0, nil, false
	}
	var count int32
	var walk func(string, *node)
	walk = func(path string, n *node) {
		for c := range n.children {
			count++
			cp := Join(path, c)
			walk(cp, t.nodes[cp])
		}
	}
	walk(p, n)
	return count, n.acl, true
}

// Ephemerals returns, sorted, the ephemeral paths of a session that start
// with prefix ("" or "/" means all), as getEphemerals does.
func (t *Tree) Ephemerals(session int64, prefix string) []string {
	out := []string{}
	for p := range t.ephemerals[session] {
		if prefix == "" || prefix == "/" || strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Sessions returns a copy of the session table (id -> timeout ms).
func (t *Tree) Sessions() map[int64]int32 { return maps.Clone(t.sessions) }

// HasSession reports whether a session is live in the tree.
func (t *Tree) HasSession(id int64) (int32, bool) {
	to, ok := t.sessions[id]
	return to, ok
}

// ExpiredSpecialNodes returns, sorted, the containers and TTL nodes that
// ContainerManager would delete at time now (ms): empty containers that have
// had a child, and childless TTL nodes not modified for longer than their TTL.
func (t *Tree) ExpiredSpecialNodes(now int64) []string {
	var out []string
	for p := range t.special {
		n := t.nodes[p]
		if len(n.children) > 0 {
			continue
		}
		if n.stat.EphemeralOwner == ContainerOwner {
			if n.stat.Cversion > 0 {
				out = append(out, p)
			}
		} else if ttl, ok := IsTTLOwner(n.stat.EphemeralOwner); ok && now-n.stat.Mtime > ttl {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// SetWatches re-registers a reconnecting client's watches (setWatches and
// setWatches2), first sending the events it missed since relativeZxid, as
// DataTree.setWatches does: a data watch on a deleted node gets NodeDeleted,
// on a node changed since then NodeDataChanged; an exists watch on a node
// that now exists gets NodeCreated; a child watch gets NodeDeleted or
// NodeChildrenChanged (by pzxid). Persistent watches are simply added.
// Catch-up events carry zxid -1.
func (t *Tree) SetWatches(relativeZxid int64, sw *jute.SetWatches2, w Watcher) {
	notify := func(typ jute.EventType, p string, acl []jute.ACL) {
		if acl == nil || w.CanRead(acl) {
			w.Notify(jute.WatcherEvent{Type: typ, State: jute.StateSyncConnected, Path: p}, -1)
		}
	}
	for _, p := range sw.DataWatches {
		switch n, ok := t.nodes[p]; {
		case !ok:
			notify(jute.EventNodeDeleted, p, nil)
		case n.stat.Mzxid > relativeZxid:
			notify(jute.EventNodeDataChanged, p, n.acl)
		default:
			t.Watches.AddData(p, w)
		}
	}
	for _, p := range sw.ExistWatches {
		if n, ok := t.nodes[p]; ok {
			notify(jute.EventNodeCreated, p, n.acl)
		} else {
			t.Watches.AddData(p, w)
		}
	}
	for _, p := range sw.ChildWatches {
		switch n, ok := t.nodes[p]; {
		case !ok:
			notify(jute.EventNodeDeleted, p, nil)
		case n.stat.Pzxid > relativeZxid:
			notify(jute.EventNodeChildrenChanged, p, n.acl)
		default:
			t.Watches.AddChild(p, w)
		}
	}
	for _, p := range sw.PersistentWatches {
		t.Watches.AddPersistent(p, w, false)
	}
	for _, p := range sw.PersistentRecursiveWatches {
		t.Watches.AddPersistent(p, w, true)
	}
}

// SetConfig sets the data of /zookeeper/config to an ensemble's membership
// outside any txn, as ZooKeeper's initConfigInZKDatabase does on every
// member at start: setData with version -1, which leaves the node's
// version at -1 and its zxids at 0. Every member holds the same
// membership, so the trees stay equal.
func (t *Tree) SetConfig(data []byte) {
	n := t.nodes[ConfigPath]
	t.dataBytes += int64(len(data) - len(n.data))
	n.data = append([]byte(nil), data...)
	n.stat.Version = -1
}
