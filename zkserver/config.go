package zkserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is a zoo.cfg, validated. Field names follow the config keys.
type Config struct {
	TickTime          time.Duration // tickTime
	InitLimit         int           // initLimit (ticks)
	SyncLimit         int           // syncLimit (ticks)
	DataDir           string        // dataDir
	DataLogDir        string        // dataLogDir (defaults to dataDir)
	ClientPort        int           // clientPort
	ClientPortAddress string        // clientPortAddress
	MinSessionTimeout time.Duration // minSessionTimeout (default 2 ticks)
	MaxSessionTimeout time.Duration // maxSessionTimeout (default 20 ticks)
	MaxClientCnxns    int           // maxClientCnxns per client IP, 0 = unlimited

	// FourLetterWords is 4lw.commands.whitelist: the allowed commands, or
	// "*" for all. ZooKeeper's default allows only srvr.
	FourLetterWords []string

	// ExtendedTypesEnabled allows TTL nodes (zookeeper.extendedTypesEnabled).
	ExtendedTypesEnabled bool
	// SuperDigest is DigestAuthenticationProvider.superDigest
	// ("super:<base64 sha1>"): a digest auth matching it is a superuser.
	SuperDigest string
	// ContainerCheckInterval is znode.container.checkIntervalMs.
	ContainerCheckInterval time.Duration
	// ContainerMaxPerMinute is znode.container.maxPerMinute.
	ContainerMaxPerMinute int
	// GlobalOutstandingLimit bounds queued requests before reading pauses.
	GlobalOutstandingLimit int

	// SnapCount is snapCount: a snapshot is taken after a random number of
	// txns between SnapCount/2 and SnapCount, as ZooKeeper does so the
	// members of an ensemble do not all snapshot at once.
	SnapCount int
	// SnapRetainCount is autopurge.snapRetainCount (at least 3).
	SnapRetainCount int
	// PurgeInterval is autopurge.purgeInterval: ZooKeeper's value is in
	// hours; zkd also accepts a Go duration ("90s"). 0 disables purging.
	PurgeInterval time.Duration
	// ForceSync is forceSync: a write is acknowledged only after its txn is
	// fsynced. "no" trades durability for latency, as in ZooKeeper.
	ForceSync bool
	// TxnValueLog is zkd.txnValueLog (zkd only): keep txns in badger's
	// value log instead of its LSM tree. The tree then holds only small
	// pointers, so its compactions stop rewriting every txn as the log
	// grows: write latency stays flat over millions of txns (autopurge off),
	// at the cost of a second file synced per commit.
	TxnValueLog bool
	// FsyncWarningThreshold is fsync.warningthresholdms: a txn-log sync
	// slower than this is logged as a warning (1s, ZooKeeper's default).
	FsyncWarningThreshold time.Duration

	// ServerID is the myid of this server (0 for standalone).
	ServerID int64
	// Servers holds the server.N lines (ParsePeerSpec reads one); more than
	// one makes an ensemble.
	Servers map[int64]string
	// PeerType is peerType: "participant" or "observer".
	PeerType string

	// Raw holds every key as read, in file order, for the conf command.
	Raw [][2]string
}

// DefaultConfig is a standalone server on 127.0.0.1:2181 with ZooKeeper's
// defaults.
func DefaultConfig() *Config {
	c := &Config{
		TickTime:               3000 * time.Millisecond,
		InitLimit:              10,
		SyncLimit:              5,
		DataDir:                "data/zkd",
		ClientPort:             2181,
		ClientPortAddress:      "127.0.0.1",
		MaxClientCnxns:         60,
		MinSessionTimeout:      6 * time.Second,  // 2 ticks
		MaxSessionTimeout:      60 * time.Second, // 20 ticks
		FourLetterWords:        []string{"srvr"},
		ContainerCheckInterval: 60 * time.Second,
		ContainerMaxPerMinute:  10000,
		GlobalOutstandingLimit: 1000,
		SnapCount:              100000,
		SnapRetainCount:        3,
		ForceSync:              true,
		FsyncWarningThreshold:  time.Second,
		Servers:                map[int64]string{},
	}
	return c
}

