package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestBrokerdDevModeDefaults runs brokerd with no configuration at all, as
// the README's first command does (only the port moved off 9092 so tests can
// run anywhere): one broker, id 0, on 127.0.0.1, data under
// ./data/brokerd with its embedded zkd; SIGTERM stops it with status 0.
func TestBrokerdDevModeDefaults(t *testing.T) {
	bin := harness.BrokerdBin(t)
	dir := t.TempDir()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "brokerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-port", strconv.Itoa(port))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "brokerd.log"))
			t.Logf("brokerd log:\n%s", b)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	pollUntil(t, 30*time.Second, "the dev-mode broker to serve", func() bool {
		ok, _ := harness.ProbeBrokerd(addr, 0)
		return ok
	})
	for _, p := range []string{"data/brokerd/kafka-logs/meta.properties", "data/brokerd/zookeeper/zkd-db"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	meta, _ := os.ReadFile(filepath.Join(dir, "data/brokerd/kafka-logs/meta.properties"))
	if !strings.Contains(string(meta), "broker.id=0\n") {
		t.Fatalf("meta.properties:\n%s", meta)
	}
	createTopicAndWait(t, []string{addr}, "dev", 1, nil)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
}
