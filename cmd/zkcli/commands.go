package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

// command is one shell command. Parsing follows zkCli's CliCommand classes:
// opts are the command's short options; fewer than minArgs words (the
// name included) is a usage error. local runs before the session check,
// for the commands ZooKeeperMain handles itself; noSession commands stop
// there.
type command struct {
	name, usage string
	opts        []optSpec
	minArgs     int
	noSession   bool
	local       func(sh *shell, args []string) (quit bool, err error)
	run         func(sh *shell, cmd *command, o options) error
}

// commands is the table every lookup, the usage text and completion use.
var commands = map[string]*command{}

func register(cmds ...*command) {
	for _, c := range cmds {
		commands[c.name] = c
	}
}

func init() {
	register(
		&command{name: "ls", usage: "[-s] [-w] [-R] path", opts: flags("?swR"), run: cmdLs},
		&command{name: "create", usage: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", minArgs: 2,
			opts: append(flags("esc"), optSpec{'t', true}), run: cmdCreate},
		&command{name: "get", usage: "[-s] [-w] path", opts: flags("sw"), minArgs: 2, run: cmdGet},
		&command{name: "set", usage: "[-s] [-v version] path data", minArgs: 3,
			opts: append(flags("s"), optSpec{'v', true}), run: cmdSet},
		&command{name: "stat", usage: "[-w] path", opts: flags("w"), minArgs: 2, run: cmdStat},
		&command{name: "delete", usage: "[-v version] path", opts: []optSpec{{'v', true}}, minArgs: 2, run: cmdDelete},
		&command{name: "sync", usage: "path", minArgs: 2, run: cmdSync},
		&command{name: "getEphemerals", usage: "path", run: cmdGetEphemerals},
		&command{name: "getAllChildrenNumber", usage: "path", run: cmdGetAllChildrenNumber},
		&command{name: "config", usage: "[-c] [-w] [-s]", opts: flags("swc"), run: cmdConfig},
		&command{name: "version", usage: "", run: cmdVersion},
		&command{name: "close", usage: "", run: func(sh *shell, _ *command, _ options) error {
			sh.conn.Close()
			return nil
		}},
	)
}

// flags declares single-letter options without values.
func flags(letters string) []optSpec {
	specs := make([]optSpec, len(letters))
	for i := range letters {
		specs[i] = optSpec{name: letters[i]}
	}
	return specs
}

// deprecatedWatchArg handles zkCli's old "cmd path watch" form: a third
// word turns the watch on, with a warning (the retainCompatibility
// methods).
func deprecatedWatchArg(sh *shell, o *options, old, now string) {
	if len(o.args) > 2 {
		sh.eprintf("'%s' has been deprecated. Please use '%s' instead.\n", old, now)
		o.vals['w'] = ""
	}
}

func cmdLs(sh *shell, cmd *command, o options) error {
	if o.has('?') {
		sh.printf("usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n")
	}
	deprecatedWatchArg(sh, &o, "ls path [watch]", "ls [-w] path")
	if len(o.args) < 2 {
		return usageError(cmd)
	}
	path, watch := o.args[1], o.has('w')
	if o.has('R') {
		return sh.listRecursive(path, watch)
	}
	children, stat, err := sh.conn.Children(path, watch)
	if err != nil {
		return err
	}
	sortStrings(children)
	if sh.json {
		res := map[string]any{"path": path, "children": nonNil(children)}
		if o.has('s') {
			res["stat"] = statJSON(stat)
		}
		sh.emit(res)
		return nil
	}
	sh.printf("[%s]\n", strings.Join(children, ", "))
	if o.has('s') {
		sh.outMu.Lock()
		printStat(sh.out, stat)
		sh.outMu.Unlock()
	}
	return nil
}

// ttlMax is EphemeralType.TTL.maxValue(): the TTL is kept in the low 40
// bits of the ephemeral owner.
const ttlMax = 1<<40 - 1