// javaOnlyPrefixes name settings of the Java server that have no meaning for zkd
// (netty, TLS, SASL, JMX, metrics providers). They are accepted with a
// warning so an existing zoo.cfg keeps working.
var javaOnlyPrefixes = []string{
	"serverCnxnFactory", "ssl.", "sslQuorum", "secureClientPort", "authProvider.", "quorum.auth",
	"jaasLoginRenew", "kerberos", "metricsProvider.", "admin.", "portUnification", "client.portUnification",
	"zookeeper.", "jute.", "audit.", "multiAddress.", "quorumListenOnAllIPs", "electionAlg",
	"localSessions", "observerMasterPort", "connectToLearnerMasterLimit", "dynamicConfigFile",
	"standaloneEnabled", "reconfigEnabled", "emulate353TTLNodes", "preAllocSize",
	"syncEnabled", "digest.", "skipACL", "cnxTimeout",
	"fsync.warningthresholdms", "requestThrottle", "largeRequest",
}

// ParseConfig reads a zoo.cfg. Errors name the key. Unknown keys and keys
// only the Java server understands come back as warnings.
func ParseConfig(r io.Reader) (*Config, []string, error) {
	c := DefaultConfig()
	var warnings []string
	var minSet, maxSet bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, nil, fmt.Errorf("line %d: %q is not key=value", line, s)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		c.Raw = append(c.Raw, [2]string{k, v})
		var err error
		switch {
		case k == "tickTime":
			c.TickTime, err = parseMs(v)
		case k == "initLimit":
			c.InitLimit, err = parseInt(v)
		case k == "syncLimit":
			c.SyncLimit, err = parseInt(v)
		case k == "dataDir":
			c.DataDir = v
		case k == "dataLogDir":
			c.DataLogDir = v
		case k == "clientPort":
			c.ClientPort, err = parseInt(v)
		case k == "clientPortAddress":
			c.ClientPortAddress = v
		case k == "minSessionTimeout":
			c.MinSessionTimeout, err = parseMs(v)
			minSet = true
		case k == "maxSessionTimeout":
			c.MaxSessionTimeout, err = parseMs(v)
			maxSet = true
		case k == "maxClientCnxns":
			c.MaxClientCnxns, err = parseInt(v)
		case k == "globalOutstandingLimit":
			c.GlobalOutstandingLimit, err = parseInt(v)
		case k == "4lw.commands.whitelist" || k == "zookeeper.4lw.commands.whitelist":
			c.FourLetterWords = nil
			for w := range strings.SplitSeq(v, ",") {
				if w = strings.TrimSpace(w); w != "" {
					c.FourLetterWords = append(c.FourLetterWords, w)
				}
			}
		case k == "extendedTypesEnabled" || k == "zookeeper.extendedTypesEnabled":
			c.ExtendedTypesEnabled, err = strconv.ParseBool(v)
		case k == "DigestAuthenticationProvider.superDigest" || k == "zookeeper.DigestAuthenticationProvider.superDigest":
			if !strings.Contains(v, ":") {
				err = fmt.Errorf("want user:base64hash")
			}
			c.SuperDigest = v
		case k == "snapCount" || k == "zookeeper.snapCount":
			c.SnapCount, err = parseInt(v)
			if err == nil && c.SnapCount < 2 {
				warnings = append(warnings, fmt.Sprintf("%s=%s: raised to 2, the smallest ZooKeeper allows", k, v))
				c.SnapCount = 2
			}
		case k == "autopurge.snapRetainCount":
			c.SnapRetainCount, err = parseInt(v)
			if err == nil && c.SnapRetainCount < 3 {
				warnings = append(warnings, fmt.Sprintf("%s=%s: raised to 3, the smallest ZooKeeper allows", k, v))
				c.SnapRetainCount = 3
			}
		case k == "autopurge.purgeInterval":
			c.PurgeInterval, err = parseHoursOrDuration(v)
		case k == "forceSync" || k == "zookeeper.forceSync":
			c.ForceSync, err = parseYesNo(v)
		case k == "fsync.warningthresholdms" || k == "zookeeper.fsync.warningthresholdms":
			c.FsyncWarningThreshold, err = parseMs(v)
			if err == nil && c.FsyncWarningThreshold <= 0 {
				err = fmt.Errorf("must be > 0")
			}
		case k == "zkd.txnValueLog":
			c.TxnValueLog, err = parseYesNo(v)
		case k == "znode.container.checkIntervalMs":
			c.ContainerCheckInterval, err = parseMs(v)
		case k == "znode.container.maxPerMinute":
			c.ContainerMaxPerMinute, err = parseInt(v)
		case strings.HasPrefix(k, "server."):
			var id int64
			id, err = strconv.ParseInt(strings.TrimPrefix(k, "server."), 10, 64)
			if err == nil && (id < 1 || id > 254) {
				err = fmt.Errorf("server id must be within 1..254")
			}
			if err == nil {
				_, err = ParsePeerSpec(id, v)
			}
			c.Servers[id] = v
		case k == "peerType":
			c.PeerType = strings.ToLower(v)
			if c.PeerType != "participant" && c.PeerType != "observer" {
				err = fmt.Errorf("want participant or observer")
			}
		default:
			if slices.ContainsFunc(javaOnlyPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
				warnings = append(warnings, fmt.Sprintf("%s: not used by zkd in this version, ignored", k))
			} else {
				warnings = append(warnings, fmt.Sprintf("%s: unknown key, ignored", k))
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%s: %w", k, v, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if !minSet {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if !maxSet {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	return c, warnings, c.Validate()
}

// Validate checks the relations between keys.
func (c *Config) Validate() error {
	switch {
	case c.TickTime <= 0:
		return fmt.Errorf("tickTime is not set")
	case c.ClientPort < 0 || c.ClientPort > 65535:
		return fmt.Errorf("clientPort=%d: not a port", c.ClientPort)
	case c.MinSessionTimeout > c.MaxSessionTimeout:
		return fmt.Errorf("minSessionTimeout=%d must not be larger than maxSessionTimeout=%d",
			c.MinSessionTimeout.Milliseconds(), c.MaxSessionTimeout.Milliseconds())
	case c.ClientPortAddress != "" && net.ParseIP(c.ClientPortAddress) == nil && c.ClientPortAddress != "localhost":
		return fmt.Errorf("clientPortAddress=%s: not an IP address", c.ClientPortAddress)
	}
	return nil
}

// LoadConfig reads a zoo.cfg file and the myid file of its dataDir, if any.
func LoadConfig(path string) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	c, warnings, err := ParseConfig(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if b, err := os.ReadFile(c.DataDir + "/myid"); err == nil {
		id, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]), 10, 64)
		if err != nil || id < 0 || id > 254 {
			return nil, nil, fmt.Errorf("%s/myid: %q is not a server id in 0..254", c.DataDir, strings.TrimSpace(string(b)))
		}
		c.ServerID = id
	}
	if err := c.validatePeers(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	c.clientAddrFromServerLine()
	return c, warnings, nil
}

