package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/jute"
)

// javaDate is java.util.Date.toString: "Sat Nov 21 14:38:49 UTC 2026".
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// printStat is zkCli's StatPrinter.
func printStat(w io.Writer, s jute.Stat) {
	fmt.Fprintf(w, "cZxid = 0x%x\nctime = %s\nmZxid = 0x%x\nmtime = %s\npZxid = 0x%x\n",
		uint64(s.Czxid), javaDate(s.Ctime), uint64(s.Mzxid), javaDate(s.Mtime), uint64(s.Pzxid))
	fmt.Fprintf(w, "cversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%x\ndataLength = %d\nnumChildren = %d\n",
		s.Cversion, s.Version, s.Aversion, uint64(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

// statJSON is a stat for -o json, zxids and the owner in hex as zkCli
// shows them.
func statJSON(s jute.Stat) map[string]any {
	return map[string]any{
		"czxid": fmt.Sprintf("0x%x", uint64(s.Czxid)), "ctime": s.Ctime,
		"mzxid": fmt.Sprintf("0x%x", uint64(s.Mzxid)), "mtime": s.Mtime,
		"pzxid": fmt.Sprintf("0x%x", uint64(s.Pzxid)), "cversion": s.Cversion,
		"dataVersion": s.Version, "aclVersion": s.Aversion,
		"ephemeralOwner": fmt.Sprintf("0x%x", uint64(s.EphemeralOwner)),
		"dataLength":     s.DataLength, "numChildren": s.NumChildren,
	}
}

// permString is ZKUtil.getPermString: the letters of the granted
// permissions in the order c d r w a.
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{jute.PermCreate, 'c'}, {jute.PermDelete, 'd'}, {jute.PermRead, 'r'}, {jute.PermWrite, 'w'}, {jute.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// aclLine is how getAcl prints one entry: the jute Id's CSV form and the
// permissions ("'world,'anyone\n: cdrwa" - the Id's toString ends with a
// newline).
func aclLine(a jute.ACL) string {
	return "'" + a.ID.Scheme + ",'" + a.ID.ID + "\n: " + permString(a.Perms)
}

// parseACL is zkCli's AclParser: comma-separated scheme:id:perm entries.
// Like zkCli it reports malformed entries and unknown permission letters on
// stderr and keeps the rest; an empty result is refused by the caller.
func parseACL(s string, errw io.Writer) []jute.ACL {
	var acl []jute.ACL
	for _, a := range strings.Split(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first == -1 || first == last {
			fmt.Fprintf(errw, "%s does not have the form scheme:id:perm\n", a)
			continue
		}
		var perms int32
		for _, c := range a[last+1:] {
			bit, ok := permBit(c)
			if !ok {
				fmt.Fprintf(errw, "Unknown perm type: %c\n", c)
			}
			perms |= bit
		}
		acl = append(acl, jute.ACL{Perms: perms, ID: jute.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return acl
}

// permBit is the permission a letter of an ACL string grants.
func permBit(c rune) (int32, bool) {
	switch c {
	case 'r':
		return jute.PermRead, true
	case 'w':
		return jute.PermWrite, true
	case 'c':
		return jute.PermCreate, true
	case 'd':
		return jute.PermDelete, true
	case 'a':
		return jute.PermAdmin, true
	}
	return 0, false
}

// parsePerms reads permission letters strictly, for dump files.
func parsePerms(s string) (int32, error) {
	var perms int32
	for _, c := range s {
		bit, ok := permBit(c)
		if !ok {
			return 0, fmt.Errorf("unknown permission %q in %q", c, s)
		}
		perms |= bit
	}
	return perms, nil
}

// parseInt32 parses a numeric option, naming it in the error as zkCli's
// deleteall does for -b ("-b argument must be an int value"); zkCli itself
// dies with a NumberFormatException stack trace for -v.
func parseInt32(opt byte, s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("-%c argument must be an int value", opt)
	}
	return int32(v), nil
}

// versionOpt is the -v option of set, delete and setAcl: -1 (any
// version) when absent.
func versionOpt(o options) (int32, error) {
	if !o.has('v') {
		return -1, nil
	}
	return parseInt32('v', o.value('v'))
}

// openACL is ZooDefs.Ids.OPEN_ACL_UNSAFE.
var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.ID{Scheme: "world", ID: "anyone"}}}

// childPath joins a parent and a child name.
func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
