package zkclient

import (
	"fmt"
	"unicode/utf16"
)

// PathError is a path the client refuses before sending anything, with the
// message of Java's PathUtils.validatePath (zkCli prints it as it is).
type PathError struct{ Reason string }

func (e *PathError) Error() string { return e.Reason }

// ValidatePath checks a node path as PathUtils.validatePath does. For a
// sequential create the server appends digits, so a trailing slash is
// allowed there. Positions in messages count UTF-16 units, as Java's do.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if path == "" {
		return &PathError{"Path length must be > 0"}
	}
	if path[0] != '/' {
		return &PathError{"Path must start with / character"}
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return &PathError{"Path must not end with / character"}
	}
	chars := utf16.Encode([]rune(path))
	var reason string
	for i := 1; i < len(chars) && reason == ""; i++ {
		c, last := chars[i], chars[i-1]
		atEnd := i+1 == len(chars) || chars[i+1] == '/'
		switch {
		case c == 0:
			reason = fmt.Sprintf("null character not allowed @%d", i)
		case c == '/' && last == '/':
			reason = fmt.Sprintf("empty node name specified @%d", i)
		case c == '.' && last == '.':
			if chars[i-2] == '/' && atEnd {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c == '.':
			if last == '/' && atEnd {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = fmt.Sprintf("invalid character @%d", i)
		}
	}
	if reason != "" {
		return &PathError{fmt.Sprintf("Invalid path string \"%s\" caused by %s", path, reason)}
	}
	return nil
}
