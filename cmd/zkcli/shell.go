package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/zkclient"
)

// shell is one zkcli session: the connection, the command history and the
// output streams, shared by the one-shot and interactive modes as
// ZooKeeperMain shares them.
type shell struct {
	server   string // the connect string of the current session
	timeout  time.Duration
	readOnly bool
	json     bool

	conn *zkclient.Conn

	// out and errw are stdout and stderr. Commands write to out through
	// a buffer flushed after each command; watch events arrive on another
	// goroutine and take outMu so lines never interleave.
	outMu sync.Mutex
	out   *bufio.Writer
	errw  io.Writer

	history      map[int]string
	count        int
	printWatches atomic.Bool
	exitCode     int

	// connected is closed once the current session's SyncConnected event
	// has been printed (or dropped). Only the command goroutine uses the
	// field; the event goroutine closes the channel it captured.
	connected chan struct{}

	// watchSink, while a `watch` command runs, receives the events it
	// streams instead of the default printer.
	watchSink atomic.Pointer[chan zkclient.Event]
}

func newShell(stdout, stderr io.Writer) *shell {
	sh := &shell{out: bufio.NewWriterSize(stdout, 64<<10), errw: stderr, history: map[int]string{}}
	sh.printWatches.Store(true)
	return sh
}

// cliError is a failed command: the line zkCli prints on stderr and the
// exit status (CliException.getExitCode).
type cliError struct {
	msg  string
	code int
}

func (e *cliError) Error() string { return e.msg }

func usageError(cmd *command) error { return &cliError{msg: cmd.name + " " + cmd.usage, code: 1} }

// errText turns a client error into zkCli's words (CliWrapperException).
func errText(err error) string {
	var ze *zkclient.Error
	if !errors.As(err, &ze) {
		return err.Error()
	}
	path := ze.Path
	if path == "" {
		path = "null"
	}
	switch ze.Code {
	case jute.ErrNoNode:
		return "Node does not exist: " + path
	case jute.ErrNoChildrenForEphemerals:
		return "Ephemerals cannot have children: " + path
	case jute.ErrNodeExists:
		return "Node already exists: " + path
	case jute.ErrNotEmpty:
		return "Node not empty: " + path
	case jute.ErrNotReadOnly:
		return "Not a read-only call: " + path
	case jute.ErrInvalidACL:
		return "Acl is not valid : " + path
	case jute.ErrNoAuth:
		return "Insufficient permission : " + path
	case jute.ErrBadArguments:
		return "Arguments are not valid : " + path
	case jute.ErrBadVersion:
		return "version No is not valid : " + path
	case jute.ErrQuotaExceeded:
		return "Quota has exceeded : " + path
	}
	return ze.Error()
}

// connect opens a session to servers, closing the current one first, and
// waits up to the session timeout for it when wait is set.
func (sh *shell) connect(servers string) error {
	if sh.conn != nil && sh.conn.State().Alive() {
		sh.conn.Close()
	}
	sh.server = servers
	addrs, err := splitServers(servers)
	if err != nil {
		return err
	}
	connected, once := make(chan struct{}), &sync.Once{}
	sh.connected = connected
	conn, err := zkclient.Connect(zkclient.Config{
		Servers:        addrs,
		SessionTimeout: sh.timeout,
		CanBeReadOnly:  sh.readOnly,
		OnEvent: func(ev zkclient.Event) {
			sh.onEvent(ev)
			if ev.Type == jute.EventNone && ev.State == jute.StateSyncConnected {
				once.Do(func() { close(connected) })
			}
		},
	})
	if err != nil {
		return err
	}
	sh.conn = conn
	return nil
}

// waitConnected waits until the session's SyncConnected event has been
// printed, or timeout.
func (sh *shell) waitConnected(timeout time.Duration) bool {
	select {
	case <-sh.connected:
		return true
	case <-time.After(timeout):
		return false
	}
}

// lineReader reads input lines of any length.
type lineReader struct{ r *bufio.Reader }

func newLineReader(r io.Reader) *lineReader { return &lineReader{bufio.NewReader(r)} }

func (l *lineReader) next() (string, error) {
	line, err := l.r.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// splitServers parses a connect string "host:port[,host:port...]".
func splitServers(s string) ([]string, error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return nil, fmt.Errorf("chroot %q in the connect string is not supported", s[i:])
	}
	var addrs []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !strings.Contains(a, ":") {
			a += ":2181"
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no server in connect string %q", s)
	}
	return addrs, nil
}

