package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The kfake reference can run in this process (as franz-go's tests use it)
// or in a child process of its own, as brokerd does: then both servers
// cost the client the same things (a process boundary, their own CPU
// taken from the same two cores) and only the servers differ.

// serveKfakeFlag makes this binary a kfake server: it prints the listen
// address on stdout and serves until stdin closes.
const serveKfakeFlag = "-serve-kfake"

// maybeServeKfake runs the child side when asked to, and reports whether it
// did.
func maybeServeKfake() bool {
	if len(os.Args) != 3 || os.Args[1] != serveKfakeFlag {
		return false
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, os.Args[2]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or dies
	c.Close()
	return true
}

// kfakeServer is a kfake cluster in this process or a child process, or the null broker.
type kfakeServer struct {
	seeds []string
	close func() error
}

func startKfake(ctx context.Context, topic string, ownProcess bool) (*kfakeServer, error) {
	if !ownProcess {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
		if err != nil {
			return nil, err
		}
		return &kfakeServer{seeds: c.ListenAddrs(), close: func() error { c.Close(); return nil }}, nil
	}
	return startChildServer(ctx, serveKfakeFlag, topic)
}

// startChildServer runs this binary as a server (kfake or the null broker, by flag) in a
// child process and returns its address, read from the child's first line of output.
func startChildServer(ctx context.Context, flag, topic string) (*kfakeServer, error) {
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
	return &kfakeServer{
		seeds: strings.Split(strings.TrimSpace(line), ","),
		close: func() error { _ = stdin.Close(); return cmd.Wait() },
	}, nil
}
