package harness

import (
	"os"
	"path/filepath"
	"testing"
)

var brokerdBuild toolBuild

// BrokerdBin returns a brokerd binary built once per test binary, or
// $ZABKAFKA_BROKERD_BIN when set. It is built next to the zkd that ZkdBin
// builds, so RemoveBuilds removes both.
func BrokerdBin(t testing.TB) string {
	t.Helper()
	return brokerdBuild.get(t, "brokerd", os.Getenv(EnvBrokerdBin), func(dir string, flags ...string) (string, error) {
		if zkdBin := ZkdBin(t); zkdBuild.dir != "" {
			os.RemoveAll(dir)
			brokerdBuild.dir = "" // removed with zkd's directory
			return BuildBrokerd(filepath.Dir(zkdBin), flags...)
		}
		return BuildBrokerd(dir, flags...)
	})
}

// StartBrokerdT starts brokerd in a fresh t.TempDir (unless cfg.Dir is set)
// and stops it when the test ends; a failed test gets the tail of its log.
func StartBrokerdT(t testing.TB, cfg BrokerdConfig) *Brokerd {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	b, err := StartBrokerd(t.Context(), BrokerdBin(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	StopBrokerdOnCleanup(t, b)
	return b
}

// RestartBrokerdT restarts b after it exited and stops the new process when
// the test ends.
func RestartBrokerdT(t testing.TB, b *Brokerd) *Brokerd {
	t.Helper()
	b2, err := b.Restart(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	StopBrokerdOnCleanup(t, b2)
	return b2
}

// StopBrokerdOnCleanup stops b when the test ends; an unclean exit fails the
// test.
func StopBrokerdOnCleanup(t testing.TB, b *Brokerd) {
	t.Helper()
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("--- last %d lines of %s (%s) ---\n%s", failLogLines, b.LogPath(), b, b.LogTail(failLogLines))
		}
	})
}

// Kcat returns the path of Debian's kcat, skipping the test when it is
// missing unless ZABKAFKA_REQUIRE_APACHE=1 (CI installs it).
func Kcat(t testing.TB) string {
	t.Helper()
	p, err := kcatPath()
	if err != nil {
		skipOrFail(t, err)
	}
	return p
}
