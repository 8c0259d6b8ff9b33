package main

import (
	"regexp"
	"strings"
)

// argsPattern and quoted are ZooKeeperMain.MyCommandOptions' tokenizer: a
// word, or a single- or double-quoted string whose quotes are dropped.
var (
	argsPattern = regexp.MustCompile(`\s*([^"']\S*|"[^"]*"|'[^']*')\s*`)
)

// splitCommand breaks a command line into words as zkCli.sh does.
func splitCommand(line string) []string {
	var args []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		args = append(args, v)
	}
	return args
}

// optSpec is one short option of a command.
type optSpec struct {
	name   byte
	hasArg bool
}

// options is a parsed command line: option values ("" for flags) and the
// remaining words, the command name first, as commons-cli's CommandLine.
type options struct {
	vals map[byte]string
	args []string
}

func (o options) has(name byte) bool { _, ok := o.vals[name]; return ok }

func (o options) value(name byte) string { return o.vals[name] }

// parseError is commons-cli's ParseException; zkCli prints its toString,
// the exception class and the message. The class name is kept so the
// lines read exactly as zkCli's.
type parseError struct{ class, msg string }

func (e *parseError) Error() string { return "org.apache.commons.cli." + e.class + ": " + e.msg }

// parseOptions parses words with commons-cli's DefaultParser rules, enough
// of them for zkCli's commands: options may appear anywhere, "--" ends
// them, "-v1" and "-v 1" both give v the value 1, "-sw" sets s and w, and
// a negative number is an option's value, not an option.
func parseOptions(specs []optSpec, words []string) (options, error) {
	o := options{vals: map[byte]string{}}
	spec := func(c byte) (optSpec, bool) {
		for _, s := range specs {
			if s.name == c {
				return s, true
			}
		}
		return optSpec{}, false
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			o.args = append(o.args, words[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' {
			o.args = append(o.args, w)
			continue
		}
		s, ok := spec(w[1])
		switch {
		case ok && len(w) == 2 && s.hasArg:
			if i+1 >= len(words) || (isOption(specs, words[i+1])) {
				return o, &parseError{"MissingArgumentException", "Missing argument for option: " + string(s.name)}
			}
			i++
			o.vals[s.name] = words[i]
		case ok && len(w) == 2:
			o.vals[s.name] = ""
		case ok && s.hasArg:
			o.vals[s.name] = w[2:]
		case ok:
			for j := 1; j < len(w); j++ {
				bs, ok := spec(w[j])
				if !ok || bs.hasArg {
					return o, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + w}
				}
				o.vals[bs.name] = ""
			}
		default:
			return o, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + w}
		}
	}
	return o, nil
}

// isOption reports whether w would be read as an option rather than as the
// previous option's value (DefaultParser.isShortOption; negative numbers
// are values).
func isOption(specs []optSpec, w string) bool {
	if len(w) < 2 || w[0] != '-' || isNumber(w[1:]) {
		return false
	}
	for _, s := range specs {
		if s.name == w[1] {
			return true
		}
	}
	return strings.HasPrefix(w, "--")
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}
