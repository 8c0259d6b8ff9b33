package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// BrokerdPackage is the import path of brokerd's main package.
const BrokerdPackage = "github.com/zabkafka/zabkafka/cmd/brokerd"

// EnvBrokerdBin names a prebuilt brokerd to use instead of building one.
const EnvBrokerdBin = "ZABKAFKA_BROKERD_BIN"

// BuildBrokerd builds brokerd into <dir>/brokerd and returns that path.
func BuildBrokerd(dir string, buildFlags ...string) (string, error) {
	return buildTool(dir, BrokerdPackage, "brokerd", buildFlags...)
}

// BrokerdConfig describes one brokerd process. The zero value is a dev-mode
// broker 0 (embedded zkd) in a new temporary directory.
type BrokerdConfig struct {
	// ID is broker.id.
	ID int32
	// ZooKeeper is zookeeper.connect; empty runs dev mode, whose embedded
	// zkd keeps its data in <Dir>/data.
	ZooKeeper string
	// Props holds more server.properties keys; they replace the harness's.
	Props map[string]string
	// Args are appended to brokerd's command line before the properties file.
	Args []string
	// Env holds extra KEY=value entries for the environment.
	Env []string
	// Dir holds server.properties, logs/ and brokerd.log. Empty means a new
	// temporary directory, which the caller removes.
	Dir string
	// Port is the PLAINTEXT listener port on 127.0.0.1; 0 picks a free one.
	// Restart keeps it.
	Port int
	// StartTimeout bounds the wait until the broker serves metadata that
	// lists itself; 0 means 30s. StopTimeout is how long Stop waits after
	// SIGTERM before SIGKILL; 0 means 20s.
	StartTimeout, StopTimeout time.Duration
}

// LogDir is the broker's log.dirs.
func (c BrokerdConfig) LogDir() string { return filepath.Join(c.Dir, "logs") }

// PropertiesPath is <Dir>/server.properties.
func (c BrokerdConfig) PropertiesPath() string { return filepath.Join(c.Dir, "server.properties") }

// properties renders server.properties: the harness's keys, then Props,
// sorted, each key once.
func (c BrokerdConfig) properties() string {
	keys := map[string]string{
		"broker.id":                            strconv.Itoa(int(c.ID)),
		"listeners":                            fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", c.Port),
		"log.dirs":                             c.LogDir(),
		"zookeeper.session.timeout.ms":         "6000",
		"controlled.shutdown.retry.backoff.ms": "200",
	}
	if c.ZooKeeper != "" {
		keys["zookeeper.connect"] = c.ZooKeeper
	}
	for k, v := range c.Props {
		keys[k] = v
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# written by integration/harness\n")
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%s\n", k, keys[k])
	}
	return b.String()
}

func (c BrokerdConfig) resolve() (BrokerdConfig, error) {
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 20 * time.Second
	}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", "brokerd-*")
		if err != nil {
			return c, err
		}
		c.Dir = dir
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = dir
	return c, os.MkdirAll(c.Dir, 0o755)
}

// Brokerd is one brokerd process. Its methods are safe for concurrent use.
type Brokerd struct {
	bin     string
	cfg     BrokerdConfig
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	killed  atomic.Bool
}

// StartBrokerd runs `bin [Args] <Dir>/server.properties` in Dir with its
// output in <Dir>/brokerd.log, and waits until it answers a Metadata request
// listing itself, which it does once the controller has sent it the cluster's
// metadata. ctx bounds only the start.
func StartBrokerd(ctx context.Context, bin string, cfg BrokerdConfig) (*Brokerd, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("start brokerd: %w", err)
	}
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("start brokerd: %w", err)
	}
	pick := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if pick {
			if cfg.Port, err = FreePort(); err != nil {
				return nil, fmt.Errorf("start brokerd: %w", err)
			}
		}
		b, err := launchBrokerd(ctx, bin, cfg)
		if err == nil {
			return b, nil
		}
		if !pick || attempt == maxPortAttempts || !errors.Is(err, ErrPortInUse) {
			return nil, err
		}
	}
}

