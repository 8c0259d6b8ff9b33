package integration

// cli_mt, the sample shell of the ZooKeeper C client (Debian's
// zookeeper-bin, multi-threaded build), runs one session on its stdin
// against zkd and against Apache ZooKeeper. Each server's output,
// normalised, must equal cCliGolden (taken from Apache ZooKeeper 3.8.0), and
// the two servers' outputs must equal each other.
//
// cli_mt sends most commands asynchronously and prints results and watch
// events from the client's completion thread, all on stderr. The completion
// thread runs completions and watch events in the order the server's
// replies arrive, and a server answers one session's requests in order, so
// after each command the test sends "sync /zkmarkN" and reads stderr up to
// its completion: by then every line the command caused has been printed.
// The shell's only stdout line, myid's, is buffered by stdio until exit.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// cCliGolden is the session's script ("> " lines) and, under each command,
// what cli_mt printed against Apache ZooKeeper 3.8.0, normalised, tabs
// written as \t: "err:" is stderr, "out:" stdout. "connect" is the startup
// before the first command. Data comes back without a newline, so the
// value and the blank line before "Stat:" belong together. create always
// writes the data "new" with the open ACL; get, ls, ls2 and exists leave a
// watch, and the watcher prints "Watcher <type> ...".
const cCliGolden = `
> connect
err: Watcher SESSION_EVENT state = CONNECTED_STATE
err: Got a new session id: S1
> create /c
err: Creating [/c] node (mode: 0)
err: [/c]: rc = 0
err: \tname = /c
> create /c
err: Creating [/c] node (mode: 0)
err: [/c]: rc = -110
> get /c
err: /c: rc = 0
err:  value_len = 3
err: new
err: Stat:
err: \tctime = <time>
err: \tczxid=z+0
err: \tmtime=<time>
err: \tmzxid=z+0
err: \tversion=0\taversion=0
err: \tephemeralOwner = 0
> set /c world
err: Watcher CHANGED_EVENT state = CONNECTED_STATE for path /c
err: /c: rc = 0 Stat:
err: \tctime = <time>
err: \tczxid=z+0
err: \tmtime=<time>
err: \tmzxid=z+2
err: \tversion=1\taversion=0
err: \tephemeralOwner = 0
> get /c
err: /c: rc = 0
err:  value_len = 5
err: world
err: Stat:
err: \tctime = <time>
err: \tczxid=z+0
err: \tmtime=<time>
err: \tmzxid=z+2
err: \tversion=1\taversion=0
err: \tephemeralOwner = 0
> ls /
err: /: rc = 0
err: \tc
err: \tzookeeper
> create +e /e
err: Creating [/e] node (mode: 1)
err: Watcher CHILD_EVENT state = CONNECTED_STATE for path /
err: [/e]: rc = 0
err: \tname = /e
> create +s /c/s-
err: Creating [/c/s-] node (mode: 2)
err: [/c/s-]: rc = 0
err: \tname = /c/s-0000000000
> create2 +c /cont
err: Creating [/cont] node (mode: 4)
err: [/cont]: rc = 0
err: \tname = /cont
err: \tctime = <time>
err: \tczxid=z+5
err: \tmtime=<time>
err: \tmzxid=z+5
err: \tversion=0\taversion=0
err: \tephemeralOwner = 0
> create +t=600000 /ttl
err: Creating [/ttl] node (mode: 5)
err: [/ttl]: rc = 0
err: \tname = /ttl
> ls2 /c
err: /c: rc = 0
err: \ts-0000000000
err: \tctime = <time>
err: \tczxid=z+0
err: \tmtime=<time>
err: \tmzxid=z+2
err: \tversion=1\taversion=0
err: \tephemeralOwner = 0
> exists /c
> exists /e
> exists /missing
err: Error -101 for /missing
> wexists /w
err: Error -101 for /w
> create /w
err: Creating [/w] node (mode: 0)
err: Watcher CREATED_EVENT state = CONNECTED_STATE for path /w
err: [/w]: rc = 0
err: \tname = /w
> get /missing
err: /missing: rc = -101
err: 
err: Stat:
err: null
> set /missing x
err: /missing: rc = -101 Stat:
err: null
> delete /missing
err: /missing: rc = -101
> delete /c
err: /c: rc = -111
> delete /c/s-0000000000
err: Watcher CHILD_EVENT state = CONNECTED_STATE for path /c
err: /c/s-0000000000: rc = 0
> delete /c
err: Watcher DELETED_EVENT state = CONNECTED_STATE for path /c
err: /c: rc = 0
> sync /
err: [/]: rc = 0
err: \tname = /
> addauth digest user:pw
> ls /
err: /: rc = 0
err: \tcont
err: \te
err: \tttl
err: \tw
err: \tzookeeper
> myid
> quit
err: Quitting...
out: session Id = S1
`

