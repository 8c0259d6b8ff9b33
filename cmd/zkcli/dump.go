package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

// tree, dump and load go beyond zkCli.sh.
func init() {
	register(
		&command{name: "tree", usage: "[path] # the subtree, indented, with data sizes", run: cmdTree},
		&command{name: "dump", usage: "path [file] # the subtree as JSON (stdout without a file)", minArgs: 2, run: cmdDump},
		&command{name: "load", usage: "file [path] # create a dumped subtree (at path, if given)", minArgs: 2, run: cmdLoad},
	)
}

// cmdTree prints the subtree depth first, one node a line, with the size
// of its data:
//
//	/a [5 B]
//	|-- b [0 B]
//	|   `-- c [3 B]
//	`-- d [1 B]
func cmdTree(sh *shell, cmd *command, o options) error {
	root := "/"
	if len(o.args) > 1 {
		root = o.args[1]
	}
	if err := zkclient.ValidatePath(root, false); err != nil {
		return err
	}
	res := <-sh.fetchChildren(root, false)
	if res.err != nil {
		return res.err
	}
	sh.treeLine(root, root, "", res.stat, 0)
	var visit func(path, indent string, kids []string, depth int) error
	visit = func(path, indent string, kids []string, depth int) error {
		return sh.eachChild(path, kids, false, func(i int, child string, res childList) error {
			branch, next := "|-- ", "|   "
			if i == len(kids)-1 {
				branch, next = "`-- ", "    "
			}
			sh.treeLine(child, child[strings.LastIndexByte(child, '/')+1:], indent+branch, res.stat, depth)
			return visit(child, indent+next, res.children, depth+1)
		})
	}
	return visit(root, "", res.children, 1)
}

func (sh *shell) treeLine(path, name, prefix string, stat jute.Stat, depth int) {
	if sh.json {
		sh.emit(map[string]any{"path": path, "depth": depth, "dataLength": stat.DataLength, "numChildren": stat.NumChildren})
		return
	}
	sh.printf("%s%s [%d B]\n", prefix, name, stat.DataLength)
}

// dumpNode is one node of a dump file. The root carries its full path,
// the others their name. Data is UTF-8 text as it is, anything else in
// base64 with Encoding "base64"; null data is null.
type dumpNode struct {
	Path     string      `json:"path,omitempty"`
	Name     string      `json:"name,omitempty"`
	Data     *string     `json:"data"`
	Encoding string      `json:"encoding,omitempty"`
	ACL      []dumpACL   `json:"acl"`
	Mode     string      `json:"mode"`
	TTL      int64       `json:"ttl,omitempty"`
	Children []*dumpNode `json:"children,omitempty"`
}

type dumpACL struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
	Perms  string `json:"perms"`
}

// Node modes as the ephemeral owner field encodes them (EphemeralType):
// a container has only the top bit set; a TTL node has the top byte 0xff,
// then two zero bytes, then the TTL in milliseconds.
const (
	containerOwner = -1 << 63
	extendedMask   = -1 << 56 // 0xff00000000000000
	ttlValueMask   = 1<<40 - 1
)

func modeOf(owner int64) (mode string, ttl int64) {
	switch {
	case owner == 0:
		return "persistent", 0
	case owner == containerOwner:
		return "container", 0
	case owner&extendedMask == extendedMask && owner&^(extendedMask|ttlValueMask) == 0:
		return "ttl", owner & ttlValueMask
	}
	return "ephemeral", 0
}

// dumpSkip is the system subtree a dump of "/" leaves out: the server
// makes it and it cannot be created by clients.
const dumpSkip = "/zookeeper"

func cmdDump(sh *shell, cmd *command, o options) error {
	path := o.args[1]
	if err := zkclient.ValidatePath(path, false); err != nil {
		return err
	}
	root, err := sh.dumpTree(path)
	if err != nil {
		return err
	}
	root.Path = path
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if len(o.args) > 2 {
		return os.WriteFile(o.args[2], b, 0o644)
	}
	sh.outMu.Lock()
	sh.out.Write(b)
	sh.outMu.Unlock()
	return nil
}

