package harness

import (
	"errors"
	"strings"
	"testing"
)

func TestRunZkdToExit(t *testing.T) {
	bin, err := fakeZkd()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: t.TempDir()}

	// An unknown flag: the fake exits with status 2 before serving.
	bad := cfg
	bad.Args = []string{"-no-such-flag"}
	code, log, err := RunZkdToExit(t.Context(), bin, bad)
	if err != nil {
		t.Fatal(err)
	}
	if code != 2 || !strings.Contains(log, "flag provided but not defined: -no-such-flag") {
		t.Errorf("code %d, log:\n%s", code, log)
	}
	if strings.Count(log, "=== harness") != 1 {
		t.Errorf("log should hold this run only:\n%s", log)
	}

	// A second run in the same dir reports only its own lines.
	code, log, err = RunZkdToExit(t.Context(), bin, bad)
	if err != nil || code != 2 || strings.Count(log, "=== harness") != 1 {
		t.Errorf("second run: code %d, %v, log:\n%s", code, err, log)
	}

	// A server that serves is killed and reported.
	_, log, err = RunZkdToExit(t.Context(), bin, cfg)
	if !errors.Is(err, ErrServed) {
		t.Errorf("serving fake: %v, want ErrServed; log:\n%s", err, log)
	}
}
