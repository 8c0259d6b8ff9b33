package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrPortInUse means the server exited at start because its client port was taken.
var ErrPortInUse = errors.New("client port already in use")

const (
	// maxPortAttempts bounds retries when a port from FreePort was taken before the server
	// bound it.
	maxPortAttempts = 3
	readyPoll       = 100 * time.Millisecond
	startLogLines   = 30
)

// launcher knows how to run one kind of server.
type launcher struct {
	name    string // "zkd" or "apache", for messages
	logName string // log file name inside Config.Dir
	// cleanExitCodes are the exit statuses that mean an orderly shutdown.
	cleanExitCodes []int
	// argv writes any extra files the server needs and returns its command line.
	argv func(cfg Config) ([]string, error)
}

func (l launcher) logPath(cfg Config) string { return filepath.Join(cfg.Dir, l.logName) }

// start resolves cfg and launches the server. When the harness chose the port and the server
// found it taken, it tries again with a new one.
func start(ctx context.Context, l launcher, cfg Config) (*Server, error) {
	cfg, err := cfg.resolve(l.name + "-*")
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", l.name, err)
	}
	pickPort := cfg.ClientPort == 0
	for attempt := 1; ; attempt++ {
		if pickPort {
			if cfg.ClientPort, err = FreePort(); err != nil {
				return nil, fmt.Errorf("start %s: %w", l.name, err)
			}
		}
		s, err := launch(ctx, l, cfg)
		if err == nil {
			return s, nil
		}
		if !pickPort || attempt == maxPortAttempts || !errors.Is(err, ErrPortInUse) {
			return nil, err
		}
	}
}

// launch writes the files, starts the process and waits until it serves.
func launch(ctx context.Context, l launcher, cfg Config) (*Server, error) {
	if err := cfg.writeFiles(); err != nil {
		return nil, fmt.Errorf("start %s: %w", l.name, err)
	}
	argv, err := l.argv(cfg)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", l.name, err)
	}
	s, _, err := spawn(l, cfg, argv)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", l.name, err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// spawn starts argv in cfg.Dir with its output appended to the server's log after a header
// line, and returns the running Server and the log's size before this run. The caller has
// written cfg's files.
func spawn(l launcher, cfg Config, argv []string) (*Server, int64, error) {
	logf, err := os.OpenFile(l.logPath(cfg), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, err
	}
	var offset int64
	if fi, err := logf.Stat(); err == nil {
		offset = fi.Size()
	}
	// A header per start, so a restarted server's log shows where each run begins.
	fmt.Fprintf(logf, "=== harness %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cfg.Dir
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(cfg)
	err = cmd.Start()
	logf.Close() // the child holds its own copy
	if err != nil {
		return nil, 0, err
	}
	s := &Server{kind: l, cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	return s, offset, nil
}

// waitReady polls srvr until the server answers, the process exits, or StartTimeout (or ctx)
// runs out.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	foreign := false
	for {
		if srvrReady(s.Addr()) {
			// The port may belong to another server that took it after FreePort let it go;
			// talking to that one would make a test pass or fail for the wrong reasons.
			owned, known := listenerOwnedBy(s.PID(), s.Port())
			if owned || !known {
				return nil
			}
			foreign = true
		}
		select {
		case <-s.done:
			tail := s.LogTail(startLogLines)
			err := fmt.Errorf("exited before serving: %v", s.waitErr)
			if strings.Contains(strings.ToLower(tail), "address already in use") {
				err = fmt.Errorf("%w: %w", ErrPortInUse, err)
			}
			return s.startError(err, tail)
		case <-ctx.Done():
			err := fmt.Errorf("no srvr answer within %v: %w", s.cfg.StartTimeout, ctx.Err())
			if foreign {
				err = fmt.Errorf("%w (another process listens on port %d; a wrapper script must exec the server)", err, s.Port())
			}
			return s.startError(err, s.LogTail(startLogLines))
		case <-tick.C:
		}
	}
}

func (s *Server) startError(err error, tail string) error {
	return fmt.Errorf("start %s: %w\n--- last lines of %s ---\n%s", s, err, s.LogPath(), tail)
}
