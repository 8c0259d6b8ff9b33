package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config describes one standalone server. The zero value is usable.
type Config struct {
	// TickTimeMs is zoo.cfg's tickTime; 0 means 2000, as in Debian's sample zoo.cfg.
	TickTimeMs int
	// Extra holds more zoo.cfg keys (forceSync, maxClientCnxns, server.N, ...). A key here
	// replaces the harness's own value for it, so each key appears once in zoo.cfg.
	Extra map[string]string
	// JVMFlags are appended to the java command line of Apache ZooKeeper, after the harness's
	// own flags, so a later -Xmx or -D wins.
	JVMFlags []string
	// Args are appended to zkd's command line after -config.
	Args []string
	// Env holds extra KEY=value entries for the server's environment.
	Env []string

	// Dir holds zoo.cfg, data/ and the log. Empty means a new temporary directory, which the
	// caller removes when done (Server.Dir).
	Dir string
	// ClientPort is the client port; 0 picks a free one. Restart keeps the port.
	ClientPort int
	// MyID, when positive, is written to data/myid (quorum mode needs it).
	MyID int
	// Gid, when nonzero, is the group id the server process runs with (the user stays the
	// same). Ensembles give each member its own so a packet filter can tell whose socket sent
	// a packet (nft "meta skgid"); it needs root (CAP_SETGID).
	Gid uint32

	// StartTimeout bounds the wait for the first srvr answer; 0 means 20s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL; 0 means 10s.
	StopTimeout time.Duration
}

const (
	defaultTickTimeMs   = 2000
	defaultStartTimeout = 20 * time.Second
	defaultStopTimeout  = 10 * time.Second
)

// resolve fills in the defaults and creates the directory. It returns a copy.
func (c Config) resolve(dirPattern string) (Config, error) {
	if c.TickTimeMs <= 0 {
		c.TickTimeMs = defaultTickTimeMs
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = defaultStartTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = defaultStopTimeout
	}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", dirPattern)
		if err != nil {
			return c, err
		}
		c.Dir = dir
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = dir
	return c, os.MkdirAll(c.DataDir(), 0o755)
}

// ConfigPath is <Dir>/zoo.cfg.
func (c Config) ConfigPath() string { return filepath.Join(c.Dir, "zoo.cfg") }

// DataDir is <Dir>/data.
func (c Config) DataDir() string { return filepath.Join(c.Dir, "data") }

// zooCfg renders zoo.cfg: the harness's keys in a fixed order, then the remaining Extra keys
// sorted, so the file is the same for the same Config.
func (c Config) zooCfg() string {
	base := [][2]string{
		{"tickTime", strconv.Itoa(c.TickTimeMs)},
		{"dataDir", c.DataDir()},
		{"clientPort", strconv.Itoa(c.ClientPort)},
		{"clientPortAddress", "127.0.0.1"},
		// Tests and the bench use mntr, ruok and friends; the default whitelist is srvr only.
		{"4lw.commands.whitelist", "*"},
		// The AdminServer would take port 8080 on every instance.
		{"admin.enableServer", "false"},
	}
	var b strings.Builder
	b.WriteString("# written by integration/harness\n")
	seen := make(map[string]bool, len(base))
	for _, kv := range base {
		seen[kv[0]] = true
		v := kv[1]
		if x, ok := c.Extra[kv[0]]; ok {
			v = x
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], v)
	}
	keys := make([]string, 0, len(c.Extra))
	for k := range c.Extra {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, c.Extra[k])
	}
	return b.String()
}

// writeFiles writes zoo.cfg and, when MyID is set, data/myid.
func (c Config) writeFiles() error {
	if err := os.WriteFile(c.ConfigPath(), []byte(c.zooCfg()), 0o644); err != nil {
		return err
	}
	if c.MyID > 0 {
		myid := filepath.Join(c.DataDir(), "myid")
		return os.WriteFile(myid, []byte(strconv.Itoa(c.MyID)+"\n"), 0o644)
	}
	return nil
}
