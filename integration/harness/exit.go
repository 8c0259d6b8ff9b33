package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// ErrServed means a server that was expected to refuse to start answered srvr instead.
var ErrServed = errors.New("server started serving; it was expected to exit")

// RunZkdToExit runs `bin -config <Dir>/zoo.cfg` plus cfg.Args like StartZkd, for a start that
// must fail (a data dir zkd has to refuse): it waits until the process exits and returns its
// exit code and what this run wrote to the log (earlier runs in the same Dir are left out).
// A zkd that answers srvr instead is killed and reported with ErrServed; one that neither
// serves nor exits within cfg.StartTimeout (or ctx) is killed and reported too. A process
// ended by a signal has code -1.
func RunZkdToExit(ctx context.Context, bin string, cfg Config) (code int, log string, err error) {
	if _, err := os.Stat(bin); err != nil {
		return 0, "", fmt.Errorf("run zkd: %w", err)
	}
	l := zkdLauncher
	cfg, err = cfg.resolve(l.name + "-*")
	if err != nil {
		return 0, "", fmt.Errorf("run zkd: %w", err)
	}
	if cfg.ClientPort == 0 {
		if cfg.ClientPort, err = FreePort(); err != nil {
			return 0, "", fmt.Errorf("run zkd: %w", err)
		}
	}
	if err := cfg.writeFiles(); err != nil {
		return 0, "", fmt.Errorf("run zkd: %w", err)
	}
	argv := append([]string{bin, "-config", cfg.ConfigPath()}, cfg.Args...)
	s, offset, err := spawn(l, cfg, argv)
	if err != nil {
		return 0, "", fmt.Errorf("run zkd: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-s.done:
			done = true
		case <-ctx.Done():
			s.Kill()
			return 0, readFrom(s.LogPath(), offset), fmt.Errorf("%s neither served nor exited within %v: %w", s, cfg.StartTimeout, ctx.Err())
		case <-tick.C:
			if srvrReady(s.Addr()) {
				if owned, known := listenerOwnedBy(s.PID(), s.Port()); owned || !known {
					s.Kill()
					return 0, readFrom(s.LogPath(), offset), fmt.Errorf("%s: %w", s, ErrServed)
				}
			}
		}
	}
	code = 0
	if s.waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(s.waitErr, &ee) {
			return 0, readFrom(s.LogPath(), offset), fmt.Errorf("%s: %w", s, s.waitErr)
		}
		code = ee.ExitCode()
	}
	return code, readFrom(s.LogPath(), offset), nil
}

// readFrom returns the contents of path from offset on.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return string(b)
}