func cmdCreate(sh *shell, cmd *command, o options) error {
	e, s, c, t := o.has('e'), o.has('s'), o.has('c'), o.has('t')
	if c && (e || s) {
		return &cliError{msg: "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.", code: 1}
	}
	var ttl int64
	if t {
		v, err := strconv.ParseInt(o.value('t'), 10, 64)
		if err != nil {
			return &cliError{msg: "-t argument must be a long value", code: 1}
		}
		ttl = v
		if e {
			return &cliError{msg: "TTLs cannot be used with Ephemeral znodes", code: 1}
		}
		if c {
			return &cliError{msg: "TTLs cannot be used with Container znodes", code: 1}
		}
	}
	mode := jute.ModePersistent
	switch {
	case e && s:
		mode = jute.ModeEphemeralSequential
	case e:
		mode = jute.ModeEphemeral
	case s && t:
		mode = jute.ModePersistentSequentialWithTTL
	case s:
		mode = jute.ModePersistentSequential
	case c:
		mode = jute.ModeContainer
	case t:
		mode = jute.ModePersistentWithTTL
	}
	if t && (ttl <= 0 || ttl > ttlMax) {
		return &cliError{msg: fmt.Sprintf("ttl must be positive and cannot be larger than: %d", int64(ttlMax)), code: 1}
	}
	path := o.args[1]
	var data []byte
	if len(o.args) > 2 {
		data = []byte(o.args[2])
	}
	acl := openACL
	if len(o.args) > 3 {
		acl = parseACL(o.args[3], sh.flushedErr())
		if len(acl) == 0 {
			// ZooKeeper.create refuses an empty ACL before sending; zkCli
			// prints the exception's message, then its own words.
			err := &zkclient.Error{Code: jute.ErrInvalidACL}
			sh.eprintf("%s\n", err)
			return err
		}
	}
	created, _, err := sh.conn.Create(path, data, acl, mode, ttl)
	if err != nil {
		if zkclient.ErrorCode(err) == jute.ErrInvalidACL {
			sh.eprintf("%s\n", err)
		}
		return err
	}
	if sh.json {
		sh.emit(map[string]any{"created": created})
		return nil
	}
	sh.eprintf("Created %s\n", created)
	return nil
}

// flushedErr returns stderr once stdout has been flushed, for helpers that
// write warnings while a command runs.
func (sh *shell) flushedErr() *errWriter { return &errWriter{sh} }

type errWriter struct{ sh *shell }

func (w *errWriter) Write(p []byte) (int, error) {
	w.sh.flush()
	return w.sh.errw.Write(p)
}

func cmdGet(sh *shell, cmd *command, o options) error {
	deprecatedWatchArg(sh, &o, "get path [watch]", "get [-s] [-w] path")
	path := o.args[1]
	data, stat, err := sh.conn.Get(path, o.has('w'))
	if err != nil {
		return err
	}
	if sh.json {
		res := dataJSON(path, data)
		if o.has('s') {
			res["stat"] = statJSON(stat)
		}
		sh.emit(res)
		return nil
	}
	if data == nil {
		data = []byte("null")
	}
	sh.outMu.Lock()
	sh.out.Write(data)
	sh.out.WriteByte('\n')
	if o.has('s') {
		printStat(sh.out, stat)
	}
	sh.outMu.Unlock()
	return nil
}

func cmdSet(sh *shell, cmd *command, o options) error {
	version, err := versionOpt(o)
	if err != nil {
		return err
	}
	stat, err := sh.conn.Set(o.args[1], []byte(o.args[2]), version)
	if err != nil {
		return err
	}
	sh.printStatIf(o.has('s'), o.args[1], stat)
	return nil
}

// printStatIf prints a write's resulting stat for -s.
func (sh *shell) printStatIf(show bool, path string, stat jute.Stat) {
	if !show {
		return
	}
	if sh.json {
		sh.emit(map[string]any{"path": path, "stat": statJSON(stat)})
		return
	}
	sh.outMu.Lock()
	printStat(sh.out, stat)
	sh.outMu.Unlock()
}

func cmdStat(sh *shell, cmd *command, o options) error {
	deprecatedWatchArg(sh, &o, "stat path [watch]", "stat [-w] path")
	path := o.args[1]
	stat, ok, err := sh.conn.Exists(path, o.has('w'))
	if err != nil {
		return err
	}
	if !ok {
		return &zkclient.Error{Code: jute.ErrNoNode, Path: path}
	}
	sh.printStatIf(true, path, stat)
	return nil
}

