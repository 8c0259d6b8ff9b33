package integration

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zabkafka/zabkafka/integration/harness"
)

func TestZkdRejectsBadConfigNamingTheKey(t *testing.T) {
	bin := harness.ZkdBin(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zoo.cfg")
	must(t, os.WriteFile(cfg, []byte("tickTime=2000\ndataDir="+dir+"\nclientPort=not-a-port\n"), 0o644))
	out, err := exec.Command(bin, "-config", cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "clientPort") {
		t.Fatalf("error does not name the key:\n%s", out)
	}
	out, err = exec.Command(bin, "-config", filepath.Join(dir, "missing.cfg")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "missing.cfg") {
		t.Fatalf("missing config: %v\n%s", err, out)
	}
}

func TestZkdStopsCleanlyOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cfg := serverConfig()
			cfg.Args = append(cfg.Args, "-log-format", "json")
			cfg.Extra["frobnicate"] = "yes"
			srv := harness.Zkd(t, cfg)
			c := connect(t, srv.Addr())
			_, err := c.Create("/x", nil, 0, openACL)
			must(t, err)
			must(t, srv.Signal(sig))
			if err := srv.Wait(); err != nil {
				t.Fatalf("exit after %v: %v", sig, err)
			}
			// JSON logs: one object per line, the unknown key warned about.
			sawWarning := false
			for _, line := range strings.Split(strings.TrimSpace(readLog(t, srv.LogPath())), "\n") {
				// The harness's own lines: "=== harness" when it starts the
				// process, "--- harness" for each signal it sends.
				if strings.HasPrefix(line, "=== harness") || strings.HasPrefix(line, "--- harness") {
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("not a JSON log line: %q", line)
				}
				if msg, _ := rec["message"].(string); strings.Contains(msg, "frobnicate") && rec["level"] == "warn" {
					sawWarning = true
				}
			}
			if !sawWarning {
				t.Fatal("no warning about the unknown key")
			}
		})
	}
}
