package znode

import (
	"fmt"

	"github.com/zabkafka/zabkafka/jute"
)

// Result is the outcome of applying one txn (ProcessTxnResult).
type Result struct {
	Type  jute.OpCode
	Err   jute.ErrCode
	Path  string    // the created or changed path
	Stat  jute.Stat // client stat after create/setData/setACL
	Multi []Result  // per-op results of a multi
}

// Txn is a decoded txn: its header and one of the jute txn records
// (*jute.CreateTxn, *jute.DeleteTxn, ... , *jute.MultiTxn).
type Txn struct {
	Header jute.TxnHeader
	Record jute.Record
}

// Apply applies one committed txn and fires the watches it triggers. Txns must
// arrive in zxid order. The prepare stage has already validated the txn, so a
// failure here means the txn conflicts with the tree (for example when a txn
// is replayed over a snapshot that already holds it); the error is returned in
// the Result and the tree is left as the txn found it.
func (t *Tree) Apply(txn *Txn) Result {
	h := &txn.Header
	res := t.applyOne(h, h.Type, txn.Record)
	if h.Zxid > t.lastZxid {
		t.lastZxid = h.Zxid
	}
	return res
}

func (t *Tree) applyOne(h *jute.TxnHeader, typ jute.OpCode, rec jute.Record) Result {
	res := Result{Type: typ}
	switch r := rec.(type) {
	case *jute.CreateTxn:
		owner := int64(0)
		if r.Ephemeral {
			owner = h.ClientID
		}
		res.Path = r.Path
		res.Stat, res.Err = t.create(h, r.Path, r.Data, r.ACL, owner, r.ParentCVersion)
	case *jute.CreateContainerTxn:
		res.Path = r.Path
		res.Stat, res.Err = t.create(h, r.Path, r.Data, r.ACL, ContainerOwner, r.ParentCVersion)
	case *jute.CreateTTLTxn:
		res.Path = r.Path
		res.Stat, res.Err = t.create(h, r.Path, r.Data, r.ACL, TTLOwner(r.TTL), r.ParentCVersion)
	case *jute.DeleteTxn:
		res.Path = r.Path
		res.Err = t.delete(h.Zxid, r.Path)
	case *jute.SetDataTxn:
		res.Path = r.Path
		res.Stat, res.Err = t.setData(h, r)
	case *jute.SetACLTxn:
		res.Path = r.Path
		res.Stat, res.Err = t.setACL(r)
	case *jute.CheckVersionTxn:
		res.Path = r.Path
	case *jute.ErrorTxn:
		res.Err = r.Err
	case *jute.CreateSessionTxn:
		t.sessions[h.ClientID] = r.TimeOut
	case *jute.CloseSessionTxn:
		t.closeSession(h.Zxid, h.ClientID, r.Paths2Delete)
	case *jute.MultiTxn:
		res.Multi = t.applyMulti(h, r)
	case nil:
		// Txns without a body: createSession from old logs, or a no-op.
	default:
		panic(fmt.Sprintf("znode: apply of unexpected txn record %T", rec))
	}
	return res
}

// applyMulti applies the sub-txns of a multi with the multi's zxid. If the
// prepare stage failed any op, the multi holds an ErrorTxn and then nothing is
// applied: as DataTree.processTxn does, the ops before the first error report
// OK and the ops after it RUNTIMEINCONSISTENCY, all as error results.
func (t *Tree) applyMulti(h *jute.TxnHeader, m *jute.MultiTxn) []Result {
	failed := false
	for _, sub := range m.Txns {
		if sub.Type == jute.OpError {
			failed = true
			break
		}
	}
	out := make([]Result, len(m.Txns))
	postFailed := false
	for i, sub := range m.Txns {
		rec, err := DecodeTxnRecord(sub.Type, sub.Data)
		if err != nil {
			panic(fmt.Sprintf("znode: multi sub-txn %d (%s) undecodable: %v", i, sub.Type, err))
		}
		typ := sub.Type
		if typ == jute.OpError {
			postFailed = true
		} else if failed {
			code := jute.ErrOK
			if postFailed {
				code = jute.ErrRuntimeInconsistency
			}
			typ, rec = jute.OpError, &jute.ErrorTxn{Err: code}
		}
		out[i] = t.applyOne(h, typ, rec)
	}
	return out
}

// DecodeTxnRecord decodes the body of a txn of the given type.
func DecodeTxnRecord(typ jute.OpCode, b []byte) (jute.Record, error) {
	rec := NewTxnRecord(typ)
	if rec == nil {
		return nil, fmt.Errorf("znode: no txn record for %s", typ)
	}
	return rec, jute.Decode(b, rec)
}

// NewTxnRecord returns an empty txn record for a txn type, or nil.
func NewTxnRecord(typ jute.OpCode) jute.Record {
	switch typ {
	case jute.OpCreate, jute.OpCreate2:
		return &jute.CreateTxn{}
	case jute.OpCreateContainer:
		return &jute.CreateContainerTxn{}
	case jute.OpCreateTTL:
		return &jute.CreateTTLTxn{}
	case jute.OpDelete, jute.OpDeleteContainer:
		return &jute.DeleteTxn{}
	case jute.OpSetData:
		return &jute.SetDataTxn{}
	case jute.OpSetACL:
		return &jute.SetACLTxn{}
	case jute.OpCheck:
		return &jute.CheckVersionTxn{}
	case jute.OpError:
		return &jute.ErrorTxn{}
	case jute.OpCreateSession:
		return &jute.CreateSessionTxn{}
	case jute.OpCloseSession:
		return &jute.CloseSessionTxn{}
	case jute.OpMulti:
		return &jute.MultiTxn{}
	}
	return nil
}

