//go:build !linux

package harness

import "syscall"

func sysProcAttr(Config) *syscall.SysProcAttr { return nil }

// listenerOwnedBy cannot tell without /proc; the caller trusts the srvr answer.
func listenerOwnedBy(pid, port int) (owned, known bool) { return false, false }
