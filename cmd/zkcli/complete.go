package main

import (
	"strings"
	"time"
)

// completionTimeout bounds the getChildren a path completion makes, so Tab
// never hangs on a lost server.
const completionTimeout = 2 * time.Second

// complete is the Tab handler (JLineZNodeCompleter): a word starting with
// "/" completes to the children of its parent node, the first word to a
// command name.
func (sh *shell) complete(line string, pos int) (head string, completions []string, tail string) {
	start := strings.LastIndexAny(line[:pos], " \t") + 1
	head, word, tail := line[:start], line[start:pos], line[pos:]
	if strings.HasPrefix(word, "/") {
		return head, sh.completePath(word), tail
	}
	if strings.TrimSpace(head) != "" {
		return head, nil, tail
	}
	for _, name := range commandNames() {
		if strings.HasPrefix(name, word) {
			completions = append(completions, name+" ")
		}
	}
	return head, completions, tail
}

// completePath lists the nodes a partial path may continue to: the
// children of its parent whose names start with its last part.
func (sh *shell) completePath(word string) []string {
	if sh.conn == nil || !sh.conn.State().Alive() {
		return nil
	}
	slash := strings.LastIndexByte(word, '/')
	parent, prefix := word[:slash], word[slash+1:]
	if parent == "" {
		parent = "/"
	}
	done := make(chan childList, 1)
	go func() { done <- <-sh.fetchChildren(parent, false) }()
	var res childList
	select {
	case res = <-done:
	case <-time.After(completionTimeout):
		return nil
	}
	if res.err != nil {
		return nil
	}
	var out []string
	for _, k := range res.children {
		if strings.HasPrefix(k, prefix) {
			out = append(out, childPath(parent, k))
		}
	}
	return out
}
