package harness

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// FourLetter sends a four-letter command (ruok, srvr, mntr, ...) to addr and returns the whole
// reply. The server writes plain text and closes the connection, so the reply is everything read
// until EOF (ZooKeeper Administrator's Guide, "The Four Letter Words"). timeout bounds the
// whole exchange.
func FourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	if len(cmd) != 4 {
		return "", fmt.Errorf("four-letter command %q: want exactly 4 bytes", cmd)
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		return string(reply), fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	return string(reply), nil
}

// srvrReady reports whether addr answers srvr like a serving ZooKeeper. A server that is up but
// not serving yet answers "This ZooKeeper instance is not currently serving requests".
func srvrReady(addr string) bool {
	reply, err := FourLetter(addr, "srvr", time.Second)
	return err == nil && strings.HasPrefix(reply, "Zookeeper version:")
}
