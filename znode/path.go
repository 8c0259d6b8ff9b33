package znode

import (
	"strings"
	"unicode/utf8"
)

// ValidatePath applies ZooKeeper's PathUtils.validatePath rules: an absolute
// path, no trailing slash except for the root, no empty, "." or ".." segment,
// and none of the control or reserved characters Java rejects.
func ValidatePath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	if !utf8.ValidString(p) {
		return false
	}
	for _, c := range p {
		switch {
		case c <= 0x1f,
			c >= 0x7f && c <= 0x9f,
			c >= 0xd800 && c <= 0xf8ff,
			c >= 0xfff0 && c <= 0xffff,
			c > 0xffff: // Java sees a surrogate pair (0xd800-0xdfff) here
			return false
		}
	}
	return true
}

// Parent returns the parent of a valid, non-root path ("/" for top-level).
func Parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Base returns the last segment of a path.
func Base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// Join appends a child name to a parent path.
func Join(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

// ancestors calls fn for p and then every ancestor of p up to the root.
func ancestors(p string, fn func(string)) {
	for {
		fn(p)
		if p == "/" {
			return
		}
		p = Parent(p)
	}
}
