package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(envHelper); spec != "" {
		runNetHelper(spec)
	}
	code := m.Run()
	RemoveBuilds()
	if fakeZkdDir != "" {
		os.RemoveAll(fakeZkdDir)
	}
	os.Exit(code)
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(p)))
	if err != nil {
		t.Fatalf("port %d from FreePort is not bindable: %v", p, err)
	}
	l.Close()
}

func TestZooCfg(t *testing.T) {
	cfg := Config{
		TickTimeMs: 500,
		Dir:        "/x",
		ClientPort: 4000,
		Extra:      map[string]string{"forceSync": "no", "admin.enableServer": "true", "maxClientCnxns": "0"},
	}
	want := `# written by integration/harness
tickTime=500
dataDir=/x/data
clientPort=4000
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=true
forceSync=no
maxClientCnxns=0
`
	if got := cfg.zooCfg(); got != want {
		t.Errorf("zooCfg:\n%s\nwant:\n%s", got, want)
	}
}

func TestListenerOwnedBy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if owned, known := listenerOwnedBy(os.Getpid(), port); !known || !owned {
		t.Errorf("own listener: owned=%v known=%v, want true true", owned, known)
	}
	free, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if owned, _ := listenerOwnedBy(os.Getpid(), free); owned {
		t.Errorf("port %d nobody listens on: owned", free)
	}
}

func TestFourLetterBadCommand(t *testing.T) {
	if _, err := FourLetter("127.0.0.1:1", "stat\n", time.Second); err == nil {
		t.Error("5-byte command accepted")
	}
}

// fakeZkdDir holds the fakezkd build; TestMain removes it.
var fakeZkdDir string

// fakeZkd builds testdata/fakezkd once; it exercises StartZkd while cmd/zkd does not exist.
var fakeZkd = sync.OnceValues(func() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "zabkafka-fakezkd-*")
	if err != nil {
		return "", err
	}
	fakeZkdDir = dir
	out := filepath.Join(dir, "fakezkd")
	return out, goBuild(root, "./integration/harness/testdata/fakezkd", out)
})

func startFake(t *testing.T, cfg Config) (*Server, error) {
	t.Helper()
	bin, err := fakeZkd()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	return StartZkd(t.Context(), bin, cfg)
}

func TestStartZkdStop(t *testing.T) {
	s, err := startFake(t, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := FourLetter(s.Addr(), "ruok", time.Second); err != nil || reply != "imok" {
		t.Errorf("ruok = %q, %v; want imok", reply, err)
	}
	if s.PID() <= 0 || s.Port() <= 0 || !strings.HasSuffix(s.Addr(), ":"+itoa(s.Port())) {
		t.Errorf("pid %d port %d addr %s", s.PID(), s.Port(), s.Addr())
	}
	cfgText, err := os.ReadFile(filepath.Join(s.Dir(), "zoo.cfg"))
	if err != nil || !strings.Contains(string(cfgText), "clientPort="+itoa(s.Port())+"\n") {
		t.Errorf("zoo.cfg = %q, %v", cfgText, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := FourLetter(s.Addr(), "ruok", time.Second); err == nil {
		t.Error("ruok answered after Stop")
	}
	if log := s.LogTail(10); !strings.Contains(log, "fakezkd: SIGTERM") {
		t.Errorf("log tail does not show the SIGTERM:\n%s", log)
	}
}

func TestStartZkdKillRestart(t *testing.T) {
	s, err := startFake(t, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Stop(); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
	if err := s.Wait(); err == nil {
		t.Error("Wait after Kill: nil error, want signal: killed")
	}
	s2, err := s.Restart(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	if s2.Port() != s.Port() || s2.PID() == s.PID() {
		t.Errorf("restart: port %d pid %d, was port %d pid %d", s2.Port(), s2.PID(), s.Port(), s.PID())
	}
	log, _ := os.ReadFile(s2.LogPath())
	if n := strings.Count(string(log), "=== harness"); n != 2 {
		t.Errorf("log has %d start headers, want 2", n)
	}
}

func TestStopReportsUncleanExit(t *testing.T) {
	s, err := startFake(t, Config{Args: []string{"-term-exit=3"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Stop()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Stop = %v, want exit status 3", err)
	}
}

func TestStartZkdPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = startFake(t, Config{ClientPort: l.Addr().(*net.TCPAddr).Port})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("start on a taken port: %v, want ErrPortInUse", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to notice the exit", d)
	}
}

// TestZkd runs the real zkd; it waits for cmd/zkd to exist.
func TestZkd(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "cmd", "zkd", "*.go")); len(m) == 0 && os.Getenv(EnvZkdBin) == "" {
		t.Skip("cmd/zkd has no Go files yet")
	}
	s := Zkd(t, Config{TickTimeMs: 500})
	checkServer(t, s)
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestApacheZK(t *testing.T) {
	s := ApacheZK(t, Config{TickTimeMs: 500})
	checkServer(t, s)

	t.Run("zkCli.sh", func(t *testing.T) {
		out, err := runTool(t, ZkCli(t), "-server", s.Addr(), "get", "/harness")
		if err != nil || !strings.Contains(out, "hello") {
			t.Errorf("zkCli.sh get /harness: %v\n%s", err, out)
		}
	})
	t.Run("cli_mt", func(t *testing.T) {
		out, err := runTool(t, CCli(t), s.Addr(), "cmd:ls /")
		if err != nil || !strings.Contains(out, "harness") {
			t.Errorf("cli_mt ls /: %v\n%s", err, out)
		}
	})

	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if _, err := FourLetter(s.Addr(), "ruok", time.Second); err == nil {
		t.Error("ruok answered after Stop")
	}
}

func TestApacheZKKillRestart(t *testing.T) {
	s := ApacheZK(t, Config{TickTimeMs: 500})
	c := connect(t, s.Addr())
	if _, err := c.Create("/durable", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Kill()
	s2 := Restart(t, s)
	c2 := connect(t, s2.Addr())
	defer c2.Close()
	if data, _, err := c2.Get("/durable"); err != nil || string(data) != "x" {
		t.Errorf("get /durable after kill -9 and restart = %q, %v", data, err)
	}
}

// checkServer runs the four-letter words and a go-zookeeper session against s, leaving
// /harness = "hello" behind.
func checkServer(t *testing.T, s *Server) {
	t.Helper()
	if reply, err := FourLetter(s.Addr(), "ruok", 2*time.Second); err != nil || reply != "imok" {
		t.Errorf("ruok = %q, %v; want imok", reply, err)
	}
	reply, err := FourLetter(s.Addr(), "srvr", 2*time.Second)
	if err != nil || !strings.HasPrefix(reply, "Zookeeper version:") || !strings.Contains(reply, "Mode: standalone") {
		t.Errorf("srvr = %q, %v", reply, err)
	}
	c := connect(t, s.Addr())
	defer c.Close()
	if _, err := c.Create("/harness", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create: %v", err)
	}
	if data, stat, err := c.Get("/harness"); err != nil || string(data) != "hello" || stat.Version != 0 {
		t.Errorf("get = %q, %+v, %v", data, stat, err)
	}
}

// connect opens a go-zookeeper session and waits until it is established.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			c.Close()
			t.Fatalf("no session with %s after 10s", addr)
		}
	}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf("zk: "+format, args...) }

func runTool(t *testing.T, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	return string(out), err
}

func itoa(n int) string { return strconv.Itoa(n) }
