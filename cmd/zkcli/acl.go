package main

import (
	"fmt"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

func init() {
	register(
		&command{name: "getAcl", usage: "[-s] path", opts: flags("s"), minArgs: 2, run: cmdGetACL},
		&command{name: "setAcl", usage: "[-s] [-v version] [-R] path acl", minArgs: 3,
			opts: append(flags("sR"), optSpec{'v', true}), run: cmdSetACL},
		&command{name: "addauth", usage: "scheme auth", minArgs: 2, run: cmdAddAuth},
		&command{name: "whoami", usage: "", run: cmdWhoAmI},
	)
}

func cmdGetACL(sh *shell, cmd *command, o options) error {
	path := o.args[1]
	acl, stat, err := sh.conn.GetACL(path)
	if err != nil {
		return err
	}
	if sh.json {
		entries := make([]map[string]any, len(acl))
		for i, a := range acl {
			entries[i] = map[string]any{"scheme": a.ID.Scheme, "id": a.ID.ID, "perms": permString(a.Perms)}
		}
		res := map[string]any{"path": path, "acl": entries}
		if o.has('s') {
			res["stat"] = statJSON(stat)
		}
		sh.emit(res)
		return nil
	}
	for _, a := range acl {
		sh.printf("%s\n", aclLine(a))
	}
	sh.printStatIf(o.has('s'), path, stat)
	return nil
}

func cmdSetACL(sh *shell, cmd *command, o options) error {
	path := o.args[1]
	acl := parseACL(o.args[2], sh.flushedErr())
	version, err := versionOpt(o)
	if err != nil {
		return err
	}
	if len(acl) == 0 {
		// ZooKeeper.setACL refuses an empty ACL before sending.
		return &zkclient.Error{Code: jute.ErrInvalidACL}
	}
	if o.has('R') {
		// SetAclCommand visits the subtree and prints each failure's
		// message without a newline, then goes on.
		return sh.visitSubTree(path, false, func(p string) {
			if _, err := sh.conn.SetACL(p, acl, version); err != nil {
				sh.printf("%s", err)
			}
		})
	}
	stat, err := sh.conn.SetACL(path, acl, version)
	if err != nil {
		return err
	}
	sh.printStatIf(o.has('s'), path, stat)
	return nil
}

func cmdAddAuth(sh *shell, cmd *command, o options) error {
	var auth []byte
	if len(o.args) > 2 {
		auth = []byte(o.args[2])
	}
	return sh.conn.AddAuth(o.args[1], auth)
}

func cmdWhoAmI(sh *shell, cmd *command, o options) error {
	infos, err := sh.conn.WhoAmI()
	if err != nil {
		return err
	}
	if sh.json {
		ids := make([]map[string]string, len(infos))
		for i, ci := range infos {
			ids[i] = map[string]string{"scheme": ci.AuthScheme, "user": ci.User}
		}
		sh.emit(map[string]any{"identities": ids})
		return nil
	}
	sh.printf("Auth scheme: User\n")
	for _, ci := range infos {
		sh.printf("%s\n", fmt.Sprintf("%s: %s", ci.AuthScheme, ci.User))
	}
	return nil
}
