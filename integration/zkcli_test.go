package integration

// zkCli.sh, the Java command-line client from Debian's zookeeper package,
// runs one scripted session on its stdin against zkd and against Apache
// ZooKeeper. Each server's output, normalised, must equal zkCliGolden (taken
// from Apache ZooKeeper 3.8.0), and the two servers' outputs must equal each
// other.
//
// Driving a shell deterministically: after every command the test sends two
// marker commands that need no server, one that prints a known line on
// stderr and one that prints a known line on stdout, and reads each stream
// up to its marker. ZooKeeperMain runs commands one at a time on its main
// thread, so everything the command printed comes before the markers. Watch
// events are printed from the client's event thread at any moment, so they
// are pulled out of stdout and compared as a list of their own; a command
// that triggers events waits for them before the next command is sent.
//
// A second, short session per server checks outputs in which zkd still
// differs from Apache ZooKeeper (zkCliProbes); those subtests skip with the
// difference until it is fixed. The shell driver below is shared with
// cclient_test.go.

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// shellStepTimeout bounds the wait for one command's output.
const shellStepTimeout = 15 * time.Second

// shell is a command-line client driven over pipes: commands go to its
// stdin; its stdout and stderr are read line by line, each on a goroutine
// of its own, with the tool's logging noise dropped.
type shell struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout <-chan string
	stderr <-chan string
	done   bool
}

func startShell(t *testing.T, noise func(string) bool, path string, args ...string) *shell {
	t.Helper()
	cmd := exec.Command(path, args...)
	// zkCli.sh is a script that starts a JVM: a process group of its own
	// lets kill reach the JVM too, which holds the pipes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	sh := &shell{
		t:      t,
		name:   path,
		cmd:    cmd,
		stdin:  stdin,
		stdout: scanLines(stdout, noise),
		stderr: scanLines(stderr, noise),
	}
	t.Cleanup(sh.kill)
	return sh
}

// scanLines sends r's lines, except noise, to the returned channel and
// closes it at EOF. The buffer is large so the process never blocks on a
// full pipe while the test is busy with the other stream.
func scanLines(r io.Reader, noise func(string) bool) <-chan string {
	ch := make(chan string, 4096)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if l := sc.Text(); !noise(l) {
				ch <- l
			}
		}
		io.Copy(io.Discard, r) // after a too-long line: keep the pipe drained
	}()
	return ch
}

func (sh *shell) send(lines ...string) {
	sh.t.Helper()
	if _, err := io.WriteString(sh.stdin, strings.Join(lines, "\n")+"\n"); err != nil {
		sh.t.Fatalf("write to %s: %v", sh.name, err)
	}
}

// readUntil reads one stream up to the first line match accepts and
// returns the lines before it and that line. It fails the test when the
// stream ends or shellStepTimeout passes first.
func (sh *shell) readUntil(ch <-chan string, what string, match func(string) bool) (before []string, matched string) {
	sh.t.Helper()
	timer := time.NewTimer(shellStepTimeout)
	defer timer.Stop()
	var got []string
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				sh.t.Fatalf("%s: output ended while waiting for %s; read so far:\n%s", sh.name, what, strings.Join(got, "\n"))
			}
			if match(l) {
				return got, l
			}
			got = append(got, l)
		case <-timer.C:
			sh.t.Fatalf("%s: no %s within %v; read so far:\n%s", sh.name, what, shellStepTimeout, strings.Join(got, "\n"))
		}
	}
}

// readFor reads lines from one stream until more returns false for the
// lines read so far, the stream ends or timeout passes. It never fails the
// test: a missing line shows up in the transcript comparison.
func readFor(ch <-chan string, timeout time.Duration, more func([]string) bool) []string {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var got []string
	for more(got) {
		select {
		case l, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, l)
		case <-timer.C:
			return got
		}
	}
	return got
}

