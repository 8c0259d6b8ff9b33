// Command zkcli is a zkCli.sh-style shell for ZooKeeper (and zkd): the same
// commands, flags, output and error lines as Apache ZooKeeper's zkCli.sh
// 3.8/3.9, without a JVM, plus tree, dump/load, watch, JSON output and
// four-letter words.
//
//	zkcli [-server host:port[,host:port...]] [-timeout ms] [-r] [-waitforconnection] [-o json] [cmd args...]
//
// Without a command it is an interactive shell (line editing, history in
// ~/.zkcli_history, tab completion of commands and znode paths). With one
// it runs it and exits with zkCli's status: 0, 1 for a failed command, 127
// for an unknown one.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/peterh/liner"
)

// cliOptions are the command-line flags (ZooKeeperMain.MyCommandOptions).
type cliOptions struct {
	server            string
	timeout           time.Duration
	readOnly          bool
	waitForConnection bool
	json              bool
	command           []string
}

func parseArgs(args []string) (cliOptions, error) {
	o := cliOptions{server: "localhost:2181", timeout: 30 * time.Second}
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("Error: no argument found for option %s", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "-server":
			v, err := value()
			if err != nil {
				return o, err
			}
			o.server = v
		case "-timeout":
			v, err := value()
			if err != nil {
				return o, err
			}
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return o, fmt.Errorf("Error: -timeout must be a positive number of milliseconds, not %q", v)
			}
			o.timeout = time.Duration(ms) * time.Millisecond
		case "-r":
			o.readOnly = true
		case "-waitforconnection":
			o.waitForConnection = true
		case "-o":
			v, err := value()
			if err != nil {
				return o, err
			}
			if v != "json" && v != "text" {
				return o, fmt.Errorf("Error: -o takes json or text, not %q", v)
			}
			o.json = v == "json"
		case "-client-configuration":
			if _, err := value(); err != nil {
				return o, err
			}
		default:
			if strings.HasPrefix(a, "-") {
				// zkCli ignores flags it does not know before the command.
				continue
			}
			o.command = args[i:]
			return o, nil
		}
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	sh := newShell(stdout, stderr)
	sh.timeout, sh.readOnly, sh.json = opts.timeout, opts.readOnly, opts.json
	if !sh.json {
		sh.printf("Connecting to %s\n", opts.server)
	}
	if err := sh.connect(opts.server); err != nil {
		sh.reportError(err)
		sh.flush()
		return 1
	}
	defer sh.close()
	if opts.waitForConnection && !sh.waitConnected(opts.timeout) {
		sh.reportError(errors.New("KeeperErrorCode = ConnectionLoss"))
		return 1
	}
	if opts.command != nil {
		sh.awaitFirstConnection()
		sh.run(opts.command)
		return sh.exitCode
	}
	return sh.interactive(stdin)
}

// awaitFirstConnection lets the connection event print before a command's
// output or the first prompt, so output is always in the same order and
// the prompt shows the state the server answered with. It returns at once
// if the first attempt failed.
func (sh *shell) awaitFirstConnection() {
	select {
	case <-sh.conn.FirstAttempt():
		if sh.conn.State().Alive() && sh.conn.SessionID() != 0 {
			sh.waitConnected(sh.timeout)
		}
	case <-time.After(sh.timeout):
	}
}

// interactive reads commands until quit or end of input. On a terminal it
// edits lines with history and completion (what zkCli calls JLine
// support); from a pipe it reads plain lines and shows no prompt, as zkCli
// without JLine does.
func (sh *shell) interactive(stdin io.Reader) int {
	if !sh.json {
		sh.printf("Welcome to ZooKeeper!\n")
	}
	f, isFile := stdin.(*os.File)
	if !isFile || !isTerminal(f) || !isTerminal(os.Stdout) {
		if !sh.json {
			sh.printf("JLine support is disabled\n")
		}
		sh.flush()
		sh.awaitFirstConnection()
		lines := newLineReader(stdin)
		for {
			line, err := lines.next()
			if err != nil {
				return sh.exitCode
			}
			if sh.executeLine(strings.TrimRight(line, "\r")) {
				return sh.exitCode
			}
		}
	}
	sh.printf("JLine support is enabled\n")
	sh.flush()
	sh.awaitFirstConnection()
	ed := liner.NewLiner()
	defer ed.Close()
	ed.SetCtrlCAborts(true)
	ed.SetTabCompletionStyle(liner.TabPrints)
	ed.SetWordCompleter(sh.complete)
	histFile := historyPath()
	if hf, err := os.Open(histFile); err == nil {
		ed.ReadHistory(hf)
		hf.Close()
	}
	defer func() {
		if hf, err := os.Create(histFile); err == nil {
			ed.WriteHistory(hf)
			hf.Close()
		}
	}()
	for {
		line, err := ed.Prompt(sh.prompt())
		if errors.Is(err, liner.ErrPromptAborted) {
			continue // Ctrl-C drops the line, as in a shell
		}
		if err != nil {
			return sh.exitCode // Ctrl-D or a closed terminal
		}
		if strings.TrimSpace(line) != "" {
			ed.AppendHistory(line)
		}
		if sh.executeLine(line) {
			return sh.exitCode
		}
	}
}

// historyPath is where the interactive history is kept across runs:
// $ZKCLI_HISTORY, or ~/.zkcli_history.
func historyPath() string {
	if p := os.Getenv("ZKCLI_HISTORY"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".zkcli_history"
	}
	return filepath.Join(home, ".zkcli_history")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