func (t *Tree) create(h *jute.TxnHeader, p string, data []byte, acl []jute.ACL, owner int64, parentCVersion int32) (jute.Stat, jute.ErrCode) {
	parentPath := Parent(p)
	parent, ok := t.nodes[parentPath]
	if !ok {
		return jute.Stat{}, jute.ErrNoNode
	}
	if _, exists := t.nodes[p]; exists {
		return jute.Stat{}, jute.ErrNodeExists
	}
	n := &node{
		data: data,
		acl:  t.acls.intern(acl),
		stat: jute.Stat{
			Czxid: h.Zxid, Mzxid: h.Zxid, Pzxid: h.Zxid,
			Ctime: h.Time, Mtime: h.Time,
			EphemeralOwner: owner,
		},
	}
	t.nodes[p] = n
	t.childSet(parent)[Base(p)] = struct{}{}
	parent.sorted.Store(nil)
	if parentCVersion > parent.stat.Cversion {
		parent.stat.Cversion = parentCVersion
		parent.stat.Pzxid = h.Zxid
	}
	t.dataBytes += int64(len(p) + len(data))
	switch {
	case owner == ContainerOwner:
		t.special[p] = struct{}{}
	case owner != 0:
		if _, ttl := IsTTLOwner(owner); ttl {
			t.special[p] = struct{}{}
		} else {
			eph := t.ephemerals[owner]
			if eph == nil {
				eph = make(map[string]struct{})
				t.ephemerals[owner] = eph
			}
			eph[p] = struct{}{}
		}
	}
	t.quotaCreated(p, len(data))
	t.Watches.trigger(p, jute.EventNodeCreated, h.Zxid, n.acl, nil)
	t.Watches.trigger(parentPath, jute.EventNodeChildrenChanged, h.Zxid, parent.acl, nil)
	return n.clientStat(), jute.ErrOK
}

func (t *Tree) delete(zxid int64, p string) jute.ErrCode {
	n, ok := t.nodes[p]
	if !ok || p == "/" {
		return jute.ErrNoNode
	}
	if len(n.children) > 0 {
		return jute.ErrNotEmpty
	}
	parentPath := Parent(p)
	parent := t.nodes[parentPath]
	delete(parent.children, Base(p))
	parent.sorted.Store(nil)
	t.acls.release(n.acl)
	if zxid > parent.stat.Pzxid {
		parent.stat.Pzxid = zxid
	}
	delete(t.nodes, p)
	t.dataBytes -= int64(len(p) + len(n.data))
	if owner := n.stat.EphemeralOwner; owner != 0 {
		delete(t.special, p)
		if eph := t.ephemerals[owner]; eph != nil {
			delete(eph, p)
			if len(eph) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	}
	t.quotaDeleted(p, len(n.data))
	// As DataTree.deleteNode: data watches, then child watches of the node
	// itself (a watcher already told is not told twice), then the parent.
	told := t.Watches.trigger(p, jute.EventNodeDeleted, zxid, n.acl, nil)
	t.Watches.triggerChild(p, jute.EventNodeDeleted, zxid, n.acl, told)
	t.Watches.trigger(parentPath, jute.EventNodeChildrenChanged, zxid, parent.acl, nil)
	return jute.ErrOK
}

func (t *Tree) setData(h *jute.TxnHeader, r *jute.SetDataTxn) (jute.Stat, jute.ErrCode) {
	n, ok := t.nodes[r.Path]
	if !ok {
		return jute.Stat{}, jute.ErrNoNode
	}
	data := r.Data // nil stays nil: Java keeps a null buffer null
	t.dataBytes += int64(len(data) - len(n.data))
	t.quotaDataChanged(r.Path, len(data)-len(n.data))
	n.data = data
	n.stat.Version = r.Version
	n.stat.Mzxid = h.Zxid
	n.stat.Mtime = h.Time
	t.Watches.trigger(r.Path, jute.EventNodeDataChanged, h.Zxid, n.acl, nil)
	return n.clientStat(), jute.ErrOK
}

func (t *Tree) setACL(r *jute.SetACLTxn) (jute.Stat, jute.ErrCode) {
	n, ok := t.nodes[r.Path]
	if !ok {
		return jute.Stat{}, jute.ErrNoNode
	}
	old := n.acl
	n.acl = t.acls.intern(r.ACL)
	t.acls.release(old)
	n.stat.Aversion = r.Version
	return n.clientStat(), jute.ErrOK
}

// closeSession deletes the session's ephemerals (the paths the leader listed,
// then any it could not have known of) and forgets the session.
func (t *Tree) closeSession(zxid, session int64, paths []string) {
	for _, p := range paths {
		if n, ok := t.nodes[p]; ok && n.stat.EphemeralOwner == session {
			t.delete(zxid, p)
		}
	}
	for _, p := range t.Ephemerals(session, "") {
		t.delete(zxid, p)
	}
	delete(t.sessions, session)
}