// finish closes stdin and waits for the process to exit, returning what it
// printed after the last command.
func (sh *shell) finish() (stdout, stderr []string, err error) {
	sh.t.Helper()
	sh.stdin.Close()
	all := func([]string) bool { return true }
	stdout = readFor(sh.stdout, shellStepTimeout, all)
	stderr = readFor(sh.stderr, shellStepTimeout, all)
	exited := make(chan error, 1)
	go func() { exited <- sh.cmd.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(shellStepTimeout):
		sh.cmd.Process.Kill()
		err = fmt.Errorf("%s did not exit within %v (killed: %v)", sh.name, shellStepTimeout, <-exited)
	}
	sh.done = true
	return stdout, stderr, err
}

// kill ends a shell the test abandoned (t.Fatal half way through).
func (sh *shell) kill() {
	if sh.done {
		return
	}
	sh.done = true
	syscall.Kill(-sh.cmd.Process.Pid, syscall.SIGKILL)
	for range sh.stdout {
	}
	for range sh.stderr {
	}
	sh.cmd.Wait()
}

// zxidSymbols renders zxids relative to the first nonzero one in a
// transcript ("z+0", "z+5") and session ids as S1, S2, ... in order of
// appearance: absolute values differ between any two servers, the relations
// between them must not.
type zxidSymbols struct {
	base     int64
	sessions map[int64]string
}

func (s *zxidSymbols) zxid(z int64) string {
	if z == 0 {
		return "0"
	}
	if s.base == 0 {
		s.base = z
	}
	return fmt.Sprintf("z%+d", z-s.base)
}

func (s *zxidSymbols) session(id int64) string {
	if id == 0 {
		return "0"
	}
	if s.sessions == nil {
		s.sessions = map[int64]string{}
	}
	if name, ok := s.sessions[id]; ok {
		return name
	}
	name := fmt.Sprintf("S%d", len(s.sessions)+1)
	s.sessions[id] = name
	return name
}

// parseHex parses a zxid or session id as the clients print it (%llx or
// Long.toHexString), with or without 0x.
func parseHex(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("bad hex number %q: %v", s, err)
	}
	return int64(v)
}

// compareTranscripts reports every line where got differs from want.
func compareTranscripts(t *testing.T, wantName string, want []string, gotName string, got []string) {
	t.Helper()
	var diffs []string
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("line %d\n  %-7s %s\n  %-7s %s", i+1, wantName+":", w, gotName+":", g))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%d of %d lines differ (first 30):\n%s\n--- %s transcript ---\n%s",
			len(diffs), len(want), strings.Join(diffs[:min(30, len(diffs))], "\n"), gotName, strings.Join(got, "\n"))
	}
}

// goldenLines splits a golden transcript into lines, dropping the leading
// newline of the raw string.
func goldenLines(golden string) []string {
	return strings.Split(strings.TrimPrefix(strings.TrimSuffix(golden, "\n"), "\n"), "\n")
}

// scriptOf returns the commands of a golden transcript and, for each,
// how many of its lines start with countPrefix.
func scriptOf(golden []string, countPrefix string) (cmds []string, counts []int) {
	for _, l := range golden {
		switch {
		case strings.HasPrefix(l, "> "):
			cmds = append(cmds, strings.TrimPrefix(l, "> "))
			counts = append(counts, 0)
		case len(counts) > 0 && strings.HasPrefix(l, countPrefix):
			counts[len(counts)-1]++
		}
	}
	return cmds, counts
}

// zkCliDigest is the digest of user:pw (base64 of its SHA-1), the
// credentials of the ACL the session sets.
var zkCliDigest = digestOf("user:pw")

