package zkserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// The prepare stage (PrepRequestProcessor): it checks a write request against
// the tree plus the changes of txns already proposed but not yet applied,
// and turns it into a deterministic txn. All decisions that must be the same
// on every server (sequential names, the time, the zxid, which ephemerals a
// closing session owns) are taken here, once.

// change is ZooKeeper's ChangeRecord: the state a path will have once every
// outstanding txn is applied. exists=false records a pending delete.
type change struct {
	zxid        int64
	exists      bool
	stat        jute.Stat // stored stat (Cversion counts child creations)
	numChildren int32
	acl         []jute.ACL
}

// outstanding holds the change records of proposed, unapplied txns.
type outstanding struct {
	mu      sync.Mutex
	changes map[string]*change
}

// clearApplied drops records whose txn has been applied; the tree now holds
// their state.
func (o *outstanding) clearApplied(zxid int64, paths []string) {
	o.mu.Lock()
	for _, p := range paths {
		if c, ok := o.changes[p]; ok && c.zxid <= zxid {
			delete(o.changes, p)
		}
	}
	o.mu.Unlock()
}

// prepContext is one request's view during preparation: the server state
// plus the records this request (or multi) has added so far, which are
// published only if the whole request succeeds.
type prepContext struct {
	s       *Server
	zxid    int64
	time    int64
	session int64
	auth    []jute.ID
	pending map[string]*change
	touched []string // paths in pending, in order
}

// record returns the state of a path: pending, then outstanding, then tree.
func (pc *prepContext) record(p string) (*change, bool) {
	if c, ok := pc.pending[p]; ok {
		return c, c.exists
	}
	if c, ok := pc.s.outstanding.changes[p]; ok {
		return c, c.exists
	}
	pc.s.treeMu.RLock()
	info, ok := pc.s.tree.Lookup(p)
	pc.s.treeMu.RUnlock()
	if !ok {
		return nil, false
	}
	return &change{exists: true, stat: info.Stat, numChildren: info.NumChildren, acl: info.ACL}, true
}

func (pc *prepContext) put(p string, c *change) {
	c.zxid = pc.zxid
	if _, ok := pc.pending[p]; !ok {
		pc.touched = append(pc.touched, p)
	}
	pc.pending[p] = c
}

func (pc *prepContext) checkACL(acl []jute.ACL, perm int32) error {
	if !znode.CheckACL(acl, perm, pc.auth) {
		return jute.ErrNoAuth
	}
	return nil
}

// checkAndIncVersion is PrepRequestProcessor.checkAndIncVersion: -1 matches
// any version.
func checkAndIncVersion(current, expected int32) (int32, error) {
	if expected != -1 && expected != current {
		return 0, jute.ErrBadVersion
	}
	return current + 1, nil
}

func isSpecialPath(p string) bool {
	return p == "/" || p == znode.ZookeeperPath || p == znode.QuotaPath || p == znode.ConfigPath
}

// prepOp turns one request (or one op of a multi) into a txn record.
func (pc *prepContext) prepOp(op jute.OpCode, body jute.Record) (jute.Record, error) {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		r := body.(*jute.CreateRequest)
		return pc.prepCreate(op, r.Path, r.Data, r.ACL, r.Flags, -1)
	case jute.OpCreateTTL:
		r := body.(*jute.CreateTTLRequest)
		return pc.prepCreate(op, r.Path, r.Data, r.ACL, r.Flags, r.TTL)
	case jute.OpDelete:
		return pc.prepDelete(body.(*jute.DeleteRequest))
	case jute.OpDeleteContainer:
		return pc.prepDeleteContainer(body.(*jute.DeleteRequest).Path)
	case jute.OpSetData:
		return pc.prepSetData(body.(*jute.SetDataRequest))
	case jute.OpSetACL:
		return pc.prepSetACL(body.(*jute.SetACLRequest))
	case jute.OpCheck:
		return pc.prepCheck(body.(*jute.CheckVersionRequest))
	case jute.OpReconfig:
		// Dynamic reconfiguration is off (reconfigEnabled=false is
		// ZooKeeper's default, and standalone servers cannot reconfig).
		return nil, jute.ErrReconfigDisabled
	}
	return nil, jute.ErrBadArguments
}

