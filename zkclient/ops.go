package zkclient

import (
	"github.com/zabkafka/zabkafka/jute"
)

// request is one call in flight. onReply runs under Conn.mu when the reply
// arrives, before later frames are read, so watch books change in the
// order the server acted; it returns events for the watcher.
type request struct {
	op        jute.OpCode
	req, resp jute.Record
	path      string
	xid       int32
	onReply   func(b *watchBook, code jute.ErrCode) []Event
	done      chan error
}

func (r *request) finish(err error) { r.done <- err }

// noBody is a request or reply without fields (whoAmI's request).
type noBody struct{}

func (noBody) Encode(*jute.Writer) {}
func (noBody) Decode(*jute.Reader) {}

// call submits r and waits for its outcome.
func (c *Conn) call(r *request) error {
	r.done = make(chan error, 1)
	select {
	case c.submit <- r:
	case <-c.done:
		return &Error{Code: c.endCode(), Path: r.path}
	}
	return <-r.done
}

// endCode is what a request gets once the session is over.
func (c *Conn) endCode() jute.ErrCode {
	switch c.State() {
	case StateAuthFailed:
		return jute.ErrAuthFailed
	default:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closing {
			return jute.ErrConnectionLoss
		}
		return jute.ErrSessionExpired
	}
}

// watchOnOK registers a watch of kind k on path when the call succeeds.
func watchOnOK(watch bool, k watchKind, path string) func(*watchBook, jute.ErrCode) []Event {
	if !watch {
		return nil
	}
	return func(b *watchBook, code jute.ErrCode) []Event {
		if code == jute.ErrOK {
			b.add(k, path)
		}
		return nil
	}
}

// Create creates a node and returns its path (with the sequence suffix)
// and stat. ttl is used by the TTL modes only, in milliseconds.
func (c *Conn) Create(path string, data []byte, acl []jute.ACL, mode jute.CreateMode, ttl int64) (string, jute.Stat, error) {
	if err := ValidatePath(path, mode.Sequential()); err != nil {
		return "", jute.Stat{}, err
	}
	var resp jute.Create2Response
	r := &request{path: path, resp: &resp}
	switch {
	case mode.TTL():
		r.op, r.req = jute.OpCreateTTL, &jute.CreateTTLRequest{Path: path, Data: data, ACL: acl, Flags: mode, TTL: ttl}
	case mode == jute.ModeContainer:
		r.op, r.req = jute.OpCreateContainer, &jute.CreateRequest{Path: path, Data: data, ACL: acl, Flags: mode}
	default:
		r.op, r.req = jute.OpCreate2, &jute.CreateRequest{Path: path, Data: data, ACL: acl, Flags: mode}
	}
	err := c.call(r)
	return resp.Path, resp.Stat, err
}

// Get returns a node's data (nil when the node has none) and stat, and
// leaves a data watch when watch is set and the node exists.
func (c *Conn) Get(path string, watch bool) ([]byte, jute.Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, jute.Stat{}, err
	}
	var resp jute.GetDataResponse
	err := c.call(&request{op: jute.OpGetData, path: path, req: &jute.GetDataRequest{Path: path, Watch: watch},
		resp: &resp, onReply: watchOnOK(watch, watchData, path)})
	return resp.Data, resp.Stat, err
}

// Exists returns a node's stat, or ok false when there is no such node.
// With watch it leaves a data watch on an existing node and an exist watch
// on a missing one, as ExistsWatchRegistration does.
func (c *Conn) Exists(path string, watch bool) (stat jute.Stat, ok bool, err error) {
	if err := ValidatePath(path, false); err != nil {
		return jute.Stat{}, false, err
	}
	var resp jute.ExistsResponse
	r := &request{op: jute.OpExists, path: path, req: &jute.ExistsRequest{Path: path, Watch: watch}, resp: &resp}
	if watch {
		r.onReply = func(b *watchBook, code jute.ErrCode) []Event {
			switch code {
			case jute.ErrOK:
				b.add(watchData, path)
			case jute.ErrNoNode:
				b.add(watchExist, path)
			}
			return nil
		}
	}
	err = c.call(r)
	if ErrorCode(err) == jute.ErrNoNode {
		return jute.Stat{}, false, nil
	}
	return resp.Stat, err == nil, err
}

