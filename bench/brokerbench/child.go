package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// The references (kfake, the null broker) run in child processes of their own, as brokerd
// does: then every server costs the client the same things (a process boundary, its own CPU
// taken from the same two cores) and only the servers differ. The child is this binary,
// started with a server's flag and the topic; it prints its listen addresses on one line and
// serves until its stdin closes.

// childServers are the servers a child can be, by flag: each starts serving the topic and
// returns its addresses and how to stop.
var childServers = map[string]func(topic string) (seeds []string, stop func(), err error){
	serveKfakeFlag: serveKfake,
	serveNullFlag:  serveNullChild,
}

// maybeServeChild runs the child side when this process was started as one, and reports
// whether it did.
func maybeServeChild() bool {
	if len(os.Args) != 3 {
		return false
	}
	serve, ok := childServers[os.Args[1]]
	if !ok {
		return false
	}
	seeds, stop, err := serve(os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(seeds, ","))
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or dies
	stop()
	return true
}

// server is a reference server, in this process or a child process.
type server struct {
	seeds []string
	close func() error
}

// startChildServer runs this binary as the server named by flag in a child process and
// returns its addresses, read from the child's first line of output.
func startChildServer(ctx context.Context, flag, topic string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, flag, topic)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s child: no address: %w", flag, err)
	}
	return &server{
		seeds: strings.Split(strings.TrimSpace(line), ","),
		close: func() error { _ = stdin.Close(); return cmd.Wait() },
	}, nil
}