func cmdDelete(sh *shell, cmd *command, o options) error {
	if len(o.args) > 2 {
		// zkCli warns and then, re-parsing the same words, ignores the
		// old positional version; so does zkcli.
		sh.eprintf("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.\n")
	}
	version, err := versionOpt(o)
	if err != nil {
		return err
	}
	return sh.conn.Delete(o.args[1], version)
}

func cmdSync(sh *shell, cmd *command, o options) error {
	if _, err := sh.conn.Sync(o.args[1]); err != nil {
		var pe *zkclient.PathError
		if errors.As(err, &pe) {
			return err
		}
		sh.printf("Sync has failed. rc=%d\n", int32(zkclient.ErrorCode(err)))
		return nil
	}
	if sh.json {
		sh.emit(map[string]any{"sync": "ok", "path": o.args[1]})
		return nil
	}
	sh.printf("Sync is OK\n")
	return nil
}

func cmdGetEphemerals(sh *shell, cmd *command, o options) error {
	prefix := "/"
	if len(o.args) > 1 {
		prefix = o.args[1]
	}
	eph, err := sh.conn.GetEphemerals(prefix)
	if err != nil {
		return err
	}
	if sh.json {
		sh.emit(map[string]any{"ephemerals": nonNil(eph)})
		return nil
	}
	// List.toString.
	sh.printf("[%s]\n", strings.Join(eph, ", "))
	return nil
}

func cmdGetAllChildrenNumber(sh *shell, cmd *command, o options) error {
	if len(o.args) < 2 {
		return usageError(cmd)
	}
	n, err := sh.conn.GetAllChildrenNumber(o.args[1])
	if err != nil {
		return err
	}
	if sh.json {
		sh.emit(map[string]any{"path": o.args[1], "count": n})
		return nil
	}
	sh.printf("%d\n", n)
	return nil
}

func cmdConfig(sh *shell, cmd *command, o options) error {
	data, stat, err := sh.conn.GetConfig(o.has('w'))
	if err != nil {
		return err
	}
	text := "null"
	if data != nil {
		text = string(data)
	}
	if o.has('c') {
		text = clientConfigString(text)
	}
	if sh.json {
		res := map[string]any{"config": text}
		if o.has('s') {
			res["stat"] = statJSON(stat)
		}
		sh.emit(res)
		return nil
	}
	sh.printf("%s\n", text)
	sh.printStatIf(o.has('s'), zkclient.ConfigPath, stat)
	return nil
}

// clientConfigString is ConfigUtils.getClientConfigStr: the config
// version, a space, and the client addresses of the server lines.
func clientConfigString(config string) string {
	var version string
	var addrs []string
	for _, line := range strings.Split(config, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch {
		case key == "version":
			version = value
		case strings.HasPrefix(key, "server."):
			if _, client, ok := strings.Cut(value, ";"); ok {
				if !strings.Contains(client, ":") {
					client = "0.0.0.0:" + client
				}
				addrs = append(addrs, client)
			}
		}
	}
	return version + " " + strings.Join(addrs, ",")
}

// Version is zkcli's version, printed by the version command.
const Version = "zkcli 0.1 (zabkafka; zkCli.sh 3.8/3.9 commands)"

func cmdVersion(sh *shell, cmd *command, o options) error {
	if len(o.args) > 1 {
		return usageError(cmd)
	}
	if sh.json {
		sh.emit(map[string]any{"version": Version})
		return nil
	}
	sh.printf("ZooKeeper CLI version: %s\n", Version)
	return nil
}

// dataJSON describes node data for -o json: UTF-8 text as it is, anything
// else base64-encoded, and null as null.
func dataJSON(path string, data []byte) map[string]any {
	res := map[string]any{"path": path}
	switch {
	case data == nil:
		res["data"] = nil
	case isText(data):
		res["data"] = string(data)
	default:
		res["data"] = b64(data)
		res["encoding"] = "base64"
	}
	return res
}