// Children returns a node's children, unsorted as the server sends them,
// and its stat; with watch it leaves a child watch.
func (c *Conn) Children(path string, watch bool) ([]string, jute.Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, jute.Stat{}, err
	}
	var resp jute.GetChildren2Response
	err := c.call(&request{op: jute.OpGetChildren2, path: path, req: &jute.GetChildren2Request{Path: path, Watch: watch},
		resp: &resp, onReply: watchOnOK(watch, watchChild, path)})
	return resp.Children, resp.Stat, err
}

// Set replaces a node's data if its version matches (-1: any version).
func (c *Conn) Set(path string, data []byte, version int32) (jute.Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return jute.Stat{}, err
	}
	var resp jute.SetDataResponse
	err := c.call(&request{op: jute.OpSetData, path: path,
		req: &jute.SetDataRequest{Path: path, Data: data, Version: version}, resp: &resp})
	return resp.Stat, err
}

// Delete deletes a node if its version matches (-1: any version).
func (c *Conn) Delete(path string, version int32) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	return c.call(&request{op: jute.OpDelete, path: path, req: &jute.DeleteRequest{Path: path, Version: version}})
}

// GetACL returns a node's ACL and stat.
func (c *Conn) GetACL(path string) ([]jute.ACL, jute.Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, jute.Stat{}, err
	}
	var resp jute.GetACLResponse
	err := c.call(&request{op: jute.OpGetACL, path: path, req: &jute.GetACLRequest{Path: path}, resp: &resp})
	return resp.ACL, resp.Stat, err
}

// SetACL replaces a node's ACL if its ACL version matches (-1: any).
func (c *Conn) SetACL(path string, acl []jute.ACL, version int32) (jute.Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return jute.Stat{}, err
	}
	var resp jute.SetACLResponse
	err := c.call(&request{op: jute.OpSetACL, path: path,
		req: &jute.SetACLRequest{Path: path, ACL: acl, Version: version}, resp: &resp})
	return resp.Stat, err
}

// Sync waits until the server this session talks to has applied
// everything the leader committed before the call.
func (c *Conn) Sync(path string) (string, error) {
	if err := ValidatePath(path, false); err != nil {
		return "", err
	}
	var resp jute.SyncResponse
	err := c.call(&request{op: jute.OpSync, path: path, req: &jute.SyncRequest{Path: path}, resp: &resp})
	return resp.Path, err
}

// Multi runs ops atomically. On failure the error is the first failed op's
// code and the results say which op failed (jute.OpError results).
func (c *Conn) Multi(ops []jute.MultiOp) ([]jute.MultiResult, error) {
	var resp jute.MultiResponse
	err := c.call(&request{op: jute.OpMulti, req: &jute.MultiRequest{Ops: ops}, resp: &resp})
	if err != nil {
		return resp.Results, err
	}
	// The reply header says OK; a rolled-back multi reports its failure in
	// the results, as ZooKeeper.multiInternal reads them.
	for _, res := range resp.Results {
		if res.Type == jute.OpError {
			if e, ok := res.Resp.(*jute.ErrorResponse); ok && e.Err != jute.ErrOK {
				return resp.Results, &Error{Code: e.Err}
			}
		}
	}
	return resp.Results, nil
}

// AddAuth adds credentials to the session. Like the Java client it does not
// wait: a refusal ends the session with an AuthFailed event. The
// credentials are sent again after every reconnection.
func (c *Conn) AddAuth(scheme string, auth []byte) error {
	p := jute.AuthPacket{Scheme: scheme, Auth: auth}
	c.mu.Lock()
	c.auths = append(c.auths, p)
	c.mu.Unlock()
	err := c.call(&request{op: jute.OpAuth, req: &p})
	if ErrorCode(err) == jute.ErrConnectionLoss {
		return nil // recorded: sent when the next connection is primed
	}
	return err
}