// dumpTree reads one node and, recursively, its children.
func (sh *shell) dumpTree(path string) (*dumpNode, error) {
	data, stat, err := sh.conn.Get(path, false)
	if err != nil {
		return nil, err
	}
	acl, _, err := sh.conn.GetACL(path)
	if err != nil {
		return nil, err
	}
	kids, _, err := sh.conn.Children(path, false)
	if err != nil {
		return nil, err
	}
	sortStrings(kids)
	n := &dumpNode{Name: path[strings.LastIndexByte(path, '/')+1:]}
	n.Mode, n.TTL = modeOf(stat.EphemeralOwner)
	if data != nil {
		s := string(data)
		if !isText(data) {
			s, n.Encoding = b64(data), "base64"
		}
		n.Data = &s
	}
	for _, a := range acl {
		n.ACL = append(n.ACL, dumpACL{Scheme: a.ID.Scheme, ID: a.ID.ID, Perms: permString(a.Perms)})
	}
	for _, k := range kids {
		cp := childPath(path, k)
		if cp == dumpSkip {
			continue
		}
		child, err := sh.dumpTree(cp)
		if zkclient.ErrorCode(err) == jute.ErrNoNode {
			continue // deleted while we read
		}
		if err != nil {
			return nil, err
		}
		child.Path = ""
		n.Children = append(n.Children, child)
	}
	return n, nil
}

// loadNode is a dump node checked and resolved for loading.
type loadNode struct {
	path string
	data []byte
	acl  []jute.ACL
	mode jute.CreateMode
	ttl  int64
}

// cmdLoad creates a dumped subtree. Everything is checked before the first
// write; ephemeral nodes are refused, since they would belong to this
// shell's session. Nodes are created with an open ACL first and get their
// own ACLs afterwards, leaves first, so a restrictive parent ACL cannot
// block its children.
func cmdLoad(sh *shell, cmd *command, o options) error {
	raw, err := os.ReadFile(o.args[1])
	if err != nil {
		return err
	}
	var root dumpNode
	if err := json.Unmarshal(raw, &root); err != nil {
		return fmt.Errorf("%s is not a zkcli dump: %v", o.args[1], err)
	}
	at := root.Path
	if len(o.args) > 2 {
		at = o.args[2]
	}
	if err := zkclient.ValidatePath(at, false); err != nil {
		return err
	}
	var nodes []loadNode
	if err := flatten(&root, at, &nodes); err != nil {
		return err
	}
	for _, n := range nodes {
		if n.path == "/" {
			if _, err := sh.conn.Set("/", n.data, -1); err != nil {
				return err
			}
			continue
		}
		if _, _, err := sh.conn.Create(n.path, n.data, openACL, n.mode, n.ttl); err != nil {
			return err
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		if _, err := sh.conn.SetACL(nodes[i].path, nodes[i].acl, -1); err != nil {
			return err
		}
	}
	if sh.json {
		sh.emit(map[string]any{"loaded": len(nodes), "path": at})
	} else {
		sh.eprintf("Loaded %d nodes at %s\n", len(nodes), at)
	}
	return nil
}

// flatten checks a dump node and its children and lists them in creation
// (pre-)order.
func flatten(n *dumpNode, path string, out *[]loadNode) error {
	ln := loadNode{path: path}
	if err := zkclient.ValidatePath(path, false); err != nil {
		return fmt.Errorf("bad node %q in dump: %v", path, err)
	}
	switch n.Mode {
	case "persistent", "":
		ln.mode = jute.ModePersistent
	case "container":
		ln.mode = jute.ModeContainer
	case "ttl":
		ln.mode, ln.ttl = jute.ModePersistentWithTTL, n.TTL
	case "ephemeral":
		return fmt.Errorf("cannot load %s: it is an ephemeral node, which only the session that created it can own; remove it from the dump or make it persistent", path)
	default:
		return fmt.Errorf("cannot load %s: unknown mode %q", path, n.Mode)
	}
	if n.Data != nil {
		ln.data = []byte(*n.Data)
		switch n.Encoding {
		case "":
		case "base64":
			b, err := base64.StdEncoding.DecodeString(*n.Data)
			if err != nil {
				return fmt.Errorf("cannot load %s: data is not base64: %v", path, err)
			}
			ln.data = b
		default:
			return fmt.Errorf("cannot load %s: unknown encoding %q", path, n.Encoding)
		}
	}
	for _, a := range n.ACL {
		perms, err := parsePerms(a.Perms)
		if err != nil {
			return fmt.Errorf("cannot load %s: %v", path, err)
		}
		ln.acl = append(ln.acl, jute.ACL{Perms: perms, ID: jute.ID{Scheme: a.Scheme, ID: a.ID}})
	}
	if len(ln.acl) == 0 {
		ln.acl = openACL
	}
	*out = append(*out, ln)
	for _, c := range n.Children {
		if c.Name == "" || strings.Contains(c.Name, "/") {
			return fmt.Errorf("cannot load %s: child with bad name %q", path, c.Name)
		}
		if err := flatten(c, childPath(path, c.Name), out); err != nil {
			return err
		}
	}
	return nil
}
