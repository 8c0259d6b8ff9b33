package harness

import (
	"errors"
	"os"
	"sync"
	"testing"
)

// Environment variables the test helpers read.
const (
	// EnvRequireApache=1 turns "Apache ZooKeeper is not installed" from a skip into a failure.
	// CI sets it, so differential tests cannot silently stop running.
	EnvRequireApache = "ZABKAFKA_REQUIRE_APACHE"
	// EnvZkdBin names a prebuilt zkd to use instead of building one.
	EnvZkdBin = "ZABKAFKA_ZKD_BIN"
)

// failLogLines is how much of a server's log a failed test prints.
const failLogLines = 40

// toolBuild is one binary built once per test binary.
type toolBuild struct {
	once sync.Once
	dir  string // removed by RemoveBuilds; empty when a prebuilt binary was used
	bin  string
	err  error
}

var zkdBuild, zkcliBuild toolBuild

// ZkdBin returns a zkd binary built once per test binary, or $ZABKAFKA_ZKD_BIN when set. The
// build lives in a directory of its own (os.MkdirTemp) because t.TempDir would vanish with
// the first test that asked for it.
func ZkdBin(t testing.TB) string {
	t.Helper()
	return zkdBuild.get(t, "zkd", os.Getenv(EnvZkdBin), BuildZkd)
}

// ZkcliBin returns a zkcli binary built once per test binary.
func ZkcliBin(t testing.TB) string {
	t.Helper()
	return zkcliBuild.get(t, "zkcli", "", BuildZkcli)
}

func (b *toolBuild) get(t testing.TB, name, prebuilt string, build func(dir string, flags ...string) (string, error)) string {
	t.Helper()
	b.once.Do(func() {
		if prebuilt != "" {
			b.bin = prebuilt
			return
		}
		dir, err := os.MkdirTemp("", "zabkafka-"+name+"-build-*")
		if err != nil {
			b.err = err
			return
		}
		b.dir = dir
		b.bin, b.err = build(dir)
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", name, b.err)
	}
	return b.bin
}

// RemoveBuilds deletes the binaries ZkdBin and ZkcliBin built. Call it from TestMain after
// m.Run, when no test can need them any more; otherwise the builds stay in the temporary
// directory.
func RemoveBuilds() {
	for _, b := range []*toolBuild{&zkdBuild, &zkcliBuild} {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
	}
}

// Zkd starts zkd in a fresh t.TempDir (unless cfg.Dir is set) and stops it when the test
// ends; see StopOnCleanup.
func Zkd(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := ZkdBin(t)
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := StartZkd(t.Context(), bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	StopOnCleanup(t, s)
	return s
}

// ApacheZK starts Apache ZooKeeper like Zkd starts zkd. It skips the test when Apache
// ZooKeeper is not installed, unless ZABKAFKA_REQUIRE_APACHE=1.
func ApacheZK(t testing.TB, cfg Config) *Server {
	t.Helper()
	if _, err := ApacheClasspath(); err != nil {
		skipOrFail(t, err)
	}
	if _, err := javaPath(); err != nil {
		skipOrFail(t, err)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := StartApacheZK(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	StopOnCleanup(t, s)
	return s
}

// Restart starts s again after Stop or Kill and stops the new process when the test ends.
func Restart(t testing.TB, s *Server) *Server {
	t.Helper()
	s2, err := s.Restart(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	StopOnCleanup(t, s2)
	return s2
}

// StopOnCleanup stops s when the test ends. An unclean exit (a crash during the test, or no
// exit after SIGTERM) fails the test; a failed test gets the tail of the server's log.
func StopOnCleanup(t testing.TB, s *Server) {
	t.Helper()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("--- last %d lines of %s (%s) ---\n%s", failLogLines, s.LogPath(), s, s.LogTail(failLogLines))
		}
	})
}

// ZkCli returns the path of zkCli.sh, skipping the test when it is missing (see ApacheZK).
func ZkCli(t testing.TB) string {
	t.Helper()
	p, err := ZkCliPath()
	if err != nil {
		skipOrFail(t, err)
	}
	return p
}

// CCli returns the path of cli_mt, skipping the test when it is missing (see ApacheZK).
func CCli(t testing.TB) string {
	t.Helper()
	p, err := CCliPath()
	if err != nil {
		skipOrFail(t, err)
	}
	return p
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	notInstalled := errors.Is(err, ErrApacheNotInstalled) || errors.Is(err, ErrCCliNotInstalled)
	if notInstalled && os.Getenv(EnvRequireApache) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequireApache)
	}
	t.Fatal(err)
}
