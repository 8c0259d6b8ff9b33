package zkserver

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// PeerSpec is one server.N line of zoo.cfg:
//
//	server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]
type PeerSpec struct {
	ID           int64
	Host         string
	QuorumPort   int
	ElectionPort int
	Observer     bool
	// ClientAddr is the optional client address after ';' (empty if none).
	ClientAddr string
}

// QuorumAddr is host:quorumPort.
func (p PeerSpec) QuorumAddr() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.QuorumPort))
}

// ElectionAddr is host:electionPort.
func (p PeerSpec) ElectionAddr() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.ElectionPort))
}

// ParsePeerSpec reads the value of a server.N line.
func ParsePeerSpec(id int64, v string) (PeerSpec, error) {
	p := PeerSpec{ID: id}
	addrs, client, hasClient := strings.Cut(v, ";")
	if hasClient {
		client = strings.TrimSpace(client)
		if !strings.Contains(client, ":") {
			client = "0.0.0.0:" + client
		}
		host, port, err := net.SplitHostPort(client)
		if err != nil {
			return p, fmt.Errorf("client address %q: %v", client, err)
		}
		if _, err := parsePort(port); err != nil {
			return p, fmt.Errorf("client port %q: %v", port, err)
		}
		p.ClientAddr = net.JoinHostPort(host, port)
	}
	parts := strings.Split(strings.TrimSpace(addrs), ":")
	if len(parts) == 5 || (len(parts) > 2 && strings.HasPrefix(parts[0], "[")) {
		return p, fmt.Errorf("IPv6 addresses are not supported in server.N lines yet")
	}
	if len(parts) < 3 || len(parts) > 4 {
		return p, fmt.Errorf("want host:quorumPort:electionPort[:participant|:observer], got %q", addrs)
	}
	p.Host = parts[0]
	if p.Host == "" {
		return p, fmt.Errorf("empty host")
	}
	var err error
	if p.QuorumPort, err = parsePort(parts[1]); err != nil {
		return p, fmt.Errorf("quorum port %q: %v", parts[1], err)
	}
	if p.ElectionPort, err = parsePort(parts[2]); err != nil {
		return p, fmt.Errorf("election port %q: %v", parts[2], err)
	}
	if p.QuorumPort == p.ElectionPort {
		return p, fmt.Errorf("quorum and election ports are both %d", p.QuorumPort)
	}
	if len(parts) == 4 {
		switch strings.ToLower(parts[3]) {
		case "participant":
		case "observer":
			p.Observer = true
		default:
			return p, fmt.Errorf("role %q: want participant or observer", parts[3])
		}
	}
	return p, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("not a port")
	}
	return n, nil
}

// Ensemble reports whether the config names an ensemble: more than one
// server.N line. One line alone runs standalone, as ZooKeeper does with
// standaloneEnabled=true.
func (c *Config) Ensemble() bool { return len(c.Servers) > 1 }

// Peers returns the parsed server.N lines sorted by id. ParseConfig has
// already validated them.
func (c *Config) Peers() []PeerSpec {
	out := make([]PeerSpec, 0, len(c.Servers))
	for id, v := range c.Servers {
		p, err := ParsePeerSpec(id, v)
		if err != nil {
			continue // cannot happen after validatePeers
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PeerSpec) int { return int(a.ID - b.ID) })
	return out
}

// validatePeers checks the server.N lines together with myid: this server
// must be listed, ids and addresses must be distinct, and there must be at
// least one participant.
func (c *Config) validatePeers() error {
	if !c.Ensemble() {
		return nil
	}
	if c.ServerID <= 0 {
		return fmt.Errorf("server.N lines name an ensemble but %s/myid is missing: write this server's id there", c.DataDir)
	}
	if _, ok := c.Servers[c.ServerID]; !ok {
		return fmt.Errorf("myid is %d but there is no server.%d line", c.ServerID, c.ServerID)
	}
	seen := map[string]int64{}
	voters := 0
	for _, p := range c.Peers() {
		if !p.Observer {
			voters++
		}
		for _, a := range []string{p.QuorumAddr(), p.ElectionAddr()} {
			if other, dup := seen[a]; dup {
				return fmt.Errorf("server.%d and server.%d both use %s", other, p.ID, a)
			}
			seen[a] = p.ID
		}
	}
	if voters == 0 {
		return fmt.Errorf("every server.N line is an observer: an ensemble needs participants")
	}
	if c.PeerType == "observer" && !c.Self().Observer {
		return fmt.Errorf("peerType=observer but server.%d is not marked :observer", c.ServerID)
	}
	return nil
}

// Self is this server's own server.N line.
func (c *Config) Self() PeerSpec {
	p, _ := ParsePeerSpec(c.ServerID, c.Servers[c.ServerID])
	return p
}
