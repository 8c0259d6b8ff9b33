package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrStopTimeout means the server did not exit within Config.StopTimeout of SIGTERM and was
// killed.
var ErrStopTimeout = errors.New("server did not exit after SIGTERM; sent SIGKILL")

// Server is one server process started by StartZkd or StartApacheZK. Its methods are safe for
// concurrent use.
type Server struct {
	kind launcher
	cfg  Config // resolved: Dir and ClientPort are set
	cmd  *exec.Cmd

	done    chan struct{} // closed once the process has been reaped
	waitErr error         // cmd.Wait's result; written before done is closed
	killed  atomic.Bool   // Kill was called, so a SIGKILL exit is what the caller asked for
	termed  atomic.Bool   // Stop sent SIGTERM, so dying of it is what the caller asked for
}

// Addr is "127.0.0.1:<client port>".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.cfg.ClientPort) }

// Port is the client port.
func (s *Server) Port() int { return s.cfg.ClientPort }

// Dir holds zoo.cfg, data/ and the log.
func (s *Server) Dir() string { return s.cfg.Dir }

// LogPath is the file that receives the process's stdout and stderr. Restarts append to it.
func (s *Server) LogPath() string { return s.kind.logPath(s.cfg) }

// PID is the server's process id (the JVM itself for Apache ZooKeeper).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Config is the configuration the server runs with, defaults and port filled in.
func (s *Server) Config() Config { return s.cfg }

// String names the server in messages, e.g. "zkd pid 123 on 127.0.0.1:40001".
func (s *Server) String() string {
	return fmt.Sprintf("%s pid %d on %s", s.kind.name, s.PID(), s.Addr())
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Wait blocks until the process exits and returns its exit error as exec.Cmd.Wait does
// (nil for status 0).
func (s *Server) Wait() error {
	<-s.done
	return s.waitErr
}

// Signal sends sig to the server, e.g. SIGSTOP and SIGCONT to freeze it.
func (s *Server) Signal(sig os.Signal) error {
	s.note("sending %v", sig)
	return s.cmd.Process.Signal(sig)
}

// note appends a harness line to the server's log, so the log says which signals came from
// the harness (a signal without such a line came from somewhere else).
func (s *Server) note(format string, args ...any) {
	f, err := os.OpenFile(s.LogPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "--- harness %s: pid %d: %s\n", time.Now().Format(time.RFC3339Nano), s.PID(), fmt.Sprintf(format, args...))
}

// Kill sends SIGKILL and waits for the process to exit, as a crash test wants. A later Stop
// returns nil.
func (s *Server) Kill() {
	if !s.Exited() {
		s.note("sending SIGKILL")
	}
	s.killed.Store(true)
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Stop sends SIGTERM and waits up to Config.StopTimeout, then sends SIGKILL and returns
// ErrStopTimeout. It returns nil when the server shut down cleanly (exit status 0; for the JVM
// also 143, its status after running the shutdown hooks for SIGTERM) or was ended by Kill,
// otherwise the exit error, so a server that crashed earlier is reported here. Stop may be
// called more than once.
func (s *Server) Stop() error {
	if !s.Exited() {
		s.termed.Store(true)
		s.note("sending SIGTERM")
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		// A server frozen with SIGSTOP handles the SIGTERM only once it runs again.
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		timer := time.NewTimer(s.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-s.done:
		case <-timer.C:
			_ = s.cmd.Process.Kill()
			<-s.done
			return fmt.Errorf("%s: %w (waited %v)", s, ErrStopTimeout, s.cfg.StopTimeout)
		}
	}
	return s.exitResult()
}

func (s *Server) exitResult() error {
	if s.waitErr == nil || s.killed.Load() {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		// A JVM stopped before it installed its signal handlers dies of the SIGTERM itself.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM && s.termed.Load() {
			return nil
		}
		for _, code := range s.kind.cleanExitCodes {
			if ee.ExitCode() == code {
				return nil
			}
		}
	}
	return fmt.Errorf("%s exited: %w", s, s.waitErr)
}

// Restart starts the same server again, with the same directory, data and port, after it
// exited (Stop or Kill). The new process is a new *Server; s stays as it was.
func (s *Server) Restart(ctx context.Context) (*Server, error) {
	if !s.Exited() {
		return nil, fmt.Errorf("restart %s: still running; Stop or Kill it first", s)
	}
	return launch(ctx, s.kind, s.cfg)
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string { return logTail(s.LogPath(), n) }

// logTail reads at most the last 64 KiB of path and returns its last n lines.
func logTail(path string, n int) string {
	const maxBytes = 64 << 10
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	var off int64
	if fi, err := f.Stat(); err == nil && fi.Size() > maxBytes {
		off = fi.Size() - maxBytes
	}
	buf := make([]byte, maxBytes)
	k, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:k]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