// AddWatch leaves a persistent (or persistent recursive) watch on path.
func (c *Conn) AddWatch(path string, mode jute.AddWatchMode) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	k := watchPersistent
	if mode == jute.AddWatchPersistentRecursive {
		k = watchPersistentRecursive
	}
	return c.call(&request{op: jute.OpAddWatch, path: path, req: &jute.AddWatchRequest{Path: path, Mode: mode},
		resp: &jute.ErrorResponse{}, onReply: watchOnOK(true, k, path)})
}

// RemoveWatches removes this session's watches of type t on path and tells
// the watcher with DataWatchRemoved / ChildWatchRemoved /
// PersistentWatchRemoved events. Without a matching watch it fails with
// jute.ErrNoWatcher before asking the server. With local, the watches are
// removed from the client's books even if the server cannot be asked.
func (c *Conn) RemoveWatches(path string, t jute.WatcherType, local bool) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	c.mu.Lock()
	has := c.watches.containsFor(t, path)
	c.mu.Unlock()
	if !has {
		return &Error{Code: jute.ErrNoWatcher, Path: path}
	}
	// A persistent watch makes the check above pass for every type, but
	// only "any" removes it: like Java, a call that removed nothing locally
	// fails with NoWatcher even when the server agreed.
	removedNothing := false
	removed := func(b *watchBook) []Event {
		types, ok := b.removeFor(t, path)
		removedNothing = !ok
		events := make([]Event, len(types))
		for i, et := range types {
			events[i] = Event{Type: et, State: jute.StateSyncConnected, Path: path, Zxid: -1}
		}
		return events
	}
	err := c.call(&request{op: jute.OpRemoveWatches, path: path, req: &jute.RemoveWatchesRequest{Path: path, Type: t},
		onReply: func(b *watchBook, code jute.ErrCode) []Event {
			if code != jute.ErrOK {
				return nil
			}
			return removed(b)
		}})
	if err != nil && local {
		c.mu.Lock()
		events := removed(&c.watches)
		c.mu.Unlock()
		for _, ev := range events {
			c.events.push(ev)
		}
		err = nil
	}
	if err == nil && removedNothing {
		return &Error{Code: jute.ErrNoWatcher, Path: path}
	}
	return err
}

// GetEphemerals lists this session's ephemeral nodes whose paths start
// with prefix ("/" for all).
func (c *Conn) GetEphemerals(prefix string) ([]string, error) {
	if err := ValidatePath(prefix, false); err != nil {
		return nil, err
	}
	var resp jute.GetEphemeralsResponse
	err := c.call(&request{op: jute.OpGetEphemerals, path: prefix,
		req: &jute.GetEphemeralsRequest{PrefixPath: prefix}, resp: &resp})
	return resp.Ephemerals, err
}

// GetAllChildrenNumber counts every node below path.
func (c *Conn) GetAllChildrenNumber(path string) (int32, error) {
	if err := ValidatePath(path, false); err != nil {
		return 0, err
	}
	var resp jute.GetAllChildrenNumberResponse
	err := c.call(&request{op: jute.OpGetAllChildrenNumber, path: path,
		req: &jute.GetAllChildrenNumberRequest{Path: path}, resp: &resp})
	return resp.TotalNumber, err
}

// WhoAmI returns the identities the server associates with the session.
func (c *Conn) WhoAmI() ([]jute.ClientInfo, error) {
	var resp jute.WhoAmIResponse
	err := c.call(&request{op: jute.OpWhoAmI, req: noBody{}, resp: &resp})
	return resp.ClientInfo, err
}

// ConfigPath is the node holding the ensemble configuration.
const ConfigPath = "/zookeeper/config"

// GetConfig returns the ensemble configuration (ZooKeeper.getConfig).
func (c *Conn) GetConfig(watch bool) ([]byte, jute.Stat, error) {
	return c.Get(ConfigPath, watch)
}
