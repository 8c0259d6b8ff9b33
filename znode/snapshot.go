package znode

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"maps"
	"slices"

	"github.com/zabkafka/zabkafka/jute"
)

// Snapshots. Capture copies what a snapshot needs out of the tree (node
// metadata by value, data and ACL slices by reference: both are immutable
// once stored) while the caller holds the tree lock; the returned View is
// then written out without any lock, so the server is paused only for the
// copy, never for the encoding or the disk. A snapshot is therefore exact at
// its zxid and needs no fuzzy replay.
//
// Stream format: a header frame, one frame per session, one frame per
// distinct ACL list, one frame per node in path order (parents first), and
// a trailer frame with the node count and the tree digest, checked on read.
// Every frame is length-prefixed jute, as on the wire.

const snapshotMagic = "ZKDSNAP1"

// View is a consistent copy of a tree at one zxid.
type View struct {
	Zxid     int64
	sessions map[int64]int32
	nodes    []viewNode // in path order once sorted
	sorted   bool
}

type viewNode struct {
	path string
	data []byte
	acl  []jute.ACL
	stat jute.Stat // stored stat
}

// Capture copies the tree. The caller must hold the tree lock (a read lock
// suffices) for this call only; the View is used after it lets go. A View is
// not safe for concurrent use.
func (t *Tree) Capture() *View {
	v := &View{Zxid: t.lastZxid, sessions: maps.Clone(t.sessions), nodes: make([]viewNode, 0, len(t.nodes))}
	for p, n := range t.nodes {
		v.nodes = append(v.nodes, viewNode{path: p, data: n.data, acl: n.acl, stat: n.stat})
	}
	// Sorting waits for the first use, after the caller has let go of the
	// lock: it is most of the cost.
	return v
}

func (v *View) sort() {
	if !v.sorted {
		slices.SortFunc(v.nodes, func(a, b viewNode) int { return comparePaths(a.path, b.path) })
		v.sorted = true
	}
}

// comparePaths orders paths so every parent comes before its children:
// "/" first, then by segments.
func comparePaths(a, b string) int {
	if a == b {
		return 0
	}
	if a == "/" {
		return -1
	}
	if b == "/" {
		return 1
	}
	// Comparing with '/' as the lowest byte puts "/a/b" right after "/a"
	// and before "/a-b".
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		return int(ca) - int(cb)
	}
	return len(a) - len(b)
}

// Digest is a 64-bit hash of the whole state of the view: every node's path,
// data, ACL and stored stat, and the session table. Equal trees have equal
// digests on every server; tests compare members' digests.
func (v *View) Digest() uint64 {
	v.sort()
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	w := jute.Writer{}
	for _, n := range v.nodes {
		w.B = w.B[:0]
		writeNode(&w, n, -1)
		h.Write(w.B)
	}
	for _, id := range slices.Sorted(maps.Keys(v.sessions)) {
		w.B = w.B[:0]
		w.Long(id)
		w.Int(v.sessions[id])
		h.Write(w.B)
	}
	return h.Sum64()
}

// NodeCount is the number of nodes in the view.
func (v *View) NodeCount() int { return len(v.nodes) }

func writeNode(w *jute.Writer, n viewNode, aclIndex int32) {
	w.String(n.path)
	w.Buffer(n.data)
	if aclIndex >= 0 {
		w.Int(aclIndex)
	} else {
		w.ACLs(n.acl)
	}
	s := n.stat
	w.Long(s.Czxid)
	w.Long(s.Mzxid)
	w.Long(s.Ctime)
	w.Long(s.Mtime)
	w.Int(s.Version)
	w.Int(s.Cversion)
	w.Int(s.Aversion)
	w.Long(s.EphemeralOwner)
	w.Long(s.Pzxid)
}