// cCliNoise is the C client's own logging (level WARN in cli_mt), e.g.
// "2026-01-02 03:04:05,678:123(0x7f..):ZOO_WARN@zookeeper_interest@..."
var cCliNoise = regexp.MustCompile(`:ZOO_(ERROR|WARN|INFO|DEBUG)@`).MatchString

// cCliRun is one cli_mt session's raw transcript and the session id as
// printed.
type cCliRun struct {
	tr        []string
	sessionID int64
}

// runCCli runs cmds in one cli_mt session against addr.
func runCCli(t *testing.T, cli, addr string, cmds []string) cCliRun {
	t.Helper()
	sh := startShell(t, cCliNoise, cli, addr)
	var run cCliRun
	record := func(cmd string, out, errs []string) {
		run.tr = append(run.tr, "> "+cmd)
		for _, l := range errs {
			run.tr = append(run.tr, "err: "+l)
		}
		for _, l := range out {
			run.tr = append(run.tr, "out: "+l)
		}
	}

	const newSession = "Got a new session id: "
	startup, idLine := sh.readUntil(sh.stderr, "session", func(l string) bool { return strings.HasPrefix(l, newSession) })
	record(cmds[0], nil, append(startup, idLine))

	for i := 1; i < len(cmds); i++ {
		cmd := cmds[i]
		if cmd == "quit" {
			sh.send(cmd)
			out, errs, err := sh.finish()
			if err != nil {
				t.Errorf("cli_mt after quit: %v", err)
			}
			record(cmd, out, errs)
			continue
		}
		mark := fmt.Sprintf("/zkmark%d", i)
		sh.send(cmd, "sync "+mark)
		errs, _ := sh.readUntil(sh.stderr, "completion of sync "+mark+" after "+cmd, func(l string) bool {
			return l == "\tname = "+mark
		})
		if n := len(errs); n == 0 || errs[n-1] != "["+mark+"]: rc = 0" {
			t.Fatalf("after %q: sync %s did not answer rc = 0:\n%s", cmd, mark, strings.Join(errs, "\n"))
		}
		record(cmd, nil, errs[:len(errs)-1])
	}
	return run
}

var (
	cCliZxidLine    = regexp.MustCompile(`^err: \t([cm]zxid)=([0-9a-f]+)$`)
	cCliCtimeLine   = regexp.MustCompile(`^err: \tctime = .*$`)
	cCliMtimeLine   = regexp.MustCompile(`^err: \tmtime=.*$`)
	cCliOwnerLine   = regexp.MustCompile(`^err: \tephemeralOwner = ([0-9a-f]+)$`)
	cCliSessionLine = regexp.MustCompile(`^(err: Got a new session id: |out: session Id = )(0x)?([0-9a-f]+)$`)
	cCliTimingLine  = regexp.MustCompile(`^err: time = -?\d+ msec$`)
)