// zkCliGolden is the session's script ("> " lines) and, under each command,
// what zkCli.sh printed against Apache ZooKeeper 3.8.0, normalised: "out:"
// is stdout, "err:" stderr (zkCli prints "Created ..." and every error
// there), "event:" a WatchedEvent line from the event thread. "connect" is
// the startup before the first command; @DIGEST@ stands for zkCliDigest.
const zkCliGolden = `
> connect
out: Connecting to <addr>
out: Welcome to ZooKeeper!
out: JLine support is disabled
event: WatchedEvent state:SyncConnected type:None path:null
> create /a hello
err: Created /a
> create /a again
err: Node already exists: /a
> create -s /a/seq- s1
err: Created /a/seq-0000000000
> create -e /a/eph e1
err: Created /a/eph
> create -c /cont
err: Created /cont
> create /cont/k v
err: Created /cont/k
> create -t 600000 /ttl t
err: Created /ttl
> ls -R /
out: /
out: /a
out: /cont
out: /ttl
out: /zookeeper
out: /a/eph
out: /a/seq-0000000000
out: /cont/k
out: /zookeeper/config
out: /zookeeper/quota
> get -s /a
out: hello
out: cZxid = z+0
out: ctime = <time>
out: mZxid = z+0
out: mtime = <time>
out: pZxid = z+3
out: cversion = 2
out: dataVersion = 0
out: aclVersion = 0
out: ephemeralOwner = 0x0
out: dataLength = 5
out: numChildren = 2
> set /a world
> stat /a
out: cZxid = z+0
out: ctime = <time>
out: mZxid = z+7
out: mtime = <time>
out: pZxid = z+3
out: cversion = 2
out: dataVersion = 1
out: aclVersion = 0
out: ephemeralOwner = 0x0
out: dataLength = 5
out: numChildren = 2
> get /a
out: world
> stat /a/eph
out: cZxid = z+3
out: ctime = <time>
out: mZxid = z+3
out: mtime = <time>
out: pZxid = z+3
out: cversion = 0
out: dataVersion = 0
out: aclVersion = 0
out: ephemeralOwner = S1
out: dataLength = 2
out: numChildren = 0
> getEphemerals /
out: [/a/eph]
> getAllChildrenNumber /
out: 9
> whoami
out: Auth scheme: User
out: ip: 127.0.0.1
> getAcl /a
out: 'world,'anyone
out: : cdrwa
> setAcl /a digest:user:@DIGEST@:cdrwa
> get /a
err: Insufficient permission : /a
> getAcl /a
err: Insufficient permission : /a
> addauth digest user:pw
> getAcl /a
out: 'digest,'user:@DIGEST@
out: : cdrwa
> get /a
out: world
> whoami
out: Auth scheme: User
out: digest: user
out: ip: 127.0.0.1
> addWatch /w
> create /w w
err: Created /w
event: WatchedEvent state:SyncConnected type:NodeCreated path:/w
> create /w/x x
err: Created /w/x
event: WatchedEvent state:SyncConnected type:NodeCreated path:/w/x
> set /w/x y
event: WatchedEvent state:SyncConnected type:NodeDataChanged path:/w/x
> ls -w /w
out: [x]
> create /w/y y
err: Created /w/y
event: WatchedEvent state:SyncConnected type:NodeCreated path:/w/y
event: WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w
> delete /w/x
event: WatchedEvent state:SyncConnected type:NodeDeleted path:/w/x
> create /nodata
err: Created /nodata
> get /nodata
out: null
> delete /nodata
> get /missing
err: Node does not exist: /missing
> stat /missing
err: Node does not exist: /missing
> set /missing x
err: Node does not exist: /missing
> delete /a
err: Node not empty: /a
> deleteall /a
> get /a
err: Node does not exist: /a
> delete /ttl
> ls /
out: [cont, w, zookeeper]
> getAllChildrenNumber /
out: 7
> quit
`

// zkCliNoise is what the JVM prints besides the commands' output: slf4j's
// complaint that Debian's class path has no binding, and any log4j line.
func zkCliNoise(l string) bool {
	return strings.HasPrefix(l, "SLF4J:") || strings.HasPrefix(l, "log4j:")
}

// zkCliEventsFrom separates zkCli's stdout into the command's own lines and
// watch events. ZooKeeperMain.MyWatcher prints an event with two
// printMessage calls, "\nWATCHER::" and "\n" + event, each a single println,
// so a blank line right before "WATCHER::" or "WatchedEvent" is part of the
// event however the threads interleave.
func zkCliEventsFrom(lines []string) (out, events []string) {
	isEvent := func(l string) bool { return l == "WATCHER::" || strings.HasPrefix(l, "WatchedEvent ") }
	for i, l := range lines {
		switch {
		case l == "" && i+1 < len(lines) && isEvent(lines[i+1]):
		case l == "WATCHER::":
		case strings.HasPrefix(l, "WatchedEvent "):
			events = append(events, l)
		default:
			out = append(out, l)
		}
	}
	return out, events
}

