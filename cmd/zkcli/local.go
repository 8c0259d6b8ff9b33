package main

import (
	"strconv"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

// The commands ZooKeeperMain runs itself, before its check for a live
// session (which still follows them, so "history" on a closed session also
// says "Not connected", as zkCli does).
func init() {
	register(
		&command{name: "connect", usage: "host:port", local: cmdConnect},
		&command{name: "history", usage: "", local: cmdHistory},
		&command{name: "redo", usage: "cmdno", local: cmdRedo},
		&command{name: "printwatches", usage: "on|off", local: cmdPrintWatches},
		&command{name: "quit", usage: "", local: func(sh *shell, _ []string) (bool, error) { return true, nil }},
	)
}

func cmdConnect(sh *shell, args []string) (bool, error) {
	server := sh.server
	if len(args) >= 2 {
		server = args[1]
	}
	return false, sh.connect(server)
}

func cmdHistory(sh *shell, args []string) (bool, error) {
	for i := max(sh.count-10, 0); i <= sh.count; i++ {
		if sh.json {
			sh.emit(map[string]any{"index": i, "command": sh.history[i]})
			continue
		}
		sh.printf("%d - %s\n", i, sh.history[i])
	}
	return false, nil
}

// cmdRedo runs an earlier command again and, as zkCli does, records it in
// place of the redo itself.
func cmdRedo(sh *shell, args []string) (bool, error) {
	if len(args) < 2 {
		return false, nil
	}
	i, err := strconv.ParseInt(args[1], 0, 32)
	if err != nil {
		return false, &cliError{msg: "Command index must be a number: " + args[1], code: 1}
	}
	if int(i) >= sh.count || i < 0 {
		return false, &cliError{msg: "Command index out of range", code: 1}
	}
	line := sh.history[int(i)]
	words := splitCommand(line)
	if len(words) > 0 && words[0] == "redo" {
		return false, &cliError{msg: "No redoing redos", code: 1}
	}
	sh.history[sh.count] = line
	return sh.process(words)
}

func cmdPrintWatches(sh *shell, args []string) (bool, error) {
	if len(args) == 1 {
		state := "off"
		if sh.printWatches.Load() {
			state = "on"
		}
		sh.printf("printwatches is %s\n", state)
	} else {
		sh.printWatches.Store(args[1] == "on")
	}
	return false, nil
}

func init() {
	register(&command{name: "deleteall", usage: "path [-b batch size]", opts: []optSpec{{'b', true}}, minArgs: 2, run: cmdDeleteAll})
}

// cmdDeleteAll is ZKUtil.deleteRecursive: list the subtree breadth first,
// then delete it leaves first in multis of batch size deletes each.
func cmdDeleteAll(sh *shell, cmd *command, o options) error {
	batch := int32(1000)
	if o.has('b') {
		b, err := parseInt32('b', o.value('b'))
		if err != nil {
			return err
		}
		batch = b
	}
	path := o.args[1]
	if err := zkclient.ValidatePath(path, false); err != nil {
		return err
	}
	tree, err := sh.listSubTreeBFS(path)
	if err != nil {
		return err
	}
	var ops []jute.MultiOp
	for i := len(tree) - 1; i >= 0; i-- {
		ops = append(ops, jute.MultiOp{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: tree[i], Version: -1}})
		if int32(len(ops)) == batch || i == 0 {
			if _, err := sh.conn.Multi(ops); err != nil {
				sh.eprintf("Failed to delete some node(s) in the subtree!\n")
				return nil
			}
			ops = ops[:0]
		}
	}
	return nil
}

// listSubTreeBFS is ZKUtil.listSubTreeBFS: path and every node below it,
// level by level.
func (sh *shell) listSubTreeBFS(path string) ([]string, error) {
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		kids, _, err := sh.conn.Children(tree[i], false)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			tree = append(tree, childPath(tree[i], k))
		}
	}
	return tree, nil
}
