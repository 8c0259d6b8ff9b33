package harness

import (
	"os"
	"testing"
)

// EnvKeepDirs=1 keeps the directories of test ensembles (logs, data) after the test.
const EnvKeepDirs = "ZABKAFKA_KEEP_DIRS"

// ApacheKindFor returns ApacheKind, skipping the test when Apache ZooKeeper is not installed
// (unless ZABKAFKA_REQUIRE_APACHE=1, see ApacheZK).
func ApacheKindFor(t testing.TB) ServerKind {
	t.Helper()
	k, err := ApacheKind()
	if err != nil {
		skipOrFail(t, err)
	}
	return k
}

// ZkdKindFor returns the kind for the zkd binary of this test run (ZkdBin).
func ZkdKindFor(t testing.TB) ServerKind {
	t.Helper()
	k, err := ZkdKind(ZkdBin(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// RequirePartitions skips the test when this machine cannot cut connections between members
// (PartitionsSupported), or fails it when ZABKAFKA_REQUIRE_APACHE=1, which CI sets: CI runs as
// root with nftables installed.
func RequirePartitions(t testing.TB) {
	t.Helper()
	if err := PartitionsSupported(); err != nil {
		skipOrFailRequired(t, err)
	}
}

// StartTestEnsemble starts an ensemble in a fresh t.TempDir (unless cfg.Dir is set) and closes it when
// the test ends. An unclean stop fails the test; a failed test gets the tail of every
// member's log.
func StartTestEnsemble(t testing.TB, kind ServerKind, cfg EnsembleConfig) *Ensemble {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
		if os.Getenv(EnvKeepDirs) == "1" {
			dir, err := os.MkdirTemp("", "ensemble-"+kind.Name+"-*")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Dir = dir
			t.Logf("%s=1: the ensemble's directories stay in %s", EnvKeepDirs, dir)
		}
	}
	e, err := StartEnsemble(t.Context(), kind, cfg)
	if err != nil {
		t.Fatal(err)
	}
	CloseOnCleanup(t, e)
	return e
}

// ensembleFailLogLines is how much of each member's log a failed ensemble test prints: more
// than failLogLines, because a member's view of an election spans several peers' messages.
const ensembleFailLogLines = 80

// CloseOnCleanup closes e when the test ends, as StartTestEnsemble does.
func CloseOnCleanup(t testing.TB, e *Ensemble) {
	t.Helper()
	t.Cleanup(func() {
		// The tails are taken before the members stop, so that they show the failure rather
		// than the shutdown.
		var tails string
		if t.Failed() {
			tails = e.LogTails(ensembleFailLogLines)
		}
		if err := e.Close(); err != nil {
			t.Errorf("close ensemble: %v", err)
			tails = e.LogTails(ensembleFailLogLines)
		}
		if tails != "" {
			t.Logf("%s ensemble logs:\n%s", e.Kind.Name, tails)
		}
	})
}

// skipOrFailRequired skips the test for a missing facility, or fails it when
// ZABKAFKA_REQUIRE_APACHE=1 says CI provides everything.
func skipOrFailRequired(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvRequireApache) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequireApache)
	}
	t.Fatal(err)
}