func countEvents(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "WatchedEvent ") {
			n++
		}
	}
	return n
}

// runZkCli runs cmds in one session of a zkCli-style shell (argv: the
// program, its flags and -server) and returns the raw transcript: "> cmd",
// then "out:", "err:" and "event:" lines.
func runZkCli(t *testing.T, argv []string, cmds []string, events []int) []string {
	t.Helper()
	sh := startShell(t, zkCliNoise, argv[0], argv[1:]...)
	var tr []string
	record := func(cmd string, out, errs, evs []string) {
		tr = append(tr, "> "+cmd)
		for _, l := range out {
			tr = append(tr, "out: "+l)
		}
		for _, l := range errs {
			tr = append(tr, "err: "+l)
		}
		for _, l := range evs {
			tr = append(tr, "event: "+l)
		}
	}

	// Wait for the session before the first command, so the connection
	// event cannot land in a command's output.
	connected := "WatchedEvent state:SyncConnected type:None path:null"
	startup, _ := sh.readUntil(sh.stdout, "session", func(l string) bool { return l == connected })
	out, _ := zkCliEventsFrom(append(startup, connected))
	record(cmds[0], out, nil, []string{connected})

	for i := 1; i < len(cmds); i++ {
		cmd := cmds[i]
		if cmd == "quit" || cmd == "close" {
			// After close nothing needs the session, not even the markers
			// (zkCli answers them "Not connected"), so the rest of the
			// script goes at once and its output is read to the end.
			sh.send(cmds[i:]...)
			rest, errs, err := sh.finish()
			if err != nil {
				t.Errorf("%s after quit: %v", argv[0], err)
			}
			// The Closed event may or may not be printed before the JVM
			// exits; it is not compared.
			out, _ := zkCliEventsFrom(rest)
			record(strings.Join(cmds[i:], "; "), out, errs, nil)
			break
		}
		errMark := fmt.Sprintf("-zkmark%d", i)
		sh.send(cmd, "get "+errMark+" /", "version")
		errs, _ := sh.readUntil(sh.stderr, "stderr marker after "+cmd, func(l string) bool {
			return strings.HasSuffix(l, "Unrecognized option: "+errMark)
		})
		const versionMark = "ZooKeeper CLI version:"
		lines, marked := sh.readUntil(sh.stdout, "stdout marker after "+cmd, func(l string) bool {
			return strings.Contains(l, versionMark)
		})
		// setAcl -R prints failures without a newline: the marker may
		// share the command's last line.
		if text, _, _ := strings.Cut(marked, versionMark); text != "" {
			lines = append(lines, text)
		}
		if want := events[i]; countEvents(lines) < want {
			lines = append(lines, readFor(sh.stdout, 5*time.Second, func(more []string) bool {
				return countEvents(lines)+countEvents(more) < want
			})...)
		}
		out, evs := zkCliEventsFrom(lines)
		record(cmd, out, errs, evs)
	}
	return tr
}

var (
	zkCliZxidLine    = regexp.MustCompile(`^out: ([cmp]Zxid) = (0x[0-9a-f]+)$`)
	zkCliTimeLine    = regexp.MustCompile(`^out: ([cm]time) = .*$`)
	zkCliOwnerLine   = regexp.MustCompile(`^out: ephemeralOwner = (0x[0-9a-f]+)$`)
	zkCliConnectLine = regexp.MustCompile(`^out: Connecting to \S+$`)
)

// normaliseZkCli replaces what differs between any two runs: zxids,
// times, session ids, the server address.
func normaliseZkCli(t *testing.T, tr []string) []string {
	t.Helper()
	var sym zxidSymbols
	out := make([]string, len(tr))
	for i, l := range tr {
		switch {
		case zkCliZxidLine.MatchString(l):
			m := zkCliZxidLine.FindStringSubmatch(l)
			l = fmt.Sprintf("out: %s = %s", m[1], sym.zxid(parseHex(t, m[2])))
		case zkCliTimeLine.MatchString(l):
			l = zkCliTimeLine.ReplaceAllString(l, "out: $1 = <time>")
		case zkCliOwnerLine.MatchString(l):
			if id := parseHex(t, zkCliOwnerLine.FindStringSubmatch(l)[1]); id != 0 {
				l = "out: ephemeralOwner = " + sym.session(id)
			}
		case zkCliConnectLine.MatchString(l):
			l = "out: Connecting to <addr>"
		}
		out[i] = l
	}
	return out
}

