package harness

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr makes the kernel SIGKILL the server when the process that started it dies (a
// panicking or timed-out test binary), so no server outlives its test holding a port. The
// signal follows the thread that forked; the Go runtime only ends a thread when a goroutine
// locked to it exits, and the harness never locks one. A nonzero cfg.Gid becomes the process's
// group id, with the user and supplementary groups unchanged.
func sysProcAttr(cfg Config) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.Gid != 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: cfg.Gid, NoSetGroups: true}
	}
	return attr
}

// listenerOwnedBy reports whether pid holds a listening TCP socket on port. known is false
// when /proc cannot tell (then the caller trusts the srvr answer).
func listenerOwnedBy(pid, port int) (owned, known bool) {
	inodes := make(map[string]bool)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listenInodes(f, port, inodes); err != nil {
			return false, false
		}
	}
	if len(inodes) == 0 {
		return false, true
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false, false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		// Socket links read "socket:[<inode>]".
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, true
		}
	}
	return false, true
}

// listenInodes adds the inodes of sockets listening on port, from one /proc/net/tcp* table,
// whose lines read "sl local_address rem_address st ... inode" with hex "addr:port" and
// st 0A for LISTEN.
func listenInodes(path string, port int, into map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // no IPv6 in this kernel
		}
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
			into[fields[9]] = true
		}
	}
	return sc.Err()
}