// WriteTo encodes the view. Frames are buffered and flushed in 64 KiB
// writes.
func (v *View) WriteTo(out io.Writer) (int64, error) {
	v.sort()
	bw := bufio.NewWriterSize(out, 64*1024)
	cw := &countingWriter{w: bw}
	frame := func(fill func(*jute.Writer)) error {
		w := jute.Writer{B: make([]byte, 4, 256)}
		fill(&w)
		n := len(w.B) - 4
		w.B[0], w.B[1], w.B[2], w.B[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		_, err := cw.Write(w.B)
		return err
	}
	// ACL lists are numbered in order of first use, so equal trees encode
	// to equal bytes.
	aclIndex := map[string]int32{}
	var acls [][]jute.ACL
	for _, n := range v.nodes {
		k := aclKey(n.acl)
		if _, ok := aclIndex[k]; !ok {
			aclIndex[k] = int32(len(acls))
			acls = append(acls, n.acl)
		}
	}
	ids := slices.Sorted(maps.Keys(v.sessions))
	err := frame(func(w *jute.Writer) {
		w.B = append(w.B, snapshotMagic...)
		w.Long(v.Zxid)
		w.Int(int32(len(ids)))
		w.Int(int32(len(acls)))
		w.Long(int64(len(v.nodes)))
	})
	for _, id := range ids {
		if err != nil {
			break
		}
		err = frame(func(w *jute.Writer) { w.Long(id); w.Int(v.sessions[id]) })
	}
	for _, acl := range acls {
		if err != nil {
			break
		}
		err = frame(func(w *jute.Writer) { w.ACLs(acl) })
	}
	for _, n := range v.nodes {
		if err != nil {
			break
		}
		err = frame(func(w *jute.Writer) { writeNode(w, n, aclIndex[aclKey(n.acl)]) })
	}
	if err == nil {
		err = frame(func(w *jute.Writer) { w.Long(int64(len(v.nodes))); w.Long(int64(v.Digest())) })
	}
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrBadSnapshot wraps every reason a snapshot stream is rejected.
var ErrBadSnapshot = errors.New("znode: bad snapshot")

// ReadSnapshot decodes a snapshot stream into a new tree. It checks the
// structure (every parent before its children, counts) and the digest, so a
// damaged snapshot is refused rather than served.
func ReadSnapshot(in io.Reader) (*Tree, error) {
	br := bufio.NewReaderSize(in, 64*1024)
	var buf []byte
	next := func() (*jute.Reader, error) {
		f, err := jute.ReadFrame(br, buf, jute.MaxBuffer*2)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		buf = f[:0]
		return jute.NewReader(f), nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
	}
	r, err := next()
	if err != nil {
		return nil, err
	}
	if r.Len() < len(snapshotMagic) || string(r.Rest()[:len(snapshotMagic)]) != snapshotMagic {
		return nil, bad("not a zkd snapshot")
	}
	r = jute.NewReader(r.Rest()[len(snapshotMagic):])
	zxid, nSessions, nACLs, nNodes := r.Long(), r.Int(), r.Int(), r.Long()
	if r.Err() != nil || nSessions < 0 || nACLs < 0 || nNodes < 1 {
		return nil, bad("header")
	}
	// Counts come from the input: they bound loops, never allocations.
	v := &View{Zxid: zxid, sessions: make(map[int64]int32, min(nSessions, 1024)), sorted: true}
	for range nSessions {
		if r, err = next(); err != nil {
			return nil, err
		}
		id, to := r.Long(), r.Int()
		if r.Err() != nil {
			return nil, bad("session")
		}
		v.sessions[id] = to
	}
	acls := make([][]jute.ACL, 0, min(nACLs, 1024))
	for range nACLs {
		if r, err = next(); err != nil {
			return nil, err
		}
		acl := r.ACLs()
		if r.Err() != nil {
			return nil, bad("acl list")
		}
		acls = append(acls, acl)
	}
	for i := range nNodes {
		if r, err = next(); err != nil {
			return nil, err
		}
		n := viewNode{path: r.String(), data: r.Buffer()}
		ai := r.Int()
		s := &n.stat
		s.Czxid, s.Mzxid, s.Ctime, s.Mtime = r.Long(), r.Long(), r.Long(), r.Long()
		s.Version, s.Cversion, s.Aversion = r.Int(), r.Int(), r.Int()
		s.EphemeralOwner, s.Pzxid = r.Long(), r.Long()
		if r.Err() != nil || ai < 0 || int(ai) >= len(acls) {
			return nil, bad("node %d", i)
		}
		n.data = slices.Clone(n.data) // the frame buffer is reused
		n.acl = acls[ai]
		v.nodes = append(v.nodes, n)
	}
	if r, err = next(); err != nil {
		return nil, err
	}
	count, digest := r.Long(), uint64(r.Long())
	if r.Err() != nil || count != nNodes {
		return nil, bad("trailer")
	}
	// The digest and the rebuild only read the view: run them side by side
	// (a start-up with a large tree waits for both).
	got := make(chan uint64, 1)
	go func() { got <- v.Digest() }()
	t, err := restore(v)
	if d := <-got; d != digest {
		return nil, bad("digest 0x%x, trailer says 0x%x", d, digest)
	}
	return t, err
}

// restore builds a tree from a view, rebuilding every index (children,
// ephemerals by session, containers and TTL nodes, quotas, data size, the
// ACL cache's reference counts).
func restore(v *View) (*Tree, error) {
	t := &Tree{
		nodes:      make(map[string]*node, len(v.nodes)),
		ephemerals: make(map[int64]map[string]struct{}),
		special:    make(map[string]struct{}),
		quotas:     make(map[string]bool),
		sessions:   maps.Clone(v.sessions),
		lastZxid:   v.Zxid,
		Watches:    NewWatches(),
	}
	if len(v.nodes) == 0 || v.nodes[0].path != "/" {
		return nil, fmt.Errorf("%w: no root", ErrBadSnapshot)
	}
	// Nodes of a view share their ACL slices (one per distinct list), so
	// the cache is consulted once per list, not once per node.
	shared := make(map[*jute.ACL]*aclEntry)
	for _, vn := range v.nodes {
		if vn.path != "/" && !ValidatePath(vn.path) {
			return nil, fmt.Errorf("%w: invalid path %q", ErrBadSnapshot, vn.path)
		}
		n := &node{data: vn.data, stat: vn.stat}
		if len(vn.acl) == 0 {
			n.acl = t.acls.intern(vn.acl)
		} else if e, ok := shared[&vn.acl[0]]; ok {
			e.refs++
			n.acl = e.list
		} else {
			n.acl = t.acls.intern(vn.acl)
			shared[&vn.acl[0]] = t.acls.lists[aclKey(vn.acl)]
		}
		if vn.path != "/" {
			parent, ok := t.nodes[Parent(vn.path)]
			if !ok {
				return nil, fmt.Errorf("%w: %s comes before its parent", ErrBadSnapshot, vn.path)
			}
			if _, dup := t.nodes[vn.path]; dup {
				return nil, fmt.Errorf("%w: %s twice", ErrBadSnapshot, vn.path)
			}
			t.childSet(parent)[Base(vn.path)] = struct{}{}
		}
		t.nodes[vn.path] = n
		t.dataBytes += int64(len(vn.path) + len(vn.data))
		switch owner := vn.stat.EphemeralOwner; {
		case owner == 0:
		case owner == ContainerOwner:
			t.special[vn.path] = struct{}{}
		default:
			if _, ttl := IsTTLOwner(owner); ttl {
				t.special[vn.path] = struct{}{}
			} else {
				if t.ephemerals[owner] == nil {
					t.ephemerals[owner] = make(map[string]struct{})
				}
				t.ephemerals[owner][vn.path] = struct{}{}
			}
		}
		if qp, role, ok := quotaPathOf(vn.path); ok && role == quotaLimitNode {
			t.quotas[qp] = true
		}
	}
	return t, nil
}

// Digest is the digest of the tree's current state (see View.Digest). The
// caller must hold the tree lock.
func (t *Tree) Digest() uint64 { return t.Capture().Digest() }
