package zkserver

import (
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// appendWriteReply builds the reply to an applied write
// (FinalRequestProcessor). Errors get a header only.
func (c *conn) appendWriteReply(r *request, out []byte) []byte {
	h := jute.ReplyHeader{Xid: r.xid, Zxid: r.zxid, Err: r.res.Err}
	c.stats.lastZxid.Store(r.zxid)
	if r.op == jute.OpMulti {
		// A failed multi still answers err 0; the results carry the codes.
		h.Err = jute.ErrOK
		return jute.AppendFrame(out, &h, multiResponse(r.res.Multi))
	}
	if h.Err != jute.ErrOK {
		return jute.AppendFrame(out, &h)
	}
	switch r.op {
	case jute.OpCreate:
		return jute.AppendFrame(out, &h, &jute.CreateResponse{Path: r.res.Path})
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return jute.AppendFrame(out, &h, &jute.Create2Response{Path: r.res.Path, Stat: r.res.Stat})
	case jute.OpSetData:
		return jute.AppendFrame(out, &h, &jute.SetDataResponse{Stat: r.res.Stat})
	case jute.OpSetACL:
		return jute.AppendFrame(out, &h, &jute.SetACLResponse{Stat: r.res.Stat})
	}
	return jute.AppendFrame(out, &h) // delete, closeSession, createSession
}

// multiResponse maps per-op txn results to multi results: create answers as
// create (1), the create2 family as create2 (15), errors as ErrorResponse.
func multiResponse(results []znode.Result) *jute.MultiResponse {
	m := &jute.MultiResponse{Results: make([]jute.MultiResult, len(results))}
	for i, sr := range results {
		var mr jute.MultiResult
		switch sr.Type {
		case jute.OpCreate:
			mr = jute.MultiResult{Type: jute.OpCreate, Resp: &jute.CreateResponse{Path: sr.Path}}
		case jute.OpCreate2, jute.OpCreateTTL, jute.OpCreateContainer:
			mr = jute.MultiResult{Type: jute.OpCreate2, Resp: &jute.Create2Response{Path: sr.Path, Stat: sr.Stat}}
		case jute.OpDelete, jute.OpDeleteContainer:
			mr = jute.MultiResult{Type: jute.OpDelete}
		case jute.OpSetData:
			mr = jute.MultiResult{Type: jute.OpSetData, Resp: &jute.SetDataResponse{Stat: sr.Stat}}
		case jute.OpCheck:
			mr = jute.MultiResult{Type: jute.OpCheck}
		default:
			mr = jute.MultiResult{Type: jute.OpError, Err: sr.Err, Resp: &jute.ErrorResponse{Err: sr.Err}}
		}
		m.Results[i] = mr
	}
	return m
}

// execRead runs a read (or a request the reader already answered) and
// appends its reply. It holds the tree read lock from before the read until
// its reply is built, and drains queued events inside that window: events
// of txns the read can see go before the reply, and an event for a watch
// the read registers can only be queued after the reply (applying needs the
// write lock), so no client sees an event for a watch it does not yet know.
func (c *conn) execRead(r *request, out []byte) []byte {
	s := c.s
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	h := jute.ReplyHeader{Xid: r.xid, Zxid: s.tree.LastZxid()}
	var rsp jute.Record
	switch {
	case r.op == jute.OpAuth:
		h.Zxid, h.Err = 0, r.err // auth replies carry zxid 0
	case r.err != jute.ErrOK:
		h.Err = r.err // decided by the reader (UNIMPLEMENTED)
	case r.op != jute.OpPing:
		c.stats.lastZxid.Store(h.Zxid)
		rsp, h.Err = c.read(s.tree, r.op, r.body, r.session, r.auth)
	}
	// Every event of a txn this read can see, and setWatches' catch-up
	// events, go before the reply.
	out = c.drainEvents(out, 1<<63-1)
	if h.Err != jute.ErrOK || rsp == nil {
		return jute.AppendFrame(out, &h)
	}
	return jute.AppendFrame(out, &h, rsp)
}

// read serves one read op from the tree. Reads check only for a NUL in the
// path, like the Java server: an invalid path simply does not exist.
// auth is the caller's identities when the request was read.
func (c *conn) read(t *znode.Tree, op jute.OpCode, body jute.Record, session int64, auth []jute.ID) (jute.Record, jute.ErrCode) {
	canRead := func(acl []jute.ACL) bool { return znode.CheckACL(acl, jute.PermRead, auth) }
	switch op {
	case jute.OpExists:
		q := body.(*jute.ExistsRequest)
		if strings.IndexByte(q.Path, 0) >= 0 {
			return nil, jute.ErrBadArguments
		}
		// exists checks no ACL in any ZooKeeper release ("TODO we need to
		// figure out the security requirement for this!"); clients rely on
		// it, e.g. to test for a node they cannot read.
		stat, _, ok := t.Exists(q.Path)
		if q.Watch {
			t.Watches.AddData(q.Path, c) // an exists watch is left even on a missing node
		}
		if !ok {
			return nil, jute.ErrNoNode
		}
		return &jute.ExistsResponse{Stat: stat}, jute.ErrOK
	case jute.OpGetData:
		q := body.(*jute.GetDataRequest)
		data, stat, acl, ok := t.GetData(q.Path)
		if !ok {
			return nil, jute.ErrNoNode
		}
		if !canRead(acl) {
			return nil, jute.ErrNoAuth
		}
		if q.Watch {
			t.Watches.AddData(q.Path, c)
		}
		return &jute.GetDataResponse{Data: data, Stat: stat}, jute.ErrOK
	case jute.OpGetChildren, jute.OpGetChildren2:
		var path string
		var watch bool
		if q, ok := body.(*jute.GetChildrenRequest); ok {
			path, watch = q.Path, q.Watch
		} else {
			q := body.(*jute.GetChildren2Request)
			path, watch = q.Path, q.Watch
		}
		children, stat, acl, ok := t.Children(path)
		if !ok {
			return nil, jute.ErrNoNode
		}
		if !canRead(acl) {
			return nil, jute.ErrNoAuth
		}
		if watch {
			t.Watches.AddChild(path, c)
		}
		if op == jute.OpGetChildren {
			return &jute.GetChildrenResponse{Children: children}, jute.ErrOK
		}
		return &jute.GetChildren2Response{Children: children, Stat: stat}, jute.ErrOK
	case jute.OpGetACL:
		q := body.(*jute.GetACLRequest)
		stat, acl, ok := t.Exists(q.Path)
		if !ok {
			return nil, jute.ErrNoNode
		}
		if !znode.CheckACL(acl, jute.PermRead|jute.PermAdmin, auth) {
			return nil, jute.ErrNoAuth
		}
		if !znode.CheckACL(acl, jute.PermAdmin, auth) {
			acl = znode.MaskACL(acl)
		}
		return &jute.GetACLResponse{ACL: acl, Stat: stat}, jute.ErrOK
	case jute.OpSync:
		// Standalone: every write is applied before this read runs.
		return &jute.SyncResponse{Path: body.(*jute.SyncRequest).Path}, jute.ErrOK
	case jute.OpGetAllChildrenNumber:
		q := body.(*jute.GetAllChildrenNumberRequest)
		n, acl, ok := t.AllChildrenNumber(q.Path)
		if !ok {
			return nil, jute.ErrNoNode
		}
		if !canRead(acl) {
			return nil, jute.ErrNoAuth
		}
		return &jute.GetAllChildrenNumberResponse{TotalNumber: n}, jute.ErrOK
	case jute.OpGetEphemerals:
		q := body.(*jute.GetEphemeralsRequest)
		return &jute.GetEphemeralsResponse{Ephemerals: t.Ephemerals(session, strings.TrimSpace(q.PrefixPath))}, jute.ErrOK
	case jute.OpWhoAmI:
		return &jute.WhoAmIResponse{ClientInfo: clientInfos(auth)}, jute.ErrOK
	case jute.OpAddWatch:
		q := body.(*jute.AddWatchRequest)
		if q.Mode != jute.AddWatchPersistent && q.Mode != jute.AddWatchPersistentRecursive {
			return nil, jute.ErrBadArguments
		}
		t.Watches.AddPersistent(q.Path, c, q.Mode == jute.AddWatchPersistentRecursive)
		return &jute.ErrorResponse{Err: jute.ErrOK}, jute.ErrOK
	case jute.OpCheckWatches, jute.OpRemoveWatches:
		var path string
		var typ jute.WatcherType
		if q, ok := body.(*jute.CheckWatchesRequest); ok {
			path, typ = q.Path, q.Type
		} else {
			q := body.(*jute.RemoveWatchesRequest)
			path, typ = q.Path, q.Type
		}
		if typ < jute.WatcherChildren || typ > jute.WatcherPersistentRecursive {
			return nil, jute.ErrBadArguments
		}
		if !t.Watches.Remove(path, c, typ, op == jute.OpCheckWatches) {
			return nil, jute.ErrNoWatcher
		}
		return nil, jute.ErrOK
	case jute.OpSetWatches:
		q := body.(*jute.SetWatches)
		t.SetWatches(q.RelativeZxid, &jute.SetWatches2{DataWatches: q.DataWatches, ExistWatches: q.ExistWatches, ChildWatches: q.ChildWatches}, c)
		return nil, jute.ErrOK
	case jute.OpSetWatches2:
		q := body.(*jute.SetWatches2)
		t.SetWatches(q.RelativeZxid, q, c)
		return nil, jute.ErrOK
	case jute.OpMultiRead:
		return c.multiRead(t, body.(*jute.MultiRequest), session, auth), jute.ErrOK
	}
	return nil, jute.ErrUnimplemented
}

// multiRead answers each op on its own: not atomic, errors per op.
func (c *conn) multiRead(t *znode.Tree, m *jute.MultiRequest, session int64, auth []jute.ID) *jute.MultiResponse {
	rsp := &jute.MultiResponse{Results: make([]jute.MultiResult, len(m.Ops))}
	for i, op := range m.Ops {
		res, err := c.read(t, op.Type, op.Req, session, auth)
		if err != jute.ErrOK {
			rsp.Results[i] = jute.MultiResult{Type: jute.OpError, Err: err, Resp: &jute.ErrorResponse{Err: err}}
			continue
		}
		rsp.Results[i] = jute.MultiResult{Type: op.Type, Resp: res}
	}
	return rsp
}

// clientInfos is AuthUtil.getClientInfos: one entry per identity; the user
// is the ip for ip, the user name for digest, empty for super. The Java
// server keeps a connection's identities in a HashSet, so whoAmI lists them
// in that set's iteration order; javaHashSetOrder reproduces it.
func clientInfos(ids []jute.ID) []jute.ClientInfo {
	out := make([]jute.ClientInfo, 0, len(ids))
	for _, id := range javaHashSetOrder(ids) {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(id.ID, ":")
		}
		out = append(out, jute.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}

// javaHashSetOrder orders ids as java.util.HashSet<Id> iterates them: by
// bucket (the spread hash masked by the table size: 16, doubled whenever the
// set passes three quarters full), then by insertion order within a bucket.
func javaHashSetOrder(ids []jute.ID) []jute.ID {
	size := 16
	for len(ids) > size*3/4 {
		size *= 2
	}
	bucket := func(id jute.ID) int {
		// Id.hashCode as jute generates it, then HashMap.hash's spread.
		h := int32(17)
		h = 37*h + javaStringHash(id.Scheme)
		h = 37*h + javaStringHash(id.ID)
		u := uint32(h)
		return int((u ^ u>>16) & uint32(size-1))
	}
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b jute.ID) int { return bucket(a) - bucket(b) })
	return out
}

