package main

import (
	"encoding/base64"
	"slices"
	"unicode/utf8"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

// prefetch is how many getChildren requests a recursive listing keeps in
// flight ahead of the node it prints: the walk stays in zkCli's order but
// does not pay one round trip per node.
const prefetch = 64

// childList is the outcome of one getChildren request.
type childList struct {
	children []string
	stat     jute.Stat // of the node itself
	err      error
}

// fetchChildren starts getChildren(path) and returns where its result
// will arrive.
func (sh *shell) fetchChildren(path string, watch bool) <-chan childList {
	ch := make(chan childList, 1)
	go func() {
		kids, stat, err := sh.conn.Children(path, watch)
		sortStrings(kids)
		ch <- childList{kids, stat, err}
	}()
	return ch
}

// eachChild calls fn for each of path's children in order, with the
// child's own (sorted) children and stat, keeping up to prefetch getChildren
// requests in flight ahead of it. A child deleted meanwhile is skipped, as
// ZKUtil's walks skip it. Recursing from fn gives the depth-first walks of
// ls -R and tree with a bounded number of requests in flight per level.
func (sh *shell) eachChild(path string, kids []string, watch bool, fn func(i int, child string, res childList) error) error {
	pending := make([]<-chan childList, len(kids))
	start := func(i int) {
		if i < len(kids) && pending[i] == nil {
			pending[i] = sh.fetchChildren(childPath(path, kids[i]), watch)
		}
	}
	for i := 0; i < prefetch; i++ {
		start(i)
	}
	for i := range kids {
		start(i + prefetch)
		res := <-pending[i]
		pending[i] = nil
		if res.err != nil {
			if isNoNode(res.err) {
				continue
			}
			for _, ch := range pending[i+1:] { // let in-flight requests finish
				if ch != nil {
					<-ch
				}
			}
			return res.err
		}
		if err := fn(i, childPath(path, kids[i]), res); err != nil {
			return err
		}
	}
	return nil
}

// visitSubTree calls fn for path and every node below it in the order
// of ZKUtil.visitSubTreeDFS (ls -R, setAcl -R): at each node, all its
// children before descending into each of them. With watch, every node
// read gets a watch, as in zkCli.
func (sh *shell) visitSubTree(path string, watch bool, fn func(path string)) error {
	if _, _, err := sh.conn.Get(path, watch); err != nil {
		return err
	}
	fn(path)
	kids := <-sh.fetchChildren(path, watch)
	if kids.err != nil {
		if isNoNode(kids.err) {
			return nil
		}
		return kids.err
	}
	var visit func(path string, kids []string) error
	visit = func(path string, kids []string) error {
		for _, k := range kids {
			fn(childPath(path, k))
		}
		return sh.eachChild(path, kids, watch, func(_ int, child string, res childList) error {
			return visit(child, res.children)
		})
	}
	return visit(path, kids.children)
}

// listRecursive is ls -R; its output streams as the walk goes.
func (sh *shell) listRecursive(path string, watch bool) error {
	return sh.visitSubTree(path, watch, sh.printPath)
}

func (sh *shell) printPath(p string) {
	if sh.json {
		sh.emit(map[string]any{"path": p})
		return
	}
	sh.printf("%s\n", p)
}

func isNoNode(err error) bool { return zkclient.ErrorCode(err) == jute.ErrNoNode }

func sortStrings(s []string) { slices.Sort(s) }

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// isText reports whether data is printable as it is: valid UTF-8.
func isText(data []byte) bool { return utf8.Valid(data) }

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
