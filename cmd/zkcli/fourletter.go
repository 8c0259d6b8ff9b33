package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Four-letter words need no session: they open their own connection to
// the server the shell is connected to (or would connect to).
func init() {
	for _, w := range []string{"mntr", "srvr", "ruok", "conf", "cons", "envi", "stat4", "wchs", "dirs"} {
		word := strings.TrimSuffix(w, "4") // "stat" is the znode command; stat4 sends the word "stat"
		register(&command{name: w, usage: "# the '" + word + "' four-letter word", noSession: true,
			local: func(sh *shell, args []string) (bool, error) { return false, sh.fourLetter(word) }})
	}
}

// fourLetterTimeout bounds a four-letter word's exchange.
const fourLetterTimeout = 5 * time.Second

func (sh *shell) fourLetter(word string) error {
	server := sh.server
	if sh.conn != nil {
		server = sh.conn.Server()
	} else if addrs, err := splitServers(server); err == nil {
		server = addrs[0]
	}
	nc, err := net.DialTimeout("tcp", server, fourLetterTimeout)
	if err != nil {
		return fmt.Errorf("%s: %w", word, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(fourLetterTimeout))
	if _, err := io.WriteString(nc, word); err != nil {
		return fmt.Errorf("%s: %w", word, err)
	}
	reply, err := io.ReadAll(nc)
	if err != nil {
		return fmt.Errorf("%s: %w", word, err)
	}
	if sh.json {
		sh.emit(map[string]any{"command": word, "server": server, "output": string(reply)})
		return nil
	}
	sh.printf("%s", reply)
	if len(reply) > 0 && reply[len(reply)-1] != '\n' {
		sh.printf("\n")
	}
	return nil
}