func TestZkCliSession(t *testing.T) {
	cli := harness.ZkCli(t)
	golden := goldenLines(strings.ReplaceAll(zkCliGolden, "@DIGEST@", zkCliDigest))
	cmds, events := scriptOf(golden, "event: ")

	run := func(t *testing.T, name string, s *harness.Server) []string {
		start := time.Now()
		tr := normaliseZkCli(t, runZkCli(t, []string{cli, "-server", s.Addr()}, cmds, events))
		t.Logf("%d commands in %v", len(cmds), time.Since(start).Round(time.Millisecond))
		compareTranscripts(t, "golden", golden, name, tr)
		return tr
	}
	probeCmds, probeEvents := scriptOf(goldenLines(zkCliProbeScript), "event: ")
	probe := func(t *testing.T, s *harness.Server) []string {
		return normaliseZkCli(t, runZkCli(t, []string{cli, "-server", s.Addr()}, probeCmds, probeEvents))
	}
	var zkdOut, apacheOut, zkdProbe, apacheProbe []string
	t.Run("zkd", func(t *testing.T) {
		s := startZkd(t)
		zkdOut = run(t, "zkd", s)
		zkdProbe = probe(t, s)
	})
	t.Run("apache", func(t *testing.T) {
		s := harness.ApacheZK(t, serverConfig())
		apacheOut = run(t, "apache", s)
		apacheProbe = probe(t, s)
	})
	t.Run("same", func(t *testing.T) {
		if zkdOut == nil || apacheOut == nil {
			t.Skip("a server's run did not finish")
		}
		compareTranscripts(t, "apache", apacheOut, "zkd", zkdOut)
	})
	for _, p := range zkCliProbes {
		t.Run(p.name, func(t *testing.T) {
			if zkdProbe == nil || apacheProbe == nil {
				t.Skip("a server's run did not finish")
			}
			want, got := section(apacheProbe, p.cmd), section(zkdProbe, p.cmd)
			if !slices.Equal(want, got) {
				t.Errorf("%s\n> %s\napache:\n  %s\nzkd:\n  %s", p.bug, p.cmd,
					strings.Join(want, "\n  "), strings.Join(got, "\n  "))
			}
		})
	}
}

// zkCliProbeScript runs in a second session on each server; it sets up
// what zkCliProbes look at. Probe commands trigger no watch events.
const zkCliProbeScript = `
> connect
> create /q x
> create /q/k y
> setquota -n 10 /q
> addauth digest super:test
> whoami
> listquota /q
> quit
`

// zkCliProbes are outputs in which zkd differs from Apache ZooKeeper 3.8.0
// today. Each is compared in a subtest of its own, which skips with the
// difference while it lasts and passes once zkd matches.
var zkCliProbes = []struct{ name, cmd, bug string }{
	{
		name: "whoami identity order",
		cmd:  "whoami",
		bug: "zkd lists the identities a client added before its ip identity (zkserver/reply.go clientInfos); " +
			"ServerCnxn.authInfo in 3.8 is a set backed by a ConcurrentHashMap, so Java lists them in " +
			"bucket order of Id.hashCode: super (bucket 7), ip:127.0.0.1 (12), digest:super (14)",
	},
	{
		name: "quota stats",
		cmd:  "listquota /q",
		bug: "zkd keeps no quota statistics: /zookeeper/quota/q/zookeeper_stats keeps the count=0,bytes=0 " +
			"setquota wrote, while Apache's DataTree.updateQuotaForPath and updateCountBytes keep it at " +
			"the subtree's node count and data bytes",
	},
}

// section returns the lines a transcript records under "> cmd".
func section(tr []string, cmd string) []string {
	var out []string
	in := false
	for _, l := range tr {
		if strings.HasPrefix(l, "> ") {
			in = l == "> "+cmd
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}
