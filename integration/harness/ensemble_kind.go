package harness

import (
	"fmt"
	"os"
)

// ServerKind is one way to run a server, so the same ensemble code drives zkd and Apache
// ZooKeeper.
type ServerKind struct {
	Name string // "zkd" or "apache", for messages and subtest names
	l    launcher
}

// ApacheKind runs Debian's Apache ZooKeeper (see StartApacheZK); it fails with
// ErrApacheNotInstalled when the package or a JRE is missing.
func ApacheKind() (ServerKind, error) {
	if _, err := ApacheClasspath(); err != nil {
		return ServerKind{}, err
	}
	if _, err := javaPath(); err != nil {
		return ServerKind{}, err
	}
	return ServerKind{Name: "apache", l: apacheLauncher}, nil
}

// ZkdKind runs the zkd binary bin (see StartZkd).
func ZkdKind(bin string) (ServerKind, error) {
	if _, err := os.Stat(bin); err != nil {
		return ServerKind{}, fmt.Errorf("zkd: %w", err)
	}
	return ServerKind{Name: "zkd", l: zkdLauncherFor(bin)}, nil
}

// LogName is the name of the server's log inside its directory (zkd.log or zk.log).
func (k ServerKind) LogName() string { return k.l.logName }

// Spawn starts a server with cfg and returns at once, without waiting for it to serve: an
// ensemble member serves only once a quorum has formed, and a server started to be refused
// may never serve. cfg.Dir is created when missing (empty: a new temporary directory) and a
// zero ClientPort gets a free port. The caller stops the server.
func (k ServerKind) Spawn(cfg Config) (*Server, error) {
	if k.l.argv == nil {
		return nil, fmt.Errorf("spawn: zero ServerKind")
	}
	cfg, err := cfg.resolve(k.l.name + "-*")
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", k.Name, err)
	}
	if cfg.ClientPort == 0 {
		if cfg.ClientPort, err = FreePort(); err != nil {
			return nil, fmt.Errorf("spawn %s: %w", k.Name, err)
		}
	}
	if err := cfg.writeFiles(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", k.Name, err)
	}
	argv, err := k.l.argv(cfg)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", k.Name, err)
	}
	s, _, err := spawn(k.l, cfg, argv)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", k.Name, err)
	}
	return s, nil
}