func launchBrokerd(ctx context.Context, bin string, cfg BrokerdConfig) (*Brokerd, error) {
	if err := os.WriteFile(cfg.PropertiesPath(), []byte(cfg.properties()), 0o644); err != nil {
		return nil, fmt.Errorf("start brokerd: %w", err)
	}
	argv := append([]string{bin, "-log-level", "info", "-data-dir", filepath.Join(cfg.Dir, "data")}, cfg.Args...)
	argv = append(argv, cfg.PropertiesPath())
	logPath := filepath.Join(cfg.Dir, "brokerd.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== harness %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cfg.Dir
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(Config{}) // brokers join no partition group
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("start brokerd: %w", err)
	}
	b := &Brokerd{bin: bin, cfg: cfg, cmd: cmd, done: make(chan struct{})}
	go func() {
		b.waitErr = cmd.Wait()
		close(b.done)
	}()
	if err := b.waitReady(ctx); err != nil {
		b.Kill()
		return nil, err
	}
	return b, nil
}

func (b *Brokerd) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if ok, _ := ProbeBrokerd(b.Addr(), b.cfg.ID); ok {
			if owned, known := listenerOwnedBy(b.PID(), b.cfg.Port); owned || !known {
				return nil
			}
		}
		select {
		case <-b.done:
			tail := b.LogTail(startLogLines)
			err := fmt.Errorf("exited before serving: %v", b.waitErr)
			if strings.Contains(strings.ToLower(tail), "address already in use") {
				err = fmt.Errorf("%w: %w", ErrPortInUse, err)
			}
			return b.startError(err, tail)
		case <-ctx.Done():
			return b.startError(fmt.Errorf("no metadata listing broker %d within %v: %w", b.cfg.ID, b.cfg.StartTimeout, ctx.Err()), b.LogTail(startLogLines))
		case <-tick.C:
		}
	}
}

func (b *Brokerd) startError(err error, tail string) error {
	return fmt.Errorf("start %s: %w\n--- last lines of %s ---\n%s", b, err, b.LogPath(), tail)
}

// Addr is "127.0.0.1:<port>".
func (b *Brokerd) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.cfg.Port) }

// ID is the broker id.
func (b *Brokerd) ID() int32 { return b.cfg.ID }

// Config is the resolved configuration (Dir and Port set).
func (b *Brokerd) Config() BrokerdConfig { return b.cfg }

// Dir holds server.properties, logs/ and the log.
func (b *Brokerd) Dir() string { return b.cfg.Dir }

// LogPath is the process log; restarts append to it.
func (b *Brokerd) LogPath() string { return filepath.Join(b.cfg.Dir, "brokerd.log") }

// PID is the process id.
func (b *Brokerd) PID() int { return b.cmd.Process.Pid }

func (b *Brokerd) String() string {
	return fmt.Sprintf("brokerd %d pid %d on %s", b.cfg.ID, b.PID(), b.Addr())
}

// Done is closed when the process has exited.
func (b *Brokerd) Done() <-chan struct{} { return b.done }

// Exited reports whether the process has exited.
func (b *Brokerd) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Signal sends sig, e.g. SIGSTOP and SIGCONT.
func (b *Brokerd) Signal(sig os.Signal) error { return b.cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the exit.
func (b *Brokerd) Kill() {
	b.killed.Store(true)
	_ = b.cmd.Process.Kill()
	<-b.done
}

// Stop sends SIGTERM (and SIGCONT, for a stopped process) and waits up to
// StopTimeout before SIGKILL. It returns nil for exit status 0 or after Kill.
func (b *Brokerd) Stop() error {
	if !b.Exited() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		_ = b.cmd.Process.Signal(syscall.SIGCONT)
		timer := time.NewTimer(b.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-b.done:
		case <-timer.C:
			_ = b.cmd.Process.Kill()
			<-b.done
			return fmt.Errorf("%s: %w (waited %v)", b, ErrStopTimeout, b.cfg.StopTimeout)
		}
	}
	if b.waitErr == nil || b.killed.Load() {
		return nil
	}
	return fmt.Errorf("%s exited: %w", b, b.waitErr)
}

// Restart starts the same broker again (same directory, data and port)
// after it exited.
func (b *Brokerd) Restart(ctx context.Context) (*Brokerd, error) {
	if !b.Exited() {
		return nil, fmt.Errorf("restart %s: still running", b)
	}
	return launchBrokerd(ctx, b.bin, b.cfg)
}

// LogTail returns the last n lines of the log.
func (b *Brokerd) LogTail(n int) string { return logTail(b.LogPath(), n) }