func (pc *prepContext) prepCreate(op jute.OpCode, path string, data []byte, acl []jute.ACL, mode jute.CreateMode, ttl int64) (jute.Record, error) {
	if !mode.Valid() {
		return nil, jute.ErrBadArguments
	}
	// validateCreateRequest: TTL modes need extended types and a TTL in range;
	// other modes must not carry one.
	if mode.TTL() && !pc.s.cfg.ExtendedTypesEnabled {
		return nil, jute.ErrUnimplemented
	}
	if mode.TTL() && (ttl <= 0 || ttl > znode.MaxTTL) || !mode.TTL() && ttl >= 0 {
		return nil, jute.ErrBadArguments
	}
	// validatePathForCreate: only a missing slash or a NUL is refused before
	// the parent is looked up; the full rules run on the final name below.
	if !strings.Contains(path, "/") || strings.IndexByte(path, 0) >= 0 {
		return nil, jute.ErrBadArguments
	}
	parentPath := znode.Parent(path)
	fixed, ok := znode.FixupACL(acl, pc.auth)
	if !ok {
		return nil, jute.ErrInvalidACL
	}
	parent, ok := pc.record(parentPath)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := pc.checkACL(parent.acl, jute.PermCreate); err != nil {
		return nil, err
	}
	if mode.Sequential() {
		path = fmt.Sprintf("%s%010d", path, parent.stat.Cversion)
	}
	if !znode.ValidatePath(path) {
		return nil, jute.ErrBadArguments
	}
	if _, exists := pc.record(path); exists {
		return nil, jute.ErrNodeExists
	}
	if owner := parent.stat.EphemeralOwner; owner != 0 && owner != znode.ContainerOwner {
		if _, isTTL := znode.IsTTLOwner(owner); !isTTL {
			return nil, jute.ErrNoChildrenForEphemerals
		}
	}
	newCversion := parent.stat.Cversion + 1
	var txn jute.Record
	var owner int64
	switch op {
	case jute.OpCreateContainer:
		owner = znode.ContainerOwner
		txn = &jute.CreateContainerTxn{Path: path, Data: data, ACL: fixed, ParentCVersion: newCversion}
	case jute.OpCreateTTL:
		owner = znode.TTLOwner(ttl)
		txn = &jute.CreateTTLTxn{Path: path, Data: data, ACL: fixed, ParentCVersion: newCversion, TTL: ttl}
	default:
		if mode.Ephemeral() {
			owner = pc.session
		}
		txn = &jute.CreateTxn{Path: path, Data: data, ACL: fixed, Ephemeral: mode.Ephemeral(), ParentCVersion: newCversion}
	}
	np := *parent
	np.numChildren++
	np.stat.Cversion = newCversion
	np.stat.Pzxid = pc.zxid
	pc.put(parentPath, &np)
	pc.put(path, &change{exists: true, acl: fixed, stat: jute.Stat{
		Czxid: pc.zxid, Mzxid: pc.zxid, Pzxid: pc.zxid, Ctime: pc.time, Mtime: pc.time, EphemeralOwner: owner,
	}})
	return txn, nil
}

func (pc *prepContext) prepDelete(r *jute.DeleteRequest) (jute.Record, error) {
	if !znode.ValidatePath(r.Path) || isSpecialPath(r.Path) {
		return nil, jute.ErrBadArguments
	}
	parentPath := znode.Parent(r.Path)
	parent, ok := pc.record(parentPath)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := pc.checkACL(parent.acl, jute.PermDelete); err != nil {
		return nil, err
	}
	n, ok := pc.record(r.Path)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if _, err := checkAndIncVersion(n.stat.Version, r.Version); err != nil {
		return nil, err
	}
	if n.numChildren > 0 {
		return nil, jute.ErrNotEmpty
	}
	pc.removeRecord(parentPath, parent, r.Path)
	return &jute.DeleteTxn{Path: r.Path}, nil
}

func (pc *prepContext) removeRecord(parentPath string, parent *change, p string) {
	np := *parent
	np.numChildren--
	if pc.zxid > np.stat.Pzxid {
		np.stat.Pzxid = pc.zxid
	}
	pc.put(parentPath, &np)
	pc.put(p, &change{exists: false})
}

// prepDeleteContainer is the container manager's delete: only an empty
// container or TTL node is removed, and no ACL applies.
func (pc *prepContext) prepDeleteContainer(p string) (jute.Record, error) {
	n, ok := pc.record(p)
	if !ok {
		return nil, jute.ErrNoNode
	}
	_, isTTL := znode.IsTTLOwner(n.stat.EphemeralOwner)
	if n.stat.EphemeralOwner != znode.ContainerOwner && !isTTL {
		return nil, jute.ErrBadArguments
	}
	if n.numChildren > 0 {
		return nil, jute.ErrNotEmpty
	}
	parentPath := znode.Parent(p)
	parent, ok := pc.record(parentPath)
	if !ok {
		return nil, jute.ErrNoNode
	}
	pc.removeRecord(parentPath, parent, p)
	return &jute.DeleteTxn{Path: p}, nil
}

