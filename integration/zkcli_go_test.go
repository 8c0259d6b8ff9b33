package integration

// zkcli, our Go shell, against zkd must print what Debian's zkCli.sh prints
// against Apache ZooKeeper, line by line. Two sessions:
//   - the zkCli golden session of zkcli_test.go (zkCliGolden, taken from
//     zkCli.sh 3.8.0), so the two shells are held to one fixed text;
//   - zkcliScript, every command and flag of the issue plus the error
//     cases, run live by both pairs (zkCli.sh -> Apache, zkcli -> zkd) and
//     compared after the usual normalisation (zxids, times, session ids).
//
// What may differ, and is normalised away: the "ZooKeeper CLI version"
// line (it is the marker the driver waits for), and the usage listing's
// lines for commands only one shell has (zkcli adds tree, dump, load,
// watch and four-letter words; it has no quota or reconfig commands).

import (
	"slices"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/integration/harness"
)

func TestZkcliGoldenSession(t *testing.T) {
	zkcli := harness.ZkcliBin(t)
	golden := goldenLines(strings.ReplaceAll(zkCliGolden, "@DIGEST@", zkCliDigest))
	cmds, events := scriptOf(golden, "event: ")
	s := startZkd(t)
	tr := normaliseZkCli(t, runZkCli(t, []string{zkcli, "-server", s.Addr()}, cmds, events))
	compareTranscripts(t, "golden", golden, "zkcli", tr)
}

// zkcliScript is one command per line; "# N" at the end says how many
// watch events the command triggers (the driver waits for them). @ADDR@
// is the server's address.
const zkcliScript = `
connect                                # 1
create /g g
create -s /g/s- a
create -s -e /g/es- b
create -c -s /cc
create -t abc /t
create -t 0 /t
create -t 5000 -e /t
create -c -t 5 /t
create /g/acl x world:anyone:rx
create /g/bad x foo
create noslash
create /g/
create /g//x
create -s /g/
create /g/nested/deep
get -s /g
get /g/s-0000000000
get /g/missing
get
set -s /g g2
set -v 5 /g g3
set /g
stat /g extra
set /g g4                              # 1
stat -w /g
set /g g4                              # 1
ls -s /g
ls /g watch
create /g/kid k                        # 1
ls -R /g
ls -R /missing
ls
ls -x /
get /g/acl
getAcl -s /g/acl
getAcl /missing
setAcl -s /g/acl world:anyone:cdrwa
setAcl -v 9 /g/acl world:anyone:r
setAcl /g foo
setAcl -R /g world:anyone:cdrwa
getAcl /g/kid
delete -v 7 /g/acl
delete /g/acl 3
delete /g
delete /g/missing
sync /g
sync nope
addWatch -m persistent /g
addWatch -m bogus /g
addWatch /
removewatches /g -c
removewatches /g                       # 1
removewatches / -a                     # 1
get -w /g
removewatches /g -d                    # 1
removewatches /g -l
removewatches /missing
getEphemerals
getEphemerals /g
getEphemerals /nope
getAllChildrenNumber /g
getAllChildrenNumber
config
config -c
whoami
printwatches off
get -w /g
set /g quiet
printwatches
printwatches on
history
redo 0
deleteall /g -b 2
deleteall /missing
connect @ADDR@                         # 2
ls /
foo
close
ls /
quit
`

// parseZkcliScript returns the script's commands and event counts.
func parseZkcliScript(script, addr string) (cmds []string, events []int) {
	for _, l := range strings.Split(strings.TrimSpace(script), "\n") {
		cmd, count, _ := strings.Cut(l, "#")
		n := 0
		if c := strings.TrimSpace(count); c != "" {
			n = int(c[0] - '0')
		}
		cmds = append(cmds, strings.ReplaceAll(strings.TrimSpace(cmd), "@ADDR@", addr))
		events = append(events, n)
	}
	return cmds, events
}

// usageOnlyIn lists commands one shell's usage text has and the other's
// has not.
var usageOnlyIn = []string{"setquota", "listquota", "delquota", "reconfig", // zkCli.sh
	"tree", "dump", "load", "watch", "mntr", "srvr", "ruok", "conf", "cons", "envi", "stat4", "wchs", "dirs"} // zkcli

// comparableZkcli drops what must differ between the two shells' runs:
// usage lines of commands only one of them has, and the connect target.
func comparableZkcli(tr []string) []string {
	var out []string
	for _, l := range tr {
		if strings.HasPrefix(l, "err: \t") {
			name, _, _ := strings.Cut(strings.TrimPrefix(l, "err: \t"), " ")
			if slices.Contains(usageOnlyIn, name) {
				continue
			}
		}
		if strings.HasPrefix(l, "> connect 127.0.0.1:") {
			l = "> connect <addr>"
		}
		out = append(out, l)
	}
	return out
}

func TestZkcliMatchesZkCli(t *testing.T) {
	cli := harness.ZkCli(t)
	zkcli := harness.ZkcliBin(t)
	var want, got []string
	t.Run("zkCli.sh-apache", func(t *testing.T) {
		s := harness.ApacheZK(t, serverConfig())
		cmds, events := parseZkcliScript(zkcliScript, s.Addr())
		want = comparableZkcli(normaliseZkCli(t, runZkCli(t, []string{cli, "-server", s.Addr()}, cmds, events)))
	})
	t.Run("zkcli-zkd", func(t *testing.T) {
		s := startZkd(t)
		cmds, events := parseZkcliScript(zkcliScript, s.Addr())
		got = comparableZkcli(normaliseZkCli(t, runZkCli(t, []string{zkcli, "-server", s.Addr()}, cmds, events)))
	})
	if want == nil || got == nil {
		t.Fatal("a run did not finish")
	}
	compareTranscripts(t, "zkCli.sh", want, "zkcli", got)
}
