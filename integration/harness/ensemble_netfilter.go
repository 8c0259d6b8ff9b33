package harness

// Network partitions between members on loopback, with nftables.
//
// Every member listens on 127.0.0.1, so addresses cannot tell members apart, and the servers
// do not bind their outgoing sockets, so source ports cannot either. What does identify a
// packet's sender is its socket's owner: each member runs with a group id of its own
// (Config.Gid) and nftables matches it with "meta skgid". A connection is marked with its
// originator's group id on its first packet and on every SYN (markRule), and conntrack
// keeps the mark for every later packet of that connection in both directions. The other end
// of any member-to-member connection is a member's quorum or election port. So a connection
// from a to b is cut by dropping packets marked a whose destination port (a to b) or source
// port (b to a) is one of b's ports; the SYN-ACK of a listener, sent by the kernel for a
// socket with no owner yet, is caught by the same rule.
//
// Each ensemble has its own table, zabkafka_<pid>_<n>, created before its members start (a
// connection opened before the marking rules would stay unmarked) and deleted by Close. A
// test binary that dies leaves its table behind; the next ensemble deletes tables whose
// process is gone. Client connections (the test's own sockets) are never marked, so clients
// reach every member whatever the partition.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrNoPartitions means this machine cannot cut connections between members: not root, or no
// nft (Debian package nftables).
var ErrNoPartitions = errors.New("network partitions need root and nft (apt-get install nftables)")

// PartitionsSupported reports whether Partitions can work here, and if not, why.
func PartitionsSupported() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root", ErrNoPartitions)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("%w: %v", ErrNoPartitions, err)
	}
	return nil
}

// tablePrefix names every table the harness makes.
const tablePrefix = "zabkafka_"

var tableSeq atomic.Uint32

// nextGidBase returns a group id base for one ensemble: members get base+1 .. base+15,
// outsiders base+16 .. base+31. It is unique within the process by a sequence number, and
// across processes by the pid, so concurrent test binaries mark their connections
// differently.
func nextGidBase() uint32 {
	seq := tableSeq.Add(1)
	return 1<<30 | (uint32(os.Getpid())&0x7ffff)<<11 | (seq&0x3f)<<gidBlockBits
}

// gidBlockBits sizes an ensemble's block of group ids: 32.
const gidBlockBits = 5

// netfilter is one ensemble's nftables table.
type netfilter struct {
	table   string
	members []*Member

	mu sync.Mutex
}

func newNetfilter(members []*Member) (*netfilter, error) {
	if err := PartitionsSupported(); err != nil {
		return nil, err
	}
	sweepStaleTables()
	f := &netfilter{
		table:   fmt.Sprintf("%s%d_%d", tablePrefix, os.Getpid(), tableSeq.Add(1)),
		members: members,
	}
	if err := runNft(f.tableRules()); err != nil {
		return nil, fmt.Errorf("create nftables table %s: %w", f.table, err)
	}
	return f, nil
}

// tableRules creates the table: marking in chain output, partition drops in chain cut.
// Priority -10 runs after conntrack (-200), before the default filter chains (0).
func (f *netfilter) tableRules() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", f.table)
	b.WriteString("\tchain output {\n\t\ttype filter hook output priority -10; policy accept;\n")
	for _, m := range f.members {
		fmt.Fprintf(&b, "\t\t%s\n", markRule(m.Gid()))
	}
	b.WriteString("\t\tjump cut\n\t}\n")
	b.WriteString("\tchain cut {\n\t}\n")
	// Outsiders (Ensemble.Outsider) get a loopback address of their own here.
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n")
	return b.String()
}

// markRule marks the connections that sockets of group gid open. The first packet of a
// connection ("ct state new") is not enough: a SYN that reuses the 4-tuple of a connection
// the other end reset less than 10 s ago is taken by conntrack as part of that connection's
// entry (state CLOSE), which would keep the old dialer's mark. So every SYN marks its
// connection again.
func markRule(gid uint32) string {
	return fmt.Sprintf("meta skgid %d ct state new ct mark set %d\n"+
		"\t\tmeta skgid %d tcp flags & (syn | ack) == syn ct mark set %d", gid, gid, gid, gid)
}