// clientAddrFromServerLine takes the client address of this server's
// server.N line (after ';') when clientPort is not set, as ZooKeeper 3.5+
// does.
func (c *Config) clientAddrFromServerLine() {
	if !c.Ensemble() || c.has("clientPort") {
		return
	}
	addr := c.Self().ClientAddr
	if addr == "" {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	c.ClientPort, _ = strconv.Atoi(port)
	if !c.has("clientPortAddress") {
		c.ClientPortAddress = host
	}
}

// has reports whether the file set key.
func (c *Config) has(key string) bool {
	return slices.ContainsFunc(c.Raw, func(kv [2]string) bool { return kv[0] == key })
}

// FourLetterWordAllowed reports whether the whitelist allows cmd.
func (c *Config) FourLetterWordAllowed(cmd string) bool {
	return slices.Contains(c.FourLetterWords, "*") || slices.Contains(c.FourLetterWords, cmd)
}

// StorageDir is where zkd keeps its badger database: under dataLogDir when
// set (the txn log's fsyncs are what a dedicated log device is for), else
// under dataDir. One database holds log and snapshots (DESIGN.md 2.3).
func (c *Config) StorageDir() string { return filepath.Join(c.LogDir(), "zkd-db") }

// LogDir is dataLogDir, which defaults to dataDir.
func (c *Config) LogDir() string {
	if c.DataLogDir == "" {
		return c.DataDir
	}
	return c.DataLogDir
}

// ListenAddr is the client listener address.
func (c *Config) ListenAddr() string {
	host := c.ClientPortAddress
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(c.ClientPort))
}

func parseInt(v string) (int, error) { return strconv.Atoi(v) }

// parseHoursOrDuration reads autopurge.purgeInterval: whole hours as in
// ZooKeeper, or a Go duration. Negative means disabled, as 0 does.
func parseHoursOrDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(n), 0) * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want whole hours or a duration such as 30m")
	}
	return max(d, 0), nil
}

// parseYesNo reads ZooKeeper's yes/no switches (forceSync). ZooKeeper takes
// anything but "no" as yes; zkd refuses a value that is neither, so a typo
// cannot silently change durability.
func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("want yes or no")
}

func parseMs(v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	return time.Duration(n) * time.Millisecond, err
}