// onEvent is the default watcher (ZooKeeperMain.MyWatcher).
func (sh *shell) onEvent(ev zkclient.Event) {
	if sink := sh.watchSink.Load(); sink != nil && ev.Type != jute.EventNone {
		*sink <- ev
		return
	}
	if !sh.printWatches.Load() {
		return
	}
	if sh.json && ev.Type == jute.EventNone {
		return // state changes are noise for scripts; errors say what failed
	}
	sh.outMu.Lock()
	defer sh.outMu.Unlock()
	if sh.json {
		sh.writeJSON(map[string]any{"event": eventJSON(ev)})
	} else {
		// printMessage prints "\n" + msg: a blank line before each.
		fmt.Fprintf(sh.out, "\nWATCHER::\n\n%s\n", ev)
	}
	sh.out.Flush()
}

func eventJSON(ev zkclient.Event) map[string]any {
	m := map[string]any{"state": zkclient.KeeperStateName(ev.State), "type": ev.Type.String()}
	if ev.Path != "" {
		m["path"] = ev.Path
	}
	return m
}

// writeJSON writes one JSON object on a line; callers hold outMu.
func (sh *shell) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	sh.out.Write(b)
	sh.out.WriteByte('\n')
}

// emit writes a command's JSON result.
func (sh *shell) emit(v any) {
	sh.outMu.Lock()
	sh.writeJSON(v)
	sh.outMu.Unlock()
}

// printf writes a command's text output.
func (sh *shell) printf(format string, args ...any) {
	sh.outMu.Lock()
	fmt.Fprintf(sh.out, format, args...)
	sh.outMu.Unlock()
}

// flush sends buffered command output to the terminal.
func (sh *shell) flush() {
	sh.outMu.Lock()
	sh.out.Flush()
	sh.outMu.Unlock()
}

// eprintf writes to stderr after flushing stdout, so a command's output
// and its errors appear in the order they were produced.
func (sh *shell) eprintf(format string, args ...any) {
	sh.flush()
	fmt.Fprintf(sh.errw, format, args...)
}

// reportError prints err as zkCli would and records the exit status.
func (sh *shell) reportError(err error) {
	code := 1
	var ce *cliError
	if errors.As(err, &ce) {
		code = ce.code
	}
	sh.exitCode = code
	msg := errText(err)
	if sh.json {
		sh.flush()
		b, _ := json.Marshal(map[string]any{"error": msg, "status": code})
		fmt.Fprintf(sh.errw, "%s\n", b)
		return
	}
	sh.eprintf("%s\n", msg)
}

// executeLine runs one line typed at the prompt (ZooKeeperMain.executeLine):
// it is numbered and kept in the history.
func (sh *shell) executeLine(line string) (quit bool) {
	if line == "" {
		return false
	}
	sh.history[sh.count] = line
	quit = sh.run(splitCommand(line))
	sh.count++
	return quit
}

// run executes one command (processCmd) and reports whether it was quit.
func (sh *shell) run(args []string) (quit bool) {
	defer sh.flush()
	quit, err := sh.process(args)
	if err != nil {
		sh.reportError(err)
		return quit
	}
	sh.exitCode = 0
	return quit
}

// process is processZKCmd: the commands that need no session first, then
// the check for a live session, then the command.
func (sh *shell) process(args []string) (quit bool, err error) {
	if len(args) == 0 {
		sh.usage()
		return false, &cliError{msg: "No command entered", code: 1}
	}
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		sh.usage()
		return false, &cliError{msg: "Command not found: Command not found " + name, code: 127}
	}
	if cmd.local != nil {
		quit, err := cmd.local(sh, args)
		if err != nil || quit || cmd.noSession {
			return quit, err
		}
	}
	if sh.conn == nil || !sh.conn.State().Alive() {
		sh.printf("Not connected\n")
		return false, nil
	}
	if cmd.run == nil {
		return false, nil
	}
	o, err := parseOptions(cmd.opts, args)
	if err != nil {
		return false, err
	}
	if len(o.args) < cmd.minArgs {
		return false, usageError(cmd)
	}
	return false, cmd.run(sh, cmd, o)
}

// usage is ZooKeeperMain.usage, on stderr.
func (sh *shell) usage() {
	if sh.json {
		return
	}
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	for _, name := range commandNames() {
		fmt.Fprintf(&b, "\t%s %s\n", name, commands[name].usage)
	}
	sh.eprintf("%s", b.String())
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// prompt is ZooKeeperMain.getPrompt.
func (sh *shell) prompt() string {
	state := "CLOSED"
	if sh.conn != nil {
		state = sh.conn.State().String()
	}
	return fmt.Sprintf("[zk: %s(%s) %d] ", sh.server, state, sh.count)
}

// close ends the session when zkcli exits. Unlike zkCli.sh, which exits
// without closing, it says goodbye to the server, so ephemeral nodes of a
// one-shot create go at once; the Closed event is not printed.
func (sh *shell) close() {
	sh.printWatches.Store(false)
	if sh.conn != nil {
		sh.conn.Close()
	}
	sh.flush()
}