func (pc *prepContext) prepSetData(r *jute.SetDataRequest) (jute.Record, error) {
	if !znode.ValidatePath(r.Path) {
		return nil, jute.ErrBadArguments
	}
	n, ok := pc.record(r.Path)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := pc.checkACL(n.acl, jute.PermWrite); err != nil {
		return nil, err
	}
	v, err := checkAndIncVersion(n.stat.Version, r.Version)
	if err != nil {
		return nil, err
	}
	nn := *n
	nn.stat.Version = v
	nn.stat.Mzxid = pc.zxid
	nn.stat.Mtime = pc.time
	pc.put(r.Path, &nn)
	return &jute.SetDataTxn{Path: r.Path, Data: r.Data, Version: v}, nil
}

func (pc *prepContext) prepSetACL(r *jute.SetACLRequest) (jute.Record, error) {
	if !znode.ValidatePath(r.Path) {
		return nil, jute.ErrBadArguments
	}
	fixed, ok := znode.FixupACL(r.ACL, pc.auth)
	if !ok {
		return nil, jute.ErrInvalidACL
	}
	n, ok := pc.record(r.Path)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := pc.checkACL(n.acl, jute.PermAdmin); err != nil {
		return nil, err
	}
	v, err := checkAndIncVersion(n.stat.Aversion, r.Version)
	if err != nil {
		return nil, err
	}
	nn := *n
	nn.stat.Aversion = v
	nn.acl = fixed
	pc.put(r.Path, &nn)
	return &jute.SetACLTxn{Path: r.Path, ACL: fixed, Version: v}, nil
}

func (pc *prepContext) prepCheck(r *jute.CheckVersionRequest) (jute.Record, error) {
	if !znode.ValidatePath(r.Path) {
		return nil, jute.ErrBadArguments
	}
	n, ok := pc.record(r.Path)
	if !ok {
		return nil, jute.ErrNoNode
	}
	if err := pc.checkACL(n.acl, jute.PermRead); err != nil {
		return nil, err
	}
	v, err := checkAndIncVersion(n.stat.Version, r.Version)
	if err != nil {
		return nil, err
	}
	return &jute.CheckVersionTxn{Path: r.Path, Version: v}, nil
}

// prepMulti prepares every op; after the first failure the rest become
// RUNTIMEINCONSISTENCY errors and none of the multi's changes are published,
// as PrepRequestProcessor does. Apply turns the ops before the failure into
// OK error results, so a failed multi changes nothing.
func (pc *prepContext) prepMulti(m *jute.MultiRequest) (*jute.MultiTxn, error) {
	txns := make([]jute.Txn, len(m.Ops))
	var failed error
	for i, op := range m.Ops {
		if failed != nil {
			txns[i] = errorTxn(jute.ErrRuntimeInconsistency)
			continue
		}
		rec, err := pc.prepOp(op.Type, op.Req)
		if err != nil {
			failed = err
			txns[i] = errorTxn(errCode(err))
			continue
		}
		txns[i] = jute.Txn{Type: op.Type, Data: jute.Encode(nil, rec)}
	}
	if failed != nil {
		pc.pending, pc.touched = map[string]*change{}, nil
	}
	return &jute.MultiTxn{Txns: txns}, failed
}

func errorTxn(code jute.ErrCode) jute.Txn {
	return jute.Txn{Type: jute.OpError, Data: jute.Encode(nil, &jute.ErrorTxn{Err: code})}
}

// prepCloseSession lists every ephemeral the session owns or will own once
// outstanding txns apply, and records their deletion.
func (pc *prepContext) prepCloseSession() *jute.CloseSessionTxn {
	pc.s.treeMu.RLock()
	es := pc.s.tree.Ephemerals(pc.session, "")
	pc.s.treeMu.RUnlock()
	set := make(map[string]bool, len(es))
	for _, p := range es {
		set[p] = true
	}
	for p, c := range pc.s.outstanding.changes {
		switch {
		case !c.exists:
			delete(set, p)
		case c.stat.EphemeralOwner == pc.session:
			set[p] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	slices.Sort(paths) // the txn must be the same wherever it is prepared
	for _, p := range paths {
		parentPath := znode.Parent(p)
		if parent, ok := pc.record(parentPath); ok {
			pc.removeRecord(parentPath, parent, p)
		}
	}
	return &jute.CloseSessionTxn{Paths2Delete: paths}
}

// errCode maps an error from the prepare stage to a ZooKeeper code.
func errCode(err error) jute.ErrCode {
	var code jute.ErrCode
	if errors.As(err, &code) {
		return code
	}
	return jute.ErrMarshallingError
}