// addOutsider makes connections from sockets of group gid come from addr (SNAT), and marks
// them like a member's.
func (f *netfilter) addOutsider(gid uint32, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, rule := range strings.Split(markRule(gid), "\n") {
		fmt.Fprintf(&b, "insert rule inet %s output %s\n", f.table, strings.TrimSpace(rule))
	}
	fmt.Fprintf(&b, "add rule inet %s postrouting meta skgid %d ip saddr 127.0.0.1 snat ip to %s\n", f.table, gid, addr)
	return runNft(b.String())
}

// cutRules replaces the cut chain's rules with drops between members of different groups.
// Members in no group form one more group together.
func (f *netfilter) cutRules(groups [][]int) (string, error) {
	groupOf := map[int]int{}
	for g, ids := range groups {
		for _, id := range ids {
			if _, dup := groupOf[id]; dup {
				return "", fmt.Errorf("partition: member %d is in two groups", id)
			}
			if id < 1 || id > len(f.members) {
				return "", fmt.Errorf("partition: no member %d", id)
			}
			groupOf[id] = g
		}
	}
	rest := len(groups)
	for _, m := range f.members {
		if _, ok := groupOf[m.ID]; !ok {
			groupOf[m.ID] = rest
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "flush chain inet %s cut\n", f.table)
	for _, a := range f.members {
		for _, c := range f.members {
			if groupOf[a.ID] == groupOf[c.ID] {
				continue
			}
			ports := fmt.Sprintf("{ %d, %d }", c.QuorumPort, c.ElectionPort)
			fmt.Fprintf(&b, "add rule inet %s cut ct mark %d tcp dport %s drop\n", f.table, a.Gid(), ports)
			fmt.Fprintf(&b, "add rule inet %s cut ct mark %d tcp sport %s drop\n", f.table, a.Gid(), ports)
		}
	}
	return b.String(), nil
}

func (f *netfilter) partition(groups [][]int) error {
	rules, err := f.cutRules(groups)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return runNft(rules)
}

func (f *netfilter) heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return runNft(fmt.Sprintf("flush chain inet %s cut\n", f.table))
}

func (f *netfilter) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := runNft(fmt.Sprintf("delete table inet %s\n", f.table)); err != nil {
		return fmt.Errorf("delete nftables table %s: %w", f.table, err)
	}
	return nil
}

// runNft applies a ruleset atomically (nft -f reads it as one transaction).
func runNft(rules string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %w: %s\n--- rules ---\n%s", err, strings.TrimSpace(string(out)), rules)
	}
	return nil
}

var harnessTable = regexp.MustCompile(`^table inet (` + tablePrefix + `(\d+)_\d+)$`)

// sweepStaleTables deletes tables left by test processes that no longer exist.
func sweepStaleTables() {
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		m := harnessTable.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		_ = runNft(fmt.Sprintf("delete table inet %s\n", m[1]))
	}
}

// Partition cuts the quorum and election connections between members of different groups;
// members in no group form one more group. Clients still reach every member. It needs an
// ensemble started with Partitions. A new partition replaces the previous one.
func (e *Ensemble) Partition(groups ...[]int) error {
	if e.filter == nil {
		return errors.New("partition: the ensemble was started without Partitions")
	}
	return e.filter.partition(groups)
}

// Isolate cuts members ids off from the rest of the ensemble (they still reach each other).
func (e *Ensemble) Isolate(ids ...int) error { return e.Partition(slices.Clone(ids)) }

// Heal removes the partition.
func (e *Ensemble) Heal() error {
	if e.filter == nil {
		return errors.New("heal: the ensemble was started without Partitions")
	}
	return e.filter.heal()
}
