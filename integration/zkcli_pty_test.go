//go:build linux

package integration

// zkcli's interactive shell on a pseudo-terminal, driven by keystrokes:
// Tab completion of a path, history recall (in the session and across
// runs), Ctrl-C during `watch`, and the reconnect messages when the server
// restarts.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// openPTY opens a pseudo-terminal pair of 120x40 characters.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if err := ioctl(m, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	var n uint32
	if err := ioctl(m, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); err != nil {
		t.Fatalf("pty number: %v", err)
	}
	ws := struct{ rows, cols, x, y uint16 }{40, 120, 0, 0}
	if err := ioctl(m, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	return m, s
}

func ioctl(f *os.File, req, arg uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, arg); errno != 0 {
		return errno
	}
	return nil
}

// terminal is zkcli running on a pty: keystrokes in, screen text out.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen strings.Builder
	seen   int // screen offset up to which expect has matched
}

func startTerminal(t *testing.T, history string, args ...string) *terminal {
	t.Helper()
	master, slave := openPTY(t)
	cmd := exec.Command(harness.ZkcliBin(t), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm", "ZKCLI_HISTORY="+history)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	term := &terminal{t: t, master: master, cmd: cmd}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		master.Close()
	})
	return term
}

func (term *terminal) typeKeys(keys string) {
	term.t.Helper()
	if _, err := term.master.WriteString(keys); err != nil {
		term.t.Fatalf("type %q: %v", keys, err)
	}
}

// expect waits until text appears on the screen after what earlier
// expects matched.
func (term *terminal) expect(text string) {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		term.mu.Lock()
		screen := term.screen.String()
		term.mu.Unlock()
		if i := strings.Index(screen[term.seen:], text); i >= 0 {
			term.seen += i + len(text)
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("%q did not appear; screen since the last match:\n%s", text, screen[term.seen:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestZkcliInteractive(t *testing.T) {
	s := startZkd(t)
	c := connect(t, s.Addr())
	open := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/completeme", "/w"} {
		if _, err := c.Create(p, []byte("found "+p), 0, open); err != nil {
			t.Fatal(err)
		}
	}
	history := filepath.Join(t.TempDir(), "history")

	term := startTerminal(t, history, "-server", s.Addr())
	term.expect("JLine support is enabled")
	term.expect("[zk: " + s.Addr() + "(CONNECTED) 0] ")

	// Tab completes a command name, then the only node starting with
	// /compl.
	term.typeKeys("getAllCh\t")
	term.expect("getAllChildrenNumber ")
	term.typeKeys("/\r")
	term.expect("\n5") // completeme, w, zookeeper and its two children
	term.expect("(CONNECTED) 1] ")
	term.typeKeys("get /compl\t")
	term.expect("/completeme")
	term.typeKeys("\r")
	term.expect("found /completeme")
	term.expect("(CONNECTED) 2] ")

	// Up recalls the last line.
	term.typeKeys("\x1b[A\r")
	term.expect("found /completeme")
	term.expect("(CONNECTED) 3] ")

	// watch streams events until Ctrl-C, then the prompt is back.
	term.typeKeys("watch /w\r")
	term.expect("watching /w; Ctrl-C stops")
	if _, err := c.Create("/w/x", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	term.expect("NodeCreated /w/x")
	if _, err := c.Set("/w/x", []byte("1"), -1); err != nil {
		t.Fatal(err)
	}
	term.expect("NodeDataChanged /w/x")
	term.typeKeys("\x03")
	term.expect("(CONNECTED) 4] ")
	term.typeKeys("get /w\r")
	term.expect("found /w")

	// The server restarts: the shell says it lost the connection and got
	// it back, with the same session.
	s.Stop()
	term.expect("WatchedEvent state:Disconnected type:None path:null")
	s = harness.Restart(t, s)
	term.expect("WatchedEvent state:SyncConnected type:None path:null")
	term.typeKeys("get /completeme\r")
	term.expect("found /completeme")
	term.typeKeys("quit\r")
	if err := term.cmd.Wait(); err != nil {
		t.Fatalf("zkcli after quit: %v", err)
	}

	// History survives the run.
	saved, err := os.ReadFile(history)
	if err != nil || !strings.Contains(string(saved), "watch /w") {
		t.Fatalf("history file: %q, %v", saved, err)
	}
	term2 := startTerminal(t, history, "-server", s.Addr())
	term2.expect("(CONNECTED) 0] ")
	term2.typeKeys("\x1b[A\x1b[A\r") // quit, then the get before it
	term2.expect("found /completeme")
}
