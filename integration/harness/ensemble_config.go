package harness

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// EnsembleConfig describes a ZooKeeper ensemble on loopback: Voters participants and
// Observers observers, every member with its own directory, zoo.cfg and ports, configured the
// same way for zkd and Apache ZooKeeper (ZooKeeper Administrator's Guide, "Running Replicated
// ZooKeeper").
type EnsembleConfig struct {
	// Voters is the number of participants (ids 1..Voters); 0 means 3.
	Voters int
	// Observers follow the voters (ids Voters+1..), with peerType=observer and ":observer" on
	// their server.N line.
	Observers int

	// TickTimeMs, InitLimit and SyncLimit are zoo.cfg's keys; 0 means 2000, 10 and 5.
	TickTimeMs int
	InitLimit  int
	SyncLimit  int

	// Member is the template of every member's Config: Extra keys, JVMFlags, Args, Env and the
	// stop timeout. Dir, ClientPort, MyID, Gid and TickTimeMs are set per member.
	Member Config
	// Configure, when set, adjusts a member's Config after the harness filled it in and before
	// its first start (for example a mismatched server list for one member).
	Configure func(id int, cfg *Config)

	// Dir is the parent directory: member N lives in Dir/mN. Empty means a new temporary
	// directory, removed by Close.
	Dir string

	// Partitions makes Partition possible: members run with group ids of their own and an
	// nftables table marks their connections (ensemble_netfilter.go). It needs root and nft.
	Partitions bool

	// ReadyTimeout bounds StartEnsemble's wait for a leader and WaitReady's default; 0 means 60s.
	ReadyTimeout time.Duration
}

const (
	defaultVoters       = 3
	defaultInitLimit    = 10
	defaultSyncLimit    = 5
	defaultReadyTimeout = 60 * time.Second
)

func (c EnsembleConfig) withDefaults() (EnsembleConfig, error) {
	if c.Voters == 0 {
		c.Voters = defaultVoters
	}
	if c.TickTimeMs <= 0 {
		c.TickTimeMs = defaultTickTimeMs
	}
	if c.InitLimit <= 0 {
		c.InitLimit = defaultInitLimit
	}
	if c.SyncLimit <= 0 {
		c.SyncLimit = defaultSyncLimit
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = defaultReadyTimeout
	}
	switch {
	case c.Voters < 2:
		return c, fmt.Errorf("ensemble: %d voters; an ensemble needs at least 2 (a single server runs standalone)", c.Voters)
	case c.Observers < 0:
		return c, errors.New("ensemble: negative observers")
	case c.Voters+c.Observers > maxMembers:
		return c, fmt.Errorf("ensemble: %d members, at most %d", c.Voters+c.Observers, maxMembers)
	}
	return c, nil
}

// maxMembers bounds an ensemble's size so member group ids fit their block (nextGidBase).
const maxMembers = 15

// Member is one server of an ensemble: its identity, ports and its current process.
type Member struct {
	ID           int
	Observer     bool
	ClientPort   int
	QuorumPort   int
	ElectionPort int

	cfg Config // resolved: Dir, ports, MyID, Gid, zoo.cfg keys
}

// Addr is the member's client address, "127.0.0.1:<client port>".
func (m *Member) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.ClientPort) }

// Dir holds the member's zoo.cfg, data/ and log.
func (m *Member) Dir() string { return m.cfg.Dir }

// Config is the configuration the member starts with.
func (m *Member) Config() Config { return m.cfg }

// Gid is the group id the member's process runs with (0 without Partitions).
func (m *Member) Gid() uint32 { return m.cfg.Gid }

// String names the member, e.g. "member 2 (127.0.0.1:40001)".
func (m *Member) String() string {
	kind := "member"
	if m.Observer {
		kind = "observer"
	}
	return fmt.Sprintf("%s %d (%s)", kind, m.ID, m.Addr())
}

// ServerLine is the member's server.N value in the QuorumServer form both servers read:
// "127.0.0.1:quorumPort:electionPort:participant|observer;127.0.0.1:clientPort".
func (m *Member) ServerLine() string {
	role := "participant"
	if m.Observer {
		role = "observer"
	}
	return fmt.Sprintf("127.0.0.1:%d:%d:%s;127.0.0.1:%d", m.QuorumPort, m.ElectionPort, role, m.ClientPort)
}

// ServerLines returns the server.N keys of members, for zoo.cfg.
func ServerLines(members []*Member) map[string]string {
	lines := make(map[string]string, len(members))
	for _, m := range members {
		lines["server."+strconv.Itoa(m.ID)] = m.ServerLine()
	}
	return lines
}

// newMembers picks three free ports per member and lays out their directories under dir.
// Member N runs with group id gidBase+N when gidBase is nonzero.
func newMembers(c EnsembleConfig, dir string, gidBase uint32) ([]*Member, error) {
	n := c.Voters + c.Observers
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	members := make([]*Member, n)
	for i := range members {
		members[i] = &Member{
			ID:           i + 1,
			Observer:     i >= c.Voters,
			ClientPort:   ports[3*i],
			QuorumPort:   ports[3*i+1],
			ElectionPort: ports[3*i+2],
		}
	}
	lines := ServerLines(members)
	for _, m := range members {
		cfg := c.Member
		cfg.Dir = filepath.Join(dir, "m"+strconv.Itoa(m.ID))
		cfg.ClientPort = m.ClientPort
		cfg.MyID = m.ID
		cfg.TickTimeMs = c.TickTimeMs
		if gidBase != 0 {
			cfg.Gid = gidBase + uint32(m.ID)
		}
		cfg.Extra = maps.Clone(c.Member.Extra)
		if cfg.Extra == nil {
			cfg.Extra = map[string]string{}
		}
		maps.Copy(cfg.Extra, lines)
		cfg.Extra["initLimit"] = strconv.Itoa(c.InitLimit)
		cfg.Extra["syncLimit"] = strconv.Itoa(c.SyncLimit)
		if m.Observer {
			cfg.Extra["peerType"] = "observer"
		}
		cfg.JVMFlags = slices.Clone(c.Member.JVMFlags)
		cfg.Args = slices.Clone(c.Member.Args)
		cfg.Env = slices.Clone(c.Member.Env)
		if c.Configure != nil {
			c.Configure(m.ID, &cfg)
		}
		if cfg, err = cfg.resolve("member-*"); err != nil {
			return nil, err
		}
		m.cfg = cfg
	}
	return members, nil
}

// freePorts returns n distinct ports that were free a moment ago. Listening on all of them at
// once keeps the kernel from handing out the same port twice.
func freePorts(n int) ([]int, error) {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free ports: %w", err)
		}
		closers = append(closers, l.Close)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
