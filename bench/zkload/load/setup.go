package load

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Batches for setup and cleanup go as multi requests: far fewer round trips than one request
// per node, and well below jute.maxbuffer (1 MiB) per request.
const (
	batchOps       = 100
	batchBytes     = 256 << 10
	setupTimeout   = 2 * time.Minute
	cleanupTimeout = 5 * time.Minute
)

var openACL = zk.WorldACL(zk.PermAll)

func keyPath(root string, i int) string    { return fmt.Sprintf("%s/k%07d", root, i) }
func parentPath(root string, s int) string { return fmt.Sprintf("%s/s%04d", root, s) }
func isParent(child string) bool           { return strings.HasPrefix(child, "s") }
func joinPath(parent, child string) string { return parent + "/" + child }

// setup creates the root, the keys and, for creates, one parent per session. It refuses an
// existing root, because cleanup deletes the root and everything below it.
func (r *run) setup() error {
	if _, err := r.conns[0].Create(r.o.Root, nil, 0, openACL); err != nil {
		if errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("root %s exists; choose another -root or delete it", r.o.Root)
		}
		return fmt.Errorf("create %s: %w", r.o.Root, err)
	}
	r.rootCreated = true
	var paths []string
	if r.o.Mix[OpRead] > 0 || r.o.Mix[OpWrite] > 0 {
		paths = append(paths, r.keys...)
	}
	if r.o.Mix[OpCreate] > 0 {
		for s := range r.o.Sessions {
			paths = append(paths, parentPath(r.o.Root, s))
		}
	}
	data := make([]byte, r.o.Size)
	var jobs []func(*zk.Conn) error
	for _, batch := range batches(paths, r.o.Size) {
		ops := make([]any, len(batch))
		for i, p := range batch {
			ops[i] = &zk.CreateRequest{Path: p, Data: data, Acl: openACL}
		}
		jobs = append(jobs, func(c *zk.Conn) error { return multi(c, "create", ops) })
	}
	return runJobs(r.conns, setupTimeout, jobs)
}

// cleanup deletes the root and everything below it, if setup created the root. It lists what
// is there rather than trusting what setup meant to create, so it also cleans up after a
// setup that failed halfway.
func (r *run) cleanup() error {
	if !r.rootCreated {
		return nil
	}
	c := r.conns[0]
	children, _, err := c.Children(r.o.Root)
	if err != nil {
		return fmt.Errorf("list %s: %w", r.o.Root, err)
	}
	var leaves, parents []string
	for _, ch := range children {
		p := joinPath(r.o.Root, ch)
		if !isParent(ch) {
			leaves = append(leaves, p)
			continue
		}
		parents = append(parents, p)
		grand, _, err := c.Children(p)
		if err != nil {
			return fmt.Errorf("list %s: %w", p, err)
		}
		for _, g := range grand {
			leaves = append(leaves, joinPath(p, g))
		}
	}
	if err := r.deleteAll(leaves); err != nil {
		return err
	}
	if err := r.deleteAll(parents); err != nil {
		return err
	}
	if err := c.Delete(r.o.Root, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("delete %s: %w", r.o.Root, err)
	}
	return nil
}

func (r *run) deleteAll(paths []string) error {
	var jobs []func(*zk.Conn) error
	for _, batch := range batches(paths, 0) {
		ops := make([]any, len(batch))
		for i, p := range batch {
			ops[i] = &zk.DeleteRequest{Path: p, Version: -1}
		}
		jobs = append(jobs, func(c *zk.Conn) error {
			if multi(c, "delete", ops) == nil {
				return nil
			}
			// One missing node fails the whole multi; delete one by one instead.
			for _, p := range batch {
				if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					return fmt.Errorf("delete %s: %w", p, err)
				}
			}
			return nil
		})
	}
	return runJobs(r.conns, cleanupTimeout, jobs)
}

// batches splits paths into groups of at most batchOps requests and about batchBytes.
func batches(paths []string, dataSize int) [][]string {
	var out [][]string
	var cur []string
	bytes := 0
	for _, p := range paths {
		if len(cur) == batchOps || (len(cur) > 0 && bytes+len(p)+dataSize > batchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, p)
		bytes += len(p) + dataSize
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// multi runs ops as one transaction and reports the first failure, whether go-zookeeper
// returns it as the error or only in the per-op results.
func multi(c *zk.Conn, what string, ops []any) error {
	res, err := c.Multi(ops...)
	if err != nil {
		return fmt.Errorf("multi %s of %d nodes: %w", what, len(ops), err)
	}
	for _, r := range res {
		if r.Error != nil {
			return fmt.Errorf("multi %s of %d nodes: %w", what, len(ops), r.Error)
		}
	}
	return nil
}
