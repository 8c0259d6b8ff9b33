// Package testwait lets a test wait for a condition with a deadline instead
// of sleeping for a guessed time: polling the condition is the
// synchronisation, and the deadline turns a hang into a failure that says
// what never happened.
package testwait

import (
	"testing"
	"time"
)

// Interval is how often For checks its condition.
const Interval = 10 * time.Millisecond

// For polls cond every Interval until it holds, or fails the test once d
// has passed, naming what it waited for.
func For(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(Interval)
	}
}
