// Command fakezkd stands in for zkd in the harness's own tests while cmd/zkd does not exist:
// it reads clientPortAddress and clientPort from -config, answers ruok and srvr, and exits
// on SIGTERM with the status given by -term-exit.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	config := flag.String("config", "", "zoo.cfg")
	termExit := flag.Int("term-exit", 0, "exit status after SIGTERM")
	flag.Parse()
	cfg, err := readConfig(*config)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(cfg["clientPortAddress"], cfg["clientPort"]))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("fakezkd listening on %s", l.Addr())
	go serve(l)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	log.Printf("fakezkd: SIGTERM, exiting %d", *termExit)
	os.Exit(*termExit)
}

func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			cfg[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return cfg, sc.Err()
}

func serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			cmd := make([]byte, 4)
			if _, err := io.ReadFull(c, cmd); err != nil {
				return
			}
			switch string(cmd) {
			case "ruok":
				io.WriteString(c, "imok")
			case "srvr":
				fmt.Fprintf(c, "Zookeeper version: fakezkd\nMode: standalone\n")
			}
		}()
	}
}