// sortChildren sorts the children ls and ls2 print. Apache ZooKeeper
// returns them in its HashSet's order and zkd sorted (README, "Differences
// from Apache ZooKeeper"); unlike zkCli.sh, cli_mt prints them as they come.
func sortChildren(tr []string) []string {
	out := slices.Clone(tr)
	var listing bool
	start := -1
	for i, l := range out {
		switch {
		case strings.HasPrefix(l, "> "):
			listing = strings.HasPrefix(l, "> ls ") || strings.HasPrefix(l, "> ls2 ")
		case listing && start < 0 && strings.HasSuffix(l, ": rc = 0"):
			start = i + 1
		case start >= 0 && (!strings.HasPrefix(l, "err: \t") || strings.HasPrefix(l, "err: \tctime = ")):
			slices.Sort(out[start:i])
			start, listing = -1, false
		}
	}
	if start >= 0 {
		slices.Sort(out[start:])
	}
	return out
}

// normaliseCCli replaces what differs between any two runs (zxids, times,
// session ids, the order of children), drops cli_mt's timings, and writes
// tabs as \t.
func normaliseCCli(t *testing.T, tr []string) []string {
	t.Helper()
	var sym zxidSymbols
	var out []string
	for _, l := range sortChildren(tr) {
		switch {
		case cCliTimingLine.MatchString(l):
			continue // elapsed time since the last ls, or garbage for get
		case cCliZxidLine.MatchString(l):
			m := cCliZxidLine.FindStringSubmatch(l)
			l = fmt.Sprintf("err: \t%s=%s", m[1], sym.zxid(parseHex(t, m[2])))
		case cCliCtimeLine.MatchString(l):
			l = "err: \tctime = <time>"
		case cCliMtimeLine.MatchString(l):
			l = "err: \tmtime=<time>"
		case cCliOwnerLine.MatchString(l):
			l = "err: \tephemeralOwner = " + sym.session(parseHex(t, cCliOwnerLine.FindStringSubmatch(l)[1]))
		case cCliSessionLine.MatchString(l):
			m := cCliSessionLine.FindStringSubmatch(l)
			l = m[1] + sym.session(parseHex(t, m[3]))
		}
		out = append(out, strings.ReplaceAll(l, "\t", `\t`))
	}
	return out
}

// sessionIDOf returns the session id cli_mt printed when it connected.
func sessionIDOf(t *testing.T, tr []string) int64 {
	t.Helper()
	for _, l := range tr {
		if m := cCliSessionLine.FindStringSubmatch(l); m != nil {
			return parseHex(t, m[3])
		}
	}
	t.Fatal("cli_mt printed no session id")
	return 0
}

func TestCClientSession(t *testing.T) {
	cli := harness.CCli(t)
	golden := goldenLines(cCliGolden)
	cmds, _ := scriptOf(golden, "err: ")

	run := func(t *testing.T, name string, s *harness.Server) (norm []string, sessionID int64) {
		start := time.Now()
		r := runCCli(t, cli, s.Addr(), cmds)
		t.Logf("%d commands in %v", len(cmds), time.Since(start).Round(time.Millisecond))
		norm = normaliseCCli(t, r.tr)
		compareTranscripts(t, "golden", golden, name, norm)
		return norm, sessionIDOf(t, r.tr)
	}
	var zkdOut, apacheOut []string
	var zkdID, apacheID int64
	t.Run("zkd", func(t *testing.T) { zkdOut, zkdID = run(t, "zkd", startZkd(t)) })
	t.Run("apache", func(t *testing.T) {
		apacheOut, apacheID = run(t, "apache", harness.ApacheZK(t, serverConfig()))
	})
	t.Run("same", func(t *testing.T) {
		if zkdOut == nil || apacheOut == nil {
			t.Skip("a server's run did not finish")
		}
		compareTranscripts(t, "apache", apacheOut, "zkd", zkdOut)
	})
	t.Run("session id server byte", func(t *testing.T) {
		if zkdID == 0 || apacheID == 0 {
			t.Skip("a server's run did not finish")
		}
		// SessionTrackerImpl.initializeNextSessionId puts the server id in
		// the top byte; a standalone ZooKeeperServer passes its
		// createSessionTrackerServerId, which is 1, and so does zkd.
		if got, want := zkdID>>56, apacheID>>56; got != want {
			t.Errorf("zkd standalone session id 0x%x has server byte 0x%02x, Apache ZooKeeper's 0x%x has 0x%02x",
				zkdID, got, apacheID, want)
		}
	})
}
