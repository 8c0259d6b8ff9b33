// Package testlog is a log sink for tests: many goroutines (a server's,
// a transport's) write to it while the test reads what was logged.
package testlog

import (
	"strings"
	"sync"
)

// Buffer collects written bytes; it is safe for concurrent use. zerolog
// writes each event with one Write, so the content is whole lines.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail returns the last n lines.
func (l *Buffer) Tail(n int) string {
	lines := strings.Split(strings.TrimSuffix(l.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