// javaStringHash is String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// authenticate handles an auth packet (addauth). digest adds user:hash and,
// when it matches the configured super digest, the super identity; ip adds
// nothing new (every connection already has its ip). Other schemes have no
// provider: AUTHFAILED, and the connection is closed.
func (c *conn) authenticate(p *jute.AuthPacket) jute.ErrCode {
	var add []jute.ID
	switch p.Scheme {
	case "digest":
		id, ok := znode.DigestID(string(p.Auth))
		if !ok {
			c.s.stats.authFailed.Add(1)
			return jute.ErrAuthFailed
		}
		if c.s.cfg.SuperDigest != "" && id == c.s.cfg.SuperDigest {
			add = append(add, jute.ID{Scheme: "super", ID: ""})
		}
		add = append(add, jute.ID{Scheme: "digest", ID: id})
	case "ip":
	default:
		c.log.Warn().Str("scheme", p.Scheme).Msg("no authentication provider for scheme")
		c.s.stats.authFailed.Add(1)
		return jute.ErrAuthFailed
	}
	ids := append([]jute.ID(nil), c.authIDs()...)
	for _, id := range add {
		dup := false
		for _, have := range ids {
			dup = dup || have == id
		}
		if !dup {
			ids = append(ids, id)
		}
	}
	c.auth.Store(&ids)
	return jute.ErrOK
}
